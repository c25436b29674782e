/* machine module glue for the QEMU board (included by extmod/modmachine.c). */
#include <stdlib.h>

#include "console.h"

static void mp_machine_idle(void)
{
    board_wait_us(1000); /* wakes on the next timer tick at the latest: cannot hang */
}

#if MICROPY_PY_MACHINE_RESET
static void mp_machine_reset(void)
{
    exit(0); /* ends QEMU through semihosting: the emulated board's power switch */
}

static mp_int_t mp_machine_reset_cause(void)
{
    return 0;
}
#endif
