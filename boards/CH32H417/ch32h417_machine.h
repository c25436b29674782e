/* machine module glue for the CH32H417 board (included by extmod/modmachine.c). */
static void mp_machine_idle(void) {
    __asm volatile ("wfi");
}

#if MICROPY_PY_MACHINE_RESET
MP_NORETURN void ch32h417_reset(void);

static void mp_machine_reset(void) {
    ch32h417_reset();
}

static mp_int_t mp_machine_reset_cause(void) {
    return 0;
}
#endif
