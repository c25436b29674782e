"""The emulated CH32H417: memory, peripheral models, two cores, time.

Time model (documented in docs/ch32h417-emulator.md): emulated time advances in quanta (25 us by
default).  In each quantum a running core retires quantum * f_core instructions (IPC = 1), f_core
being what the RCC model says that core runs at now (V3F at HCLK, V5F at SYSCLK >> HPRE); the
peripherals then advance by the quantum (SysTick counts quantum * HCLK ticks, the USART receiver
takes the next byte when its character time has passed), and pending interrupts are delivered
between quanta.  When every core sleeps, time jumps to the next timer event (at most 1 ms).
"""
import ctypes
import time

from . import codescan, memmap
from .core import Core, is_emulated_csr_insn, WFI


def is_special(ins):
    """An instruction the cores hook: wfi, or a CSR instruction they emulate."""
    return ins == WFI or is_emulated_csr_insn(ins)
from .peripherals import Peripheral, make_peripherals
from .peripherals.sdcard import SdCard, SdFaults

ERASED_WORD = bytes.fromhex("39e339e3")       # erased flash reads 0xE339E339 (ArduinoCore-CH32H4, claim)


class EmulationFault(Exception):
    """The emulated chip stopped: an access outside its map, a store to flash, an unmodelled block."""

    def __init__(self, core, pc, addr, what):
        self.core, self.pc, self.addr, self.what = core, pc, addr, what
        where = "" if addr is None else f" at 0x{addr:08x} ({memmap.describe(addr)})"
        super().__init__(f"{what}{where} by the {core} core, pc 0x{pc:08x}")


class Chip:
    def __init__(self, image, console="USART1", host=None, quantum_s=25e-6, elf=None, sd=None, sd_faults=None):
        if len(image) > memmap.FLASH.size:
            raise ValueError(f"flash image is {len(image)} bytes; the chip has {memmap.FLASH.size}")
        self.buffers = {r.name: ctypes.create_string_buffer(r.size) for r in memmap.MEMORY if not r.alias_of}
        flash = self.buffers["flash"]
        ctypes.memmove(flash, ERASED_WORD * (memmap.FLASH.size // 4), memmap.FLASH.size)
        ctypes.memmove(flash, bytes(image), len(image))
        self.image = bytes(image)
        self.quantum_s = quantum_s
        self.now = 0.0
        self.fault = None
        self.reset_request = None
        self.resets = 0
        self.stop_requested = False   # set from a signal handler: run() returns between steps
        self.peripherals = make_peripherals(self)
        self.by_name = {p.name: p for p in self.peripherals}
        self.rcc = self.by_name["RCC"]
        self.pfic = self.by_name["PFIC"]
        if sd is not None:        # the card: a path to its image (SdCard), or a ready SdCard
            self.by_name["SDMMC"].attach(sd if isinstance(sd, SdCard) else
                                         SdCard(sd, SdFaults.parse(sd_faults)))
        self._blocks = sorted((base, base + size, name) for name, (base, size) in memmap.PERIPHERAL_BLOCKS.items())
        self._model_at = {p.base: p for p in self.peripherals}
        self._blocks_by_page = {}
        for blk in self._blocks:
            for page in range(blk[0] & ~0xFFF, blk[1], 0x1000):
                self._blocks_by_page.setdefault(page, []).append(blk)
        # only the models that do something between slices or can raise an interrupt are polled there
        self._tickers = [p for p in self.peripherals if type(p).tick is not Peripheral.tick]
        self._irq_sources = [p for p in self.peripherals if p.IRQ is not None or type(p).irq_lines is not Peripheral.irq_lines]
        self.cores = [Core(self, 0, "V3F"), Core(self, 1, "V5F")]
        elfs = [elf] if isinstance(elf, str) else list(elf or ())
        special = codescan.scan(self.image, elfs, is_special)
        for c in self.cores:
            c.hook_special(special)
        self.console = self.by_name[console]
        self.console.host = host
        self.host = host
        self.reset()

    # -- construction ----------------------------------------------------------------------------
    def memory_buffers(self):
        for r in memmap.MEMORY:
            yield r, self.buffers[r.alias_of or r.name]

    def mmio_pages(self):
        pages = set()
        for base, size in memmap.PERIPHERAL_BLOCKS.values():
            pages.update(range(base & ~0xFFF, base + size, 0x1000))
        return sorted(pages)

    def peripheral(self, name):
        return self.by_name.get(name)

    # -- reset, events, faults -------------------------------------------------------------------------
    def reset(self):
        for p in self.peripherals:
            p.reset()
        for c in self.cores:
            c.reset()
        self.cores[0].start(memmap.FLASH_ALIAS.base)      # only the V3F runs after reset, from 0x0
        self.clocks_changed()

    def request_reset(self, why):
        self.reset_request = why
        for c in self.cores:
            c.uc.emu_stop()

    def send_event(self, hart, wake_addr):
        core = self.cores[hart]
        if core.state == "off":
            core.start(wake_addr)
        elif core.state == "sleep" and core.wait_event:
            core.wake()
        else:
            core.pending_event = True

    def set_fault(self, core, pc, addr, what):
        if self.fault is None:
            self.fault = EmulationFault(core.name, pc, addr, what)
        core.uc.emu_stop()

    def clocks_changed(self):
        self.core_hz = [self.rcc.core_hz(0), self.rcc.core_hz(1)]
        self.hclk = self.rcc.hclk_hz()

    # -- bus ---------------------------------------------------------------------------------------------
    def _block(self, addr):
        for base, end, name in self._blocks_by_page.get(addr & ~0xFFF, ()):
            if base <= addr < end:
                return base, name
        return None, None

    def mmio_read(self, core, addr, size):
        base, name = self._block(addr)
        model = self._model_at.get(base)
        if model is None:
            self._bus_fault(core, addr, name)
            return 0, False
        return model.bus_read(addr - base, size, core), model.pollable(addr - base)

    def mmio_write(self, core, addr, size, value):
        base, name = self._block(addr)
        model = self._model_at.get(base)
        if model is None:
            self._bus_fault(core, addr, name)
            return
        model.bus_write(addr - base, size, value, core)

    def _bus_fault(self, core, addr, name):
        from unicorn.riscv_const import UC_RISCV_REG_PC
        what = f"access to unmodelled peripheral {name}" if name else "unmapped access"
        self.set_fault(core, core.uc.reg_read(UC_RISCV_REG_PC), addr, what)

    # -- interrupts ---------------------------------------------------------------------------------------
    def irq_lines(self, hart):
        lines = set()
        for p in self._irq_sources:
            if p.name == "SYSTICK":
                lines.update(n for n in p.irq_lines() if n == 12 + hart)
            elif p.name == "HSEM":
                lines.update(p.irq_lines_for(hart))
            else:
                lines.update(p.irq_lines())
        return lines

    def _deliver_interrupts(self):
        for c in self.cores:
            if c.state == "off" or not (self.pfic.enabled[c.hart] or self.pfic.soft_pending[c.hart]):
                continue
            ready = self.pfic.deliverable(c.hart)
            if not ready:
                continue
            if c.state == "sleep":
                c.wake()
            if c.interrupts_enabled():
                c.take_interrupt(ready[0])

    # -- running --------------------------------------------------------------------------------------------
    def step(self):
        """One quantum: run the cores, advance the peripherals, deliver interrupts."""
        ran = False
        for c in self.cores:
            if c.state != "run":
                continue
            c.budget = getattr(c, "budget", 0.0) + self.quantum_s * self.core_hz[c.hart]
            n = int(c.budget)
            c.budget -= n
            if n:
                c.run(n)
                ran = True
            if self.fault or self.reset_request:
                return
        dt = self.quantum_s if ran else self._idle_jump()
        self.now += dt
        hclk_ticks = dt * self.hclk
        for p in self._tickers:
            p.tick(self.now, hclk_ticks)
        self._deliver_interrupts()

    def _idle_jump(self):
        """Time to the next SysTick compare (between one quantum and 1 ms) while every core sleeps."""
        st = self.by_name["SYSTICK"]
        best = 1e-3
        for off in (0x00, 0x80):
            ctlr = st.values[off]
            if ctlr & 1:
                rate = self.hclk if ctlr & 4 else self.hclk / 8
                cnt, cmp_ = st.values[off + 8], st.values[off + 0x10]
                ticks = cmp_ - cnt if cnt < cmp_ else (cmp_ + 1 if ctlr & 8 else (1 << 32) - cnt + cmp_)
                best = min(best, max(ticks, 1) / rate)
        return max(best, self.quantum_s)

    def all_idle(self):
        return all(c.state != "run" for c in self.cores)

    def run(self, seconds=None, wall_seconds=None, until=None):
        """Run until `seconds` of emulated time, `wall_seconds` of host time, `until()` is true or a fault.

        Returns the reason ('time', 'wall', 'until', 'idle-forever', 'stopped'); raises EmulationFault."""
        t0 = time.monotonic()
        polls = 0
        while True:
            self.step()
            if self.fault:
                raise self.fault
            if self.stop_requested:
                return "stopped"
            if self.reset_request:
                self.reset_request = None
                self.resets += 1
                self.reset()
            polls += 1
            if self.host is not None and (polls & 15 == 0 or self.all_idle()):
                data = self.host.poll(0.002 if self.all_idle() and not self.console.rx_queue else 0)
                if data:
                    self.console.feed(data)
            if until is not None and until():
                return "until"
            if seconds is not None and self.now >= seconds:
                return "time"
            if wall_seconds is not None and polls & 63 == 0 and time.monotonic() - t0 >= wall_seconds:
                return "wall"
            if all(c.state == "off" for c in self.cores):
                return "idle-forever"

    def profile(self, ranges_by_hart):
        """Count retired instructions in address ranges: {hart: [(start, end), ...]} (Core.profile)."""
        for c in self.cores:
            c.profile(ranges_by_hart.get(c.hart))

    def profile_counts(self):
        """{hart: instructions retired in its profiled ranges so far}."""
        return {c.hart: c.profiled for c in self.cores}

    def stats(self):
        return {
            "emulated_s": self.now,
            "retired": {c.name: c.retired for c in self.cores},
            "core_state": {c.name: c.state for c in self.cores},
            "core_hz": {c.name: self.core_hz[c.hart] for c in self.cores},
            "csr_writes": {c.name: {hex(k): v for k, v in sorted(c.csr_writes.items())} for c in self.cores},
            "resets": self.resets,
            "peripherals": {p.name: p.stats() for p in self.peripherals if p.stats()},
            "sd": self.by_name["SDMMC"].summary(),
        }
