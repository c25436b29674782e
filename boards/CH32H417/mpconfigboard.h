/* CH32H417 board of the tinygan MicroPython port (micropython_port/): MicroPython on the V5F core,
 * started by the V3F start-up program (v3f/). See README.md for the memory map and boot. */
#define MICROPY_HW_BOARD_NAME               "CH32H417 tinygan"
#define MICROPY_HW_MCU_NAME                 "CH32H417 V5F (rv32imafc, 400 MHz)"
#define MICROPY_BOARD_MACHINE_INCLUDEFILE   "ch32h417_machine.h"

#define MICROPY_PY_OS_UNAME                 (1)
#define MICROPY_PY_OS_URANDOM               (1) /* the chip's TRNG (ch32h417_hal.c) */

/* The engine's static arena (input section .tg_arena, placed in DTCM by v5f.ld). */
#define MICROPY_TINYGAN_ARENA_SIZE          (163840)

/* Console polling (no interrupts on this board, ch32h417_hal.c): from the VM every
 * CH32H417_VM_POLL_EVERY backward jumps or returns, and from every event wait. */
void ch32h417_poll(void);
#define CH32H417_VM_POLL_EVERY              (64)
#define MICROPY_VM_HOOK_INIT                static unsigned int vm_poll_countdown = CH32H417_VM_POLL_EVERY;
#define MICROPY_VM_HOOK_POLL                if (--vm_poll_countdown == 0) { \
        vm_poll_countdown = CH32H417_VM_POLL_EVERY; \
        ch32h417_poll(); \
}
#define MICROPY_VM_HOOK_LOOP                MICROPY_VM_HOOK_POLL
#define MICROPY_VM_HOOK_RETURN              MICROPY_VM_HOOK_POLL
#define MICROPY_INTERNAL_EVENT_HOOK         (ch32h417_poll())
