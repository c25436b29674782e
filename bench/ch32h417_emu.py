"""CH32H417 emulator benchmark: boot time to the MicroPython banner and emulation speed.

    python3 bench/ch32h417_emu.py [--firmware micropython_port/build/ch32h417/firmware.bin]

Boots the merged flash image on the emulated chip (tinygan/ch32h417emu) with the console on a
byte buffer, then types two statements at the REPL: an idle one (the REPL waiting for input, the
V5F polling USART1) and a compute loop.  Prints emulated and wall seconds, retired instructions per
core and instructions per host CPU second for each phase (CPU time, not wall: this machine's cores
are shared, so wall time varies by 2-3x between runs).  "Retired" counts the instructions of
polling loops the emulator stalls (docs/ch32h417-emulator.md), so host MIPS while polling is not the
CPU emulator's raw speed; the compute row is.
"""
import argparse
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinygan.ch32h417emu import Chip  # noqa: E402
from tinygan.ch32h417emu.hostserial import BufferHost  # noqa: E402


def phase(chip, host, until, wall_limit=300):
    r0 = [c.retired for c in chip.cores]
    e0, w0, c0 = chip.now, time.monotonic(), time.process_time()
    chip.run(until=until, wall_seconds=wall_limit)
    wall = time.monotonic() - w0
    cpu = time.process_time() - c0
    dr = [c.retired - r for c, r in zip(chip.cores, r0)]
    return chip.now - e0, wall, cpu, dr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--firmware", default="micropython_port/build/ch32h417/firmware.bin")
    args = ap.parse_args()
    host = BufferHost()
    elfs = sorted(glob.glob(os.path.join(os.path.dirname(args.firmware) or ".", "*.elf")))
    chip = Chip(open(args.firmware, "rb").read(), host=host, elf=elfs)
    rows = [("boot to banner",) + phase(chip, host, lambda: b">>> " in host.out)]
    mark = len(host.out)
    host.feed(b"import time; time.sleep_ms(100)\r")
    rows.append(("REPL sleep_ms(100)",) + phase(chip, host, lambda: b">>> " in host.out[mark:]))
    mark = len(host.out)
    host.feed(b"exec('for i in range(100000): pass')\r")
    rows.append(("100k-iteration loop",) + phase(chip, host, lambda: b">>> " in host.out[mark:]))
    print(f"{'phase':<22}{'emulated s':>12}{'wall s':>9}{'CPU s':>8}{'V3F instr':>12}{'V5F instr':>13}{'M instr/CPU s':>15}")
    for name, emu, wall, cpu, (r3, r5) in rows:
        print(f"{name:<22}{emu:>12.6f}{wall:>9.3f}{cpu:>8.3f}{r3:>12}{r5:>13}{(r3 + r5) / max(cpu, 1e-9) / 1e6:>15.1f}")
    boot, loop = rows[0], rows[2]
    print(f"ch32h417 emulator: banner after {boot[1] * 1e3:.3f} ms emulated, {boot[2]:.3f} s wall; "
          f"REPL loop {sum(loop[4]) / max(loop[3], 1e-9) / 1e6:.0f} M instructions per host CPU second")


if __name__ == "__main__":
    main()
