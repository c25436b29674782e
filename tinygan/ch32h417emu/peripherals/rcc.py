"""RCC: oscillators, PLL, system clock switch, core clock prescalers, peripheral clock enables.

Source: openwch/ch32h417 EVT/EXAM/SRC/Peripheral/inc/ch32h417.h (RCC_TypeDef; bit definitions for
RCC_CTLR, RCC_CFGR0, RCC_PLLCFGR, RCC_HB*PCENR, RCC_HB*PRSTR) and the clock arithmetic of
EVT/EXAM/GPIO/GPIO_Toggle/V3F/User/system_ch32h417.c (SystemInit, SetSYSCLK_400M_..._HSE,
SystemAndCoreClockUpdate: PLLMULTB, HBPrescTB, FPRETB; V5F = SYSCLK >> HPRE, V3F = HCLK =
V5F >> FPRE) and ch32h417_rcc.c (RCC_GetClocksFreq).

Behaviour:
- HSI (25 MHz, HSI_VALUE) is on and ready at reset; after reset HSI is SYSCLK ("after reset the HSI
  is used as SYSCLK source", system_ch32h417.c).
- A ready flag (HSIRDY, HSERDY, PLLRDY, USBHS_PLLRDY, ...) reads 1 only while its ON bit is set and
  its source is ready: PLLRDY needs PLLON and, for PLLSRC = HSE, HSERDY.  The HSE crystal is present
  (the EVT board's 25 MHz, HSE_VALUE).  Flags are read-only.
- CFGR0.SWS follows CFGR0.SW only when the selected source is ready (a switch to a PLL that is not
  locked does not happen), as SetSYSCLK_* polls SWS after writing SW.
- HBPCENR/HB2PCENR/HB1PCENR gate the peripheral models (see Peripheral.CLOCK); a bit set in a
  *PRSTR register holds that peripheral in reset (its model is reset).
Reset values not given by the SDK are inferred: CTLR = 0x83 (HSION|HSIRDY, trim 16), others 0
(so HPRE and FPRE divide by 1 and both cores run at 25 MHz until SystemInit runs).
"""
from .base import Peripheral, Reg

HSI_HZ = 25_000_000
HSE_HZ = 25_000_000

CTLR_HSION, CTLR_HSIRDY = 1 << 0, 1 << 1
CTLR_HSEON, CTLR_HSERDY = 1 << 16, 1 << 17
CTLR_USBHS_PLLON, CTLR_USBHS_PLLRDY = 1 << 20, 1 << 21
CTLR_USBSS_PLLON, CTLR_USBSS_PLLRDY = 1 << 22, 1 << 23
CTLR_PLLON, CTLR_PLLRDY = 1 << 24, 1 << 25
CTLR_ETH_PLLON, CTLR_ETH_PLLRDY = 1 << 26, 1 << 27
CTLR_SERDES_PLLON, CTLR_SERDES_PLLRDY = 1 << 28, 1 << 29
CTLR_READY_BITS = (CTLR_HSIRDY | CTLR_HSERDY | CTLR_USBHS_PLLRDY | CTLR_USBSS_PLLRDY | CTLR_PLLRDY
                   | CTLR_ETH_PLLRDY | CTLR_SERDES_PLLRDY)

PLLMULTB = (4, 6, 7, 8, 17, 9, 19, 10, 21, 11, 23, 12, 25, 13, 14, 15, 16, 17, 18, 19, 20, 22, 24, 26,
            28, 30, 32, 34, 36, 38, 40, 59)
PLLMUL_HALVED = (4, 6, 8, 10, 12)          # these table entries are x.5 multipliers (value >> 1)
HBPRESC_SHIFT = (0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 6, 7, 8, 9)
FPRE_SHIFT = (0, 1, 2, 2)

# (register, bit) of each peripheral model's clock enable, from the RCC_*EN bit definitions.
CLOCK_BITS = {
    "AFIO": ("HB2PCENR", 0), "GPIOA": ("HB2PCENR", 2), "GPIOB": ("HB2PCENR", 3),
    "GPIOC": ("HB2PCENR", 4), "GPIOD": ("HB2PCENR", 5), "GPIOE": ("HB2PCENR", 6),
    "GPIOF": ("HB2PCENR", 7), "USART1": ("HB2PCENR", 14),
    "SPI2": ("HB1PCENR", 14),
    "USART6": ("HB1PCENR", 6), "USART7": ("HB1PCENR", 7), "USART8": ("HB1PCENR", 8),
    "USART2": ("HB1PCENR", 17), "USART3": ("HB1PCENR", 18), "USART4": ("HB1PCENR", 19),
    "USART5": ("HB1PCENR", 20), "PWR": ("HB1PCENR", 28), "SWPMI": ("HB1PCENR", 31),
    "RNG": ("HBPCENR", 9), "SDMMC": ("HBPCENR", 10),
    "DMA1": ("HBPCENR", 0), "DMA2": ("HBPCENR", 1), "TIM6": ("HB1PCENR", 4), "DAC": ("HB1PCENR", 29),
}
# Reset bits mirror the enable bits (RCC_*RST definitions; RCC_HBRSTR for the HB bus).
RESET_REGISTER = {"HB2PCENR": "HB2PRSTR", "HB1PCENR": "HB1PRSTR", "HBPCENR": "HBRSTR"}


class RCC(Peripheral):
    NAME = "RCC"
    SOURCE = "ch32h417.h RCC_TypeDef + RCC_* bits; system_ch32h417.c SystemInit/SetSYSCLK_400M_*_HSE"
    REGS = (
        Reg(0x00, "CTLR", 0x00000083, doc="oscillator/PLL on bits; *RDY flags read-only"),
        Reg(0x04, "CFGR0", 0, doc="SW[1:0], SWS[3:2] (read-only), HPRE[7:4], FPRE[17:16]"),
        Reg(0x08, "PLLCFGR", 0, doc="PLLMUL[4:0], PLLSRC[7:5], PLL_SRC_DIV[13:8], SYSPLL_SEL[30:28], GATE[31]"),
        Reg(0x0C, "INTR", 0),
        Reg(0x10, "HB2PRSTR", 0), Reg(0x14, "HB1PRSTR", 0),
        Reg(0x18, "HBPCENR", 0), Reg(0x1C, "HB2PCENR", 0), Reg(0x20, "HB1PCENR", 0),
        Reg(0x24, "BDCTLR", 0), Reg(0x28, "RSTSCKR", 0x0C000000), Reg(0x2C, "HBRSTR", 0),
        Reg(0x30, "CFGR2", 0), Reg(0x34, "PLLCFGR2", 0),
    )

    def reset(self):
        super().reset()
        self.switches = []          # (time, sysclk) each time SWS changed

    # -- oscillators and PLLs --------------------------------------------------------------------
    def _ready(self, ctlr):
        """CTLR's ready flags for the given ON bits."""
        pllcfgr = self.values[0x08]
        rdy = 0
        if ctlr & CTLR_HSION:
            rdy |= CTLR_HSIRDY
        if ctlr & CTLR_HSEON:
            rdy |= CTLR_HSERDY
        src = pllcfgr & 0xE0
        src_ready = bool(rdy & CTLR_HSERDY) if src == 0x20 else (bool(rdy & CTLR_HSIRDY) if src == 0 else True)
        if ctlr & CTLR_PLLON and src_ready:
            rdy |= CTLR_PLLRDY
        hs_src_hse = (self.values[0x34] & 0x3) == 0   # RCC_USBHSPLLSRC (PLLCFGR2[1:0]) 0: HSE
        if ctlr & CTLR_USBHS_PLLON and (rdy & CTLR_HSERDY or not hs_src_hse):
            rdy |= CTLR_USBHS_PLLRDY
        for on, ready in ((CTLR_USBSS_PLLON, CTLR_USBSS_PLLRDY), (CTLR_ETH_PLLON, CTLR_ETH_PLLRDY),
                          (CTLR_SERDES_PLLON, CTLR_SERDES_PLLRDY)):
            if ctlr & on and rdy & CTLR_HSERDY:
                rdy |= ready
        return rdy

    def read_ctlr(self, core):
        v = self.values[0x00] & ~CTLR_READY_BITS
        return v | self._ready(v)

    def write_ctlr(self, value, core):
        self.values[0x00] = value & ~CTLR_READY_BITS
        self._update_switch()

    def write_cfgr0(self, value, core):
        self.values[0x04] = (value & ~0xC) | (self.values[0x04] & 0xC)
        self._update_switch()

    def write_pllcfgr(self, value, core):
        self.values[0x08] = value
        self._update_switch()

    def _source_ready(self, sw):
        rdy = self.read_ctlr(None)
        if sw == 0:
            return bool(rdy & CTLR_HSIRDY)
        if sw == 1:
            return bool(rdy & CTLR_HSERDY)
        if sw == 2:
            sel = (self.values[0x08] >> 28) & 7
            need = {0: CTLR_PLLRDY, 4: CTLR_USBHS_PLLRDY, 5: CTLR_ETH_PLLRDY, 6: CTLR_SERDES_PLLRDY,
                    7: CTLR_USBSS_PLLRDY}.get(sel)
            return need is not None and bool(rdy & need)
        return False

    def _update_switch(self):
        sw = self.values[0x04] & 3
        sws = (self.values[0x04] >> 2) & 3
        if sw != sws and self._source_ready(sw):
            self.values[0x04] = (self.values[0x04] & ~0xC) | (sw << 2)
            self.switches.append((self.chip.now, self.sysclk_hz()))
        self.chip.clocks_changed()

    # -- clock tree --------------------------------------------------------------------------------
    def pll_hz(self):
        p = self.values[0x08]
        src = p & 0xE0
        div = ((p >> 8) & 0x3F) + 1
        fixed = {0xA0: 500_000_000, 0x80: 480_000_000, 0xC0: 125_000_000, 0x20: HSE_HZ}
        if src == 0xE0:
            raise NotImplementedError("SERDES PLL as the system PLL source is not modelled")
        ref = fixed.get(src, HSI_HZ) // div
        mul = p & 0x1F
        return (ref * PLLMULTB[mul]) >> 1 if mul in PLLMUL_HALVED else ref * PLLMULTB[mul]

    def sysclk_hz(self):
        sws = (self.values[0x04] >> 2) & 3
        if sws == 1:
            return HSE_HZ
        if sws == 2:
            sel = (self.values[0x08] >> 28) & 7
            return {0: None, 4: 480_000_000, 5: 500_000_000, 7: 125_000_000}.get(sel) or self.pll_hz()
        return HSI_HZ

    def v5f_hz(self):
        return self.sysclk_hz() >> HBPRESC_SHIFT[(self.values[0x04] >> 4) & 0xF]

    def hclk_hz(self):
        return self.v5f_hz() >> FPRE_SHIFT[(self.values[0x04] >> 16) & 3]

    def core_hz(self, hart):
        """Clock of a core: hart 0 = V3F runs at HCLK, hart 1 = V5F at SYSCLK >> HPRE."""
        return self.hclk_hz() if hart == 0 else self.v5f_hz()

    # -- peripheral clock gates and resets -----------------------------------------------------------
    def clock_on(self, register, bit):
        return bool(self.values[self._offset_of(register)] >> bit & 1)

    def _write_reset(self, register, value):
        self.set(register, value)
        enable_reg = {v: k for k, v in RESET_REGISTER.items()}[register]
        for name, (reg, bit) in CLOCK_BITS.items():
            if reg == enable_reg and value >> bit & 1:
                model = self.chip.peripheral(name)
                if model is not None:
                    model.reset()

    def write_hb2prstr(self, value, core):
        self._write_reset("HB2PRSTR", value)

    def write_hb1prstr(self, value, core):
        self._write_reset("HB1PRSTR", value)

    def write_hbrstr(self, value, core):
        self._write_reset("HBRSTR", value)

    def stats(self):
        return {"sysclk_hz": self.sysclk_hz(), "v5f_hz": self.v5f_hz(), "hclk_hz": self.hclk_hz()}
