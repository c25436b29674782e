/* machine module glue for the QEMU board (included by extmod/modmachine.c). */
#include "console.h"

/* shared/runtime/semihosting_rv32.c (its header's <stdnoreturn.h> clashes with py/mpconfig.h) */
MP_NORETURN void mp_semihosting_exit_extended(uint32_t code, uint32_t subcode);

/* ADP_Stopped_ApplicationExit: QEMU exits with the given status. */
#define SEMIHOSTING_APPLICATION_EXIT 0x20026u

static void mp_machine_idle(void)
{
    board_wait_us(1000); /* wakes on the next timer tick at the latest: cannot hang */
}

#if MICROPY_PY_MACHINE_RESET
static void mp_machine_reset(void)
{
    /* Ends QEMU through semihosting: the emulated board's power switch. Not ports/qemu's exit():
     * its call sequence is not aligned on its own, and QEMU takes an ebreak whose neighbours lie
     * on another page for a plain breakpoint (a trap loop instead of an exit) - this file's calls
     * align the three instructions. */
    mp_semihosting_exit_extended(SEMIHOSTING_APPLICATION_EXIT, 0);
}

static mp_int_t mp_machine_reset_cause(void)
{
    return 0;
}
#endif
