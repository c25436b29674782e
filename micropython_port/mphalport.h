/* HAL declarations shared by the boards (the functions live in each board's HAL: ports/qemu's
 * mphalport.c for QEMU_VIRT_RV32, boards/CH32H417/ch32h417_hal.c for the chip). */
#include <stddef.h>
#include <stdint.h>

#include "shared/runtime/interrupt_char.h"

void mp_hal_get_random(size_t n, uint8_t *buf);
