# Modules frozen into the firmware of every board (compiled by the pinned tree's mpy-cross, kept
# in flash, so importing them costs no heap for bytecode or the latent tables):
# - asyncio (and the old name uasyncio), the pinned tree's extmod/asyncio; its C half, _asyncio,
#   is MICROPY_PY_ASYNCIO in mpconfigport.h;
# - the on-device application, scripts/ of this repository.
# A card's /sd/scripts/ comes before .frozen on sys.path, so an edited copy there overrides these;
# /sd/lib (mip's packages) comes after, so a package cannot shadow them (docs/micropython-port.md).
include("$(MPY_DIR)/extmod/asyncio")
freeze("$(PORT_DIR)/../scripts")
