"""Temporary entry point: python3 -m tinygan.ch32h417emu [--firmware BIN] [--serial pty] [--timeout S] [--stats]."""
import argparse
import sys

from .cli import run

p = argparse.ArgumentParser(prog="python3 -m tinygan.ch32h417emu")
p.add_argument("--firmware")
p.add_argument("--sd")
p.add_argument("--sd-fault", action="append", dest="sd_fault")
p.add_argument("--serial", default="stdio", choices=("stdio", "pty"))
p.add_argument("--timeout", type=float)
p.add_argument("--console", default="USART1")
p.add_argument("--press", type=int)
p.add_argument("--out")
p.add_argument("--stats", action="store_true")
sys.exit(run(p.parse_args()))
