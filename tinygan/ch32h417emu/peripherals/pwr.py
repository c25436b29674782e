"""PWR: the VIO18 I/O rail's level and its software/hardware configuration mode.

Source: ch32h417.h (PWR_TypeDef CTLR/CSR; PWR_CTLR_VIO_SWCR = bit 9, PWR_CTLR_VSEL_VIO18 = bits
[12:10], PWR_CSR_VIO18_SR = bits [9:8]), ch32h417_pwr.c (PWR_VIO18ModeCfg, PWR_VIO18LevelCfg,
PWR_GetVIO18InitialStatus), EVT/EXAM/SDMMC/SDMMC_SD/Common/hardware.c (RCC_HB1Periph_PWR enabled
before PWR_VIO18ModeCfg(SW) + PWR_VIO18LevelCfg(MODE3)).  Clock: RCC_PWREN (HB1PCENR bit 28).

The model records the level the firmware selects and whether software mode is on; it enforces only
the RCC clock gate.  Which pins need which level is a third-party claim (ArduinoCore-CH32H4), so no
pin behaviour depends on it here; stats report it.
"""
from .base import Peripheral, Reg


class PWR(Peripheral):
    NAME = "PWR"
    SOURCE = "ch32h417.h PWR_CTLR_VIO_SWCR/VSEL_VIO18; ch32h417_pwr.c PWR_VIO18*"
    CLOCK = ("HB1PCENR", 28)
    REGS = (
        Reg(0x00, "CTLR", 0, doc="bit 9 VIO_SWCR (software mode), bits [12:10] VIO18 level"),
        Reg(0x04, "CSR", 0, access="ro", doc="bits [9:8] VIO18 initial status"),
    )

    def vio18(self):
        ctlr = self.values[0x00]
        return {"software_mode": bool(ctlr >> 9 & 1), "level": (ctlr >> 10) & 7}

    def stats(self):
        return {"vio18": self.vio18()}
