"""HSEM: 32 hardware semaphores shared by the two cores.

Source: core_riscv.h (HSEM_Type at 0xE000C000: RX[32] 0x000, RLRX[32] 0x100, LSE 0x200, CLR 0x208,
KEY 0x20C, IER 0x300, ISR 0x308, ISM 0x310, LSM 0x318), ch32h417_hsem.c (HSEM_Take writes
ProcessID | CoreID << 8 | 1 << 31 to RX[n] and reads it back to see whether it got it;
HSEM_FastTake reads RLRX[n] and owns the semaphore when it reads CoreID << 8 | 1 << 31;
HSEM_ReleaseOneSem writes ProcessID | CoreID << 8 without bit 31; HSEM_ReleaseAllSem etc. write
KEY << 16 | match bits to CLR; HSEM_ITConfig sets IER bit n; HSEM_ClearFlag writes 1 << n to ISR),
HSEM_IRQn = 28 (ch32h417.h).

Model: a free semaphore written with bit 31 is taken by the writer (core id from the accessing
core, as the hardware would see it, not the value written); a taken one ignores take attempts;
reading RLRX of a free semaphore takes it for the reader with process id 0.  A release with the
owner's core and process ids frees it and sets ISR bit n on each core; CLR with the right KEY frees
every semaphore matching the core id (bits [11:8]) unless bit 13 is set and the process id unless
bit 12 is set, as the SDK's HSEM_ReleaseSem_* helpers use them (the key the SDK writes, 0x5AA5, is
taken as KEY's reset value: inferred).  IER and ISR are per core (inferred: the vendor examples enable the
interrupt on the waiting core only); ISM = ISR & IER; LSE: taken mask; LSM: taken by this core.
"""
from .base import Peripheral, Reg, word_array


class HSEM(Peripheral):
    NAME = "HSEM"
    SOURCE = "core_riscv.h HSEM_Type; ch32h417_hsem.c HSEM_Take/FastTake/ReleaseOneSem/ITConfig"
    IRQ = 28
    REGS = (word_array("RX", 0x000, 32) + word_array("RLRX", 0x100, 32, access="ro", pollable=False)
            + (Reg(0x200, "LSE", access="ro"), Reg(0x208, "CLR", access="wo"), Reg(0x20C, "KEY", 0x5AA50000),
               Reg(0x300, "IER"), Reg(0x308, "ISR"), Reg(0x310, "ISM", access="ro"),
               Reg(0x318, "LSM", access="ro")))

    def reset(self):
        super().reset()
        self.owner = [None] * 32          # (core id, process id) or None
        self.ier = [0, 0]
        self.isr = [0, 0]
        self.takes = 0

    def __getattr__(self, attr):
        for prefix, fn in (("read_rx", self._read_rx), ("write_rx", self._write_rx), ("read_rlrx", self._read_rlrx)):
            if attr.startswith(prefix) and attr[len(prefix):].isdigit():
                idx = int(attr[len(prefix):])
                return lambda *a: fn(idx, *a)
        raise AttributeError(attr)

    def _value(self, n):
        o = self.owner[n]
        return 0 if o is None else (1 << 31) | (o[0] << 8) | o[1]

    def _read_rx(self, n, core):
        return self._value(n)

    def _write_rx(self, n, value, core):
        proc = value & 0xFF
        if value >> 31:
            if self.owner[n] is None:
                self.owner[n] = (core.hart, proc)
                self.takes += 1
        elif self.owner[n] == (core.hart, proc):
            self._free(n)

    def _read_rlrx(self, n, core):
        if self.owner[n] is None:
            self.owner[n] = (core.hart, 0)
            self.takes += 1
        return self._value(n)

    def _free(self, n):
        self.owner[n] = None
        for hart in (0, 1):
            self.isr[hart] |= 1 << n

    def write_clr(self, value, core):
        if value >> 16 != self.values[0x20C] >> 16:
            return
        match_pid = not value & (1 << 12)      # bit 12: any process (HSEM_ReleaseSem_MatchCID)
        match_cid = not value & (1 << 13)      # bit 13: any core (HSEM_ReleaseSem_MatchPID)
        cid, pid = (value >> 8) & 0xF, value & 0xFF
        for n, o in enumerate(self.owner):
            if o is not None and (not match_cid or o[0] == cid) and (not match_pid or o[1] == pid):
                self._free(n)

    def read_ier(self, core):
        return self.ier[core.hart]

    def write_ier(self, value, core):
        self.ier[core.hart] = value

    def read_isr(self, core):
        return self.isr[core.hart]

    def write_isr(self, value, core):
        self.isr[core.hart] &= ~value

    def read_ism(self, core):
        return self.isr[core.hart] & self.ier[core.hart]

    def read_lse(self, core):
        return sum(1 << n for n, o in enumerate(self.owner) if o is not None)

    def read_lsm(self, core):
        return sum(1 << n for n, o in enumerate(self.owner) if o is not None and o[0] == core.hart)

    def irq_lines_for(self, hart):
        return (self.IRQ,) if self.isr[hart] & self.ier[hart] else ()
