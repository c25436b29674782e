"""USART1..8: transmit/receive data, status flags, baud rate, interrupts; bridged to the host.

Source: ch32h417.h (USART_TypeDef: 16-bit STATR, DATAR, BRR, CTLR1, CTLR2, CTLR3, GPR, CTLR4 at a
4-byte stride; USART_STATR_TXE 0x80, TC 0x40, RXNE 0x20, ORE 0x08; USART_CTLR1_UE 0x2000,
TE 0x08, RE 0x04, RXNEIE 0x20, TCIE 0x40, TXEIE 0x80; USART*_BASE; USART*_IRQn), ch32h417_usart.c
(USART_Init: BRR = mantissa << 4 | fraction of HCLK / (16 * baud), so baud = HCLK / BRR),
ch32h417_rcc.c (RCC_GetClocksFreq: HCLK), clock enables RCC_USART1EN (HB2PCENR bit 14),
RCC_USART2..5EN (HB1PCENR 17..20), RCC_USART6..8EN (HB1PCENR 6..8).
Pins (alternate functions), each seen in the SDK: USART1 TX PA9 AF7 and RX PA10 AF7
(SRC/Debug/debug.c USART_Printf_Init; USART/USART_HardwareFlowControl/Common/hardware.c),
USART8 TX PB4 AF11 and USART6 TX PB9 AF8 (debug.c).  No RX pin for USART6/USART8 appears in the
SDK, so their receivers hear nothing here.

Rules: with the RCC clock off the USART ignores writes and reads its reset value; a byte written to
DATAR is sent only while UE and TE are set, and reaches the host only when its TX pin is configured
as an alternate-function output with this USART's AF number; a received byte enters DATAR only
while UE and RE are set and the RX pin is an input (or AF) with the USART's AF.  Bytes the host
sends when nothing listens are dropped and counted, as on a wire.  Transmission is not paced (TXE
and TC are set again at once); the baud each byte would go at (HCLK / BRR) is recorded.  Reception
is paced at one byte per character time (10 bits at that baud).
"""
from collections import deque

from .base import Peripheral, Reg
from .gpio import pin_function

STATR_ORE, STATR_RXNE, STATR_TC, STATR_TXE = 0x08, 0x20, 0x40, 0x80
CTLR1_RE, CTLR1_TE, CTLR1_RXNEIE, CTLR1_TCIE, CTLR1_TXEIE, CTLR1_UE = 0x04, 0x08, 0x20, 0x40, 0x80, 0x2000

# name -> (base, RCC clock (register, bit), IRQ number, TX pins, RX pins); a pin is (port, pin, AF)
USARTS = {
    "USART1": (0x40013800, ("HB2PCENR", 14), 48, (("A", 9, 7),), (("A", 10, 7),)),
    "USART2": (0x40004400, ("HB1PCENR", 17), 45, (), ()),
    "USART3": (0x40004800, ("HB1PCENR", 18), 84, (), ()),
    "USART4": (0x40004C00, ("HB1PCENR", 19), 85, (), ()),
    "USART5": (0x40005000, ("HB1PCENR", 20), 98, (), ()),
    "USART6": (0x40001800, ("HB1PCENR", 6), 99, (("B", 9, 8),), ()),
    "USART7": (0x40001C00, ("HB1PCENR", 7), 116, (), ()),
    "USART8": (0x40002000, ("HB1PCENR", 8), 117, (("B", 4, 11),), ()),
}


class USART(Peripheral):
    SOURCE = "ch32h417.h USART_TypeDef + USART_STATR/CTLR1 bits; ch32h417_usart.c USART_Init; debug.c pins"
    REGS = (
        Reg(0x00, "STATR", STATR_TXE | STATR_TC, access="w0c", mask=STATR_RXNE | STATR_TC | 0x3F0),
        Reg(0x04, "DATAR", 0, mask=0x1FF, pollable=False),
        Reg(0x08, "BRR", 0, mask=0xFFFF),
        Reg(0x0C, "CTLR1", 0, mask=0xFFFF),
        Reg(0x10, "CTLR2", 0, mask=0xFFFF),
        Reg(0x14, "CTLR3", 0, mask=0xFFFF),
        Reg(0x18, "GPR", 0, mask=0xFFFF),
        Reg(0x1C, "CTLR4", 0, mask=0xFFFF),
    )

    def __init__(self, chip, name):
        base, self.CLOCK, self.IRQ, self.tx_pins, self.rx_pins = USARTS[name]
        self.NAME = name
        self.rx_queue = deque()       # bytes from the host not yet on the wire
        self.host = None              # bridge object with .write(bytes), set by the chip
        self.sent = bytearray()       # every byte that left through a routed TX pin
        self.unrouted_tx = 0          # bytes written while the TX pin was not routed to this USART
        self.disabled_tx = 0          # bytes written while UE/TE were off
        self.rx_dropped = 0
        self.bauds = set()
        super().__init__(chip, base, name)

    def reset(self):
        super().reset()
        self.rx_data = 0
        self.next_rx_time = 0.0

    # -- pins ----------------------------------------------------------------------------------------
    def _routed(self, pins, want):
        for port, pin, af in pins:
            kind, n = pin_function(self.chip, port, pin)
            if n == af and (kind == want or (want == "input" and kind == "af_out")):
                return True
        return False

    def tx_routed(self):
        return self._routed(self.tx_pins, "af_out")

    def rx_routed(self):
        return self._routed(self.rx_pins, "input")

    def baud(self):
        brr = self.values[0x08]
        return self.chip.rcc.hclk_hz() / brr if brr else None

    # -- registers -----------------------------------------------------------------------------------
    def write_datar(self, value, core):
        ctlr1 = self.values[0x0C]
        if not (ctlr1 & CTLR1_UE and ctlr1 & CTLR1_TE):
            self.disabled_tx += 1
            return
        b = self.baud()
        if b:
            self.bauds.add(round(b))
        if not self.tx_routed():
            self.unrouted_tx += 1
            return
        byte = bytes([value & 0xFF])
        self.sent += byte
        if self.host is not None:
            self.host.write(byte)
        self.values[0x00] |= STATR_TXE | STATR_TC

    def read_datar(self, core):
        self.values[0x00] &= ~(STATR_RXNE | STATR_ORE)
        return self.rx_data

    # -- host side -------------------------------------------------------------------------------------
    def feed(self, data):
        """Bytes arriving from the host on the RX wire."""
        self.rx_queue.extend(data)

    def tick(self, now, hclk_ticks):
        if not self.rx_queue:
            return
        ctlr1 = self.values[0x0C]
        listening = self.clocked() and ctlr1 & CTLR1_UE and ctlr1 & CTLR1_RE and self.rx_routed()
        if not listening:
            self.rx_dropped += len(self.rx_queue)
            self.rx_queue.clear()
            return
        if self.values[0x00] & STATR_RXNE or now < self.next_rx_time:
            return
        self.rx_data = self.rx_queue.popleft()
        self.values[0x00] |= STATR_RXNE
        b = self.baud()
        self.next_rx_time = now + (10.0 / b if b else 0.0)

    def irq_lines(self):
        if not self.clocked():
            return ()
        st, c1 = self.values[0x00], self.values[0x0C]
        if (st & STATR_RXNE and c1 & CTLR1_RXNEIE) or (st & STATR_TXE and c1 & CTLR1_TXEIE) \
                or (st & STATR_TC and c1 & CTLR1_TCIE):
            return (self.IRQ,)
        return ()

    def stats(self):
        if not (self.sent or self.bauds or self.unrouted_tx or self.disabled_tx or self.rx_dropped):
            return {}
        return {"sent": len(self.sent), "bauds": sorted(self.bauds), "unrouted_tx": self.unrouted_tx,
                "disabled_tx": self.disabled_tx, "rx_dropped": self.rx_dropped}
