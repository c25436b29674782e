# Modules frozen into the firmware of every board (compiled by the pinned tree's mpy-cross, kept
# in flash, so importing them costs no heap for bytecode or the latent tables):
# the on-device application, scripts/ of this repository.
# A card's /sd/scripts/ comes before .frozen on sys.path, so an edited copy there overrides these.
freeze("$(PORT_DIR)/../scripts")
