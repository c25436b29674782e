"""SDMMC: WCH's SD/eMMC host controller with its own DMA (host mode, SD memory card, SDR).

Sources (openwch/ch32h417 EVT V1.3):
- EVT/EXAM/SRC/Peripheral/inc/ch32h417.h: SDMMC_TypeDef (offsets below), SDMMC_BASE 0x40024000,
  SDMMC_IRQn 95, RCC_SDMMCEN 0x0400 (HBPCENR bit 10), RCC_SDMMCRST; bits SDMMC_CMDIDX_MASK 0x3F,
  SDMMC_RPTY_MASK 0x300, SDMMC_CKCRC 0x400, SDMMC_CKIDX 0x800; CONTROL LW[1:0], ALL_CLR 0x04,
  DMAEN 0x08, RST_LGC 0x10, NEGSMP 0x20, SLV_MODE 0x100; TIMEOUT TOCNT[3:0]; STATUS block count
  [15:0], CMDSTA 1<<16, DAT0STA 1<<17; INT_FG RE_TMOUT 0x1, RECRC_WR 0x2, REIDX_ER 0x4, CMDDONE 0x8,
  DATTMO 0x10, TRANERR 0x20, TRANDONE 0x40, BKGAP 0x80, FIFO_OV 0x100, SDIOINT 0x200; BLOCK_CFG
  BKNUM[15:0], BKSIZE[27:16]; TRAN_MODE DMA_DIR 0x1, GAP_STOP 0x2, MODE_BOOT 0x4, AUTOGAPSTOP 0x10,
  DMATN_CNT, DULEDMA_EN 1<<16, DDR_MODE 1<<17; CLK_DIV DIV[4:0], CLKOE 0x100, CLKMode 0x200.
  The header defines no DMA or bus error flag.
- EVT/EXAM/SRC/Peripheral/src/ch32h417_sdmmc.c and inc/ch32h417_sdmmc.h: SDMMC_CommandConfig
  (ARGUMENT, then CMD_SET sends the command; the struct comment: the argument "Must be Loaded ...
  before writing the R16_SDMMC_CMD_SET register"), response types NONE 0x000, 136 0x100, 48 0x200,
  R1b 0x300, SDMMC_ClearFlags (INT_FG = flag: write 1 to clear), SDMMC_BlockConfig
  (size << 16 | count), SDMMC_DMAContinueWrite (WRITE_CONT = 0), SDMMC_GetBlockNumSuccess,
  SDMMC_Set/ClearGAPStop ("stop SDCK output after 1 data block transferred" / "re-start").
- EVT/EXAM/SDMMC/SDMMC_SD/Common/sdmmc_sd.c: the SD driver: CmdRespError polls INT_FG for CMDDONE /
  REIDX_ER / RECRC_WR / RE_TMOUT; 48-bit responses (R1, R3, R6, R7) are read from RESPONSE3, the
  136-bit CID/CSD as RESPONSE3..0 = bits 127..0 (CRC7 and end bit in RESPONSE0[7:0]);
  reads: BLOCK_CFG = 0 first ("MUST Config to 0 first"), TRAN_MODE, BLOCK_CFG, DMA_BEG1, then
  CMD17/18; DataTransErr waits for TRANDONE or BKGAP (errors TRANERR = data CRC, FIFO_OV,
  DATTMO); multi-block read: clear and set GAP_STOP after each BKGAP/TRANDONE, then CMD12;
  writes: CMD24/25 first, then BLOCK_CFG 0, TRAN_MODE send, BLOCK_CFG, DMA_BEG1; after each block
  WRITE_CONT until STATUS counts all blocks; SDMMC_WaitData0 waits for DAT0STA before a command;
  buffers must be 16-byte aligned (SD_ReadBlock returns SD_INVALID_PARAMETER otherwise).
- SDCK: SYSCLK / DIV in high-speed mode (CLKMode), a further /64 in low mode (ArduinoCore-CH32H4
  claim, not in the SDK); the vendor example starts at DIV 0x1F low (~200 kHz) and runs at 12 high.
- DMA reach: the SDMMC DMA cannot reach DTCM, buffers must be in shared SRAM (ArduinoCore-CH32H4
  claim; the vendor SD example runs on the V3F, whose data is in shared SRAM).

Model (inferences marked in docs/ch32h417-emulator.md):
- Writes while HBPCENR bit 10 is off are ignored (base class).  While CONTROL.RST_LGC is set the
  controller is held in reset: commands are not sent (counted).
- A command is sent when CMD_SET is written with CLK_DIV.CLKOE set (otherwise there is no SDCK and
  nothing happens).  Its flags appear when the command's bits have passed at the SD clock: CMDDONE
  with the response, or RE_TMOUT when the card does not answer.  CKIDX on a response whose index
  field is 111111 (R2, R3) raises REIDX_ER; CKCRC on R3 (CRC field 1111111) raises RECRC_WR.
- Data moves block by block at the bus rate (BKSIZE*8/width + 18 clocks per block) by DMA from/to
  DMA_BEG1 + k*BKSIZE.  A DMA address that is not 16-byte aligned, or outside shared SRAM, stops
  the emulation naming the address and the core that started the transfer (no flag is defined for
  it, and what the silicon does is not documented).  Without CONTROL.DMAEN data overruns
  (FIFO_OV).  A width (CONTROL.LW vs ACMD6) or block size (BKSIZE vs the card's 512) mismatch is
  a data CRC error (TRANERR).  No block from the card within 2^(TOCNT+13) SD clocks (SDHCI's
  unit; the SDK gives none) is DATTMO.
- Reads: TRANDONE after BKNUM blocks; with GAP_STOP set the clock stops after a block (BKGAP) until
  GAP_STOP is cleared.  A data CRC error writes the corrupted block and ends the transfer (TRANERR).
  Writes start when BLOCK_CFG is written with BKNUM > 0 and DMA_DIR = send; after each block but the
  last the controller waits for WRITE_CONT (BKGAP), after the last TRANDONE.
- Not modelled (stop the emulation): slave mode, DDR, boot mode, dual-buffer DMA.
"""
import ctypes

from .. import memmap
from .base import Peripheral, Reg, core_pc as _pc
from .sdcard import NotModelled

IF_RE_TMOUT, IF_RECRC_WR, IF_REIDX_ER, IF_CMDDONE = 0x1, 0x2, 0x4, 0x8
IF_DATTMO, IF_TRANERR, IF_TRANDONE, IF_BKGAP, IF_FIFO_OV = 0x10, 0x20, 0x40, 0x80, 0x100
CTL_RST_LGC, CTL_DMAEN, CTL_SLV_MODE = 0x10, 0x08, 0x100
TM_DMA_DIR, TM_GAP_STOP, TM_BOOT, TM_DUAL, TM_DDR = 0x1, 0x2, 0x4, 1 << 16, 1 << 17
CLK_OE, CLK_HIGH = 0x100, 0x200
STATUS_CMDSTA, STATUS_DAT0STA = 1 << 16, 1 << 17
RESP_BITS = {0: 0, 1: 136, 2: 48, 3: 48}          # RPTY field -> response length on the bus
DATA_COMMANDS = (6, 17, 18)


class Transfer:
    def __init__(self, send, blocks, size, next_at, core, pc):
        self.send, self.blocks, self.size = send, blocks, size
        self.done = 0
        self.next_at = next_at
        self.addr = None           # DMA_BEG1 when the first block moves
        self.timeout_at = None
        self.paused = False        # read: GAP_STOP; write: waiting for WRITE_CONT
        self.core, self.pc = core, pc


class SDMMC(Peripheral):
    NAME = "SDMMC"
    SOURCE = "ch32h417.h SDMMC_TypeDef + SDMMC_* bits; ch32h417_sdmmc.c/.h; SDMMC_SD sdmmc_sd.c"
    CLOCK = ("HBPCENR", 10)
    IRQ = 95
    REGS = (
        Reg(0x00, "ARGUMENT"), Reg(0x04, "CMD_SET", mask=0x0FFF),
        Reg(0x08, "RESPONSE0", access="ro"), Reg(0x0C, "RESPONSE1", access="ro"),
        Reg(0x10, "RESPONSE2", access="ro"),
        Reg(0x14, "RESPONSE3", doc="read: RESPONSE3; write: WRITE_CONT (continue a DMA write)"),
        Reg(0x18, "CONTROL", mask=0x03BF), Reg(0x1C, "TIMEOUT", mask=0x0F),
        Reg(0x20, "STATUS", access="ro"), Reg(0x24, "INT_FG", mask=0x07FF),
        Reg(0x28, "INT_EN", mask=0x01FF), Reg(0x2C, "DMA_BEG1"), Reg(0x30, "BLOCK_CFG", mask=0x0FFFFFFF),
        Reg(0x34, "TRAN_MODE", mask=0x001F7F17), Reg(0x38, "CLK_DIV", mask=0x071F), Reg(0x3C, "DMA_BEG2"),
        Reg(0x40, "TUNE_DATO"), Reg(0x44, "TUNE_DATI"), Reg(0x48, "TUNE_CLK_CMD"),
    )

    def __init__(self, chip, base):
        self.card = None
        self.counts = {"commands_sent": 0, "response_timeouts": 0, "commands_in_reset": 0,
                       "commands_without_clock": 0, "data_timeouts": 0, "data_crc_errors": 0}
        super().__init__(chip, base)

    def attach(self, card):
        self.card = card

    def reset(self):
        super().reset()
        self.cmd_done_at = None
        self.cmd_flags = 0
        self.cmd_response = None
        self.cmd_starts_data = False
        self.xfer = None
        self.blocks_ok = 0

    # -- clock --------------------------------------------------------------------------------------
    def sd_hz(self):
        clk = self.values[0x38]
        hz = self.chip.rcc.sysclk_hz() / max(clk & 0x1F, 1)
        return hz if clk & CLK_HIGH else hz / 64

    def _bits_s(self, bits):
        return bits / self.sd_hz()

    def _width(self):
        return (1, 4, 8, 8)[self.values[0x18] & 3]

    def _block_s(self, size):
        return self._bits_s(size * 8 / self._width() + 18)

    # -- registers ------------------------------------------------------------------------------------
    def write_int_fg(self, value, core):
        self.values[0x24] &= ~value & 0x07FF          # write 1 to clear (SDMMC_ClearFlags)

    def read_status(self, core):
        s = self.blocks_ok & 0xFFFF
        if self.cmd_done_at is None:
            s |= STATUS_CMDSTA
        card_busy = self.card is not None and self.card.busy(self.chip.now)
        if not card_busy and not (self.xfer and self.xfer.send):
            s |= STATUS_DAT0STA
        return s

    def write_response3(self, value, core):          # the WRITE_CONT alias
        x = self.xfer
        if x and x.send and x.paused:
            x.paused = False
            x.next_at = self.chip.now + self._block_s(x.size)

    def write_control(self, value, core):
        if value & CTL_SLV_MODE:
            self.not_modelled(core, "slave mode (CONTROL.SLV_MODE)")
        self.values[0x18] = value & 0x03BF
        if value & 0x04:                                   # ALL_CLR: flags, count, transfer
            self.values[0x24] = 0
            self.blocks_ok = 0
            self.xfer = None

    def write_tran_mode(self, value, core):
        for bit, what in ((TM_DUAL, "dual-buffer DMA"), (TM_DDR, "DDR mode"), (TM_BOOT, "boot mode")):
            if value & bit:
                self.not_modelled(core, what + " (TRAN_MODE)")
        self.values[0x34] = value & 0x001F7F17
        x = self.xfer
        if x and not x.send and x.paused and not value & TM_GAP_STOP:
            x.paused = False
            x.next_at = self.chip.now + self._block_s(x.size)

    def write_block_cfg(self, value, core):
        self.values[0x30] = value & 0x0FFFFFFF
        self.blocks_ok = 0
        self.xfer = None
        blocks, size = value & 0xFFFF, (value >> 16) & 0xFFF
        if blocks and self.values[0x34] & TM_DMA_DIR:     # a write starts once armed
            self.xfer = Transfer(True, blocks, size, self.chip.now + self._block_s(size), core, _pc(core))

    def write_cmd_set(self, value, core):
        self.values[0x04] = value & 0x0FFF
        if self.values[0x18] & CTL_RST_LGC:
            self.counts["commands_in_reset"] += 1
            return
        if not self.values[0x38] & CLK_OE:
            self.counts["commands_without_clock"] += 1
            return
        idx, rpty = value & 0x3F, (value >> 8) & 3
        self.counts["commands_sent"] += 1
        now = self.chip.now
        answer = None
        if self.card is not None:
            try:
                answer = self.card.command(idx, self.values[0x00], now)
            except NotModelled as e:
                self.not_modelled(core, str(e))
                return
        want = RESP_BITS[rpty]
        if want == 0:
            flags, bits, answer = IF_CMDDONE, 48 + 8, None
        elif answer is None or (want == 136 and answer[0] != "r2"):
            flags, bits = IF_RE_TMOUT, 48 + 64
            self.counts["response_timeouts"] += 1
        else:
            kind = answer[0]
            flags, bits = IF_CMDDONE, 48 + 2 + (136 if kind == "r2" else 48)
            if value & 0x800 and kind in ("r2", "r3"):
                flags |= IF_REIDX_ER
            if value & 0x400 and kind == "r3":
                flags |= IF_RECRC_WR
        self.cmd_flags, self.cmd_response = flags, answer
        self.cmd_done_at = now + self._bits_s(bits)
        self.cmd_starts_data = (idx in DATA_COMMANDS or (idx == 51 and answer is not None)) \
            and self.card is not None and self.card.state == "data"
        self.cmd_core = (core, _pc(core))

    # -- time -----------------------------------------------------------------------------------------
    def tick(self, now, hclk_ticks):
        if not self.clocked():
            return
        if self.cmd_done_at is not None and now >= self.cmd_done_at:
            self._finish_command()
        x = self.xfer
        while x is not None and x is self.xfer and not x.paused:
            if x.timeout_at is not None:
                if now >= x.timeout_at:
                    self._end(IF_DATTMO)
                    self.counts["data_timeouts"] += 1
                break
            if now < x.next_at:
                break
            self._move_block(x, now)

    def _finish_command(self):
        done_at = self.cmd_done_at
        self.cmd_done_at = None
        answer = self.cmd_response
        if answer is not None:
            kind, value = answer
            if kind == "r2":
                for i in range(4):
                    self.values[0x08 + 4 * i] = (value >> (32 * i)) & 0xFFFFFFFF
            else:
                self.values[0x08] = self.values[0x0C] = self.values[0x10] = 0
                self.values[0x14] = value & 0xFFFFFFFF
        self.values[0x24] |= self.cmd_flags
        if self.cmd_starts_data:
            blocks, size = self.values[0x30] & 0xFFFF, (self.values[0x30] >> 16) & 0xFFF
            core, pc = self.cmd_core
            if blocks and not self.values[0x34] & TM_DMA_DIR:
                self.xfer = Transfer(False, blocks, size, done_at + self._block_s(size), core, pc)
            else:                       # the card sends, nobody receives: the data is lost
                self.card.read_data(self.sd_hz())

    def _move_block(self, x, now):
        card = self.card
        if x.addr is None:
            x.addr = self.values[0x2C]
            if x.addr % 16:
                return self._dma_fault(x, x.addr, "SDMMC DMA address not 16-byte aligned (DMA_BEG1)")
        addr = x.addr + x.done * x.size
        if not self.values[0x18] & CTL_DMAEN:
            return self._end(IF_FIFO_OV)
        bad_format = x.size != 512 or card is None or card.width != self._width()
        if x.send:
            data = self._dma_read(x, addr, x.size)
            if data is None:
                return
            if card is None or card.vanished or card.state != "rcv":
                x.timeout_at = now + self._timeout_s()      # nobody takes the block
                return
            if bad_format:
                return self._end(IF_TRANERR)                 # the card's CRC status says error
            card.write_data(data, now, self.sd_hz())
        else:
            got = card.read_data(self.sd_hz()) if card is not None else None
            if got is None:
                x.timeout_at = x.next_at + self._timeout_s()
                return
            data, fault = got
            if len(data) != 512 and len(data) == x.size and card.width == self._width():
                bad_format = False               # a CMD6/ACMD51 status block of its own size
            if bad_format:
                return self._end(IF_TRANERR)
            if fault == "crc":
                data = bytes([data[0] ^ 0x01]) + data[1:]
            if not self._dma_write(x, addr, data):
                return
            if fault == "crc":
                self.counts["data_crc_errors"] += 1
                return self._end(IF_TRANERR)
        x.done += 1
        self.blocks_ok = x.done
        if x.done >= x.blocks:
            return self._end(IF_TRANDONE)
        x.next_at += self._block_s(x.size)
        if x.send or self.values[0x34] & TM_GAP_STOP:
            x.paused = True
            self.values[0x24] |= IF_BKGAP

    def _end(self, flag):
        self.values[0x24] |= flag
        self.xfer = None

    def _timeout_s(self):
        return self._bits_s(2 ** ((self.values[0x1C] & 0xF) + 13))

    # -- DMA ------------------------------------------------------------------------------------------
    def _reachable(self, addr, n):
        return memmap.SRAM.contains(addr) and memmap.SRAM.contains(addr + n - 1)

    def _dma_fault(self, x, addr, what):
        self.xfer = None
        self.chip.set_fault(x.core, x.pc, addr, what)

    def _dma_read(self, x, addr, n):
        if not self._reachable(addr, n):
            return self._dma_fault(x, addr, "SDMMC DMA read from memory it cannot reach (shared SRAM only)")
        return ctypes.string_at(ctypes.addressof(self.chip.buffers["sram"]) + addr - memmap.SRAM.base, n)

    def _dma_write(self, x, addr, data):
        if not self._reachable(addr, len(data)):
            self._dma_fault(x, addr, "SDMMC DMA write to memory it cannot reach (shared SRAM only)")
            return False
        ctypes.memmove(ctypes.addressof(self.chip.buffers["sram"]) + addr - memmap.SRAM.base, data, len(data))
        return True

    # -- interrupts, stats ------------------------------------------------------------------------------
    def irq_lines(self):
        fg, en = self.values[0x24], self.values[0x28]
        # INT_EN bit definitions (ch32h417.h): bits 0..6 as INT_FG, FIFO_OV 0x80, SDIOINT 0x100
        pending = (fg & en & 0x7F) or (fg & IF_FIFO_OV and en & 0x80) or (fg & 0x200 and en & 0x100)
        return (self.IRQ,) if self.clocked() and pending else ()

    def summary(self):
        """SD traffic of the run for the bench: commands sent, bytes the card sent and received."""
        card = self.card.stats if self.card is not None else {}
        return {"commands": self.counts["commands_sent"], "bytes_read": card.get("bytes_read", 0),
                "bytes_written": card.get("bytes_written", 0)}

    def stats(self):
        st = dict(self.counts)
        st["sd_hz"] = self.sd_hz()
        if self.card is not None:
            st["card"] = dict(self.card.stats, state=self.card.state, width=self.card.width,
                              high_speed=self.card.high_speed)
        return st
