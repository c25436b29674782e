# QEMU virt rv32 board. Start-up code, trap table, UART driver, HAL and the linker script are
# MicroPython's own ports/qemu files (VIRT_RV32 board), reused unchanged from $(TOP).
BOARD_SRC_C = \
	ports/qemu/mcu/rv32/interrupts.c \
	ports/qemu/mcu/rv32/startup.c \
	ports/qemu/mcu/riscv/ticks.c \
	ports/qemu/uart.c \
	ports/qemu/mphalport.c \
	shared/runtime/semihosting_rv32.c \
	$(BOARD_DIR)/vdisk.c \
	storage.c

BOARD_SRC_S = ports/qemu/mcu/rv32/entrypoint.s

# For their "uart.h" (searched after the port's own directory, so mpconfigport.h and mphalport.h
# are the port's, not ports/qemu's).
BOARD_INC = -I$(TOP)/ports/qemu

CFLAGS_BOARD = -DQEMU_SOC_VIRT
LDSCRIPT = $(TOP)/ports/qemu/mcu/rv32/virt.ld

# The heap holds the engine's arena, the FAT buffers and Python objects. 448 KiB: what the
# CH32H417's 512 KiB of SRAM leaves after stack and data, so a cat that runs here fits the chip.
MICROPY_HEAP_SIZE = 458752
# The C stack region of virt.ld is 64 KiB.
MICROPY_STACK_SIZE = 49152

