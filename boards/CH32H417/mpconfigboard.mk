# CH32H417 board of the tinygan MicroPython port (micropython_port/port.mk). The firmware runs on
# the V5F (compute) core. Start-up is picolibc's crt0 (copies .data from flash, clears .bss, turns
# the FPU on) with picolibc's linker script placed by ch32h417.ld.
BOARD_SRC_C = $(BOARD_DIR)/ch32h417_hal.c
BOARD_SRC_S =
LDSCRIPT = $(BOARD_DIR)/ch32h417.ld

# 512 KiB shared SRAM (board.json): 448 KiB heap (engine arena, FAT buffers, Python objects), the
# rest for .data/.bss and a 16 KiB stack (the engine needs under 1 KiB of it).
MICROPY_HEAP_SIZE = 458752
MICROPY_STACK_SIZE = 16384
CFLAGS_BOARD = -DCH32H417_CORE_HZ=300000000
