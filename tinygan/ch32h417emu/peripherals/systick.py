"""SysTick0 (V3F) and SysTick1 (V5F): the cores' system timers, one block at 0xE000F000.

Source: core_riscv.h (SysTick_Type: CTLR, ISR "only for SysTick0", CNT, RESERVED, CMP; SysTick0 at
0xE000F000, SysTick1 at 0xE000F080; SysTick0_IRQn 12, SysTick1_IRQn 13 in ch32h417.h),
SRC/Debug/debug.c (Delay_Us/Delay_Ms: CTLR = 1<<2 then |= 1<<0, wait for SysTick0->ISR bit 0 (V3F)
or bit 1 (V5F), cleared with ISR &= ~bit; p_us = HCLKClock / 1e6, i.e. the counter runs at HCLK
with CTLR bit 2 set), CPU/SYSTICK/SYSTICK_Interrupt/Common/hardware.c (CTLR = 0xF with CMP = HCLK-1
gives one interrupt per second: bit 1 interrupt enable, bit 3 reload to 0 after CMP).

Model: CTLR bit 0 enable, bit 1 interrupt enable, bit 2 clock = HCLK (clear: HCLK/8, inferred from
the WCH QingKe family, the SDK always sets it), bit 3 auto-reload.  The 32-bit counter counts up;
when it reaches CMP the timer's flag in SysTick0->ISR is set (bit 0 SysTick0, bit 1 SysTick1); with
auto-reload it restarts from 0 (period CMP + 1).  Flags clear by writing 0 (write 1 keeps).  The
interrupt is asserted while flag and enable are set; SysTick0 goes to the V3F, SysTick1 to the V5F.
Counting happens between emulation slices, so a read sees the count at the last slice boundary.
"""
from .base import Peripheral, Reg

CTLR_STE, CTLR_STIE, CTLR_STCLK, CTLR_STRE = 1, 2, 4, 8
TIMERS = ((0x00, 12, 0), (0x80, 13, 1))      # (offset, IRQ, ISR bit / owning hart)


class SysTick(Peripheral):
    NAME = "SYSTICK"
    SOURCE = "core_riscv.h SysTick_Type, SysTick0/1; debug.c Delay_Us; SYSTICK_Interrupt example"
    REGS = (
        Reg(0x00, "CTLR0"), Reg(0x04, "ISR", 0, access="w0c", mask=0x3), Reg(0x08, "CNT0"),
        Reg(0x10, "CMP0"),
        Reg(0x80, "CTLR1"), Reg(0x88, "CNT1"), Reg(0x90, "CMP1"),
    )

    def reset(self):
        super().reset()
        self.frac = [0.0, 0.0]

    def tick(self, now, hclk_ticks):
        for i, (off, irq, bit) in enumerate(TIMERS):
            ctlr = self.values[off]
            if not ctlr & CTLR_STE:
                continue
            self.frac[i] += hclk_ticks if ctlr & CTLR_STCLK else hclk_ticks / 8
            n = int(self.frac[i])
            if not n:
                continue
            self.frac[i] -= n
            cnt, cmp_ = self.values[off + 8], self.values[off + 0x10]
            new = cnt + n
            crossed = cnt < cmp_ <= new or (new > 0xFFFFFFFF and cmp_ <= (new & 0xFFFFFFFF))
            if crossed:
                self.values[0x04] |= 1 << bit
                if ctlr & CTLR_STRE and new > cmp_:
                    new = (new - cmp_ - 1) % (cmp_ + 1)
            self.values[off + 8] = new & 0xFFFFFFFF

    def irq_lines(self):
        lines = []
        for off, irq, bit in TIMERS:
            if self.values[off] & CTLR_STIE and self.values[0x04] >> bit & 1:
                lines.append(irq)
        return lines
