# MicroPython user C module `tinygan` (make-based ports): the binding plus the engine sources,
# compiled unchanged. Build with USER_C_MODULES=<repository root> (MicroPython includes every
# */micropython.mk one level below that directory; this is the only one in the repository).
TINYGAN_MOD_DIR := $(USERMOD_DIR)

# The binding is scanned for qstrs; the engine has none, so it goes in the LIB list (not scanned).
SRC_USERMOD_C += $(TINYGAN_MOD_DIR)/modtinygan.c
SRC_USERMOD_LIB_C += $(wildcard $(TINYGAN_MOD_DIR)/engine/*.c)

CFLAGS_USERMOD += -I$(TINYGAN_MOD_DIR)/engine -I$(TINYGAN_MOD_DIR)

# The engine's and the binding's own warning bar (docs/engine.md), without imposing -Wextra on
# MicroPython's core sources: target-specific flags for just these objects.
TINYGAN_OBJ := $(addprefix $(BUILD)/, $(patsubst $(USER_C_MODULES)/%.c,%.o, \
    $(TINYGAN_MOD_DIR)/modtinygan.c $(wildcard $(TINYGAN_MOD_DIR)/engine/*.c)))
$(TINYGAN_OBJ): CFLAGS += -Wall -Wextra -Werror

# Ports build MicroPython with -Os; the engine's kernels are the hot path, so they get the flags of
# the bare-metal RV32 image (tinygan/rv32.py). -ffp-contract=fast may fuse the fast kernel's float
# multiply-adds; every product and partial sum there is an exact integer below 2^24, so results
# cannot change.
TINYGAN_ENGINE_OBJ := $(filter $(BUILD)/usermod_tinygan/engine/%, $(TINYGAN_OBJ))
$(TINYGAN_ENGINE_OBJ): CFLAGS += -O3 -ffp-contract=fast
