/* CH32H417 board of the tinygan MicroPython port (micropython_port/). Builds and links; it has
 * never run on the chip: see README.md for what is assumed and what is missing. */
#define MICROPY_HW_BOARD_NAME               "CH32H417 tinygan"
#define MICROPY_HW_MCU_NAME                 "CH32H417 (V5F rv32imafc)"
#define MICROPY_BOARD_MACHINE_INCLUDEFILE   "ch32h417_machine.h"
