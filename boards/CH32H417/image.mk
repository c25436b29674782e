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
V3F_SRC = $(V3F_DIR)/v3f_start.s $(V3F_DIR)/v3f_main.c
# The V3F program needs no floats and no library: rv32imac, freestanding, no small-data section.
V3F_CFLAGS = -march=rv32imac -mabi=ilp32 -misa-spec=2.2 -Os -ffreestanding -nostdlib -msmall-data-limit=0 \
	-ffunction-sections -Wall -Wextra -Werror -std=c99 -I$(BOARD_DIR)
CH32H417_FLASH_SIZE = 0xF0000

all: $(BUILD)/firmware.bin

$(BUILD)/v3f.elf: $(V3F_SRC) $(V3F_DIR)/v3f.ld $(BOARD_DIR)/memory.ld $(BOARD_DIR)/ch32h417_regs.h
	$(ECHO) "LINK $@"
	$(Q)mkdir -p $(BUILD)
	$(Q)$(CC) $(V3F_CFLAGS) -T $(V3F_DIR)/v3f.ld -L$(BOARD_DIR) -Wl,--gc-sections -Wl,--orphan-handling=error \
		-Wl,-Map=$(BUILD)/v3f.map -o $@ $(V3F_SRC)

$(BUILD)/firmware.bin: $(BUILD)/v3f.elf $(BUILD)/firmware.elf $(BOARD_DIR)/mkimage.py
	$(ECHO) "BIN $@"
	$(Q)$(PYTHON) $(BOARD_DIR)/mkimage.py $@.tmp 0 $(CH32H417_FLASH_SIZE) $(BUILD)/v3f.elf $(BUILD)/firmware.elf
	$(Q)$(PYTHON) $(BOARD_DIR)/mkimage.py --check $@.tmp $(BUILD)/v3f.elf $(BUILD)/firmware.elf >/dev/null
	$(Q)mv $@.tmp $@
	$(Q)$(SIZE) $(BUILD)/v3f.elf
