/* V5F start-up of the tinygan CH32H417 firmware (replaces picolibc's crt0; linked with
 * -nostartfiles). The V3F wakes the V5F here (v5f.ld: first bytes of FLASH_V5F, 0x00010000).
 * Steps and where each comes from (openwch/ch32h417 EVT V1.3 unless marked):
 *   1. gp, sp (stack at the top of DTCM)       SRC/Startup/startup_ch32h417_v5f.S handle_reset
 *   2. I-cache on for the flash image          [third party] ArduinoCore-CH32H4 docs/icache.md:
 *      PMP entry 1 = TOR over the flash image (R, X, IC_Str bit 5, L), CSR 0xBC3 = 0x10,
 *      invalidate (CSR 0xBD0 = 4), then clear ic_disable and the two blanket bits of CSR 0xBC2
 *      (the vendor's own EXAM/CPU/ICache example is not in the V1.3 snapshot)
 *   3. copy .itcm (vector table, hot code) and .data/.tdata from flash, zero .tbss/.bss
 *                                              handle_reset (.highcode / .data / .bss loops)
 *   4. tp = TLS block (picolibc keeps errno etc. there; its crt0 would do this)
 *   5. CSR 0xBC0 = 0x123733E0 ("Configure Prefetch")  startup_ch32h417_v5f.S
 *   6. mstatus: FPU on (FS = 3), machine mode kept, interrupts off; the vendor writes 0x6088 and
 *      mret's into U-mode; MicroPython here stays in M-mode (mstatus, CSRs, wfi need it)
 *   7. mtvec = vector table | 3 (vectored, absolute addresses) as the vendor does; the table is
 *      in ITCM (the vendor's .vector is in its ITCM RAM_CODE too) and every entry is the trap
 *      handler: no interrupt is enabled, so only exceptions can arrive
 *   8. ch32h417_v5f_main (C): console, SysTick1, RNG, constructors, MicroPython's main().
 * Not done: CSR 0x804 (interrupt nesting / hardware stack) and 0xBC1 (nesting level), which the
 * vendor sets for its interrupt handlers; this firmware takes no interrupts. */
        .section .v5f_entry, "ax", @progbits
        .global  v5f_reset
        .type    v5f_reset, @function
v5f_reset:
        .option push
        .option norelax
        la      gp, __global_pointer$
        .option pop
        la      sp, __v5f_stack_top

        /* 2. I-cache over [__v5f_cache_start, __v5f_cache_end) */
        la      t0, __v5f_cache_start
        srli    t0, t0, 2
        csrw    pmpaddr0, t0
        la      t0, __v5f_cache_end
        srli    t0, t0, 2
        csrw    pmpaddr1, t0
        li      t0, 0x10
        csrw    0xBC3, t0
        li      t0, 0xAD00
        csrw    pmpcfg0, t0
        li      t0, 4
        csrw    0xBD0, t0
        li      t0, 0x03000002
        csrc    0xBC2, t0

        /* 3. copies and clears (word loops: the linker script aligns every bound to 4) */
        la      a0, __itcm_load
        la      a1, __itcm_start
        la      a2, __itcm_end
        call    copy_words
        la      a0, __data_load
        la      a1, __data_start
        la      a2, __data_end
        call    copy_words
        la      a0, __tdata_load
        la      a1, __tdata_start
        la      a2, __tdata_end
        call    copy_words
        la      a0, __bss_start
        la      a1, __bss_end
1:      bgeu    a0, a1, 2f
        sw      zero, 0(a0)
        addi    a0, a0, 4
        j       1b
2:
        /* 4. TLS */
        la      tp, __tls_base

        /* 5. vendor prefetch configuration */
        li      t0, 0x123733E0
        csrw    0xBC0, t0

        /* 6. FPU on, interrupts off, stay in M-mode */
        li      t0, 0x6000
        csrs    mstatus, t0
        li      t0, 0x8
        csrc    mstatus, t0

        /* 7. trap vector table, mode 3 */
        la      t0, __v5f_vectors
        ori     t0, t0, 3
        csrw    mtvec, t0

        /* 8. C */
        tail    ch32h417_v5f_main

/* a0 = source, a1 = destination start, a2 = destination end */
copy_words:
        bgeu    a1, a2, 2f
1:      lw      t0, 0(a0)
        sw      t0, 0(a1)
        addi    a0, a0, 4
        addi    a1, a1, 4
        bltu    a1, a2, 1b
2:      ret

/* Every trap: hand mcause, mepc, mtval to C on a fresh stack (the old one may be the cause). */
        .section .text.ch32h417_trap_entry, "ax", @progbits
        .align  2
        .global ch32h417_trap_entry
ch32h417_trap_entry:
        csrr    a0, mcause
        csrr    a1, mepc
        csrr    a2, mtval
        la      sp, __v5f_stack_top
        tail    ch32h417_trap

/* The vector table (mode 3: one absolute handler address per entry), 1 KiB aligned in ITCM. */
        .section .v5f_vectors, "a", @progbits
        .align  2
        .global __v5f_vectors
__v5f_vectors:
        .rept   256
        .word   ch32h417_trap_entry
        .endr
