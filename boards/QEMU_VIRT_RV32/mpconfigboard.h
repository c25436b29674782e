/* QEMU `virt` machine, one rv32imafc hart: the tinygan firmware without hardware. Console on the
 * virt UART (ns16550), the SD card is a FAT image file read through semihosting (vdisk.c). */
#define MICROPY_HW_BOARD_NAME               "QEMU virt (tinygan)"
#define MICROPY_HW_MCU_NAME                 "rv32imafc"
#define MICROPY_BOARD_MACHINE_INCLUDEFILE   "ports/qemu/modmachine.c" /* machine.reset() exits QEMU */
