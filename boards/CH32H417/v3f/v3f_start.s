/* V3F reset entry, the first instruction the chip runs (flash 0x0; only the V3F runs after
 * reset: openwch/ch32h417 EVT/EXAM/GPIO/GPIO_Toggle/V3F/User/main.c wakes the V5F itself).
 * Stack in the V3F's slice of shared SRAM (memory.ld); no data to copy, nothing to clear. */
        .section .v3f_reset, "ax", @progbits
        .global  v3f_reset
        .type    v3f_reset, @function
v3f_reset:
        la      t0, v3f_trap            /* any exception parks the V3F (mtvec mode 0: one entry) */
        csrw    mtvec, t0
        la      sp, __v3f_stack_top
        call    v3f_main
        /* v3f_main does not return; if it did, park like a trap. */
        .align  2
v3f_trap:
        j       v3f_trap
