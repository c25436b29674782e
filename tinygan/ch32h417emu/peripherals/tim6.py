"""TIM6: the basic timer that paces the DAC (counter, prescaler, auto-reload, update event as TRGO).

Sources (openwch/ch32h417 EVT V1.3):
- EVT/EXAM/SRC/Peripheral/inc/ch32h417.h: TIM_TypeDef (16-bit registers at a 4-byte stride: CTLR1
  0x00, CTLR2 0x04, SMCFGR 0x08, DMAINTENR 0x0C, INTFR 0x10, SWEVGR 0x14, ..., CNT 0x24, PSC 0x28,
  ATRLR 0x2C), TIM6_BASE 0x40001000, TIM6_IRQn 100; bits TIM_CEN 0x1, TIM_UDIS 0x2, TIM_URS 0x4,
  TIM_OPM 0x8, TIM_ARPE 0x80, TIM_MMS 0x70, TIM_UIE 0x1, TIM_UDE 0x100, TIM_UIF 0x1, TIM_UG 0x1;
  RCC_TIM6EN (HB1PCENR bit 4); RCC_CFGR0 RCC_PPRE1 [10:8] with RCC_PPRE1_DIV1 0 "HCLK not divided",
  DIV2 0x500, DIV4 0x600, DIV8 0x700.
- EVT/EXAM/SRC/Peripheral/src/ch32h417_rcc.c RCC_TIMClockSourDivConfig: every timer but TIM1/8/9/10
  is clocked at "TIM_Clock = HCLK/2, /4, /8" set through PPRE1 (field values 5, 6, 7; the header's
  DIV1 = 0 leaves HCLK undivided).  So TIM6 counts at HCLK >> {0: 0, 5: 1, 6: 2, 7: 3}[PPRE1]; the
  field values 1..4 are not defined by the SDK and stop the run when TIM6 counts with them.
- ch32h417_tim.c TIM_TimeBaseInit: TIM6/TIM7 get no counter-mode or clock-division bits (a basic,
  up-counting timer), and it ends with SWEVGR = TIM_PSCReloadMode_Immediate (UG) so the prescaler
  takes effect; ch32h417_tim.h TIM_TRGOSource_Update = 0x20 (MMS = 010).

Model (inferences, from the STM32F1-style layout these registers share, marked [I]):
- The counter counts timer-clock ticks / (PSC + 1) from CNT up to ATRLR, then wraps to 0 with an
  update event (UEV).  [I] ATRLR resets to 0xFFFF, and with ATRLR = 0 the counter does not run.  [I] PSC is buffered (the written value is used from the next UEV or UG on),
  ATRLR acts at once (ARPE is stored, its preload is not modelled: a driver writes ATRLR while the
  counter is stopped).
- A UEV sets UIF (INTFR, write 0 to clear) and, with MMS = 010, is TRGO: the DAC model is told at the
  event's exact emulated time.  UG restarts the counter and is a UEV too ([I] it sets UIF unless URS).
- UIE raises TIM6_IRQn through the PFIC.  Not modelled (the run stops naming it): one-pulse mode,
  UDIS, the update DMA request (UDE), MMS other than reset/enable/update.
- Time: the chip ticks the model between quanta; the events inside a quantum get their exact times
  (the counter position is kept in timer-clock ticks), so a rate measured from them is the divider's.
"""
from .base import Peripheral, Reg
from .rcc import CLOCK_BITS

CEN, UDIS, URS, OPM, ARPE = 0x1, 0x2, 0x4, 0x8, 0x80
MMS_MASK, MMS_ENABLE, MMS_UPDATE = 0x70, 0x10, 0x20
UIE, UDE = 0x1, 0x100
UIF, UG = 0x1, 0x1
PPRE1_SHIFT = {0: 0, 5: 1, 6: 2, 7: 3}      # RCC_CFGR0[10:8] -> timer clock = HCLK >> shift


def hb1_timer_hz(rcc):
    """Clock of TIM2..7 (RCC_TIMClockSourDivConfig), or None for a PPRE1 value the SDK leaves undefined."""
    shift = PPRE1_SHIFT.get((rcc.values[0x04] >> 8) & 7)
    return None if shift is None else rcc.hclk_hz() / (1 << shift)


class TIM6(Peripheral):
    NAME = "TIM6"
    SOURCE = "ch32h417.h TIM_TypeDef + TIM_* bits, RCC_PPRE1; ch32h417_rcc.c RCC_TIMClockSourDivConfig; ch32h417_tim.c"
    CLOCK = CLOCK_BITS["TIM6"]
    IRQ = 100
    REGS = (
        Reg(0x00, "CTLR1", mask=0x03FF), Reg(0x04, "CTLR2", mask=0x00F8), Reg(0x08, "SMCFGR", mask=0xFFFF),
        Reg(0x0C, "DMAINTENR", mask=0x7FFF), Reg(0x10, "INTFR", access="w0c", mask=0x1FFF),
        Reg(0x14, "SWEVGR", access="wo", mask=0x00FF),
        Reg(0x24, "CNT", mask=0xFFFF), Reg(0x28, "PSC", mask=0xFFFF), Reg(0x2C, "ATRLR", 0xFFFF, mask=0xFFFF),
    )

    def reset(self):
        super().reset()
        self.psc_active = 0        # the prescaler in use (PSC is buffered until the next UEV)
        self.ticks = 0.0           # timer-clock ticks since the counter was last 0
        self.updates = 0           # UEVs, counted for the stats
        self.first_update = self.last_update = None
        self.core = None           # the core that set CEN (named when the counter stops the run)

    # -- registers ----------------------------------------------------------------------------------
    def write_ctlr1(self, value, core):
        for bit, what in ((OPM, "one-pulse mode (CTLR1.OPM)"), (UDIS, "update disable (CTLR1.UDIS)")):
            if value & bit:
                self.not_modelled(core, what)
        self.values[0x00] = value & 0x03FF
        self.core = core

    def write_ctlr2(self, value, core):
        if value & MMS_MASK not in (0, MMS_ENABLE, MMS_UPDATE):
            self.not_modelled(core, f"master mode MMS={(value >> 4) & 7} (CTLR2)")
        self.values[0x04] = value & 0x00F8

    def write_dmaintenr(self, value, core):
        if value & UDE:
            self.not_modelled(core, "the update DMA request (DMAINTENR.UDE)")
        self.values[0x0C] = value & 0x7FFF

    def write_swevgr(self, value, core):
        if value & UG:
            self.ticks = 0.0
            self.values[0x24] = 0
            self._update(self.chip.now, from_ug=True)

    def read_cnt(self, core):
        return int(self.ticks // (self.psc_active + 1)) & 0xFFFF

    def write_cnt(self, value, core):
        self.ticks = float((value & 0xFFFF) * (self.psc_active + 1))

    # -- the counter ------------------------------------------------------------------------------------
    def period_ticks(self):
        """Timer-clock ticks from one UEV to the next with the prescaler in use."""
        return (self.psc_active + 1) * (self.values[0x2C] + 1)

    def update_hz(self):
        """The UEV rate the registers give now (PSC as written, as from the next UEV), or None."""
        clk = hb1_timer_hz(self.chip.rcc)
        if clk is None:
            return None
        return clk / ((self.values[0x28] + 1) * (self.values[0x2C] + 1))

    def tick(self, now, hclk_ticks):
        if not (self.clocked() and self.values[0x00] & CEN) or self.values[0x2C] == 0:
            return
        clk = hb1_timer_hz(self.chip.rcc)
        if clk is None:
            return self.not_modelled(self.core, f"TIM6 clock with RCC_CFGR0.PPRE1 = "
                                                 f"{(self.chip.rcc.values[0x04] >> 8) & 7} (undefined in the SDK)")
        ticks = hclk_ticks * clk / self.chip.hclk
        left = ticks
        while self.ticks + left >= self.period_ticks():
            left -= self.period_ticks() - self.ticks
            self.ticks = 0.0
            self._update(now - left / clk)
            if self.chip.fault:
                return
        self.ticks += left

    def _update(self, when, from_ug=False):
        self.psc_active = self.values[0x28]
        if not (from_ug and self.values[0x00] & URS):
            self.values[0x10] |= UIF
        self.updates += 1
        if self.first_update is None:
            self.first_update = when
        self.last_update = when
        if self.values[0x04] & MMS_MASK == MMS_UPDATE:
            dac = self.chip.peripheral("DAC")
            if dac is not None:
                dac.trgo("TIM6", when)

    # -- interrupts, stats -----------------------------------------------------------------------------
    def irq_lines(self):
        on = self.clocked() and self.values[0x0C] & UIE and self.values[0x10] & UIF
        return (self.IRQ,) if on else ()

    def stats(self):
        return {"updates": self.updates, "update_hz": self.update_hz(), "psc": self.values[0x28],
                "atrlr": self.values[0x2C]} if self.updates else {}
