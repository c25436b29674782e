"""Where the host tools find the device application (scripts/), imported as top-level modules.

Uses the contract's tinygan.device shim when it is there; otherwise puts scripts/ on sys.path
itself (the same one line of behaviour), so these tools never carry a copy of device code.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(REPO, "scripts")
SDCARD_SRC = os.path.join(REPO, "sdcard")
DEFAULT_WEIGHTS = os.path.join(REPO, "weights", "default.tgw")


def use_scripts():
    try:
        from tinygan import device  # noqa: F401  (contract's shim: adds scripts/ on import)
    except ImportError:
        pass
    if SCRIPTS not in sys.path:
        sys.path.insert(0, SCRIPTS)
