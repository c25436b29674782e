# QEMU virt rv32 board. Start-up code, trap table, UART driver and the linker script are
# MicroPython's own ports/qemu files (VIRT_RV32 board), reused unchanged from $(TOP); the HAL is
# the port's console.c on this board's qemu_hal.c.
BOARD_SRC_C = \
	ports/qemu/mcu/rv32/interrupts.c \
	ports/qemu/mcu/rv32/startup.c \
	ports/qemu/uart.c \
	$(BOARD_DIR)/qemu_hal.c \
	shared/runtime/semihosting_rv32.c \
	$(BOARD_DIR)/vdisk.c \
	$(BOARD_DIR)/hostfile.c \
	console.c \
	storage.c

BOARD_SRC_S = ports/qemu/mcu/rv32/entrypoint.s

# For their "uart.h" (searched after the port's own directory, so mpconfigport.h and mphalport.h
# are the port's, not ports/qemu's).
BOARD_INC = -I$(TOP)/ports/qemu

CFLAGS_BOARD = -DQEMU_SOC_VIRT
LDSCRIPT = $(TOP)/ports/qemu/mcu/rv32/virt.ld

# The GC heap holds the FAT buffers and Python objects (the engine's arena is a static buffer,
# mpconfigboard.h; the application's bytecode is frozen in flash). It must not be larger than the
# CH32H417 firmware's heap, so that what runs here fits the chip: 384 KiB.
MICROPY_HEAP_SIZE = 393216
# The C stack region of virt.ld is 64 KiB.
MICROPY_STACK_SIZE = 49152

