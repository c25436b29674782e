"""The MicroPython firmware on an emulated chip, driven at its REPL from Python (tests, bench/).

    board = Repl("micropython_port/build/ch32h417", sd="/tmp/sd.img")
    print(board.do("print(6 * 7)"))          # -> "42"

The console is a byte buffer (hostserial.BufferHost), the chip runs in this process, so the
caller can read its statistics (board.chip.stats(), profile counts) between lines.
"""
import os

from .chip import Chip
from .hostserial import BufferHost
from .peripherals.sdcard import SdCard, SdFaults

PROMPT = b"\r\n>>> "


class ReplError(RuntimeError):
    pass


class Repl:
    def __init__(self, build_dir, sd=None, sd_faults=(), boot_wall_s=300):
        """build_dir holds firmware.bin and the ELFs beside it (v3f.elf, firmware.elf)."""
        fw = os.path.join(build_dir, "firmware.bin")
        elfs = [os.path.join(build_dir, n) for n in ("v3f.elf", "firmware.elf")]
        self.host = BufferHost()
        card = None if sd is None else SdCard(sd, SdFaults.parse(list(sd_faults)))
        with open(fw, "rb") as f:
            self.chip = Chip(f.read(), host=self.host, elf=[e for e in elfs if os.path.exists(e)], sd=card)
        self.chip.run(until=lambda: b">>> " in self.host.out, wall_seconds=boot_wall_s)
        if b">>> " not in self.host.out:
            raise ReplError("no REPL prompt after boot:\n" + self.host.out.decode(errors="replace")[-2000:])

    def do(self, line, wall_s=900):
        """Types one line at the REPL and runs the chip to the next prompt; -> what the line
        printed (its echo and the prompt cut off)."""
        mark = len(self.host.out)
        self.host.feed(line.encode() + b"\r")
        done = lambda: len(self.host.out) >= mark + len(line) + len(PROMPT) and self.host.out.endswith(PROMPT)
        self.chip.run(until=done, wall_seconds=wall_s)
        out = self.host.out[mark:].decode(errors="replace")
        if not done():
            raise ReplError("no prompt after %r within %d s:\n%s" % (line[:200], wall_s, out[-2000:]))
        return out.split("\r\n", 1)[1].rsplit(PROMPT.decode(), 1)[0]
