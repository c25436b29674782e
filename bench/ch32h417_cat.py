"""CH32H417 benchmark: one cat from the SD card on the emulated chip, the V3F reading, the V5F computing.

    python3 bench/ch32h417_cat.py [--cats N] [--firmware-dir micropython_port/build/ch32h417]

Builds the firmware if needed (make -C micropython_port ch32h417) and a card image holding the
shipped default model, boots the chip emulator (tinygan/ch32h417emu) in this process, and runs
`tinygan.Model('/sd/model.tgw').generate(z)` at its REPL, z from a seeded entropy block through
the firmware's own scripts/latent.py. Prints, per cat: the engine's own per-layer times (the V5F's
SysTick at HCLK: kernels, waiting for data, CRC checks), the instructions each core retired
(the V3F's include its polling of the SD controller; its sleep between requests is not counted),
the V5F's instructions inside the kernels (counted by the emulator over their ELF address ranges),
and the card's commands and bytes. All times are emulated: the vendor's default clocks (V5F
400 MHz, V3F = HCLK 100 MHz) at one instruction per cycle, the SD clock the driver sets (read
back from machine.SDCard().info()), peripherals advanced every 25 us (docs/ch32h417-emulator.md).
The image is checked against the host engine. Last line:
`identical=yes|no s_per_cat=X.XXX v5f_wait_pct=Y.Y sd_bytes_per_cat=N`.
"""
import argparse
import ast
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygan  # noqa: E402
from tinygan import emulate, sdcard  # noqa: E402
from tinygan.ch32h417emu import codescan  # noqa: E402
from tinygan.ch32h417emu.repl import Repl  # noqa: E402
from tinygan.device import latent  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(REPO, "weights", "default.tgw")
KERNELS = ("tg_kernel_first", "tg_kernel_s2_fast")


def kernel_ranges(elf):
    ranges = codescan.function_ranges(elf, KERNELS)
    if len(ranges) != len(KERNELS):
        sys.exit("bench: kernels %s not all in %s" % (", ".join(KERNELS), elf))
    return list(ranges.values())


def one_cat(board, block, ranges):
    board.do("z = latent.latent_from_bytes(%r)" % block)
    chip = board.chip
    chip.profile({1: ranges})
    r0, p0, sd0 = [c.retired for c in chip.cores], chip.profile_counts()[1], dict(chip.stats()["sd"])
    cmd0 = dict(chip.by_name["SDMMC"].card.stats["by_command"])
    wall = time.monotonic()
    us = int(board.do("t = time.ticks_us(); img = m.generate(z); t = time.ticks_diff(time.ticks_us(), t); print(t)"))
    wall = time.monotonic() - wall
    chip.profile({})
    cmd1 = chip.by_name["SDMMC"].card.stats["by_command"]
    sd1 = chip.stats()["sd"]
    return {
        "us": us, "wall": wall,
        "retired": [c.retired - r for c, r in zip(chip.cores, r0)],
        "kernel_instr": chip.profile_counts()[1] - p0,
        "sd_bytes": sd1["bytes_read"] - sd0["bytes_read"],
        "sd_written": sd1["bytes_written"] - sd0["bytes_written"],
        "commands": {k: cmd1[k] - cmd0.get(k, 0) for k in cmd1 if cmd1[k] != cmd0.get(k, 0)},
        "stats": ast.literal_eval(board.do("print(m.stats)")),
        "image": bytes.fromhex(board.do("print(binascii.hexlify(img).decode())").strip()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cats", type=int, default=1)
    ap.add_argument("--firmware-dir", help="folder with firmware.bin, firmware.elf, v3f.elf (default: build it)")
    ap.add_argument("--entropy-seed", type=int, default=0)
    args = ap.parse_args()
    fw_dir = args.firmware_dir
    if not fw_dir:
        fw_dir = os.path.join(emulate.PORT_DIR, "build", "ch32h417")
        emulate.firmware(None, "ch32h417", os.path.join(fw_dir, "firmware.bin"))
    ranges = kernel_ranges(os.path.join(fw_dir, "firmware.elf"))
    rng = random.Random(args.entropy_seed)
    host = tinygan.Model(MODEL)
    work = tempfile.mkdtemp(prefix="tinygan-bench-")
    try:
        os.mkdir(os.path.join(work, "card"))
        shutil.copyfile(MODEL, os.path.join(work, "card", "model.tgw"))
        image = sdcard.build_image(os.path.join(work, "card"), os.path.join(work, "sd.img"), log=lambda *a: None)
        board = Repl(fw_dir, sd=image)
        reader = board.do("import tinygan, binascii, latent, machine, time; m = tinygan.Model('/sd/model.tgw'); "
                          "print(m.reader)")
        sd_hz = ast.literal_eval(board.do("print(machine.SDCard().info())"))[1]
        cats = []
        for k in range(args.cats):
            block = bytes(rng.randrange(256) for _ in range(200))
            cat = one_cat(board, block, ranges)
            cat["identical"] = cat["image"] == bytes(host.generate(latent.latent_from_bytes(block)))
            cats.append(cat)
            print("cat %d: %.3f s emulated, %.0f s of host time" % (k + 1, cat["us"] / 1e6, cat["wall"]), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    c = cats[0]
    print("model: %s, %d bytes; reader: %s; SD clock %.0f MHz; clocks V5F %.0f MHz, V3F %.0f MHz (IPC 1)"
          % (MODEL, os.path.getsize(MODEL), reader, sd_hz / 1e6, board.chip.core_hz[1] / 1e6, board.chip.core_hz[0] / 1e6))
    print()
    print("%5s %12s %12s %10s %10s %10s" % ("layer", "bytes read", "MACs", "kernels ms", "wait ms", "check ms"))
    for i, l in enumerate(c["stats"]):
        print("%5d %12d %12d %10.1f %10.1f %10.1f" % (i, l["bytes_read"], l["macs"], l["compute_us"] / 1e3,
                                                     l["wait_us"] / 1e3, l["check_us"] / 1e3))
    tot = {k: sum(l[k] for l in c["stats"]) for k in ("bytes_read", "macs", "compute_us", "wait_us", "check_us")}
    print("%5s %12d %12d %10.1f %10.1f %10.1f" % ("all", tot["bytes_read"], tot["macs"], tot["compute_us"] / 1e3,
                                                 tot["wait_us"] / 1e3, tot["check_us"] / 1e3))
    print()
    print("%-44s %s" % ("per cat", "  ".join("cat %d" % (k + 1) for k in range(len(cats)))))
    rows = [
        ("generate(), emulated s", lambda x: "%.3f" % (x["us"] / 1e6)),
        ("V5F waiting for data, % of it", lambda x: "%.1f" % (100.0 * sum(l["wait_us"] for l in x["stats"]) / x["us"])),
        ("V5F retired instructions", lambda x: "%d" % x["retired"][1]),
        ("V5F instructions in the kernels", lambda x: "%d" % x["kernel_instr"]),
        ("V5F kernel instructions per useful MAC", lambda x: "%.3f" % (x["kernel_instr"] / tot["macs"])),
        ("V3F retired instructions (incl. SD polling)", lambda x: "%d" % x["retired"][0]),
        ("V3F busy, % of the cat", lambda x: "%.1f" % (100.0 * x["retired"][0] / board.chip.core_hz[0] / (x["us"] / 1e6))),
        ("SD bytes read", lambda x: "%d" % x["sd_bytes"]),
        ("SD bytes written", lambda x: "%d" % x["sd_written"]),
        ("SD commands", lambda x: ", ".join("%s %d" % kv for kv in sorted(x["commands"].items()))),
        ("identical to the host engine", lambda x: "yes" if x["identical"] else "NO"),
    ]
    for name, fmt in rows:
        print("%-44s %s" % (name, "  ".join(fmt(x) for x in cats)))
    print()
    print("SD bytes per cat = the file (%d) minus its 512-byte header, read once at open: %d of weights in %d "
          "chunks + %d of parameter blocks" % (os.path.getsize(MODEL), sum(l["n_chunks"] * l["chunk_bytes"] for l in host.layers),
                                               sum(l["n_chunks"] for l in host.layers),
                                               tot["bytes_read"] - sum(l["n_chunks"] * l["chunk_bytes"] for l in host.layers)))
    worst = max(cats, key=lambda x: x["us"])
    print("identical=%s s_per_cat=%.3f v5f_wait_pct=%.1f sd_bytes_per_cat=%d" % (
        "yes" if all(x["identical"] for x in cats) else "no", worst["us"] / 1e6,
        100.0 * sum(l["wait_us"] for l in worst["stats"]) / worst["us"], worst["sd_bytes"]))


if __name__ == "__main__":
    main()
