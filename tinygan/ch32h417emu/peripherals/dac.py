"""DAC: channel 1 (pin PA4), triggered conversions, its DMA request; every conversion is captured.

Sources (openwch/ch32h417 EVT V1.3):
- EVT/EXAM/SRC/Peripheral/inc/ch32h417.h: DAC_TypeDef (CTLR 0x00, SWTR 0x04, R12BDHR1 0x08,
  L12BDHR1 0x0C, R8BDHR1 0x10, R12BDHR2 0x14, L12BDHR2 0x18, R8BDHR2 0x1C, RD12BDHR 0x20, LD12BDHR
  0x24, RD8BDHR 0x28, DOR1 0x2C, DOR2 0x30), DAC_BASE 0x40007400, RCC_DACEN (HB1PCENR bit 29); CTLR
  bits DAC_EN1 0x1, DAC_BOFF1 0x2, DAC_TEN1 0x4, DAC_TSEL1 0x38, DAC_WAVE1 0xC0, DAC_MAMP1 0xF00,
  DAC_DMAEN1 0x1000, channel 2 the same << 16; DAC_DHR8R1 0xFF, DAC_DHR12L1 0xFFF0, DAC_DACC1DOR 0xFFF.
- EVT/EXAM/SRC/Peripheral/inc/ch32h417_dac.h: DAC_Trigger_T6_TRGO 0x04 (TEN1 | TSEL1 = 000), T8 0x0C,
  T7 0x14, T5 0x1C, T2 0x24, T4 0x2C, EXTI9 0x34, software 0x3C (TSEL1 = 1..7).
- EVT/EXAM/DAC/DAC_DMA (Common/hardware.c, V5F/User/main.c): PA4 in GPIO_Mode_AIN is channel 1's
  output; "DAC1--->DMA2.CH3" with DMA_MuxChannelConfig(DMA_MuxChannel11, 0x67): DAC channel 1's DMA
  request is number 0x67 (103) at the DMAMUX; the DMA writes the holding register in circular mode
  and a timer TRGO triggers the conversions.
Model (inferences from the STM32F1-style DAC these registers copy, marked [I]; no CH32H417
reference manual is public):
- [I] A trigger selected by TEN1/TSEL1 moves the data holding register to DOR1 (a conversion) and,
  with DMAEN1, then issues the DMA request, so the DMA loads the value the *next* trigger converts:
  the first conversion outputs what the holding register held before the DMA ran.  Without TEN1 a
  write to a holding register converts at once.  A trigger while EN1 is off converts nothing (the
  DAC is off; counted).  A DMA request no enabled DMA channel takes is lost (counted).
- Triggers: only TIM6 TRGO (from the TIM6 model) and the software trigger are modelled; a TSEL1 naming
  another source simply never sees a trigger (those timers have no model).
- Not modelled (the run stops naming it): channel 2 (EN2), wave generation (WAVE1), PA4 driven as a
  digital output while the DAC converts.  A pin left a digital input still converts ([I] the STM32
  family connects the output whatever the pin mode) and is counted as pin_not_analog.
Capture: each conversion appends (emulated time, 12-bit DOR1, trigger source); samples8() is the
8-bit view (DOR1 >> 4, i.e. what R8BDHR1 was given), write_wav() writes it as 8-bit unsigned mono at
the rate TIM6's registers and the RCC clocks give, measured_rate_hz() divides by the trigger times.
"""
import wave

from .base import Peripheral, Reg
from .rcc import CLOCK_BITS

EN1, TEN1, TSEL1_MASK, WAVE1, DMAEN1 = 0x1, 0x4, 0x38, 0xC0, 0x1000
CH2_BITS = 0x3FFF0000
TSEL_SOURCES = {"TIM6": 0, "TIM8": 1, "TIM7": 2, "TIM5": 3, "TIM2": 4, "TIM4": 5, "EXTI9": 6, "software": 7}
DAC1_DMA_REQUEST = 0x67
DAC1_PIN = ("A", 4)


class DAC(Peripheral):
    NAME = "DAC"
    SOURCE = "ch32h417.h DAC_TypeDef + DAC_* bits; ch32h417_dac.h triggers; EXAM/DAC/DAC_DMA hardware.c"
    CLOCK = CLOCK_BITS["DAC"]
    REGS = (
        Reg(0x00, "CTLR", mask=0x3FFF3FFF), Reg(0x04, "SWTR", access="wo", mask=0x3),
        Reg(0x08, "R12BDHR1", mask=0x0FFF), Reg(0x0C, "L12BDHR1", mask=0xFFF0), Reg(0x10, "R8BDHR1", mask=0xFF),
        Reg(0x14, "R12BDHR2", mask=0x0FFF), Reg(0x18, "L12BDHR2", mask=0xFFF0), Reg(0x1C, "R8BDHR2", mask=0xFF),
        Reg(0x20, "RD12BDHR", mask=0x0FFF0FFF), Reg(0x24, "LD12BDHR", mask=0xFFF0FFF0),
        Reg(0x28, "RD8BDHR", mask=0xFFFF), Reg(0x2C, "DOR1", access="ro"), Reg(0x30, "DOR2", access="ro"),
    )

    def reset(self):
        super().reset()
        self.dhr1 = 0                      # channel 1's 12-bit data holding register
        self.core = None                   # the core that last wrote CTLR
        self.counts = {"triggers": 0, "triggers_while_disabled": 0, "dma_requests_lost": 0,
                       "pin_not_analog": 0}
        if not hasattr(self, "capture"):   # the capture survives an RCC reset of the DAC
            self.capture = []

    # -- registers --------------------------------------------------------------------------------------
    def write_ctlr(self, value, core):
        if value & CH2_BITS:
            self.not_modelled(core, "DAC channel 2 (CTLR bits 16..29)")
        if value & WAVE1:
            self.not_modelled(core, "wave generation (CTLR.WAVE1)")
        self.values[0x00] = value & 0x3FFF3FFF
        self.core = core

    def _hold(self, value12, core):
        self.dhr1 = value12 & 0xFFF
        ctlr = self.values[0x00]
        if ctlr & EN1 and not ctlr & TEN1:
            self._convert(self.chip.now, "write")

    def write_r12bdhr1(self, value, core):
        self._hold(value, core)

    def write_l12bdhr1(self, value, core):
        self._hold(value >> 4, core)

    def write_r8bdhr1(self, value, core):
        self._hold((value & 0xFF) << 4, core)

    def write_rd12bdhr(self, value, core):
        self.values[0x14] = value >> 16 & 0xFFF
        self._hold(value, core)

    def write_ld12bdhr(self, value, core):
        self.values[0x18] = value >> 16 & 0xFFF0
        self._hold(value >> 4, core)

    def write_rd8bdhr(self, value, core):
        self.values[0x1C] = value >> 8 & 0xFF
        self._hold((value & 0xFF) << 4, core)

    def read_r12bdhr1(self, core):
        return self.dhr1

    def read_l12bdhr1(self, core):
        return self.dhr1 << 4

    def read_r8bdhr1(self, core):
        return self.dhr1 >> 4

    def write_swtr(self, value, core):
        if value & 1:
            self.trgo("software", self.chip.now)

    # -- triggers, conversions, DMA requests ------------------------------------------------------------
    def trgo(self, source, when):
        """A trigger from `source` (a TSEL_SOURCES name) at emulated time `when`."""
        ctlr = self.values[0x00]
        if not ctlr & TEN1 or (ctlr & TSEL1_MASK) >> 3 != TSEL_SOURCES[source]:
            return
        self.counts["triggers"] += 1
        if not (self.clocked() and ctlr & EN1):
            self.counts["triggers_while_disabled"] += 1
            return
        self._convert(when, source)
        if ctlr & DMAEN1 and source != "software":
            mux = self.chip.peripheral("DMAMUX")
            if mux is None or not mux.request(DAC1_DMA_REQUEST, when):
                self.counts["dma_requests_lost"] += 1

    def _convert(self, when, source):
        port, pin = DAC1_PIN
        gpio = self.chip.peripheral("GPIO" + port)
        nib = gpio.nibble(pin)
        if nib & 3:
            return self.not_modelled(self.core, f"P{port}{pin} driven as a digital output while DAC channel 1 converts")
        if nib:
            self.counts["pin_not_analog"] += 1
        self.values[0x2C] = self.dhr1
        self.capture.append((when, self.dhr1, source))

    # -- the capture ------------------------------------------------------------------------------------
    def samples8(self):
        """The captured conversions as 8-bit unsigned samples (DOR1 >> 4)."""
        return bytes(d >> 4 for _, d, _ in self.capture)

    def measured_rate_hz(self, source="TIM6"):
        """Conversions per second between the first and the last conversion `source` triggered."""
        times = [t for t, _, s in self.capture if s == source]
        if len(times) < 2 or times[-1] <= times[0]:
            return None
        return (len(times) - 1) / (times[-1] - times[0])

    def timer_rate_hz(self):
        """TIM6's update rate from its registers and the RCC clocks (what paces the conversions)."""
        tim = self.chip.peripheral("TIM6")
        return tim.update_hz() if tim is not None else None

    def write_wav(self, path):
        """Write the capture as a WAV file, 8-bit unsigned mono at TIM6's rate; returns that rate."""
        rate = self.timer_rate_hz()
        if not rate:
            raise ValueError("TIM6 gives no rate (its PPRE1 clock divider is undefined): cannot write a WAV")
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(1)
            w.setframerate(round(rate))
            w.writeframes(self.samples8())
        return rate

    def stats(self):
        if not self.capture and not self.counts["triggers"]:
            return {}
        return dict(self.counts, conversions=len(self.capture), measured_rate_hz=self.measured_rate_hz())
