"""Paths the host tools share, and use_scripts(): the device application (scripts/) importable
as top-level modules through the contract's shim tinygan.device."""
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(REPO, "scripts")
SDCARD_SRC = os.path.join(REPO, "sdcard")
DEFAULT_WEIGHTS = os.path.join(REPO, "weights", "default.tgw")


def use_scripts():
    import tinygan.device  # noqa: F401  (importing it puts scripts/ on sys.path)
