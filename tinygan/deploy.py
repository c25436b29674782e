"""`tinygan deploy`: put the application on a board with mpremote, and the SD content on a
mounted card.

    tinygan deploy --port /dev/ttyACM0            # scripts/*.py -> the board's flash (/)
    tinygan deploy --sd /media/SDCARD             # model, pool (kept if present), bank + clips
    tinygan deploy --port ... --dry-run           # print the mpremote commands only

The board side needs the CH32H417 MicroPython port (not there yet); mpremote works with any
MicroPython board, so the copy step itself is ordinary `mpremote fs cp`.
"""
import os
import shutil
import subprocess

from tinygan.appshim import DEFAULT_WEIGHTS, SCRIPTS
from tinygan.cli import CLIError
from tinygan import sdcard


def mpremote_commands(port):
    files = sorted(f for f in os.listdir(SCRIPTS) if f.endswith(".py"))
    cmd = ["mpremote", "connect", port, "fs", "cp"] + [os.path.join(SCRIPTS, f) for f in files]
    return [cmd + [":"]]


def add_arguments(parser):
    parser.add_argument("--port", help="serial port of the board (mpremote connect PORT)")
    parser.add_argument("--sd", help="mount point of the SD card to fill")
    parser.add_argument("--model", default=DEFAULT_WEIGHTS)
    parser.add_argument("--dry-run", action="store_true", help="print what would run")


def run(args):
    if not args.port and not args.sd:
        raise CLIError("nothing to do: give --port and/or --sd")
    if args.sd:
        if args.dry_run:
            print("would build the SD card content into %s" % args.sd)
        else:
            sdcard.build_folder(os.path.abspath(args.sd), model=args.model)
    if args.port:
        for cmd in mpremote_commands(args.port):
            print(" ".join(cmd))
            if args.dry_run:
                continue
            if shutil.which("mpremote") is None:
                raise CLIError("mpremote not found (pip install mpremote)")
            if subprocess.run(cmd).returncode != 0:
                raise CLIError("mpremote failed on %s" % args.port)
    return 0
