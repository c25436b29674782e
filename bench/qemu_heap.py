"""Heap of the QEMU firmware over many cats: the unmodified app, started by the card's main.py.

    python3 bench/qemu_heap.py [--cats 50]

Builds the default card (tinygan sdcard build) with a boot.py that only switches on the app's heap
report (app.HEAP_REPORT: micropython.mem_info() after each cat), runs `tinygan emulate qemu
--press N`, and prints per cat the GC heap's free bytes and its largest free block ("max free sz",
16-byte blocks), then the heap's size and the minimum of both. The QEMU board's heap is the
CH32H417 firmware's (boards/QEMU_VIRT_RV32/mpconfigboard.mk), the engine's arena outside it.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tinygan import sdcard  # noqa: E402

GC_LINE = re.compile(r"GC: total: (\d+), used: (\d+), free: (\d+)")
BLOCKS_LINE = re.compile(r"max free sz: (\d+)")
BLOCK_BYTES = 16  # MICROPY_BYTES_PER_GC_BLOCK on rv32 (4 words)


def heap_rows(console):
    """[(free bytes, largest free block bytes)] per mem_info() in the console log."""
    totals = [(int(t), int(f)) for t, _, f in GC_LINE.findall(console)]
    largest = [int(b) * BLOCK_BYTES for b in BLOCKS_LINE.findall(console)]
    return totals, largest


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cats", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        card = os.path.join(tmp, "card")
        sdcard.build_folder(card, log=lambda *a: None)
        with open(os.path.join(card, "boot.py"), "w") as f:
            f.write("import app\napp.HEAP_REPORT = True\n")
        image = sdcard.build_image(card, os.path.join(tmp, "sd.img"), log=lambda *a: None)
        out = os.path.join(tmp, "out")
        cmd = [sys.executable, "-m", "tinygan", "emulate", "qemu", "--sd", image, "--press", str(args.cats),
               "--out", out] + (["--timeout", str(args.timeout)] if args.timeout else [])
        r = subprocess.run(cmd, cwd=REPO)
        console = open(os.path.join(out, "console.log"), "rb").read().decode(errors="replace")
        if r.returncode != 0:
            print(console[-3000:])
            return r.returncode
    totals, largest = heap_rows(console)
    print("| cat | free bytes | largest free block (bytes) |")
    print("|---|---|---|")
    for k, ((_, free), big) in enumerate(zip(totals, largest), 1):
        print("| %d | %d | %d |" % (k, free, big))
    heap = totals[0][0] if totals else 0
    print("GC heap %d bytes; over %d cats: free min %d, largest free block min %d; MemoryError: %s"
          % (heap, len(totals), min(f for _, f in totals), min(largest), "MemoryError" in console))
    return 0


if __name__ == "__main__":
    sys.exit(main())
