# The tinygan MicroPython port (out of tree): `make -f port.mk BOARD_DIR=... TOP=... BUILD=...`,
# normally run through the Makefile next to this file (targets qemu, ch32h417).
#
# A board directory provides mpconfigboard.h and mpconfigboard.mk (BOARD_SRC_C, BOARD_SRC_S,
# BOARD_INC, CFLAGS_BOARD, LDSCRIPT, MICROPY_HEAP_SIZE, MICROPY_STACK_SIZE).

ifeq ($(wildcard $(BOARD_DIR)/mpconfigboard.mk),)
$(error BOARD_DIR=$(BOARD_DIR) has no mpconfigboard.mk)
endif

include $(TOP)/py/mkenv.mk
include $(BOARD_DIR)/mpconfigboard.mk

QSTR_DEFS = qstrdefsport.h

# Frozen modules: manifest.py (the application, scripts/). mpy-cross is built from $(TOP) by the
# Makefile into the build tree (MPY_CROSS). The manifest uses no require(), so micropython-lib
# (a submodule) is not needed; mkrules.mk only checks that MPY_LIB_DIR holds a README.md, and this
# repository's root is given to satisfy that check.
FROZEN_MANIFEST ?= $(abspath manifest.py)
export MICROPY_MPYCROSS = $(MPY_CROSS)
MICROPY_MPYCROSS_DEPENDENCY =
MPY_LIB_DIR = $(abspath ..)
MICROPY_ROM_TEXT_COMPRESSION ?= 1
MICROPY_VFS_FAT = 1

# The tinygan user module: every */micropython.mk one level below the repository root.
USER_C_MODULES = $(abspath ..)

include $(TOP)/py/py.mk
include $(TOP)/extmod/extmod.mk

CROSS_COMPILE ?= riscv64-unknown-elf-

# Debian's gcc 12 picks the rv32imafc/ilp32f multilib (picolibc) only for this exact -march
# string; -misa-spec=2.2 keeps the CSR and counter instructions (Zicsr, Zicntr) in the base ISA
# so the start-up code assembles without an "_zicsr" suffix that would lose the multilib.
ARCH_FLAGS = -march=rv32imafc -mabi=ilp32f -misa-spec=2.2
SPECS = --specs=picolibc.specs

INC += -I.
INC += -I$(BOARD_DIR)
INC += $(BOARD_INC)
INC += -I$(TOP)
INC += -I$(BUILD)

AFLAGS += $(ARCH_FLAGS)
CFLAGS += $(ARCH_FLAGS) $(SPECS) $(INC) $(CFLAGS_BOARD) -Wall -Wpointer-arith -Wdouble-promotion \
	-Wfloat-conversion -Werror -std=gnu99 -fsingle-precision-constant -ffunction-sections -fdata-sections
CFLAGS += -DMICROPY_HEAP_SIZE=$(MICROPY_HEAP_SIZE) -DMICROPY_STACK_SIZE=$(MICROPY_STACK_SIZE)
CFLAGS += $(CFLAGS_EXTRA)

ifeq ($(DEBUG), 1)
CFLAGS += -g
COPT = -O0
else
COPT += -Os -DNDEBUG
endif
CFLAGS += $(COPT)

LDFLAGS += $(ARCH_FLAGS) $(SPECS) -Wl,-EL -T $(LDSCRIPT) -Wl,--gc-sections -Wl,-Map=$(@:.elf=.map)

SRC_C += \
	main.c \
	shared/libc/string0.c \
	shared/readline/readline.c \
	shared/runtime/interrupt_char.c \
	shared/runtime/pyexec.c \
	shared/runtime/stdout_helpers.c \
	shared/runtime/sys_stdio_mphal.c \
	shared/runtime/gchelper_native.c \
	shared/timeutils/timeutils.c \
	$(BOARD_SRC_C)

SRC_S += shared/runtime/gchelper_rv32i.s $(BOARD_SRC_S)

# (SRC_LIB_LIBM_SQRT_HW_C is ARM VFP assembly; the portable sqrtf is used on RISC-V.)
LIBM_SRC_C += $(SRC_LIB_LIBM_C) $(SRC_LIB_LIBM_SQRT_SW_C)

OBJ += $(PY_O)
OBJ += $(addprefix $(BUILD)/, $(SRC_C:.c=.o))
OBJ += $(addprefix $(BUILD)/, $(SRC_S:.s=.o))
OBJ += $(addprefix $(BUILD)/, $(LIBM_SRC_C:.c=.o))

SRC_QSTR += $(SRC_C) $(LIBM_SRC_C)

all: $(BUILD)/firmware.elf

$(BUILD)/firmware.elf: $(LDSCRIPT) $(OBJ)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(OBJ) $(LIBS)
	$(Q)$(SIZE) $@

include $(TOP)/py/mkrules.mk
