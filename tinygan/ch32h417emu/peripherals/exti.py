"""EXTI: edge detection on GPIO lines 0..15 (the port chosen per line in AFIO EXTICR1/2), pending flags.

Sources (openwch/ch32h417 EVT V1.3):
- EVT/EXAM/SRC/Peripheral/inc/ch32h417.h: EXTI_TypeDef at EXTI_BASE 0x40010400 (INTENR 0x00,
  EVENR 0x04, RTENR 0x08, FTENR 0x0C, SWIEVR 0x10, INTFR 0x14), EXTI_INTF_INTF0..25 (lines 0..25),
  EXTI7_0_IRQn 36, EXTI15_8_IRQn 33; AFIO_TypeDef EXTICR1/EXTICR2.
- src/ch32h417_exti.c: EXTI_Init (INTENR for EXTI_Mode_Interrupt, FTENR/RTENR for the trigger),
  EXTI_ClearFlag / EXTI_ClearITPendingBit (INTFR = line: write 1 to clear), EXTI_GetITStatus
  (INTFR and INTENR), EXTI_DeInit (INTFR = 0x03FFFFFF clears all 26).
- src/ch32h417_gpio.c GPIO_EXTILineConfig: 4 bits per line, EXTICR1 lines 0..7, EXTICR2 8..15;
  inc/ch32h417_gpio.h GPIO_PortSourceGPIOA..F = 0..5, GPIO_PortSourceCMP = 6.
- EVT/EXAM/EXTI/EXTI0/Common/hardware.c: PB0 as IPU, EXTI line 0 from port B, falling edge,
  EXTI7_0_IRQn.

Model: the level of each line's source pin (gpio.GPIO.pin_level) is watched; a rising edge with
RTENR or a falling edge with FTENR sets the line's INTFR bit when its INTENR bit is set (the
pending latch sits behind the interrupt mask in the WCH/STM32F1 EXTI this follows: inferred; the
SDK only ever reads INTFR together with INTENR).  SWIEVR sets INTFR for lines with INTENR.  An edge
on a line with only EVENR set is counted (no event reaches a core: not modelled).  The interrupt
is asserted while a line's INTFR and INTENR bits are set.  Edges are seen at quantum boundaries or
at the GPIO write that changes a level; a changed EXTICR source is sampled without an edge.  The
block has no RCC enable (none in ch32h417.h); EXTICR is read from the AFIO model.  Lines 16..25
and the CMP source have no model: they never see an edge.
"""
from .base import Peripheral, Reg
from .gpio import PORTS

LINES = 0x03FFFFFF
IRQ_LOW, IRQ_HIGH = 36, 33       # EXTI7_0_IRQn, EXTI15_8_IRQn


class EXTI(Peripheral):
    NAME = "EXTI"
    SOURCE = "ch32h417.h EXTI_TypeDef; ch32h417_exti.c; ch32h417_gpio.c GPIO_EXTILineConfig; EXTI0 example"
    REGS = (Reg(0x00, "INTENR", mask=LINES), Reg(0x04, "EVENR", mask=LINES), Reg(0x08, "RTENR", mask=LINES),
            Reg(0x0C, "FTENR", mask=LINES), Reg(0x10, "SWIEVR", mask=LINES), Reg(0x14, "INTFR", mask=LINES))

    def reset(self):
        super().reset()
        self.seen = {}              # line -> (port, level) last sampled
        self.counts = {"edges": 0, "pending_set": 0, "edges_masked": 0, "events_not_delivered": 0}

    def source_port(self, line):
        afio = self.chip.peripheral("AFIO")
        reg = afio.values[0x3C if line < 8 else 0x40]
        src = (reg >> 4 * (line & 7)) & 0xF
        return PORTS[src] if src < len(PORTS) else None

    def port_changed(self, port):
        """A GPIO write or an outside drive may have changed a level on `port`."""
        gpio = self.chip.peripheral("GPIO" + port)
        for line in range(16):
            if self.source_port(line) != port:
                continue
            level = gpio.pin_level(line)
            before = self.seen.get(line)
            self.seen[line] = (port, level)
            if before is None or before[0] != port or before[1] == level:
                continue
            self._edge(line, rising=level == 1)

    def _edge(self, line, rising):
        bit = 1 << line
        trig = self.values[0x08] if rising else self.values[0x0C]
        if not trig & bit:
            return
        self.counts["edges"] += 1
        if self.values[0x00] & bit:
            self.values[0x14] |= bit
            self.counts["pending_set"] += 1
        elif self.values[0x04] & bit:
            self.counts["events_not_delivered"] += 1
        else:
            self.counts["edges_masked"] += 1

    def write_swievr(self, value, core):
        self.values[0x10] = value & LINES
        self.values[0x14] |= value & self.values[0x00] & LINES

    def write_intfr(self, value, core):
        self.values[0x14] &= ~value & LINES
        self.values[0x10] &= ~value & LINES

    def sources_changed(self):
        """AFIO EXTICR was written: sample the lines' (new) sources, without an edge."""
        for port in PORTS:
            self.port_changed(port)

    def irq_lines(self):
        pending = self.values[0x14] & self.values[0x00]
        lines = []
        if pending & 0xFF:
            lines.append(IRQ_LOW)
        if pending & 0xFF00:
            lines.append(IRQ_HIGH)
        return lines

    def stats(self):
        return dict(self.counts) if self.counts["edges"] else {}
