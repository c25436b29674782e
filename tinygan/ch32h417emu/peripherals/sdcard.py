"""An SDHC memory card behind the SDMMC controller, backed by a FAT image file.

Source: SD Association, Physical Layer Simplified Specification (v9.10): card states (4.1, figures
4-1/4-2 and table 4-42 "card state transition table"), commands CMD0/2/3/6/7/8/9/12/13/16/17/18/
24/25/55 and ACMD6/41/51 (4.7.4), responses R1/R1b/R2/R3/R6/R7 (4.9), card status bits (4.10.1),
OCR (5.1), CID (5.2), CSD version 2.0 (5.3.3), SCR (5.6), CMD6 switch status (4.3.10), CRC7 (4.5).

Model:
- States idle, ready, ident, stby, tran, data, rcv, prg, ina.  A command not legal in the current
  state (table 4-42) is an illegal command: the card does not respond (the host sees a response
  time-out) and ILLEGAL_COMMAND (status bit 22) is set in the next R1 (4.6.1, "clear condition B").
- CMD8 with VHS = 1 (2.7-3.6 V) echoes VHS and the check pattern (R7); another VHS: no response.
- ACMD41 with a non-zero voltage window: busy (OCR bit 31 = 0) for the first BUSY_ACMD41 requests,
  then ready with CCS = 1.  An SDHC card never leaves busy for a host that did not send CMD8 or
  that sends HCS = 0 (4.2.3.1).  A window outside 2.7-3.6 V puts the card inactive.
- RCA: the card publishes RCA (CMD3, R6); commands addressed to another RCA get no response.
- Block addressing (SDHC/SDXC, CCS = 1): the argument of CMD17/18/24/25 is a block number; the
  block length is 512 whatever CMD16 set (4.3.14).  An address past the capacity sets OUT_OF_RANGE
  and no data is sent.
- Writes go to the image file at once (flushed), so a power cut keeps them.  After a written block
  the card is busy (DAT0 low) for PROGRAM_S.
- Capacity: the image size rounded up to 512 KiB (C_SIZE counts 512 KiB units); blocks past the
  end of the file read as zeros and a write there extends the file.
- Commands of the spec this model does not implement stop the emulation (not modelled), so no
  driver depends on a faked answer.

Fault injection (SdFaults.parse, `--sd-fault SPEC`, repeatable):
  crc:B[,B..]       every read of block B arrives with a data CRC error (persistent)
  crc-once:B[,B..]  the first read of block B arrives with a data CRC error (transient)
  timeout:B[,B..]   the card never sends block B (data time-out), persistent; timeout-once: once
  vanish:N          the card delivers N blocks (whole run), then vanishes when it would send the
                    next: that block never comes and no command is answered any more
"""
import os

STATES = ("idle", "ready", "ident", "stby", "tran", "data", "rcv", "prg", "dis")
ST_OUT_OF_RANGE, ST_ADDRESS_ERROR, ST_BLOCK_LEN_ERROR = 1 << 31, 1 << 30, 1 << 29
ST_COM_CRC_ERROR, ST_ILLEGAL_COMMAND = 1 << 23, 1 << 22
ST_READY_FOR_DATA, ST_APP_CMD = 1 << 8, 1 << 5
OCR_VOLTAGES = 0x00FF8000          # 2.7-3.6 V
OCR_BUSY_DONE, OCR_CCS = 1 << 31, 1 << 30
BUSY_ACMD41 = 2                    # ACMD41s answered busy before the card is ready
BLOCK = 512
LOG_LIMIT = 1000
PROGRAM_S = 50e-6                  # busy time after a written block (a fast card; spec max 250 ms)
RCA = 0x59B4                       # what this card publishes with CMD3
CID_FIELDS = dict(mid=0x1D, oid=b"TG", pnm=b"TGSD1", prv=0x10, psn=0x12345678, mdt=(26 - 0) << 4 | 12)
TRAN_SPEED = {False: 0x32, True: 0x5A}    # 25 MHz default speed, 50 MHz high speed (CSD TRAN_SPEED)
MAX_HZ = {False: 25_000_000, True: 50_000_000}


def crc7(bits_value, nbits):
    """CRC7 (x^7 + x^3 + 1) of the nbits most significant bits of bits_value (spec 4.5)."""
    crc = 0
    for i in range(nbits - 1, -1, -1):
        fb = ((bits_value >> i) & 1) ^ ((crc >> 6) & 1)
        crc = (crc << 1) & 0x7F
        if fb:
            crc ^= 0x09
    return crc


def with_crc(reg120):
    """A 128-bit CID/CSD: the 120 content bits, CRC7, end bit 1."""
    return reg120 << 8 | crc7(reg120, 120) << 1 | 1


class PowerCut(Exception):
    """The board lost power during a write (SdFaults cut/tear): the emulation ends here; what the
    card had programmed is in its image file."""


class SdFaults:
    def __init__(self):
        self.crc, self.crc_once, self.timeout, self.timeout_once = set(), set(), set(), set()
        self.vanish_after = None
        # power lost at block write number N (counting from 0 since power-up) after its first K
        # bytes were programmed: cut:N is K = 0, tear:N,K (K default 256: half the block)
        self.power_cut = None            # (N, K)

    @classmethod
    def parse(cls, specs):
        """From `--sd-fault` strings; ValueError names the bad one."""
        f = cls()
        for spec in specs or ():
            kind, _, arg = spec.partition(":")
            try:
                nums = [int(x, 0) for x in arg.split(",")] if arg else []
            except ValueError:
                nums = None
            if not nums or any(n < 0 for n in nums):
                raise ValueError(f"--sd-fault {spec!r}: expected KIND:N[,N..] with block numbers (N >= 0)")
            if kind == "tear":
                if len(nums) not in (1, 2) or (len(nums) == 2 and nums[1] >= BLOCK):
                    raise ValueError(f"--sd-fault {spec!r}: tear takes a write number and optionally the "
                                     f"bytes programmed (0..{BLOCK - 1})")
                f.power_cut = (nums[0], nums[1] if len(nums) == 2 else BLOCK // 2)
            elif kind in ("vanish", "cut"):
                if len(nums) != 1:
                    raise ValueError(f"--sd-fault {spec!r}: {kind} takes one count")
                if kind == "vanish":
                    f.vanish_after = nums[0]
                else:
                    f.power_cut = (nums[0], 0)
            elif kind in ("crc", "crc-once", "timeout", "timeout-once"):
                getattr(f, kind.replace("-", "_")).update(nums)
            else:
                raise ValueError(f"--sd-fault {spec!r}: unknown kind {kind!r} "
                                 "(crc, crc-once, timeout, timeout-once, vanish, cut, tear)")
        return f

    def read_fault(self, block):
        """'crc', 'timeout' or None for a read of this block now (consumes a one-shot fault)."""
        if block in self.timeout:
            return "timeout"
        if block in self.timeout_once:
            self.timeout_once.discard(block)
            return "timeout"
        if block in self.crc:
            return "crc"
        if block in self.crc_once:
            self.crc_once.discard(block)
            return "crc"
        return None


class NotModelled(Exception):
    pass


class SdCard:
    """Card state machine.  command() returns None (no response) or (kind, value): kind 'r1',
    'r1b', 'r2', 'r3', 'r6', 'r7' with the 32-bit content (r2: 128 bits); data transfers are
    pulled by the controller through read_block()/write_block()."""

    def __init__(self, path, faults=None):
        self.path = path
        size = os.path.getsize(path)
        if size == 0 or size % BLOCK:
            raise ValueError(f"SD image {path}: size {size} is not a positive multiple of {BLOCK} bytes")
        self.file = open(path, "r+b")
        self.file_blocks = size // BLOCK
        self.c_size = -(-size // (512 * 1024)) - 1
        self.blocks = (self.c_size + 1) * 1024
        self.faults = faults or SdFaults()
        self.stats = {"commands": 0, "by_command": {}, "bytes_read": 0, "bytes_written": 0,
                      "blocks_read": 0, "blocks_written": 0, "illegal": 0, "crc_errors": 0,
                      "timeouts": 0, "overclocked_transfers": 0}
        self.log = []                # the first LOG_LIMIT commands, by name (tests check the order)
        self.reads_total = 0
        self.vanished = False
        self.power_on()

    def power_on(self):
        self.state = "idle"
        self.app = False
        self.cmd8_ok = False
        self.acmd41_seen = 0
        self.ccs = False
        self.status_err = 0
        self.width = 1
        self.high_speed = False
        self.next_block = None       # multi-block read/write cursor
        self.multi = False
        self.busy_until = 0.0

    def close(self):
        self.file.close()

    # -- registers ---------------------------------------------------------------------------------
    def cid(self):
        f = CID_FIELDS
        v = f["mid"] << 112 | int.from_bytes(f["oid"], "big") << 96 | int.from_bytes(f["pnm"], "big") << 56
        v |= f["prv"] << 48 | f["psn"] << 16 | f["mdt"]
        return with_crc(v)

    def csd(self):
        # CSD 2.0 (spec 5.3.3), bits 127..8: STRUCTURE=1, TAAC 0x0E, NSAC 0, TRAN_SPEED, CCC 0x5B5,
        # READ_BL_LEN 9, DSR_IMP 0, C_SIZE, ERASE_BLK_EN 1, SECTOR_SIZE 0x7F, WRITE_BL_LEN 9
        v = 1 << 126 | 0x0E << 112 | TRAN_SPEED[self.high_speed] << 96 | 0x5B5 << 84 | 9 << 80
        v |= self.c_size << 48 | 1 << 46 | 0x7F << 39 | 9 << 22
        return with_crc(v >> 8)

    def card_status(self):
        s = self.status_err | STATES.index(self.state) << 9
        if self.state == "tran":
            s |= ST_READY_FOR_DATA
        if self.app:
            s |= ST_APP_CMD
        return s

    # -- commands ----------------------------------------------------------------------------------
    def update(self, now):
        if self.state in ("prg", "dis") and now >= self.busy_until:
            self.state = "tran" if self.state == "prg" else "stby"

    def busy(self, now):
        self.update(now)
        return self.state in ("prg", "dis")

    def command(self, idx, arg, now):
        """The card's answer to CMDidx (an ACMD when the previous command was CMD55)."""
        self.update(now)
        if self.vanished:
            return None
        st = self.stats
        st["commands"] += 1
        name = ("ACMD" if self.app else "CMD") + str(idx)
        st["by_command"][name] = st["by_command"].get(name, 0) + 1
        if len(self.log) < LOG_LIMIT:
            self.log.append(name)
        app, self.app = self.app, False
        if self.state == "ina":
            return None
        if idx == 0:
            self.power_on()
            return None
        handler = getattr(self, ("_acmd%d" if app else "_cmd%d") % idx, None)
        if handler is None and app:
            handler = getattr(self, "_cmd%d" % idx, None)     # an ACMD index with no ACMD meaning
        if handler is None:
            if idx in (1, 5):            # MMC / SDIO initialisation: an SD memory card ignores them
                return self._illegal()
            raise NotModelled(f"SD card model: {name} is not modelled")
        return handler(arg, now)

    def _illegal(self):
        self.status_err |= ST_ILLEGAL_COMMAND
        self.stats["illegal"] += 1
        return None

    def _r1(self, kind="r1"):
        s = self.card_status()
        self.status_err = 0       # error bits are reported once (clear condition B/C)
        return (kind, s)

    def _addressed(self, arg):
        return (arg >> 16) == RCA

    def _cmd8(self, arg, now):
        if self.state != "idle":
            return self._illegal()
        if (arg >> 8) & 0xF != 1:
            return None                      # voltage not supported: no response, stays idle
        self.cmd8_ok = True
        return ("r7", arg & 0xFFF)

    def _cmd55(self, arg, now):
        if self.state not in ("idle", "stby", "tran", "data", "rcv", "prg"):
            return self._illegal()
        if self.state != "idle" and not self._addressed(arg):
            return None
        self.app = True
        return self._r1()

    def _acmd41(self, arg, now):
        if self.state not in ("idle", "ready"):
            return self._illegal()
        window = arg & OCR_VOLTAGES
        ocr = OCR_VOLTAGES
        if arg & 0x00FFFFFF == 0:            # inquiry: OCR only, no state change
            return ("r3", ocr)
        if not window:
            self.state = "ina"
            return None
        self.acmd41_seen += 1
        hcs = bool(arg & OCR_CCS)
        if self.acmd41_seen > BUSY_ACMD41 and self.cmd8_ok and hcs:
            self.state = "ready"
            self.ccs = True
            ocr |= OCR_BUSY_DONE | OCR_CCS
        return ("r3", ocr)

    def _cmd2(self, arg, now):
        if self.state != "ready":
            return self._illegal()
        self.state = "ident"
        return ("r2", self.cid())

    def _cmd3(self, arg, now):
        if self.state not in ("ident", "stby"):
            return self._illegal()
        s = self.card_status()
        self.state = "stby"
        self.status_err = 0
        r6 = RCA << 16 | (s >> 8 & 0xC000) | (s >> 6 & 0x2000) | (s & 0x1FFF)   # bits 23,22,19,12:0
        return ("r6", r6)

    def _cmd9(self, arg, now):
        if self.state != "stby":
            return self._illegal()
        return ("r2", self.csd()) if self._addressed(arg) else None

    def _cmd7(self, arg, now):
        if self.state == "stby":
            if not self._addressed(arg):
                return None
            r = self._r1("r1b")
            self.state = "tran"
            return r
        if self.state in ("tran", "data", "prg"):
            if self._addressed(arg):
                return self._illegal()
            self.state = "stby" if self.state != "prg" else "dis"
            return None                      # deselected: no response
        return self._illegal()

    def _cmd13(self, arg, now):
        if self.state not in ("stby", "tran", "data", "rcv", "prg", "dis"):
            return self._illegal()
        return self._r1() if self._addressed(arg) else None

    def _acmd6(self, arg, now):
        if self.state != "tran":
            return self._illegal()
        r = self._r1()
        if arg & 3 in (0, 2):
            self.width = 4 if arg & 3 == 2 else 1
        return r

    def _acmd51(self, arg, now):
        if self.state != "tran":
            return self._illegal()
        r = self._r1()
        self.state = "data"
        self.pending_data = bytes([0x02, 0x35, 0x80, 0x00, 0, 0, 0, 0])   # SCR: spec 2/3, 1+4 bit
        return r

    def _cmd6(self, arg, now):
        if self.state != "tran":
            return self._illegal()
        r = self._r1()
        group1 = arg & 0xF
        selected = 1 if self.high_speed else 0
        if group1 in (0, 1):
            selected = group1
            if arg >> 31:
                self.high_speed = group1 == 1
        status = bytearray(64)
        status[0:2] = (100).to_bytes(2, "big")                 # max current 100 mA
        for g in range(6):                                      # support bits, groups 6..1
            status[2 + 2 * g:4 + 2 * g] = (0x8003 if g == 5 else 0x8001).to_bytes(2, "big")
        status[16] = selected                                  # group 1 function (379:376)
        self.state = "data"
        self.pending_data = bytes(status)
        return r

    def _cmd16(self, arg, now):
        if self.state != "tran":
            return self._illegal()
        if arg > BLOCK:
            self.status_err |= ST_BLOCK_LEN_ERROR
        return self._r1()

    def _start(self, arg, multi, to_state):
        if self.state != "tran":
            return self._illegal()
        if arg >= self.blocks:
            self.status_err |= ST_OUT_OF_RANGE
            return self._r1()
        r = self._r1()
        self.state, self.next_block, self.multi = to_state, arg, multi
        self.pending_data = None
        return r

    def _cmd17(self, arg, now):
        return self._start(arg, False, "data")

    def _cmd18(self, arg, now):
        return self._start(arg, True, "data")

    def _cmd24(self, arg, now):
        return self._start(arg, False, "rcv")

    def _cmd25(self, arg, now):
        return self._start(arg, True, "rcv")

    def _cmd12(self, arg, now):
        if self.state == "data":
            r = self._r1("r1b")
            self.state = "tran"
            return r
        if self.state == "rcv":
            r = self._r1("r1b")
            self.state, self.busy_until = "prg", now + PROGRAM_S
            return r
        return self._illegal()

    # -- data ----------------------------------------------------------------------------------------
    def read_data(self, sd_hz):
        """The next block the card sends: (bytes, fault) with fault None, 'crc' or 'timeout'; None
        when the card is not sending (not in data state, vanished)."""
        if self.vanished or self.state != "data":
            return None
        if sd_hz > MAX_HZ[self.high_speed]:
            self.stats["overclocked_transfers"] += 1
        if self.next_block is None:            # CMD6/ACMD51 status block
            data, self.state = self.pending_data, "tran"
            return data, None
        blk = self.next_block
        if self.faults.vanish_after is not None and self.reads_total >= self.faults.vanish_after:
            self.vanished = True
            self.stats["timeouts"] += 1
            return None
        if blk >= self.blocks:                  # ran off the end in a multi-block read
            self.status_err |= ST_OUT_OF_RANGE
            return None
        fault = self.faults.read_fault(blk)
        if fault == "timeout":
            self.stats["timeouts"] += 1
            return None
        data = self._read_file(blk)
        self.reads_total += 1
        self.stats["blocks_read"] += 1
        self.stats["bytes_read"] += BLOCK
        if fault == "crc":
            self.stats["crc_errors"] += 1
        if self.multi:
            self.next_block = blk + 1
        else:
            self.state, self.next_block = "tran", None
        return data, fault

    def write_data(self, data, now, sd_hz):
        """The card receives one block; False when it is not receiving."""
        if self.vanished or self.state != "rcv":
            return False
        if sd_hz > MAX_HZ[self.high_speed]:
            self.stats["overclocked_transfers"] += 1
        blk = self.next_block
        if blk >= self.blocks:
            self.status_err |= ST_OUT_OF_RANGE
            return False
        cut = self.faults.power_cut
        if cut is not None and self.stats["blocks_written"] == cut[0]:
            self.file.seek(blk * BLOCK)         # the first K bytes programmed, the rest still old
            self.file.write(data[:cut[1]])
            self.file.flush()
            raise PowerCut(f"power cut at block write {cut[0]} (block {blk}, {cut[1]} of its bytes programmed)")
        self.file.seek(blk * BLOCK)
        self.file.write(data)
        self.file.flush()
        self.file_blocks = max(self.file_blocks, blk + 1)
        self.stats["blocks_written"] += 1
        self.stats["bytes_written"] += BLOCK
        if self.multi:
            self.next_block = blk + 1
        else:
            self.state, self.busy_until, self.next_block = "prg", now + PROGRAM_S, None
        return True

    def _read_file(self, blk):
        if blk >= self.file_blocks:
            return bytes(BLOCK)
        self.file.seek(blk * BLOCK)
        return self.file.read(BLOCK).ljust(BLOCK, b"\0")
