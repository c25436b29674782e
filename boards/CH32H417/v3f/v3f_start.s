/* V3F reset entry, the first instruction the chip runs (flash 0x0; only the V3F runs after
 * reset: openwch/ch32h417 EVT/EXAM/GPIO/GPIO_Toggle/V3F/User/main.c wakes the V5F itself).
 * Copies the program into the V3F's slice of shared SRAM and clears its .bss (v3f.ld), then
 * runs v3f_main there, the stack in the same slice (memory.ld). */
        .section .v3f_reset, "ax", @progbits
        .global  v3f_reset
        .type    v3f_reset, @function
v3f_reset:
        la      t0, v3f_trap            /* any exception parks the V3F (mtvec mode 0: one entry) */
        csrw    mtvec, t0
        la      sp, __v3f_stack_top
        la      t0, __v3f_copy_load
        la      t1, __v3f_copy_start
        la      t2, __v3f_copy_end
1:      bgeu    t1, t2, 2f
        lw      t3, 0(t0)
        sw      t3, 0(t1)
        addi    t0, t0, 4
        addi    t1, t1, 4
        j       1b
2:      la      t1, __v3f_bss_start
        la      t2, __v3f_bss_end
3:      bgeu    t1, t2, 4f
        sw      zero, 0(t1)
        addi    t1, t1, 4
        j       3b
4:      call    v3f_main
        /* v3f_main does not return; if it did, park like a trap. */
        .align  2
v3f_trap:
        j       v3f_trap
