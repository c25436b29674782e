"""IPC: the inter-core mailbox (4 channels x 8 status bits, 4 message words).

Source: core_riscv.h (IPC_Type at 0xE000D000: CTLR 0x00, ISR 0x04, ISM 0x08, ENA 0x10, STS 0x14,
SET 0x18, CLR 0x1C, MSG[4] 0x20..0x2C), ch32h417_ipc.c (IPC_Init packs TxCID/RxCID/TxIER/RxIER/AutoEN
into CTLR byte n for channel n, bit 7 of each byte locks it; IPC_GetITStatus tests ISR bit
8*ch + bit, IPC_GetITMask tests ISM; IPC_DeInit zeroes CTLR, ENA, STS, MSG), IPC_CH0..3_IRQn
16..19 (ch32h417.h).

Model (storage-level, enough for a mailbox hand-off; interrupt routing by TxCID/RxCID is not
modelled and no IPC interrupt is raised yet): MSG words are plain storage shared by both cores;
SET sets STS bits and CLR clears them; ISR reads STS, ISM reads STS & ENA (inferred from the
register names).  A locked channel's CTLR byte ignores writes.
"""
from .base import Peripheral, Reg, word_array


class IPC(Peripheral):
    NAME = "IPC"
    SOURCE = "core_riscv.h IPC_Type; ch32h417_ipc.c IPC_Init/IPC_CHn_Lock/IPC_GetITStatus"
    REGS = ((Reg(0x00, "CTLR"), Reg(0x04, "ISR", access="ro"), Reg(0x08, "ISM", access="ro"),
             Reg(0x10, "ENA"), Reg(0x14, "STS"), Reg(0x18, "SET", access="wo"), Reg(0x1C, "CLR", access="wo"))
            + word_array("MSG", 0x20, 4))

    def write_ctlr(self, value, core):
        old = self.values[0x00]
        new = old
        for ch in range(4):
            shift = 8 * ch
            if not old >> (shift + 7) & 1:          # channel not locked
                new = (new & ~(0xFF << shift)) | (value & (0xFF << shift))
        self.values[0x00] = new

    def write_set(self, value, core):
        self.values[0x14] |= value

    def write_clr(self, value, core):
        self.values[0x14] &= ~value

    def read_isr(self, core):
        return self.values[0x14]

    def read_ism(self, core):
        return self.values[0x14] & self.values[0x10]
