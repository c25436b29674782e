"""DMA1 / DMA2: 8 channels each, memory-to-peripheral transfers on a peripheral's request.

Sources (openwch/ch32h417 EVT V1.3):
- EVT/EXAM/SRC/Peripheral/inc/ch32h417.h: DMA_TypeDef (INTFR 0x00, INTFCR 0x04), DMA_Channel_TypeDef
  (CFGR, CNTR, PADDR, MADDR, M1ADDR), channel n at base + 8 + 0x14 * (n - 1) (DMA1_Channel1_BASE
  0x40020008 .. DMA2_Channel8_BASE 0x40020494); DMA_CFGR1_EN 0x1, TCIE 0x2, HTIE 0x4, TEIE 0x8, DIR
  0x10 (1 = read from memory), CIRC 0x20, PINC 0x40, MINC 0x80, PSIZE 0x300, MSIZE 0xC00, PL 0x3000,
  MEM2MEM 0x4000; DMA_CNTR1_NDT 0xFFFF; INTFR per channel n: GIF, TCIF, HTIF, TEIF at bits
  4(n-1) + 0..3; RCC_DMA1EN / RCC_DMA2EN (HBPCENR bits 0 / 1); DMA1_Channel1_IRQn 57,
  DMA1_Channel2..8_IRQn 38..44, DMA2_Channel1..8_IRQn 102..109.
- EVT/EXAM/SRC/Peripheral/inc/ch32h417_dma.h: DMA_DoubleBufferMode 0x8000, DMA_DoubleBufferMode_Memory_1
  0x10000, data sizes byte 0 / half-word 0x100 / word 0x200 / "256" 0x300.
- EVT/EXAM/SRC/Peripheral/src/ch32h417_dma.c: DMA_Init writes CFGR, CNTR, PADDR, MADDR, M1ADDR with the
  channel off; DMA_Cmd sets/clears EN; DMA_ClearFlag / DMA_ClearITPendingBit write INTFCR = flags.
- Which request reaches a channel: the DMAMUX model (dmamux.py).

Model (inferences from the STM32F1-style DMA these registers copy, marked [I]):
- An enabled channel with NDT (CNTR) > 0 moves one item per request: read MSIZE bytes at MADDR
  (+ k * size with MINC), write PSIZE bytes to PADDR (+ k * size with PINC), CNTR counts down.  [I] HTIF
  (and GIF) when half of the count written at enable time is done (count // 2 items), TCIF when CNTR
  reaches 0; in circular mode CNTR and the addresses then start again, otherwise the channel stays
  enabled with CNTR 0 and ignores requests.  INTFCR: a 1 clears that flag; a 1 in a GIF position clears
  all four flags of the channel.  TCIE/HTIE/TEIE raise the channel's interrupt through the PFIC.
- Memory a DMA reaches: the SDK says nothing.  A third-party port claims DMA1/2 reach every region
  (../shared/CH32H417.md: "DMA1/2 reach every region (MEMARY_CFGR, CSR 0xBC5)", not in the SDK), so
  the model takes the conservative rule: shared SRAM only.  A transfer from flash, ITCM or DTCM stops
  the run naming the address and the core that enabled the channel (not modelled, not "refused").
- Destinations: the DAC and SPI2 (issue 13) are the modelled DMA targets; any other PADDR stops the
  run at the first transfer.  The channel's count and flags advance before the target's register is
  written, since that write can raise the next request at once (SPI2: TXE) and be served inside it.
  take_bytes() moves a run of byte items at once for a target that consumes bursts (spi.py).  Not modelled (the run stops naming it): peripheral-to-memory (DIR = 0) and memory-to-
  memory, double-buffer mode, PSIZE != MSIZE, the "256" size, an address not aligned to its size,
  reprogramming CNTR/PADDR/MADDR while the channel is enabled.  There is no transfer error (TEIF is
  never set).
"""
import ctypes

from .. import memmap
from .base import Peripheral, Reg, core_pc
from .rcc import CLOCK_BITS

EN, TCIE, HTIE, TEIE, DIR, CIRC, PINC, MINC = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80
MEM2MEM, DOUBLE_BUFFER, START_M1 = 0x4000, 0x8000, 0x10000
GIF, TCIF, HTIF, TEIF = 0x1, 0x2, 0x4, 0x8
CHANNELS = 8
IRQS = {"DMA1": (57, 38, 39, 40, 41, 42, 43, 44), "DMA2": tuple(range(102, 110))}
TARGETS = ("DAC", "SPI2")


def channel_regs():
    regs = [Reg(0x00, "INTFR", access="ro"), Reg(0x04, "INTFCR", access="wo")]
    for n in range(1, CHANNELS + 1):
        base = 0x08 + 0x14 * (n - 1)
        regs += [Reg(base, f"CFGR{n}", mask=0x1FFFF), Reg(base + 4, f"CNTR{n}", mask=0xFFFF),
                 Reg(base + 8, f"PADDR{n}"), Reg(base + 12, f"MADDR{n}"), Reg(base + 16, f"M1ADDR{n}")]
    return tuple(regs)


class DMA(Peripheral):
    SOURCE = "ch32h417.h DMA_TypeDef, DMA_Channel_TypeDef, DMA_* bits; ch32h417_dma.c/.h"
    REGS = channel_regs()

    def __init__(self, chip, base, name):
        self.NAME = name
        self.CLOCK = CLOCK_BITS[name]
        self.irqs = IRQS[name]
        super().__init__(chip, base, name)

    def reset(self):
        super().reset()
        self.count = [0] * (CHANNELS + 1)      # NDT written while off: the cycle length
        self.done = [0] * (CHANNELS + 1)       # items moved in the current cycle
        self.owner = [None] * (CHANNELS + 1)   # (core, pc) that enabled the channel
        self.transfers = [0] * (CHANNELS + 1)

    @staticmethod
    def _off(n, reg):
        return 0x08 + 0x14 * (n - 1) + {"CFGR": 0, "CNTR": 4, "PADDR": 8, "MADDR": 12}[reg]

    # Per-channel hooks: write_cfgr<n>, write_cntr<n>, write_paddr<n>, write_maddr<n>.
    def __getattr__(self, attr):
        for reg in ("cfgr", "cntr", "paddr", "maddr"):
            prefix = "write_" + reg
            if attr.startswith(prefix) and attr[len(prefix):].isdigit():
                n = int(attr[len(prefix):])
                return lambda value, core: self._write_channel(n, reg.upper(), value, core)
        raise AttributeError(attr)

    def _write_channel(self, n, reg, value, core):
        cfg = self.values[self._off(n, "CFGR")]
        if reg == "CFGR":
            return self._write_cfgr(n, value, core)
        if cfg & EN:
            return self.not_modelled(core, f"channel {n}: writing {reg} while the channel is enabled")
        if reg == "CNTR":
            value &= 0xFFFF
            self.count[n] = value
        self.values[self._off(n, reg)] = value

    def _write_cfgr(self, n, value, core):
        for bit, what in ((MEM2MEM, "memory-to-memory"), (DOUBLE_BUFFER | START_M1, "double-buffer mode")):
            if value & bit:
                self.not_modelled(core, f"channel {n}: {what} (CFGR)")
        off = self._off(n, "CFGR")
        was_on = self.values[off] & EN
        self.values[off] = value & 0x1FFFF
        if value & EN and not was_on:
            self.owner[n] = (core, core_pc(core))
            self.done[n] = 0

    def write_intfcr(self, value, core):
        clear = value
        for n in range(CHANNELS):
            if value >> (4 * n) & GIF:
                clear |= 0xF << (4 * n)
        self.values[0x00] &= ~clear & 0xFFFFFFFF

    # -- a request from the DMAMUX ------------------------------------------------------------------------
    def serve(self, n, when):
        """One request for channel n; True when the channel took it (moved an item)."""
        cfg = self.values[self._off(n, "CFGR")]
        cntr_off = self._off(n, "CNTR")
        if not (self.clocked() and cfg & EN) or self.values[cntr_off] == 0:
            return False
        core, pc = self.owner[n]
        psize, msize = 1 << ((cfg >> 8) & 3), 1 << ((cfg >> 10) & 3)
        problem = (not cfg & DIR and "peripheral-to-memory transfers (CFGR.DIR = 0)"
                   or psize != msize and "PSIZE different from MSIZE"
                   or psize == 8 and "the '256' data size")
        if problem:
            return self._stop(n, f"{problem} not modelled")
        k = self.done[n]
        maddr = self.values[self._off(n, "MADDR")] + (k * msize if cfg & MINC else 0)
        paddr = self.values[self._off(n, "PADDR")] + (k * psize if cfg & PINC else 0)
        if maddr % msize or paddr % psize:
            return self._stop(n, f"an address not aligned to the data size (memory 0x{maddr:08x}, "
                                 f"peripheral 0x{paddr:08x}) is not modelled")
        raw = self._read_memory(n, maddr, msize)
        if raw is None:
            return True
        data = int.from_bytes(raw, "little")
        block = memmap.block_at(paddr)
        if block is None or block[0] not in TARGETS:
            where = block[0] if block else memmap.describe(paddr)
            return self._stop(n, f"a transfer to {where} (PADDR 0x{paddr:08x}) is not modelled; "
                                 f"only {', '.join(TARGETS)} is a modelled DMA destination")
        name, base, _ = block
        self._advance(n, 1)          # before the write: it can raise the next request inside it (SPI TXE)
        self.chip.peripheral(name).bus_write(paddr - base, psize, data, core)
        return True

    def _advance(self, n, items):
        """items moved on channel n: CNTR, the HT/TC/GIF flags, the circular restart."""
        cntr_off = self._off(n, "CNTR")
        self.transfers[n] += items
        before = self.done[n]
        self.values[cntr_off] -= items
        self.done[n] += items
        flags = 0
        if before < self.count[n] // 2 <= self.done[n]:
            flags |= HTIF | GIF
        if self.values[cntr_off] == 0:
            flags |= TCIF | GIF
            if self.values[self._off(n, "CFGR")] & CIRC:
                self.values[cntr_off] = self.count[n]
                self.done[n] = 0
        self.values[0x00] |= flags << (4 * (n - 1))

    def take_bytes(self, n, paddr, want):
        """Up to `want` byte items of channel n at once, for a peripheral that consumes a burst
        (spi.py): the same bytes, counts and flags as that many serve() calls.  None when the
        channel is not a plain byte stream from memory to `paddr` (then serve() item by item)."""
        cfg = self.values[self._off(n, "CFGR")]
        left = self.values[self._off(n, "CNTR")]
        if (not (self.clocked() and cfg & EN) or not cfg & DIR or cfg & PINC or (cfg >> 8) & 0xF
                or self.values[self._off(n, "PADDR")] != paddr):
            return None
        items = min(want, left)
        if items <= 0:
            return b""
        maddr = self.values[self._off(n, "MADDR")] + (self.done[n] if cfg & MINC else 0)
        data = self._read_memory(n, maddr, items if cfg & MINC else 1)
        if data is None:
            return b""
        self._advance(n, items)
        return data if cfg & MINC else data * items

    def _stop(self, n, what, addr=None):
        core, pc = self.owner[n]
        self.chip.set_fault(core, pc, addr, f"{self.name} channel {n}: {what}")
        return True

    def _read_memory(self, n, addr, size):
        if not (memmap.SRAM.contains(addr) and memmap.SRAM.contains(addr + size - 1)):
            self._stop(n, "reading memory outside shared SRAM is not modelled (the SDK does not say "
                          "whether DMA1/2 reach flash, ITCM or DTCM; put DMA buffers in .dma)", addr)
            return None
        return ctypes.string_at(ctypes.addressof(self.chip.buffers["sram"]) + addr - memmap.SRAM.base, size)

    # -- interrupts, stats --------------------------------------------------------------------------------
    def irq_lines(self):
        if not self.clocked():
            return ()
        lines = []
        for n in range(1, CHANNELS + 1):
            flags = self.values[0x00] >> (4 * (n - 1)) & 0xF
            enable = self.values[self._off(n, "CFGR")] & (TCIE | HTIE | TEIE)
            if flags & enable:                 # TCIE/HTIE/TEIE sit at the TCIF/HTIF/TEIF bit positions
                lines.append(self.irqs[n - 1])
        return tuple(lines)

    def stats(self):
        moved = {n: self.transfers[n] for n in range(1, CHANNELS + 1) if self.transfers[n]}
        return {"transfers": moved} if moved else {}
