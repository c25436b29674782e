"""SWPMI: the single-wire protocol master interface; here only its registers, and the option
register OR that the vendor's SD example sets before using the SD pins.

Source: ch32h417.h (SWPMI_TypeDef CR/BRR/-/ISR/ICR/IER/RFL/TDR/RDR/OR at SWPMI_BASE =
HBPERIPH_BASE + 0x08400; RCC_SWPMIEN = RCC_HB1PCENR bit 31), EVT/EXAM/SDMMC/SDMMC_SD/Common/
sdmmc_sd.c (SD_GPIO_Init: RCC_HB1PeriphClockCmd(RCC_HB1Periph_SWPMI, ENABLE); SWPMI->OR |= 1).

The SDK does not say what OR bit 0 does for the SD pins, so the model only keeps and records what
is written (stats: or_value); the RCC clock gate is enforced like every model's (no clock: writes
ignored). The single-wire protocol itself is not modelled: enabling it (CR SWPACT) stops the run.
"""
from .base import Peripheral, Reg

CR_SWPACT = 0x20


class SWPMI(Peripheral):
    NAME = "SWPMI"
    SOURCE = "ch32h417.h SWPMI_TypeDef, RCC_SWPMIEN; SDMMC_SD example sdmmc_sd.c SD_GPIO_Init"
    CLOCK = ("HB1PCENR", 31)
    REGS = (
        Reg(0x00, "CR", 0, doc="bit 5 SWPACT: the protocol, not modelled"),
        Reg(0x04, "BRR", 0), Reg(0x0C, "ISR", 0, access="ro"), Reg(0x10, "ICR", 0),
        Reg(0x14, "IER", 0), Reg(0x18, "RFL", 0, access="ro"), Reg(0x1C, "TDR", 0),
        Reg(0x20, "RDR", 0, access="ro"),
        Reg(0x24, "OR", 0, doc="bit 0 set by the vendor's SD example before the SD pins are used"),
    )

    def write_cr(self, value, core):
        if value & CR_SWPACT:
            self.not_modelled(core, "the single-wire protocol (CR SWPACT)")
        self.values[0x00] = value

    def stats(self):
        return {"or_value": self.values[0x24], "protocol_enabled": bool(self.values[0x00] & CR_SWPACT)}
