"""AFIO: alternate-function selection, 4 bits per pin, and the EXTI line sources.

Source: ch32h417.h (AFIO_TypeDef at AFIO_BASE 0x40010000: PCFR1, GPIOA_AFLR/AFHR .. GPIOF_AFLR/AFHR,
EXTICR1/2), ch32h417_gpio.c (GPIO_PinAFConfig: AFIO->GPIOx_AFLR for pins 0-7, AFHR for 8-15, AF number
in bits [4*(pin & 7) + 3 : 4*(pin & 7)]).  Clock: RCC_AFIOEN (HB2PCENR bit 0); unclocked, every pin
reads AF0.  A write to EXTICR1/2 tells the EXTI model to sample its lines' new sources.
"""
from .base import Peripheral, Reg
from .gpio import PORTS


class AFIO(Peripheral):
    NAME = "AFIO"
    SOURCE = "ch32h417.h AFIO_TypeDef; ch32h417_gpio.c GPIO_PinAFConfig"
    CLOCK = ("HB2PCENR", 0)
    REGS = (Reg(0x00, "PCFR1"),) + tuple(
        Reg(0x04 + 8 * i + 4 * h, f"GPIO{p}_AF{'HR' if h else 'LR'}") for i, p in enumerate(PORTS) for h in (0, 1)
    ) + (Reg(0x3C, "EXTICR1"), Reg(0x40, "EXTICR2"))

    def af(self, port, pin):
        """Alternate function number selected for a pin (0 when AFIO is unclocked)."""
        if not self.clocked():
            return 0
        off = 0x04 + 8 * PORTS.index(port) + (4 if pin >= 8 else 0)
        return (self.values[off] >> ((pin & 7) * 4)) & 0xF

    def _write_exticr(self, off, value):
        self.values[off] = value
        exti = self.chip.peripheral("EXTI")
        if exti is not None:
            exti.sources_changed()

    def write_exticr1(self, value, core):
        self._write_exticr(0x3C, value)

    def write_exticr2(self, value, core):
        self._write_exticr(0x40, value)
