"""`tinygan emulate qemu|ch32h417 --sd IMG`: the firmware on an emulated board, with a card image.

    tinygan emulate qemu --sd sd.img                      # the REPL on this terminal
    tinygan emulate qemu --sd sd.img --serial pty         # first line: serial: /dev/pts/N (mpremote)
    tinygan emulate qemu --sd sd.img --press 3 --out DIR  # the card's main.py starts the app; 3 cats

With --press N --out DIR the board's app (started by the card's main.py) is triggered N times one
after the other; DIR receives cat-K.png (the 64x64 image the display was given), verdict-K.wav
(what the DAC was given, in the clip format) and console.log, and the exit status is 0. Any
failure or time-out exits non-zero with the console's tail. The firmware is built first when it
is missing (needs MicroPython: docs/micropython-port.md).
"""
import importlib
import os
import subprocess
import sys

from tinygan.appshim import REPO
from tinygan.cli import CLIError

PORT_DIR = os.path.join(REPO, "micropython_port")

BACKENDS = {
    "qemu": "tinygan.qemu_board",     # QEMU's virt rv32 machine (boards/QEMU_VIRT_RV32)
    "ch32h417": "tinygan.ch32h417emu.cli",  # the chip on the host's own emulator (boards/CH32H417)
}


def add_arguments(parser):
    parser.add_argument("board", choices=sorted(BACKENDS), help="the emulated board")
    parser.add_argument("--sd", help="FAT image of the SD card (tinygan sdcard build --image)")
    parser.add_argument("--serial", choices=("stdio", "pty"), default="stdio",
                        help="the console on this terminal (default) or on a pty for mpremote")
    parser.add_argument("--press", type=int, metavar="N", help="trigger N cats, then exit (needs --out)")
    parser.add_argument("--out", metavar="DIR", help="where --press writes cat-K.png, verdict-K.wav, console.log")
    parser.add_argument("--timeout", type=float, metavar="S", help="give up (non-zero exit) after S seconds")
    parser.add_argument("--firmware", help="firmware to boot instead of the board's default build")
    parser.add_argument("--sd-fault", action="append", metavar="SPEC", dest="sd_fault",
                        help="ch32h417 only, repeatable: inject an SD card fault: crc:B[,B..] (data CRC "
                             "error on every read of block B), crc-once:B[,B..] (first read only), "
                             "timeout:B[,B..] / timeout-once:B[,B..] (block never sent), vanish:N (the "
                             "card stops answering after N block reads), cut:N / tear:N[,K] (power lost at "
                             "block write N, counted from 0, with none / the first K bytes (default 256) of "
                             "it programmed; the emulator then exits with status 3)")
    parser.add_argument("--stats", action="store_true",
                        help="ch32h417: print retired instructions per core and emulated time at exit")


def micropython_source():
    top = os.environ.get("MICROPY_TOP") or os.path.join(PORT_DIR, "micropython")
    return top if os.path.isfile(os.path.join(top, "py", "mkenv.mk")) else None


def firmware(path, target, artefact):
    """The firmware to boot: `path`, or the board's default build `artefact` of make target
    `target`, brought up to date first when the MicroPython source is there (make is incremental)."""
    if path:
        if not os.path.isfile(path):
            raise CLIError("firmware %s not found" % path)
        return path
    if micropython_source() is None:
        if os.path.isfile(artefact):
            return artefact
        raise CLIError("no firmware (%s) and no MicroPython source to build it: populate "
                       "micropython_port/micropython (bash .ci/install) or set MICROPY_TOP" % artefact)
    print("emulate: building the firmware (make -C micropython_port %s) ..." % target, file=sys.stderr)
    r = subprocess.run(["make", "-C", PORT_DIR, target, "-j%d" % (os.cpu_count() or 1)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise CLIError("building the %s firmware failed:\n%s" % (target, (r.stdout + r.stderr)[-3000:]))
    return artefact


def run(args):
    if args.press is not None:
        if args.press < 1:
            raise CLIError("--press must be at least 1")
        if not args.out:
            raise CLIError("--press N needs --out DIR for the cats, the verdicts and the console log")
        if args.serial == "pty":
            raise CLIError("--press drives the console itself: leave out --serial pty")
    if getattr(args, "sd_fault", None) and args.board != "ch32h417":
        raise CLIError("--sd-fault is supported by the ch32h417 emulator only")
    try:
        backend = importlib.import_module(BACKENDS[args.board])
    except ImportError as e:
        raise CLIError("the %s emulator is not available in this installation (%s)" % (args.board, e))
    return backend.run(args)
