"""RNG: the true random number generator (CR/SR/DR).

Source: ch32h417.h (RNG_TypeDef CR/SR/DR at RNG_BASE 0x40023C00; RNG_CR_RNGEN 0x04, RNG_CR_IE 0x08;
RNG_SR_DRDY 0x01, CECS 0x02, SECS 0x04, CEIS 0x20, SEIS 0x40; RNG_IRQn 146), ch32h417_rng.c
(RNG_Cmd sets/clears RNGEN; RNG_GetFlagStatus tests SR; RNG_GetRandomNumber reads DR),
EVT/EXAM/RNG/RNG/Common/hardware.c (RCC_HBPeriph_RNG enabled, RNG_Cmd(ENABLE), wait for DRDY, read DR).
Clock: RCC_RNGEN (HBPCENR bit 9).

Model: DRDY is set only while the RNG is clocked and RNGEN is set; a DR read returns the current
word (from os.urandom: the model's entropy is the host's, not a physical noise source) and clears
DRDY; the next word is ready at the next emulation slice boundary.  Reading DR without DRDY
returns 0.  IE with DRDY asserts RNG_IRQn.  Error flags are never raised.
"""
import os

from .base import Peripheral, Reg

CR_RNGEN, CR_IE, SR_DRDY = 0x04, 0x08, 0x01


class RNG(Peripheral):
    NAME = "RNG"
    SOURCE = "ch32h417.h RNG_TypeDef, RNG_CR_RNGEN, RNG_SR_DRDY; ch32h417_rng.c; RNG example hardware.c"
    CLOCK = ("HBPCENR", 9)
    IRQ = 146
    REGS = (Reg(0x00, "CR", 0, mask=CR_RNGEN | CR_IE), Reg(0x04, "SR", 0, access="w0c", mask=0x60),
            Reg(0x08, "DR", 0, access="ro", pollable=False))

    def __init__(self, chip, base):
        self.words_read = 0           # over the whole run, across chip resets
        super().__init__(chip, base)

    def reset(self):
        super().reset()
        self.word = 0

    def tick(self, now, hclk_ticks):
        if self.clocked() and self.values[0x00] & CR_RNGEN:
            if not self.values[0x04] & SR_DRDY:
                self.word = int.from_bytes(os.urandom(4), "little")
                self.values[0x04] |= SR_DRDY
        else:
            self.values[0x04] &= ~SR_DRDY

    def read_dr(self, core):
        if not self.values[0x04] & SR_DRDY:
            return 0
        self.values[0x04] &= ~SR_DRDY
        self.words_read += 1
        return self.word

    def irq_lines(self):
        if self.clocked() and self.values[0x00] & CR_IE and self.values[0x04] & SR_DRDY:
            return (self.IRQ,)
        return ()

    def stats(self):
        return {"words_read": self.words_read}
