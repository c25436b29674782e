/* Entry point of the tinygan MicroPython port: FPU on, heap, the board's file systems, REPL. */
#include <stdlib.h>

#include "py/compile.h"
#include "py/gc.h"
#include "py/runtime.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"

#include "board.h"

static uint32_t gc_heap[MICROPY_HEAP_SIZE / sizeof(uint32_t)];

/* mstatus.FS is Off at reset, and then every float instruction traps. This must run before any
 * float code (MicroPython floats, the engine's kernels), so main() itself does no float work. */
static void fpu_enable(void)
{
    __asm volatile ("csrs mstatus, %0" : : "r" (1u << 13)); /* FS = Initial */
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fpu_enable();
    mp_cstack_init_with_sp_here(MICROPY_STACK_SIZE - 1024);
    gc_init(gc_heap, (char *)gc_heap + MICROPY_HEAP_SIZE);

    for (;;) {
        mp_init();
        board_mount_storage();
        for (;;) {
            if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL) {
                if (pyexec_raw_repl() != 0) {
                    break;
                }
            } else {
                if (pyexec_friendly_repl() != 0) {
                    break;
                }
            }
        }
        mp_printf(&mp_plat_print, "MPY: soft reboot\n");
        gc_sweep_all();
        mp_deinit();
    }
}

void gc_collect(void)
{
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
}

void nlr_jump_fail(void *val)
{
    (void)val;
    mp_printf(&mp_plat_print, "uncaught NLR\n");
    exit(1);
}
