"""The CH32H417's memory map as data.

Sources (openwch/ch32h417, EVT V1.3):
- EVT/EXAM/SRC/Peripheral/inc/ch32h417.h: FLASH_BASE 0x08000000, ITCM_BASE 0x200A0000,
  DTCM_BASE 0x200C0000, SRAM_BASE 0x20100000, PERIPH_BASE 0x40000000 and every *_BASE below.
- README.md: "960KB CodeFlash", "896KB (including 128KB ITCM and 256KB DTCM)" SRAM.
- EVT/EXAM/SRC/Ld/V3F/Link_v3f.ld and V5F/Link_v5f.ld: flash linked at 0x0000xxxx (the boot alias).
- EVT/EXAM/SRC/Core/core_riscv.h: HSEM 0xE000C000, IPC 0xE000D000, PFIC 0xE000E000,
  SysTick0 0xE000F000, SysTick1 0xE000F080.

Nothing else is mapped: an access anywhere else stops the emulated chip (there is, in particular,
no RAM at 0x20000000).  A block listed in PERIPHERAL_BLOCKS with no model behind it stops the chip
too, naming the block, so an unmodelled peripheral is never silently faked.
"""
from dataclasses import dataclass

KIB = 1024


@dataclass(frozen=True)
class Region:
    name: str
    base: int
    size: int
    writable: bool
    alias_of: str = ""   # the region whose bytes this window shows

    @property
    def end(self):
        return self.base + self.size

    def contains(self, addr):
        return self.base <= addr < self.end


FLASH = Region("flash", 0x08000000, 960 * KIB, writable=False)
FLASH_ALIAS = Region("flash_alias", 0x00000000, 960 * KIB, writable=False, alias_of="flash")
ITCM = Region("itcm", 0x200A0000, 128 * KIB, writable=True)
DTCM = Region("dtcm", 0x200C0000, 256 * KIB, writable=True)
SRAM = Region("sram", 0x20100000, 512 * KIB, writable=True)

MEMORY = (FLASH_ALIAS, FLASH, ITCM, DTCM, SRAM)

# The first 512 B of DTCM are the V5F's hardware interrupt save area (CSR 0xBC4 reads 0x200C0000 on
# silicon per ArduinoCore-CH32H4 docs/hazards.md; Link_v5f.ld leaves them unused).
DTCM_HW_SAVE_AREA = (DTCM.base, 512)

# Peripheral blocks (name -> (base, size)), from ch32h417.h *_BASE and core_riscv.h.  Sizes are
# the 1 KiB stride of the header unless the register structure is larger.
PERIPHERAL_BLOCKS = {
    "TIM2": (0x40000000, 0x400), "TIM3": (0x40000400, 0x400), "TIM4": (0x40000800, 0x400),
    "TIM5": (0x40000C00, 0x400), "TIM6": (0x40001000, 0x400), "TIM7": (0x40001400, 0x400),
    "USART6": (0x40001800, 0x400), "USART7": (0x40001C00, 0x400), "USART8": (0x40002000, 0x400),
    "LPTIM1": (0x40002400, 0x400), "RTC": (0x40002800, 0x400), "WWDG": (0x40002C00, 0x400),
    "IWDG": (0x40003000, 0x400), "LPTIM2": (0x40003400, 0x400), "SPI2": (0x40003800, 0x400),
    "SPI3": (0x40003C00, 0x400), "SPI4": (0x40004000, 0x400), "USART2": (0x40004400, 0x400),
    "USART3": (0x40004800, 0x400), "USART4": (0x40004C00, 0x400), "USART5": (0x40005000, 0x400),
    "I2C1": (0x40005400, 0x400), "I2C2": (0x40005800, 0x400), "I2C3": (0x40005C00, 0x400),
    "CAN1": (0x40006400, 0x400), "CAN2": (0x40006800, 0x400), "PWR": (0x40007000, 0x400),
    "DAC": (0x40007400, 0x400), "CAN3": (0x40007800, 0x400), "SWPMI": (0x40008400, 0x400),
    "AFIO": (0x40010000, 0x400), "EXTI": (0x40010400, 0x400),
    "GPIOA": (0x40010800, 0x400), "GPIOB": (0x40010C00, 0x400), "GPIOC": (0x40011000, 0x400),
    "GPIOD": (0x40011400, 0x400), "GPIOE": (0x40011800, 0x400), "GPIOF": (0x40011C00, 0x400),
    "ADC1": (0x40012400, 0x400), "ADC2": (0x40012800, 0x400), "TIM1": (0x40012C00, 0x400),
    "SPI1": (0x40013000, 0x400), "TIM8": (0x40013400, 0x400), "USART1": (0x40013800, 0x400),
    "TIM12": (0x40013C00, 0x400), "I2C4": (0x40014000, 0x400), "I3C": (0x40014400, 0x400),
    "LTDC": (0x40014800, 0x400), "TIM9": (0x40014C00, 0x400), "TIM10": (0x40015000, 0x400),
    "TIM11": (0x40015400, 0x400), "SAI": (0x40015800, 0x400), "GPHA": (0x40016800, 0x400),
    "ECDC": (0x40016C00, 0x400), "DFSDM": (0x40017000, 0x400), "HSADC": (0x40017400, 0x400),
    "OPA": (0x40017800, 0x400), "SDIO": (0x40018000, 0x400),
    "DMA1": (0x40020000, 0x400), "DMA2": (0x40020400, 0x400), "DMAMUX": (0x40020800, 0x400),
    "RCC": (0x40021000, 0x400), "FLASH_R": (0x40022000, 0x400), "CRC": (0x40023000, 0x400),
    "USBFS": (0x40023400, 0x400), "RNG": (0x40023C00, 0x400), "SDMMC": (0x40024000, 0x400),
    "USBPD": (0x40024400, 0x400), "QSPI1": (0x40024C00, 0x400), "QSPI2": (0x40025000, 0x400),
    "FMC": (0x40025400, 0x400), "DVP": (0x40025800, 0x400), "PIOC": (0x40025C00, 0x400),
    "SERDES": (0x40027C00, 0x400), "ETH": (0x40028000, 0x2000), "USBHS": (0x40030000, 0x400),
    "USBSS": (0x40034000, 0x400), "UHSIF": (0x40038000, 0x400),
    "HSEM": (0xE000C000, 0x1000), "IPC": (0xE000D000, 0x1000), "PFIC": (0xE000E000, 0x1000),
    "SYSTICK": (0xE000F000, 0x100),
}


def region_at(addr):
    """The memory Region holding addr, or None."""
    for r in MEMORY:
        if r.contains(addr):
            return r
    return None


def block_at(addr):
    """(name, base, size) of the peripheral block holding addr, or None."""
    for name, (base, size) in PERIPHERAL_BLOCKS.items():
        if base <= addr < base + size:
            return name, base, size
    return None


def describe(addr):
    """Where addr lies, in words (for error messages)."""
    r = region_at(addr)
    if r:
        return r.name
    b = block_at(addr)
    if b:
        return f"peripheral {b[0]}"
    return "unmapped"
