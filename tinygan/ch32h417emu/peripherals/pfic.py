"""PFIC: interrupt enable/pending, core wake-up, events, system reset; one view per core.

Source: core_riscv.h (PFIC_Type at 0xE000E000: ISR[8] 0x00, IPR[8] 0x20, ITHRESDR 0x40, CFGR 0x48,
GISR 0x4C, VTFIDR 0x50, VTFADDR[4] 0x60, IENR[8] 0x100, IRER[8] 0x180, IPSR[8] 0x200, IPRR[8] 0x280,
IACTR[8] 0x300, IPRIOR 0x400, IALLOCR 0x600, IAUTR 0x700, WAKEIP[2] 0x720, SCTLR 0xD10;
NVIC_EnableIRQ/DisableIRQ/SetPendingIRQ/ClearPendingIRQ write 1 << (n & 31) to word n >> 5;
NVIC_SystemReset writes NVIC_KEY3 0xBEEF0000 | 1 << 7 to CFGR; NVIC_WakeUp_V5F(addr):
addr &= ~0x3FF, WAKEIP[1] = addr, SCTLR |= 1 << 5; NVIC_GetCurrentCoreID reads SCTLR bit 16
(0 = V3F, 1 = V5F); __WFI clears SCTLR bit 3, __WFE sets it (wfi then waits for an event); _SEV sets
bit 5; SetVTFIRQ: VTFIDR[k] = IRQ, VTFADDR[k] = handler | 1 to enable).

Model: each core sees its own enable, pending, SCTLR and VTF registers (core-local vectors 12..28 are
per core; the IALLOCR routing of external IRQs is stored but not enforced: an external IRQ is
delivered to every core that enabled it).  Writing SCTLR with bit 5 set (SETEVENT) sends an event to
the other core: a core that has not started starts at WAKEIP[its hart] & ~0x3FF (the 1 KiB masking
NVIC_WakeUp_* does is applied by the model too, so an unaligned WAKEIP starts the core at the
aligned-down address), a core sleeping in WFE wakes, a running core latches it (its next WFE
returns at once, as __WFE's wake-up loop expects).  Bit 5 reads back 0.  CFGR written with key 0xBEEF in
bits [31:16] and bit 7 resets the whole chip.
"""
from .base import Peripheral, Reg, word_array

SCTLR_WFITOWFE, SCTLR_SETEVENT = 1 << 3, 1 << 5
RESET_KEY = 0xBEEF


class PFIC(Peripheral):
    NAME = "PFIC"
    SOURCE = "core_riscv.h PFIC_Type, NVIC_*IRQ, NVIC_SystemReset, NVIC_WakeUp_V5F, NVIC_GetCurrentCoreID"
    REGS = (word_array("ISR", 0x00, 8, access="ro") + word_array("IPR", 0x20, 8, access="ro")
            + (Reg(0x40, "ITHRESDR"), Reg(0x48, "CFGR"), Reg(0x4C, "GISR", access="ro"), Reg(0x50, "VTFIDR"))
            + word_array("VTFADDR", 0x60, 4) + word_array("IENR", 0x100, 8, access="wo")
            + word_array("IRER", 0x180, 8, access="wo") + word_array("IPSR", 0x200, 8, access="wo")
            + word_array("IPRR", 0x280, 8, access="wo") + word_array("IACTR", 0x300, 8)
            + word_array("IPRIOR", 0x400, 64) + word_array("IALLOCR", 0x600, 64)
            + word_array("IAUTR", 0x700, 8, access="ro") + word_array("WAKEIP", 0x720, 2)
            + (Reg(0xC80, "EENR"), Reg(0xC84, "EPR"), Reg(0xC88, "EWUPR"), Reg(0xD10, "SCTLR")))

    def reset(self):
        super().reset()
        self.banks = [dict(self.values), dict(self.values)]
        self.enabled = [set(), set()]
        self.soft_pending = [set(), set()]
        self.wakeip = [0, 0]
        self.events = []          # (time, from hart, what)

    # Per-core banks: the base class works on self.values, pointed at the accessing core's bank.
    def bus_read(self, offset, size, core):
        self.values = self.banks[core.hart]
        return super().bus_read(offset, size, core)

    def bus_write(self, offset, size, value, core):
        self.values = self.banks[core.hart]
        super().bus_write(offset, size, value, core)

    def __getattr__(self, attr):
        # read_isr0..7 / read_ipr0..7 and write_ienr0.. / irer / ipsr / iprr / wakeip0..1 hooks
        for prefix, base, fn in (("read_isr", 0x00, self._read_isr), ("read_ipr", 0x20, self._read_ipr),
                                 ("write_ienr", 0x100, self._w_ienr), ("write_irer", 0x180, self._w_irer),
                                 ("write_ipsr", 0x200, self._w_ipsr), ("write_iprr", 0x280, self._w_iprr),
                                 ("write_wakeip", 0x720, self._w_wakeip), ("read_wakeip", 0x720, self._r_wakeip)):
            if attr.startswith(prefix) and attr[len(prefix):].isdigit():
                idx = int(attr[len(prefix):])
                return lambda *a: fn(idx, *a)
        raise AttributeError(attr)

    def _read_isr(self, word, core):
        return sum(1 << (n & 31) for n in self.enabled[core.hart] if n >> 5 == word)

    def _read_ipr(self, word, core):
        return sum(1 << (n & 31) for n in self.pending(core.hart) if n >> 5 == word)

    def _bits(self, word, value):
        return {word * 32 + b for b in range(32) if value >> b & 1}

    def _w_ienr(self, word, value, core):
        self.enabled[core.hart] |= self._bits(word, value)

    def _w_irer(self, word, value, core):
        self.enabled[core.hart] -= self._bits(word, value)

    def _w_ipsr(self, word, value, core):
        self.soft_pending[core.hart] |= self._bits(word, value)

    def _w_iprr(self, word, value, core):
        self.soft_pending[core.hart] -= self._bits(word, value)

    def _w_wakeip(self, idx, value, core):
        self.wakeip[idx] = value

    def _r_wakeip(self, idx, core):
        return self.wakeip[idx]

    def write_cfgr(self, value, core):
        if value >> 16 == RESET_KEY and value & (1 << 7):
            self.events.append((self.chip.now, core.hart, "system reset"))
            self.chip.request_reset(f"PFIC CFGR system reset by {core.name}")
            return
        self.values[0x48] = value & 0xFFFF

    def read_sctlr(self, core):
        return (self.values[0xD10] & ~SCTLR_SETEVENT & ~(1 << 16)) | (core.hart << 16)

    def write_sctlr(self, value, core):
        self.values[0xD10] = value & ~SCTLR_SETEVENT & ~(1 << 16)
        if value & SCTLR_SETEVENT:
            other = 1 - core.hart
            self.events.append((self.chip.now, core.hart, "event"))
            self.chip.send_event(other, self.wakeip[other] & ~0x3FF)

    # -- queries used by the chip ------------------------------------------------------------------------
    def pending(self, hart):
        lines = set(self.soft_pending[hart])
        lines.update(self.chip.irq_lines(hart))
        return lines

    def deliverable(self, hart):
        """Enabled and pending interrupt numbers of a core, lowest number first."""
        return sorted(self.pending(hart) & self.enabled[hart])

    def vtf_target(self, hart, irq):
        """Handler address when irq is a VTF (fast) interrupt on this core, else None."""
        bank = self.banks[hart]
        ids = bank[0x50]
        for k in range(4):
            if (ids >> (8 * k)) & 0xFF == irq and bank[0x60 + 4 * k] & 1:
                return bank[0x60 + 4 * k] & ~1
        return None

    def wfi_waits_for_event(self, hart):
        return bool(self.banks[hart][0xD10] & SCTLR_WFITOWFE)
