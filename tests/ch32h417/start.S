/* Start-up for the emulator's test programs: the V3F enters at 0x0 (reset), the V5F at v5f_entry
   (placed by link.ld at V5F_ENTRY, woken by the V3F). Each sets its stack and calls C. */
    .section .v3f_start, "ax"
    .globl _start
_start:
    li t0, 0x123703E1         /* a WCH CSR write, as the vendor V3F startup does (0xBC0) */
    csrw 0xbc0, t0
    la sp, __v3f_stack_top
    call v3f_main
1:  j 1b

    .section .v5f_start, "ax"
    .globl v5f_entry
v5f_entry:
    la sp, __v5f_stack_top
    call v5f_main
2:  j 2b
