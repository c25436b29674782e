"""DMA1/DMA2 (one IP, 8 channels each) and the DMAMUX that routes peripheral requests to them.

Sources (openwch/ch32h417 EVT V1.3):
- EVT/EXAM/SRC/Peripheral/inc/ch32h417.h: DMA_TypeDef (INTFR 0x00, INTFCR 0x04),
  DMA_Channel_TypeDef (CFGR, CNTR, PADDR, MADDR, M1ADDR: 0x14 bytes), DMA1_BASE 0x40020000 with
  DMA1_Channel1..8_BASE at 0x08 + 0x14 * (n - 1), DMA2_BASE 0x40020400 likewise, DMAMUX_BASE
  0x40020800 with DMAMUX_TypeDef CFGR0_3 .. CFGR12_15 (7-bit field DMA_MUX_CHn per byte);
  DMA_CFGR1_EN 0x1, TCIE 0x2, HTIE 0x4, TEIE 0x8, DIR 0x10 (1 = read from memory), CIRC 0x20,
  PINC 0x40, MINC 0x80, PSIZE 0x300, MSIZE 0xC00, PL 0x3000, MEM2MEM 0x4000; DMA1_FLAG_GLn/TCn/HTn/
  TEn = 1/2/4/8 << 4 * (n - 1) (DMA2 the same); RCC_DMA1EN / RCC_DMA2EN (HBPCENR bits 0, 1);
  DMA1_Channel1_IRQn 57, DMA1_Channel2..8_IRQn 38..44, DMA2_Channel1..8_IRQn 102..109.
- inc/ch32h417_dma.h: DMA_DoubleBufferMode 0x8000 (CFGR bit 15), DMA_MuxChannel1..16 = 0..15.
- src/ch32h417_dma.c: DMA_Init (CFGR, then CNTR = BufferSize, PADDR, MADDR, M1ADDR),
  DMA_ClearFlag (INTFCR = flag), DMA_MuxChannelConfig (the byte of mux channel k holds request - 1).
- Examples: SPI/SPI_DMA (DMA1_Channel3 <- mux channel 3 request 65 = SPI2 TX, DMA1_Channel2 <- 66
  = SPI2 RX), I2S/I2S_DMA (DMA_MuxChannel9 serves DMA2_Channel1), DAC/DAC_DMA (DMA_MuxChannel11).

Model:
- Mux channels 1..8 feed DMA1 channels 1..8, mux channels 9..16 DMA2 channels 1..8 (inferred from
  the I2S_DMA and SPI_DMA examples, which pair them so).  Reset value 0 selects request 1.
- A peripheral that wants a transfer calls serve(chip, request): the enabled channel (EN set, not
  finished, clock on) whose mux selects that request moves one unit: peripheral -> memory or
  memory -> peripheral (DIR), sizes PSIZE/MSIZE (equal sizes only), PINC/MINC stepping by the size,
  CNTR counting down.  The peripheral side is written/read through the chip's bus, as the core would
  (so the target model's hooks run); the memory side must be shared SRAM (the SDMMC model's reach
  rule; that DMA1/2 reach no TCM is inferred): anything else stops the run naming the address.
- HT at half the count, TC at the end (GIF with either); normal mode then stops (EN stays set, as
  on the STM32F1 this IP follows: inferred); CIRC reloads the count and addresses.  INTFCR writes
  of 1 clear flags.  An interrupt is raised while a flag and its enable (TCIE/HTIE) are set.
- CNTR, PADDR and MADDR written while the channel is enabled are ignored and counted (inferred
  from the STM32F1 rule the SDK's DMA_Init order respects).
- Not modelled (stop the run): memory-to-memory, double-buffer mode, PSIZE != MSIZE, size 256.
"""
import ctypes

from .. import memmap
from .base import Peripheral, Reg, core_pc

EN, TCIE, HTIE, TEIE, DIR, CIRC, PINC, MINC, MEM2MEM, DBM = (
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x4000, 0x8000)
CHANNELS = 8
SIZES = {0: 1, 1: 2, 2: 4}


def _channel_regs():
    regs = []
    for n in range(1, CHANNELS + 1):
        off = 0x08 + 0x14 * (n - 1)
        regs += [Reg(off, f"CFGR{n}", mask=0x1FFFF), Reg(off + 4, f"CNTR{n}", mask=0xFFFF),
                 Reg(off + 8, f"PADDR{n}"), Reg(off + 12, f"MADDR{n}"), Reg(off + 16, f"M1ADDR{n}")]
    return tuple(regs)


class Channel:
    def __init__(self):
        self.count = 0          # units left
        self.total = 0
        self.paddr = self.maddr = 0
        self.core = None        # the core that enabled it (named in faults)
        self.pc = 0


class DMAController(Peripheral):
    """One DMA controller; DMA1 and DMA2 are instances (name, base, clock bit, IRQs, first mux channel)."""
    SOURCE = "ch32h417.h DMA_TypeDef/DMA_Channel_TypeDef + DMA_CFGR1_*; ch32h417_dma.c; SPI_DMA example"
    REGS = (Reg(0x00, "INTFR", access="ro"), Reg(0x04, "INTFCR", access="wo")) + _channel_regs()

    def __init__(self, chip, name, base, clock_bit, irqs, mux_first):
        self.NAME = name
        self.CLOCK = ("HBPCENR", clock_bit)
        self.irqs = irqs
        self.mux_first = mux_first
        self.counts = {"units": 0, "writes_while_enabled": 0}
        super().__init__(chip, base, name)

    def reset(self):
        super().reset()
        self.channels = [Channel() for _ in range(CHANNELS)]

    # -- registers -------------------------------------------------------------------------------
    def write_intfcr(self, value, core):
        self.values[0x00] &= ~value

    def __getattr__(self, attr):
        # write_cfgr1..8 / write_cntr1..8 / write_paddr1..8 / write_maddr1..8 hooks
        for prefix, fn in (("write_cfgr", self._w_cfgr), ("write_cntr", self._w_locked),
                           ("write_paddr", self._w_locked), ("write_maddr", self._w_locked)):
            if attr.startswith(prefix) and attr[len(prefix):].isdigit():
                n = int(attr[len(prefix):])
                off = 0x08 + 0x14 * (n - 1) + {"write_cfgr": 0, "write_cntr": 4, "write_paddr": 8,
                                               "write_maddr": 12}[prefix]
                return lambda value, core: fn(n, off, value, core)
        raise AttributeError(attr)

    def _cfgr_off(self, n):
        return 0x08 + 0x14 * (n - 1)

    def _w_locked(self, n, off, value, core):
        if self.values[self._cfgr_off(n)] & EN:
            self.counts["writes_while_enabled"] += 1
            return
        self.values[off] = value & self.regs[off].mask

    def _w_cfgr(self, n, off, value, core):
        old = self.values[off]
        self.values[off] = value & 0x1FFFF
        if value & EN and not old & EN:
            for bit, what in ((MEM2MEM, "memory-to-memory mode"), (DBM, "double-buffer mode")):
                if value & bit:
                    return self.not_modelled(core, what + f" (CFGR{n})")
            psize, msize = (value >> 8) & 3, (value >> 10) & 3
            if psize != msize or psize not in SIZES:
                return self.not_modelled(core, f"PSIZE {psize} with MSIZE {msize} (CFGR{n})")
            ch = self.channels[n - 1]
            ch.total = ch.count = self.values[off + 4]
            ch.paddr, ch.maddr = self.values[off + 8], self.values[off + 12]
            ch.core, ch.pc = core, core_pc(core)

    # -- transfers -------------------------------------------------------------------------------
    def channel_for(self, mux, request):
        """The channel number (1..8) whose mux selects `request` and that can move a unit now."""
        if not self.clocked():
            return None
        for n in range(1, CHANNELS + 1):
            cfgr = self.values[self._cfgr_off(n)]
            if cfgr & EN and self.channels[n - 1].count and mux.request_of(self.mux_first + n - 1) == request:
                return n
        return None

    def move_unit(self, n):
        """Move one unit on channel n; False when the run stopped (a fault).  The channel's
        addresses and count advance before the peripheral side is touched, since a peripheral
        write can raise the next request at once (SPI: TXE) and be served inside it."""
        ch = self.channels[n - 1]
        cfgr = self.values[self._cfgr_off(n)]
        size = SIZES[(cfgr >> 8) & 3]
        paddr, maddr = ch.paddr, ch.maddr
        if cfgr & DIR:
            data = self._mem_read(ch, maddr, size)
            if data is None:
                return False
        else:
            data, _ = self.chip.mmio_read(ch.core, paddr, size)
        if cfgr & PINC:
            ch.paddr += size
        if cfgr & MINC:
            ch.maddr += size
        self._count_down(n, 1)
        if cfgr & DIR:
            self.chip.mmio_write(ch.core, paddr, size, data)
            return self.chip.fault is None
        return self._mem_write(ch, maddr, size, data)

    def _count_down(self, n, units):
        """units moved on channel n: CNTR, the HT/TC/GIF flags, the circular reload."""
        ch = self.channels[n - 1]
        off = self._cfgr_off(n)
        before, ch.count = ch.count, ch.count - units
        self.values[off + 4] = ch.count
        self.counts["units"] += units
        shift = 4 * (n - 1)
        if before > ch.total // 2 >= ch.count:
            self.values[0x00] |= 0x5 << shift          # HT + GIF
        if ch.count == 0:
            self.values[0x00] |= 0x3 << shift          # TC + GIF
            if self.values[off] & CIRC:
                ch.count = self.values[off + 4] = ch.total
                ch.paddr, ch.maddr = self.values[off + 8], self.values[off + 12]

    def take_bytes(self, n, paddr, want):
        """Up to `want` byte units of channel n (memory -> `paddr`, byte sizes, PINC off) at once,
        as bytes; None when the channel is set up otherwise.  Stops at the end of the count."""
        ch = self.channels[n - 1]
        off = self._cfgr_off(n)
        cfgr = self.values[off]
        if not cfgr & DIR or cfgr & PINC or (cfgr >> 8) & 3 or ch.paddr != paddr:
            return None
        units = min(want, ch.count)
        if units <= 0:
            return b""
        span = units if cfgr & MINC else 1
        base = self._sram_offset(ch, ch.maddr, span, "read from")
        if base is None:
            return b""
        raw = ctypes.string_at(ctypes.addressof(self.chip.buffers["sram"]) + base, span)
        data = raw if cfgr & MINC else raw * units
        if cfgr & MINC:
            ch.maddr += units
        self._count_down(n, units)
        return data

    def _sram_offset(self, ch, addr, size, what):
        if memmap.SRAM.contains(addr) and memmap.SRAM.contains(addr + size - 1):
            return addr - memmap.SRAM.base
        self.chip.set_fault(ch.core, ch.pc, addr, f"{self.name} {what} memory it cannot reach (shared SRAM only)")
        return None

    def _mem_read(self, ch, addr, size):
        off = self._sram_offset(ch, addr, size, "read from")
        if off is None:
            return None
        raw = ctypes.string_at(ctypes.addressof(self.chip.buffers["sram"]) + off, size)
        return int.from_bytes(raw, "little")

    def _mem_write(self, ch, addr, size, value):
        off = self._sram_offset(ch, addr, size, "write to")
        if off is None:
            return False
        ctypes.memmove(ctypes.addressof(self.chip.buffers["sram"]) + off,
                       (value & ((1 << 8 * size) - 1)).to_bytes(size, "little"), size)
        return True

    # -- interrupts, stats -------------------------------------------------------------------------
    def irq_lines(self):
        if not self.clocked():
            return ()
        lines = []
        for n in range(1, CHANNELS + 1):
            cfgr, flags = self.values[self._cfgr_off(n)], self.values[0x00] >> 4 * (n - 1)
            if (cfgr & TCIE and flags & 2) or (cfgr & HTIE and flags & 4):
                lines.append(self.irqs[n - 1])
        return lines

    def stats(self):
        return dict(self.counts) if self.counts["units"] or self.counts["writes_while_enabled"] else {}


class DMAMUX(Peripheral):
    NAME = "DMAMUX"
    SOURCE = "ch32h417.h DMAMUX_TypeDef, DMA_MUX_CHn; ch32h417_dma.c DMA_MuxChannelConfig"
    REGS = (Reg(0x00, "CFGR0_3", mask=0x7F7F7F7F), Reg(0x04, "CFGR4_7", mask=0x7F7F7F7F),
            Reg(0x08, "CFGR8_11", mask=0x7F7F7F7F), Reg(0x0C, "CFGR12_15", mask=0x7F7F7F7F))

    def request_of(self, mux_channel):
        """The request number (1..128) mux channel 0..15 (DMA_MuxChannel1..16) selects."""
        return ((self.values[4 * (mux_channel // 4)] >> 8 * (mux_channel % 4)) & 0x7F) + 1


DMA1_IRQS = (57, 38, 39, 40, 41, 42, 43, 44)
DMA2_IRQS = tuple(range(102, 110))


def make_dma1(chip):
    return DMAController(chip, "DMA1", 0x40020000, 0, DMA1_IRQS, mux_first=0)


def make_dma2(chip):
    return DMAController(chip, "DMA2", 0x40020400, 1, DMA2_IRQS, mux_first=8)


def take_bytes(chip, request, paddr, n):
    """Up to n byte units for `request` from a memory -> peripheral channel whose PADDR is `paddr`
    (not incremented), moved at once: the same effect as n serve() calls, for a peripheral that
    consumes them in a burst.  None when no channel fits that pattern (use serve())."""
    mux = chip.peripheral("DMAMUX")
    for name in ("DMA1", "DMA2"):
        dma = chip.peripheral(name)
        k = dma.channel_for(mux, request) if dma is not None and mux is not None else None
        if k is not None:
            return dma.take_bytes(k, paddr, n)
    return None


def serve(chip, request):
    """A peripheral's DMA request: one unit moved by the channel that serves it. Returns True when a
    unit moved, False when no enabled channel serves the request (or the run stopped)."""
    mux = chip.peripheral("DMAMUX")
    if mux is None:
        return False
    for name in ("DMA1", "DMA2"):
        dma = chip.peripheral(name)
        if dma is None:
            continue
        n = dma.channel_for(mux, request)
        if n is not None:
            return dma.move_unit(n)
    return False
