# CH32H417 board of the tinygan MicroPython port (micropython_port/port.mk). MicroPython runs on
# the V5F core from flash 0x00010000, with its own start-up (v5f_start.s, instead of picolibc's
# crt0) and linker script (v5f.ld on memory.ld); the V3F start-up program at flash 0x0 (v3f/)
# powers the I/O rail, sets the clocks and wakes it. image.mk builds the V3F program and the
# merged flash image firmware.bin. README.md has the memory map and the boot sequence.
# console.c: the port's stdin/stdout, ticks and delays on this board's primitives (console.h).
BOARD_SRC_C = $(BOARD_DIR)/ch32h417_hal.c $(BOARD_DIR)/ch32h417_ticks.c console.c
# The SD card (SDMMC controller, machine.SDCard, /sd): CH32H417_SDMMC=0 leaves it out, for an
# emulator without the SDMMC model (any access to an unmodelled peripheral halts the emulated core).
CH32H417_SDMMC ?= 1
ifeq ($(CH32H417_SDMMC),1)
BOARD_SRC_C += $(BOARD_DIR)/ch32h417_sdmmc.c $(BOARD_DIR)/ch32h417_sdcard.c $(BOARD_DIR)/ch32h417_iocore.c storage.c
endif
BOARD_SRC_S = $(BOARD_DIR)/v5f_start.s
LDSCRIPT = $(BOARD_DIR)/v5f.ld

# Shared SRAM (512 KiB): 416 KiB heap (Python objects, FAT buffers; the QEMU board's 384 KiB must
# not exceed it), 60 KiB DMA buffers, 4 KiB mailbox, 32 KiB for the V3F. The stack is in DTCM with
# .data/.bss and the engine arena (memory.ld).
MICROPY_HEAP_SIZE = 425984
MICROPY_STACK_SIZE = 32768
CFLAGS_BOARD = -DCH32H417_SDMMC=$(CH32H417_SDMMC)

LDFLAGS += -nostartfiles -L$(BOARD_DIR) -Wl,--defsym=__v5f_stack_size=$(MICROPY_STACK_SIZE) \
	-Wl,--orphan-handling=error

include $(BOARD_DIR)/image.mk
