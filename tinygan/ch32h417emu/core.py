"""One QingKe core (V3F = hart 0, V5F = hart 1) on a unicorn rv32 CPU.

The chip runs each core in slices of a fixed instruction count (emu_start(count=N)); unicorn counts
those exactly, so retired instructions are known without a per-instruction hook.  Everything the
CPU emulator does not do the way the QingKe does is handled here:
- CSRs in the RISC-V custom ranges (WCH's 0x7C0.., 0x800.., 0xBC0.. etc.), the counters
  (cycle/instret, mcountinhibit) and mtvec (WCH's mode 3, see MTVEC): unicorn traps on some of them and silently drops writes to others
  (see shared/EMULATION.md), so the chip hooks every CSR instruction to them found in the flash
  image (UC_HOOK_CODE on exactly those addresses) and emulates it here: values are kept per core
  and every write is recorded.  The same emulation runs from the illegal-instruction trap for CSR
  instructions outside flash (code copied to RAM).  cycle and instret read the core's retired count
  at the start of the current slice (IPC = 1: one cycle per instruction).
- wfi parks the core: its PC goes to a private page outside the chip's map holding
  `1: addi t0, t0, 1; j 1b` (t0 saved first), so the rest of the slice is spent there and the
  iterations tell exactly how many instructions the slice really retired.  The core then sleeps
  until an interrupt it enabled is pending (or, with SCTLR.WFITOWFE, an event arrives).
- Polling: peripheral registers change only between slices (the models tick there, and the other
  core runs in its own slice), so once a core has read the same value from the same register
  POLL_LIMIT times in a slice with no MMIO write in between, it would read it for the rest of the
  slice.  The chip then stalls the core: its PC goes to the same private loop from inside the
  MMIO read (the load does not complete) and the next slice restarts at that load.  The stalled
  instructions still count as retired (the silicon would be executing the polling loop), so the
  counts and timing are those of polling, only cheaper to emulate.
- Exceptions (illegal instruction, ecall, breakpoint, misaligned access) and interrupts enter the
  guest's trap handler the way the privileged spec says (mepc, mcause, mtval, mstatus.MPIE/MIE/MPP,
  M-mode), vectored as WCH's mtvec modes do: mode 3 = table of handler addresses (the vendor
  startup's .word table), mode 1 = table of jumps, mode 0 = one entry.  In the table modes an
  exception uses entry 3 (HardFault in the vendor table; inferred).  mret is unicorn's own.
"""
import ctypes
from collections import Counter

from unicorn import (Uc, UcError, UC_ARCH_RISCV, UC_MODE_RISCV32, UC_HOOK_BLOCK, UC_HOOK_CODE, UC_HOOK_INTR,
                     UC_HOOK_MEM_UNMAPPED, UC_HOOK_MEM_WRITE_PROT, UC_HOOK_MEM_FETCH_PROT, UC_PROT_ALL,
                     UC_PROT_READ, UC_PROT_EXEC)
from unicorn import riscv_const as rc

SLEEP_PAGE = 0xFFFFF000
SLEEP_CODE = (0x00128293).to_bytes(4, "little") + (0xFFDFF06F).to_bytes(4, "little")
WFI = 0x10500073
POLL_LIMIT = 8                  # identical reads of one register in a slice before the core is stalled
UNTIL = 0xFFFFFFFE              # an address no instruction starts at: slices end on count

COUNTER_CSRS = set(range(0xB00, 0xB20)) | set(range(0xB80, 0xBA0)) | set(range(0xC00, 0xC20)) \
    | set(range(0xC80, 0xCA0)) | {0x320}
CUSTOM_CSRS = set(range(0x7C0, 0x800)) | set(range(0x800, 0x900)) | set(range(0xBC0, 0xC00)) \
    | set(range(0xCC0, 0xD00)) | set(range(0xFC0, 0x1000))
# mtvec: WCH's mode 3 (a table of handler addresses, written by the vendor startup as
# `_vector_base | 3`) is a reserved mode in the standard, and unicorn's CPU drops such a write
# whole; so mtvec is kept here and the traps this class enters use it.
MTVEC = 0x305
EMULATED_CSRS = COUNTER_CSRS | CUSTOM_CSRS | {MTVEC}

X_REGS = [getattr(rc, f"UC_RISCV_REG_X{i}") for i in range(32)]


def is_emulated_csr_insn(ins):
    return (ins & 0x7F) == 0x73 and (ins >> 12) & 7 not in (0, 4) and (ins >> 20) in EMULATED_CSRS


class Core:
    def __init__(self, chip, hart, name):
        self.chip = chip
        self.hart = hart
        self.name = name
        uc = self.uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
        for region, buf in chip.memory_buffers():
            prot = UC_PROT_ALL if region.writable else UC_PROT_READ | UC_PROT_EXEC
            uc.mem_map_ptr(region.base, region.size, prot, ctypes.addressof(buf))
        for page in chip.mmio_pages():
            uc.mmio_map(page, 0x1000, self._mmio_read, page, self._mmio_write, page)
        uc.mem_map(SLEEP_PAGE, 0x1000, UC_PROT_READ | UC_PROT_EXEC)
        uc.mem_write(SLEEP_PAGE, SLEEP_CODE)
        uc.hook_add(UC_HOOK_INTR, self._on_trap)
        uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._on_unmapped)
        uc.hook_add(UC_HOOK_MEM_WRITE_PROT | UC_HOOK_MEM_FETCH_PROT, self._on_protected)
        self.retired = 0
        self.slice_base = 0              # retired count when the current slice began
        self.inexact_slices = 0          # slices whose count is an upper bound (see run())
        self.hooked = set()
        self.profiled = 0                # instructions retired inside the profiled ranges (profile())
        self._profile_hooks = []
        self._profile_block = None       # (address, end, instructions) of the last profiled block
        self._block_lengths = {}
        self.csr_writes = Counter()      # csr -> number of writes
        self.csr_last = {}               # csr -> last value written
        self.reset()

    # -- state -----------------------------------------------------------------------------------
    def reset(self):
        self.state = "off"               # off | run | sleep
        self.wait_event = False
        self.pending_event = False       # an event that arrived while running: the next WFE returns at once
        self.csr = {}
        self.parked_at = None            # pc of the wfi while parked in the sleep page
        self.stalled_at = None           # pc of the polling load while stalled there
        self.polls = {}
        self.saved_t0 = 0
        for r in X_REGS[1:]:
            self.uc.reg_write(r, 0)
        for r in ("MSTATUS", "MTVEC", "MEPC", "MCAUSE", "MIE"):
            self.uc.reg_write(getattr(rc, "UC_RISCV_REG_" + r), 0)
        self.uc.reg_write(rc.UC_RISCV_REG_PRIV, 3)
        self.pc = 0
        self.start_pc = None

    def start(self, pc):
        self.state = "run"
        self.pc = pc
        self.start_pc = pc

    def hook_special(self, addresses):
        for a in addresses:
            if a not in self.hooked:
                self.hooked.add(a)
                self.uc.hook_add(UC_HOOK_CODE, self._on_special, begin=a, end=a)

    # -- profiling ------------------------------------------------------------------------------
    def profile(self, ranges):
        """Count the instructions this core retires in the address ranges [(start, end), ...] into
        self.profiled (None or () stops counting).  A block hook over exactly those ranges adds each
        translation block's instruction count as it starts; a slice that ends inside a block has the
        instructions it did not reach taken back, so the count is exact.  Costs one Python call per
        block executed in the ranges (a few seconds per cat over the kernels)."""
        for h in self._profile_hooks:
            self.uc.hook_del(h)
        self._profile_hooks = [self.uc.hook_add(UC_HOOK_BLOCK, self._on_profiled_block, begin=lo, end=hi - 1)
                               for lo, hi in (ranges or ())]
        # code translated before the hooks were added (or removed) would run without (with) them
        self.uc.ctl_flush_tb()

    def _instructions(self, address, size):
        """Instructions in [address, address + size): RVC ones are 2 bytes (low bits != 11)."""
        code = self.uc.mem_read(address, size)
        n = i = 0
        while i < size:
            i += 4 if code[i] & 3 == 3 else 2
            n += 1
        return n

    def _on_profiled_block(self, uc, address, size, user_data):
        n = self._block_lengths.get((address, size))
        if n is None:
            n = self._block_lengths[(address, size)] = self._instructions(address, size)
        self.profiled += n
        self._profile_block = (address, address + size)

    def _profile_slice_end(self, pc):
        blk, self._profile_block = self._profile_block, None
        if blk is not None and blk[0] <= pc < blk[1]:
            self.profiled -= self._instructions(pc, blk[1] - pc)   # stopped before pc: not retired

    # -- running ---------------------------------------------------------------------------------
    def run(self, count):
        """Run up to count instructions; returns how many the core retired."""
        self.slice_base = self.retired
        self.polls = {}
        self._profile_block = None
        try:
            self.uc.emu_start(self.pc, UNTIL, count=count)
        except UcError as e:
            if self.chip.fault is None:
                self.chip.set_fault(self, self.uc.reg_read(rc.UC_RISCV_REG_PC), None, str(e))
        pc = self.uc.reg_read(rc.UC_RISCV_REG_PC)
        if self._profile_hooks:
            self._profile_slice_end(pc)
        done = count
        if self.stalled_at is not None:
            self.uc.reg_write(rc.UC_RISCV_REG_T0, self.saved_t0)
            pc, self.stalled_at = self.stalled_at, None
        elif self.parked_at is not None:
            spins = self.uc.reg_read(rc.UC_RISCV_REG_T0)
            done = max(0, count - 2 * spins - (1 if pc == SLEEP_PAGE + 4 else 0))
            self.uc.reg_write(rc.UC_RISCV_REG_T0, self.saved_t0)
            pc = self.parked_at + 4
            self.parked_at = None
            self.state = "sleep"
        elif self.chip.fault is None and self._after_unhooked_wfi(pc):
            # unicorn halts on a wfi nobody hooked (code outside the scanned image) and returns
            # early: the slice's count is unknown (counted whole, flagged); hook it from now on.
            self.inexact_slices += 1
            self.hook_special([pc - 4])
            self.wait_event = self.chip.pfic.wfi_waits_for_event(self.hart)
            self.state = "sleep"
        self.pc = pc
        self.retired += done
        return done

    def _after_unhooked_wfi(self, pc):
        try:
            return int.from_bytes(self.uc.mem_read(pc - 4, 4), "little") == WFI and (pc - 4) not in self.hooked
        except UcError:
            return False

    def wake(self):
        if self.state == "sleep":
            self.state = "run"
            self.wait_event = False

    def park(self, pc):
        """wfi at pc: spend the rest of the slice in the sleep page."""
        waits_for_event = self.chip.pfic.wfi_waits_for_event(self.hart)
        if waits_for_event and self.pending_event:
            self.pending_event = False           # the event latch is set: WFE does not sleep
            self.uc.reg_write(rc.UC_RISCV_REG_PC, pc + 4)
            return
        self.parked_at = pc
        self.wait_event = waits_for_event
        self.saved_t0 = self.uc.reg_read(rc.UC_RISCV_REG_T0)
        self.uc.reg_write(rc.UC_RISCV_REG_T0, 0)
        self.uc.reg_write(rc.UC_RISCV_REG_PC, SLEEP_PAGE)

    def stall(self, pc):
        """A polling load at pc: spend the rest of the slice in the sleep page, redo the load next slice."""
        self.stalled_at = pc
        self.saved_t0 = self.uc.reg_read(rc.UC_RISCV_REG_T0)
        self.uc.reg_write(rc.UC_RISCV_REG_PC, SLEEP_PAGE)

    # -- traps and interrupts --------------------------------------------------------------------------
    def interrupts_enabled(self):
        return self.uc.reg_read(rc.UC_RISCV_REG_PRIV) < 3 or self.uc.reg_read(rc.UC_RISCV_REG_MSTATUS) & 0x8

    def enter_trap(self, cause, pc, tval=0, interrupt=False):
        uc = self.uc
        mstatus = uc.reg_read(rc.UC_RISCV_REG_MSTATUS)
        priv = uc.reg_read(rc.UC_RISCV_REG_PRIV)
        mie = (mstatus >> 3) & 1
        mstatus = (mstatus & ~((1 << 7) | (1 << 3) | (3 << 11))) | (mie << 7) | (priv << 11)
        uc.reg_write(rc.UC_RISCV_REG_MSTATUS, mstatus)
        uc.reg_write(rc.UC_RISCV_REG_MEPC, pc)
        uc.reg_write(rc.UC_RISCV_REG_MCAUSE, cause | (1 << 31 if interrupt else 0))
        uc.reg_write(rc.UC_RISCV_REG_MTVAL, tval)
        uc.reg_write(rc.UC_RISCV_REG_PRIV, 3)
        mtvec = self.csr.get(MTVEC, 0)
        base, mode = mtvec & ~3, mtvec & 3
        index = cause if interrupt else 3
        target = self.chip.pfic.vtf_target(self.hart, cause) if interrupt else None
        if target is None:
            if mode == 3:
                target = int.from_bytes(uc.mem_read(base + 4 * index, 4), "little")
            elif mode == 1:
                target = base + 4 * index
            else:
                target = base
        return target

    def take_interrupt(self, irq):
        self.pc = self.enter_trap(irq, self.pc, interrupt=True)

    def _on_trap(self, uc, intno, _):
        pc = uc.reg_read(rc.UC_RISCV_REG_PC)
        if intno == 2:
            ins = int.from_bytes(uc.mem_read(pc, 4), "little")
            if is_emulated_csr_insn(ins):
                self._emulate_csr(ins, pc)
                return
            if ins == WFI:
                self.park(pc)
                return
            uc.reg_write(rc.UC_RISCV_REG_PC, self.enter_trap(2, pc, tval=ins))
            return
        uc.reg_write(rc.UC_RISCV_REG_PC, self.enter_trap(intno, pc))

    def _on_special(self, uc, addr, size, _):
        ins = int.from_bytes(uc.mem_read(addr, 4), "little")
        if ins == WFI:
            self.park(addr)
        elif is_emulated_csr_insn(ins):
            self._emulate_csr(ins, addr)

    # -- CSRs ------------------------------------------------------------------------------------------
    def read_csr(self, csr):
        if csr in COUNTER_CSRS and csr != 0x320:
            count = self.slice_base
            return (count >> 32) & 0xFFFFFFFF if csr & 0x80 else count & 0xFFFFFFFF
        return self.csr.get(csr, 0)

    def write_csr(self, csr, value):
        self.csr_writes[csr] += 1
        self.csr_last[csr] = value
        if csr not in COUNTER_CSRS or csr == 0x320:
            self.csr[csr] = value

    def _emulate_csr(self, ins, pc):
        uc = self.uc
        funct3, rd, rs1, csr = (ins >> 12) & 7, (ins >> 7) & 31, (ins >> 15) & 31, ins >> 20
        src = rs1 if funct3 >= 5 else uc.reg_read(X_REGS[rs1])
        old = self.read_csr(csr)
        op = funct3 & 3
        if op == 1:
            self.write_csr(csr, src)
        elif rs1:
            self.write_csr(csr, old | src if op == 2 else old & ~src)
        if rd:
            uc.reg_write(X_REGS[rd], old)
        uc.reg_write(rc.UC_RISCV_REG_PC, pc + 4)

    # -- memory faults ---------------------------------------------------------------------------------
    def _on_unmapped(self, uc, access, addr, size, value, _):
        self.chip.set_fault(self, uc.reg_read(rc.UC_RISCV_REG_PC), addr, "unmapped access")
        return False

    def _on_protected(self, uc, access, addr, size, value, _):
        what = "store to read-only flash" if access != 0 and access != 20 else "fetch from non-executable memory"
        self.chip.set_fault(self, uc.reg_read(rc.UC_RISCV_REG_PC), addr, what)
        return False

    def _mmio_read(self, uc, offset, size, page):
        addr = page + offset
        value, pollable = self.chip.mmio_read(self, addr, size)
        if pollable and self.stalled_at is None:
            seen = self.polls.get(addr)
            n = seen[1] + 1 if seen and seen[0] == value else 1
            self.polls[addr] = (value, n)
            if n >= POLL_LIMIT:
                self.stall(uc.reg_read(rc.UC_RISCV_REG_PC))
        return value

    def _mmio_write(self, uc, offset, size, value, page):
        self.polls.clear()
        self.chip.mmio_write(self, page + offset, size, value)
