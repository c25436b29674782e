/* CH32H417 board of the tinygan MicroPython port (micropython_port/): MicroPython on the V5F core,
 * started by the V3F start-up program (v3f/). See README.md for the memory map and boot. */
#define MICROPY_HW_BOARD_NAME               "CH32H417 tinygan"
#define MICROPY_HW_MCU_NAME                 "CH32H417 V5F (rv32imafc, 400 MHz)"
#define MICROPY_BOARD_MACHINE_INCLUDEFILE   "ch32h417_machine.h"

#define MICROPY_PY_OS_URANDOM               (1) /* the chip's TRNG (ch32h417_hal.c) */

/* The engine's static arena (modtinygan.c, section .bss.tg_arena), placed in DTCM by v5f.ld. */
#define MICROPY_TINYGAN_ARENA_SIZE          (163840)

/* The V3F reads weight files on the SD card for the engine (ch32h417_iocore.c, tinygan_board.h). */
#if CH32H417_SDMMC
#define MICROPY_TINYGAN_BOARD_SOURCE        (1)
#define MICROPY_TINYGAN_BOARD_READER        "V3F"
#endif

/* machine.SDCard, the card's block device (ch32h417_sdcard.c), unless CH32H417_SDMMC=0. */
#if CH32H417_SDMMC
#define MICROPY_PY_MACHINE_EXTRA_GLOBALS    {MP_ROM_QSTR(MP_QSTR_SDCard), MP_ROM_PTR(&ch32h417_sdcard_type)},
#endif
