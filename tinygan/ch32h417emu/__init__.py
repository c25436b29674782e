"""A register-level emulator of the WCH CH32H417 (V3F + V5F cores on unicorn, vendor-sourced
peripheral models).  See docs/ch32h417-emulator.md."""
from .chip import Chip, EmulationFault

__all__ = ["Chip", "EmulationFault"]
