"""Peripheral models of the CH32H417, one module each (see base.py for the conventions).

make_peripherals(chip) builds the models at their vendor base addresses (the SD card, sdcard.py,
is attached to the SDMMC model by the chip); devices outside the chip (st7796s.St7796s on SPI2,
button.Button on a GPIO pin) are attached after the chip is built.
"""
from .base import Peripheral, Reg
from .dac import DAC
from .dma import DMA
from .dmamux import DMAMUX
from .flash import FLASH
from .afio import AFIO
from .exti import EXTI
from .gpio import GPIO, PORTS
from .hsem import HSEM
from .ipc import IPC
from .pfic import PFIC
from .pwr import PWR
from .rcc import RCC
from .rng import RNG
from .sdmmc import SDMMC
from .spi import SPI
from .swpmi import SWPMI
from .systick import SysTick
from .tim6 import TIM6
from .usart import USART, USARTS

__all__ = ["Peripheral", "Reg", "make_peripherals"]

BASES = {"RCC": 0x40021000, "PWR": 0x40007000, "FLASH_R": 0x40022000, "AFIO": 0x40010000,
         "RNG": 0x40023C00, "SDMMC": 0x40024000,
         "SWPMI": 0x40008400, "HSEM": 0xE000C000, "IPC": 0xE000D000, "PFIC": 0xE000E000, "SYSTICK": 0xE000F000,
         "TIM6": 0x40001000, "DAC": 0x40007400, "DMA1": 0x40020000, "DMA2": 0x40020400, "DMAMUX": 0x40020800}


def make_peripherals(chip):
    models = [RCC(chip, BASES["RCC"]), PWR(chip, BASES["PWR"]), FLASH(chip, BASES["FLASH_R"]),
              AFIO(chip, BASES["AFIO"]), RNG(chip, BASES["RNG"]), SDMMC(chip, BASES["SDMMC"]),
              SWPMI(chip, BASES["SWPMI"]), HSEM(chip, BASES["HSEM"]),
              IPC(chip, BASES["IPC"]), PFIC(chip, BASES["PFIC"]), SysTick(chip, BASES["SYSTICK"])]
    models += [GPIO(chip, 0x40010800 + 0x400 * i, p) for i, p in enumerate(PORTS)]
    models += [USART(chip, name) for name in USARTS]
    models += [TIM6(chip, BASES["TIM6"]), DAC(chip, BASES["DAC"]), DMAMUX(chip, BASES["DMAMUX"])]
    models += [DMA(chip, BASES[name], name) for name in ("DMA1", "DMA2")]
    models += [EXTI(chip, 0x40010400), SPI(chip, "SPI2")]
    return models
