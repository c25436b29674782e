"""GPIO ports A..F: pin modes; pin_function() combines them with the AFIO's alternate-function choice.

Source: ch32h417.h (GPIO_TypeDef CFGLR/CFGHR/INDR/OUTDR/BSHR/BCR/LCKR/SPEED; AFIO_TypeDef PCFR1,
GPIOx_AFLR/AFHR, EXTICR1/2; GPIOA..F_BASE, AFIO_BASE), ch32h417_gpio.c (GPIO_Init: 4 bits per pin in
CFGLR/CFGHR, MODE[1:0] = 01 for any output mode, CNF[3:2]; GPIO_PinAFConfig: 4 bits per pin in
AFIO->GPIOx_AFLR/AFHR), ch32h417_gpio.h (GPIO_Mode_AF_PP 0x18 -> nibble 0x9, AF_OD 0x1C -> 0xD,
IPU/IPD 0x48/0x28 -> 0x8, IN_FLOATING 0x04 -> 0x4, AIN 0 -> 0x0).  Clocks: RCC_IOPxEN
(HB2PCENR bits 2..7), RCC_AFIOEN (HB2PCENR bit 0).

pin_function() tells another model (the USART) what a pin is connected to: an output driven by the
alternate function AFn, an input (which any peripheral selected by AFn may listen to), a GPIO output,
or analog.  A port or AFIO without its clock reads its reset value (input floating, AF0), so a pin
on an unclocked port carries no peripheral signal.  The CFGLR/CFGHR reset value 0x44444444 (all
floating inputs) is inferred from the WCH/STM32F1 register layout; the SDK does not state it.

Pins as wires (issue 13): pin_level() is what a pin carries: an output drives OUTDR's bit; an input
is driven by whatever the host attached (drive(), e.g. a button to ground), else it rests at its pull
(IPU/IPD: OUTDR's bit, GPIO_Init's convention; a floating input with nothing attached reads 0 here,
inferred).  Devices outside the chip (the LCD panel) subscribe with add_listener(fn): fn(port) runs
after every write that can change an output level or a pin mode; the EXTI model is told of every
change of a pin level or mode (port_changed).  schedule(pin, t, level) queues host-side drive changes at
emulated times; tick() applies them (at quantum granularity).
"""
import heapq
import itertools

from .base import Peripheral, Reg

PORTS = "ABCDEF"


class GPIO(Peripheral):
    SOURCE = "ch32h417.h GPIO_TypeDef; ch32h417_gpio.c GPIO_Init"
    REGS = (
        Reg(0x00, "CFGLR", 0x44444444), Reg(0x04, "CFGHR", 0x44444444),
        Reg(0x08, "INDR", 0, access="ro"), Reg(0x0C, "OUTDR", 0, mask=0xFFFF),
        Reg(0x10, "BSHR", 0, access="wo"), Reg(0x14, "BCR", 0, access="wo"),
        Reg(0x18, "LCKR", 0), Reg(0x1C, "SPEED", 0),
    )

    def __init__(self, chip, base, port):
        self.port = port
        self.NAME = "GPIO" + port
        self.CLOCK = ("HB2PCENR", 2 + PORTS.index(port))
        self.listeners = []
        self.driven = {}            # pin -> level forced from outside (survives a chip reset: a wire)
        self._seq = itertools.count()
        self.pending = []           # heap of (time, seq, pin, level or None) host drive changes
        super().__init__(chip, base, "GPIO" + port)

    # -- register side effects: every write that can change a level tells the wires ------------
    def _changed(self):
        for fn in self.listeners:
            fn(self.port)
        exti = self.chip.peripheral("EXTI")
        if exti is not None:
            exti.port_changed(self.port)

    def write_cfglr(self, value, core):
        self.values[0x00] = value
        self._changed()

    def write_cfghr(self, value, core):
        self.values[0x04] = value
        self._changed()

    def write_outdr(self, value, core):
        self.values[0x0C] = value & 0xFFFF
        self._changed()

    def write_bshr(self, value, core):
        out = self.values[0x0C]
        out |= value & 0xFFFF
        out &= ~(value >> 16) & 0xFFFF
        self.values[0x0C] = out
        self._changed()

    def write_bcr(self, value, core):
        self.values[0x0C] &= ~value & 0xFFFF
        self._changed()

    def read_indr(self, core):
        # Output pins read back what they drive; inputs what is attached, else their pull level.
        return sum(self.pin_level(p) << p for p in range(16))

    # -- the pins as wires -------------------------------------------------------------------------
    def is_output(self, pin):
        return bool(self.nibble(pin) & 3)

    def pin_level(self, pin):
        """The level on the pin now: 0 or 1."""
        if self.is_output(pin):
            return self.values[0x0C] >> pin & 1 if self.clocked() else 0
        if pin in self.driven:
            return self.driven[pin]
        return self.values[0x0C] >> pin & 1

    def add_listener(self, fn):
        self.listeners.append(fn)

    def drive(self, pin, level):
        """Drive an input from outside (0/1), or let it go (None)."""
        if level is None:
            self.driven.pop(pin, None)
        else:
            self.driven[pin] = 1 if level else 0
        self._changed()

    def schedule(self, pin, at, level):
        """drive(pin, level) at emulated time `at` (applied at the first quantum boundary after it)."""
        heapq.heappush(self.pending, (at, next(self._seq), pin, level))

    def tick(self, now, hclk_ticks):
        while self.pending and self.pending[0][0] <= now:
            _, _, pin, level = heapq.heappop(self.pending)
            self.drive(pin, level)

    def nibble(self, pin):
        """The 4-bit CNF:MODE field of a pin (reset value when the port is unclocked)."""
        reg = 0x00 if pin < 8 else 0x04
        value = self.values[reg] if self.clocked() else self.regs[reg].reset
        return (value >> ((pin & 7) * 4)) & 0xF


def pin_function(chip, port, pin):
    # the AF number comes from the AFIO model (afio.py); the mode from this port
    """('af_out', n), ('input', n), ('gpio_out', None) or ('analog', None) for pin P<port><pin>."""
    nib = chip.peripheral("GPIO" + port).nibble(pin)
    mode, cnf = nib & 3, nib >> 2
    af = chip.peripheral("AFIO").af(port, pin)
    if mode:                       # an output
        return ("af_out", af) if cnf & 2 else ("gpio_out", None)
    return ("input", af) if cnf else ("analog", None)
