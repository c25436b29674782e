/* QEMU `virt` machine, one rv32imafc hart: the tinygan firmware without hardware. Console on the
 * virt UART (ns16550), the SD card is a FAT image file read through semihosting (vdisk.c). */
#define MICROPY_HW_BOARD_NAME               "QEMU virt (tinygan)"
#define MICROPY_HW_MCU_NAME                 "rv32imafc"
#define MICROPY_BOARD_MACHINE_INCLUDEFILE   "qemu_machine.h" /* machine.reset() exits QEMU */

/* The engine's arena outside the GC heap, as on the CH32H417 (there in DTCM): 160 KiB, the default
 * model needs 159,248 bytes. */
#define MICROPY_TINYGAN_ARENA_SIZE          (163840)
