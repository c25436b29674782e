/* Entry point of the tinygan MicroPython port: FPU on, heap, the board's file systems, boot.py
 * and main.py from the card, REPL. */
#include <stdlib.h>

#include "py/compile.h"
#include "py/gc.h"
#include "py/runtime.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"
#include "py/builtin.h"

#include "board.h"
#include "console.h"

/* A key within this time after boot.py skips main.py (the card's app) and leaves the REPL. */
#define MAIN_PY_GRACE_MS 1000u

/* boot.py, then main.py, from the current directory (the card, /sd), as on MicroPython's other
 * ports; main.py only from the friendly REPL (mpremote's raw REPL soft reset does not start the
 * app). Returns non-zero when a script asked for a soft reset (sys.exit / machine.soft_reset). */
static int run_boot_scripts(void)
{
    if (pyexec_file_if_exists("boot.py") & PYEXEC_FORCED_EXIT) {
        return 1;
    }
    if (pyexec_mode_kind != PYEXEC_MODE_FRIENDLY_REPL || mp_import_stat("main.py") != MP_IMPORT_STAT_FILE) {
        return 0;
    }
    mp_printf(&mp_plat_print, "main.py starts in 1 s: press a key for the REPL\n");
    if (console_key_within(MAIN_PY_GRACE_MS)) {
        mp_printf(&mp_plat_print, "main.py skipped\n");
        return 0;
    }
    return pyexec_file_if_exists("main.py") & PYEXEC_FORCED_EXIT;
}

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
        int forced_exit = run_boot_scripts();
        while (!forced_exit) {
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
