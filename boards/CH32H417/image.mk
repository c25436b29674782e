# The CH32H417 flash image (included by mpconfigboard.mk): the V3F start-up program v3f.elf and
# one merged firmware.bin from flash offset 0 (0x0 alias = 0x08000000 physical):
#   0x00000 .. 0x0FFFF  v3f.elf (its PT_LOAD segments), the rest 0xFF
#   0x10000 ..          firmware.elf (the V5F MicroPython image), up to its last loaded byte
# mkimage.py places each ELF's loadable segments at their load addresses and refuses any that
# falls outside the 960 KiB flash or overlaps another; `mkimage.py --check` then re-reads both ELFs
# and verifies the image against the board's layout (written there from the vendor's numbers, not
# from memory.ld). The image is written under a temporary name, so a failed check leaves no
# firmware.bin behind for the next make to take as up to date.
# `all` (the default goal of port.mk, from MicroPython's mkenv.mk) gets firmware.bin as well.
V3F_DIR = $(BOARD_DIR)/v3f
ENGINE_DIR = $(BOARD_DIR)/../../usermod_tinygan/engine
# The V3F program: start-up, then the chunk server (v3f_server.c) on the same SD driver the V5F
# uses and the engine's CRC-32 (tg_crc32.c, unchanged). Built for core 0 (CH32H417_CORE).
V3F_SRC = $(V3F_DIR)/v3f_start.s $(V3F_DIR)/v3f_main.c $(V3F_DIR)/v3f_server.c $(BOARD_DIR)/ch32h417_sdmmc.c \
	$(BOARD_DIR)/ch32h417_ticks.c $(ENGINE_DIR)/tg_crc32.c
V3F_HDR = $(BOARD_DIR)/ch32h417_regs.h $(BOARD_DIR)/ch32h417_sdmmc.h $(BOARD_DIR)/ch32h417_iocore.h \
	$(BOARD_DIR)/ch32h417_ticks.h $(ENGINE_DIR)/tg_engine.h $(ENGINE_DIR)/tg_crc32_tables.h
# No floats: rv32imac; -O2 for the CRC loop; picolibc's libc only for memcpy/memset (no start files).
# Not -ffreestanding: it would turn the CRC's 4-byte memcpy word loads into library calls.
V3F_CFLAGS = -march=rv32imac -mabi=ilp32 -misa-spec=2.2 -O2 -msmall-data-limit=0 \
	-ffunction-sections -Wall -Wextra -Werror -std=c99 -DCH32H417_CORE=0 -I$(BOARD_DIR) -I$(BOARD_DIR)/../../micropython_port \
	-I$(ENGINE_DIR)
V3F_LDFLAGS = --specs=picolibc.specs -nostartfiles
CH32H417_FLASH_SIZE = 0xF0000

all: $(BUILD)/firmware.bin

$(BUILD)/v3f.elf: $(V3F_SRC) $(V3F_HDR) $(V3F_DIR)/v3f.ld $(BOARD_DIR)/memory.ld $(BOARD_DIR)/image.mk
	$(ECHO) "LINK $@"
	$(Q)mkdir -p $(BUILD)
	$(Q)$(CC) $(V3F_CFLAGS) $(V3F_LDFLAGS) -T $(V3F_DIR)/v3f.ld -L$(BOARD_DIR) -Wl,--gc-sections -Wl,--orphan-handling=error \
		-Wl,-Map=$(BUILD)/v3f.map -o $@ $(V3F_SRC)

$(BUILD)/firmware.bin: $(BUILD)/v3f.elf $(BUILD)/firmware.elf $(BOARD_DIR)/mkimage.py
	$(ECHO) "BIN $@"
	$(Q)$(PYTHON) $(BOARD_DIR)/mkimage.py $@.tmp 0 $(CH32H417_FLASH_SIZE) $(BUILD)/v3f.elf $(BUILD)/firmware.elf
	$(Q)$(PYTHON) $(BOARD_DIR)/mkimage.py --check $@.tmp $(BUILD)/v3f.elf $(BUILD)/firmware.elf >/dev/null
	$(Q)mv $@.tmp $@
	$(Q)$(SIZE) $(BUILD)/v3f.elf
