"""Register-level peripheral models, Renode style: each model declares its registers as data.

A model subclasses Peripheral and sets:
- NAME, SOURCE (the vendor SDK file(s) and registers its behaviour comes from),
- REGS: Reg(offset, name, reset, access, mask), access one of "rw", "ro", "wo", "w0c"
  (write 0 to clear: a bit written 1 keeps its value, as for the SysTick and USART flags),
  pollable=False for a register whose read changes state (the chip's poll detection skips it),
- CLOCK: (RCC register name, bit) of its RCC clock enable, or None when it is always clocked.
Side effects are methods named after the register: read_<name>(core) returns the value read,
write_<name>(value, core) takes the full 32-bit value after sub-word merging.  A register without
such a method is plain storage through its writable mask.

Rules every model gets from this base class: while the RCC clock enable is off, writes are ignored
(counted in .ignored_writes) and reads return the reset value; an offset that is not a register reads
as 0 and ignores writes (reserved space).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Reg:
    offset: int
    name: str
    reset: int = 0
    access: str = "rw"
    mask: int = 0xFFFFFFFF
    doc: str = ""
    pollable: bool = True     # False when a read changes state (FIFO pop, semaphore take)


def word_array(name, offset, count, stride=4, **kw):
    """Reg entries NAME0..NAME<count-1> at offset, offset+stride, ..."""
    return tuple(Reg(offset + i * stride, f"{name}{i}", **kw) for i in range(count))


def core_pc(core):
    """The PC of the core whose access is being handled (0 for a test's stand-in core)."""
    from unicorn.riscv_const import UC_RISCV_REG_PC
    uc = getattr(core, "uc", None)
    return uc.reg_read(UC_RISCV_REG_PC) if uc is not None else 0


class Peripheral:
    NAME = ""
    SOURCE = ""
    REGS = ()
    CLOCK = None
    IRQ = None     # interrupt number (PFIC) this model raises, if any

    def __init__(self, chip, base, name=None):
        self.chip = chip
        self.base = base
        self.name = name or self.NAME
        self.regs = {r.offset: r for r in self.REGS}
        self._offsets = {r.name: r.offset for r in self.REGS}
        self.ignored_writes = 0
        self.reset()

    # -- state ---------------------------------------------------------------------------------
    def reset(self):
        self.values = {r.offset: r.reset for r in self.REGS}

    def clocked(self):
        return self.CLOCK is None or self.chip.rcc.clock_on(*self.CLOCK)

    def not_modelled(self, core, what):
        """Firmware used a feature this model leaves out: the run stops, naming it and the PC."""
        self.chip.set_fault(core, core_pc(core), None, f"{self.NAME}: {what} is not modelled")

    def get(self, name):
        return self.values[self._offset_of(name)]

    def set(self, name, value):
        self.values[self._offset_of(name)] = value & 0xFFFFFFFF

    def _offset_of(self, name):
        try:
            return self._offsets[name]
        except KeyError:
            raise KeyError(f"{self.name} has no register {name}") from None

    # -- bus access ----------------------------------------------------------------------------
    def pollable(self, offset):
        reg = self.regs.get(offset & ~3)
        return reg is not None and reg.pollable

    def bus_read(self, offset, size, core):
        word = offset & ~3
        shift = (offset & 3) * 8
        reg = self.regs.get(word)
        if reg is None:
            return 0
        if not self.clocked():
            value = reg.reset
        elif reg.access == "wo":
            value = 0
        else:
            hook = getattr(self, "read_" + reg.name.lower(), None)
            value = hook(core) if hook else self.values[word]
        return (value >> shift) & ((1 << (8 * size)) - 1)

    def bus_write(self, offset, size, value, core):
        word = offset & ~3
        reg = self.regs.get(word)
        if reg is None:
            return
        if not self.clocked():
            self.ignored_writes += 1
            return
        if reg.access == "ro":
            return
        if size < 4:   # merge a byte/half-word store into the register's current value
            shift = (offset & 3) * 8
            lane = ((1 << (8 * size)) - 1) << shift
            value = (self.values[word] & ~lane) | ((value << shift) & lane)
        value &= 0xFFFFFFFF
        hook = getattr(self, "write_" + reg.name.lower(), None)
        if hook:
            hook(value, core)
            return
        old = self.values[word]
        if reg.access == "w0c":
            value = old & (value | ~reg.mask)
        self.values[word] = (old & ~reg.mask) | (value & reg.mask)

    # -- time and interrupts ---------------------------------------------------------------------
    def tick(self, now, hclk_ticks):
        """Called between slices with the emulated time (s) and HCLK ticks elapsed since the last call."""

    def irq_lines(self):
        """Interrupt numbers this model asserts now (level-sensitive)."""
        return ()

    def stats(self):
        return {}
