"""FLASH interface registers: access clock (latency) and the controller's lock.

Source: ch32h417.h (FLASH_TypeDef ACTLR/KEYR/OBKEYR/STATR/CTLR/ADDR/OBR; FLASH_ACTLR_LATENCY_HCLK_DIV1/2/4
= 0/1/2 in bits [1:0]; FLASH_CTLR_LOCK = bit 7; FLASH_KEYR_KEY1 0x45670123, KEY2 0xCDEF89AB),
ch32h417_flash.c (FLASH_Unlock writes KEY1 then KEY2 to KEYR), system_ch32h417.c (SetSYSCLK_*:
ACTLR[1:0] = LATENCY_HCLK_DIV2 before the switch to the PLL), startup_ch32h417_v5f.S (ACTLR |= 3
while copying code, then restored).

Rules: CTLR is locked at reset and ignores writes (other than LOCK) until KEY1, KEY2 are written to
KEYR in that order; any other KEYR value re-locks until the next reset.  ACTLR is recorded; the
flash clock (HCLK / 1, 2 or 4) is reported.  Programming and erasing are not modelled (the flash
image is read-only to the cores: a store to flash stops the run).
"""
from .base import Peripheral, Reg

KEY1, KEY2 = 0x45670123, 0xCDEF89AB
CTLR_LOCK = 1 << 7


class FLASH(Peripheral):
    NAME = "FLASH_R"
    SOURCE = "ch32h417.h FLASH_ACTLR_LATENCY_*, FLASH_CTLR_LOCK, FLASH_KEYR_KEY1/2; ch32h417_flash.c FLASH_Unlock"
    REGS = (
        Reg(0x00, "ACTLR", 0, doc="bits [1:0]: flash clock = HCLK / 1, 2, 4"),
        Reg(0x04, "KEYR", 0, access="wo"),
        Reg(0x08, "OBKEYR", 0, access="wo"),
        Reg(0x0C, "STATR", 0),
        Reg(0x10, "CTLR", CTLR_LOCK),
        Reg(0x14, "ADDR", 0),
        Reg(0x1C, "OBR", 0, access="ro"),
    )

    def reset(self):
        super().reset()
        self.key_state = 0          # 0: nothing, 1: KEY1 seen, -1: wrong key (locked until reset)
        self.latencies = []

    def write_actlr(self, value, core):
        self.values[0x00] = value
        self.latencies.append(value & 3)

    def write_keyr(self, value, core):
        if self.key_state == 0 and value == KEY1:
            self.key_state = 1
        elif self.key_state == 1 and value == KEY2:
            self.key_state = 0
            self.values[0x10] &= ~CTLR_LOCK
        else:
            self.key_state = -1

    def write_ctlr(self, value, core):
        if self.values[0x10] & CTLR_LOCK:
            return                  # locked: silicon ignores the write
        self.values[0x10] = value

    def flash_clock_hz(self):
        div = {0: 1, 1: 2, 2: 4}.get(self.values[0x00] & 3)
        return self.chip.rcc.hclk_hz() // div if div else None

    def stats(self):
        return {"actlr_latency": self.values[0x00] & 3, "flash_clock_hz": self.flash_clock_hz()}
