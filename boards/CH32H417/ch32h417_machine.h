/* machine module glue for the CH32H417 board (included by extmod/modmachine.c). */
#include "console.h"

MP_NORETURN void ch32h417_reset(void);

#if CH32H417_SDMMC
extern const mp_obj_type_t ch32h417_sdcard_type; /* machine.SDCard (ch32h417_sdcard.c) */
#endif

/* No interrupt is enabled on the V5F, so a wfi could sleep forever: idle waits by polling, at
 * most 1 ms, less when a character arrives (board_wait_us in ch32h417_hal.c). */
static void mp_machine_idle(void) {
    board_wait_us(1000);
}

#if MICROPY_PY_MACHINE_RESET
/* A system reset through the PFIC: both cores restart at the V3F's reset entry (flash 0x0). */
static void mp_machine_reset(void) {
    ch32h417_reset();
}

static mp_int_t mp_machine_reset_cause(void) {
    return 0;
}
#endif
