/* MicroPython configuration of the tinygan port (boards: QEMU_VIRT_RV32, CH32H417).
 *
 * Both boards are rv32imafc with a single-precision FPU (ilp32f), so floats are hardware
 * floats; the weight file lives on a FAT file system (the SD card, or its image under QEMU).
 */
#include <stdint.h>

#include "mpconfigboard.h"

#define MICROPY_CONFIG_ROM_LEVEL            (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

/* Native code emitters for RV32 (@micropython.native / viper / inline asm). */
#define MICROPY_EMIT_RV32                   (1)
#define MICROPY_EMIT_INLINE_RV32            (1)

#define MICROPY_ENABLE_GC                   (1)
#define MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF (1)
#define MICROPY_LONGINT_IMPL                (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL                  (MICROPY_FLOAT_IMPL_FLOAT)
#define MICROPY_HW_FPU                      (1)
#define MICROPY_READER_VFS                  (1)
#define MICROPY_PY_SYS_PLATFORM             "tinygan"
#define MICROPY_PY_ASYNCIO                  (0)
#define MICROPY_PY_MACHINE                  (1)
#define MICROPY_PY_MACHINE_RESET            (1)
#define MICROPY_PY_MACHINE_INCLUDEFILE      MICROPY_BOARD_MACHINE_INCLUDEFILE
#define MICROPY_PY_OS_UNAME                 (1)

/* Ctrl-C: the console (console.c) is polled every few bytecodes and after every weight chunk the
 * engine finishes (the module's hook calls mp_event_handle_nowait), so KeyboardInterrupt reaches
 * a Python loop and a running generate(). The boards raise no receive interrupt. */
#define MICROPY_KBD_EXCEPTION               (1)
void console_poll(void);
#define MICROPY_INTERNAL_EVENT_HOOK         console_poll()
#define MICROPY_VM_HOOK_COUNT               (64)
#define MICROPY_VM_HOOK_INIT                static unsigned int vm_hook_divisor = MICROPY_VM_HOOK_COUNT;
#define MICROPY_VM_HOOK_POLL                if (--vm_hook_divisor == 0) { \
        vm_hook_divisor = MICROPY_VM_HOOK_COUNT; \
        console_poll(); \
}
#define MICROPY_VM_HOOK_LOOP                MICROPY_VM_HOOK_POLL
#define MICROPY_VM_HOOK_RETURN              MICROPY_VM_HOOK_POLL

/* The SD card: FatFs through os.VfsFat, long file names (the phrase bank uses them). */
#define MICROPY_VFS                         (1)
/* MICROPY_VFS_FAT: set by port.mk (MICROPY_VFS_FAT = 1 also compiles lib/oofatfs) */
#define MICROPY_FATFS_ENABLE_LFN            (1)
#define MICROPY_FATFS_LFN_CODE_PAGE         437
#define MICROPY_FATFS_RPATH                 (2)
#define MICROPY_FATFS_USE_LABEL             (1)
#define MICROPY_FATFS_MULTI_PARTITION       (1)
#define MICROPY_FATFS_NORTC                 (1) /* no RTC: fixed timestamps */

#define MP_SSIZE_MAX                        (0x7fffffff)
typedef long mp_off_t;

#include <alloca.h>

/* picolibc's log2 is a macro; MicroPython needs a function. */
#define MP_NEED_LOG2                        (1)

#define MP_STATE_PORT                       MP_STATE_VM
