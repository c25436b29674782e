"""RV32 benchmark: instructions per useful MAC under QEMU, and a model of time per cat on the CH32H417.

    python3 bench/rv32.py [--model weights/default.tgw]

Builds the bare-metal image (rv32/, the unchanged engine, -O3, rv32imafc), runs one cat under
`qemu-system-riscv32 -icount shift=0` (retired-instruction counts are exact), checks the image
against the host engine, and prints per layer: useful MACs, kernel instructions, instructions per
MAC, CRC instructions, bytes read. The time model takes the core clocks, IPC and SD rates from
boards/CH32H417/board.json: the clocks are the vendor SDK's default preset (V5F 400 MHz, V3F = HCLK
100 MHz, sources named there), IPC and SD efficiency are unmeasured assumptions. Chunk reads overlap
computation (double buffering), so a layer costs the slowest of its read time and its compute time.
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygan  # noqa: E402
from tinygan import rv32  # noqa: E402
from tinygan.device import latent  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARD = os.path.join(REPO, "boards", "CH32H417", "board.json")


def sd_rate(cfg):
    return cfg["clock_hz"] * cfg["bits_per_clock"] / 8.0 * cfg["efficiency"]


def model_times(layers, board):
    """Seconds per cat for each (SD interface, core configuration)."""
    comp, io = board["cores"]["compute"], board["cores"]["io"]
    f5 = comp["clock_hz"] * comp["ipc"]
    f3 = io["clock_hz"] * io["ipc"]
    out = {}
    for sd_name, sd_cfg in board["sd_card"].items():
        if sd_name.startswith("_"):
            continue
        rate = sd_rate(sd_cfg)
        single = dual = split = 0.0
        for l in layers:
            read = l["bytes"] / rate
            k, crc = l["kernel_instr"], l["crc_instr"]
            # one core: kernels and CRC checks on the V5F, reads by DMA in the background
            single += max(read, (k + crc) / f5)
            # two cores: V3F reads and checks CRCs, V5F computes
            dual += max(read, crc / f3, k / f5)
            # two cores sharing the kernels: V3F also takes a share s of the output channels,
            # balanced so both finish together: (1 - s) k / f5 = crc / f3 + s k / f3
            s = max(0.0, (k / f5 - crc / f3) / (k / f5 + k / f3))
            split += max(read, (1 - s) * k / f5, crc / f3 + s * k / f3)
        out[(sd_name, "one core (V5F)")] = single
        out[(sd_name, "V3F I/O + V5F compute")] = dual
        out[(sd_name, "V3F I/O + shared compute")] = split
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help=".tgw (default: weights/default.tgw, else a random full-size model)")
    ap.add_argument("--entropy-seed", type=int, default=0)
    args = ap.parse_args()
    missing = rv32.missing_tools()
    if missing:
        sys.exit("bench/rv32.py needs: %s (apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf "
                 "qemu-system-misc)" % ", ".join(missing))
    path = args.model or os.path.join(REPO, "weights", "default.tgw")
    if not os.path.exists(path):
        from tinygan import export, testmodels
        path = os.path.join(tempfile.gettempdir(), "tinygan-bench-random.tgw")
        data, _ = export.export_generator(testmodels.random_generator(seed=0), calib=256, psnr_latents=0)
        with open(path, "wb") as f:
            f.write(data)
    with open(BOARD) as f:
        board = json.load(f)

    import random
    rng = random.Random(args.entropy_seed)
    z = latent.latent_from_bytes(bytes(rng.randrange(256) for _ in range(200)))
    with tempfile.TemporaryDirectory() as d:
        elf = rv32.build(d)
        image, c = rv32.run(elf, path, z)
    identical = image == bytes(tinygan.Model(path).generate(z))

    print("model: %s" % path)
    print()
    print("%5s %12s %14s %10s %12s %10s" % ("layer", "useful MACs", "kernel instr", "instr/MAC", "CRC instr", "bytes"))
    for l in c["layers"]:
        print("%5d %12d %14d %10.2f %12d %10d" % (l["layer"], l["macs"], l["kernel_instr"],
                                                  l["kernel_instr"] / l["macs"], l["crc_instr"], l["bytes"]))
    macs = sum(l["macs"] for l in c["layers"])
    kernel = sum(l["kernel_instr"] for l in c["layers"])
    ipm = kernel / macs
    print("%5s %12d %14d %10.2f %12d %10d" % ("all", macs, kernel, ipm, sum(l["crc_instr"] for l in c["layers"]),
                                              sum(l["bytes"] for l in c["layers"])))
    print()
    print("RAM: arena %d bytes + peak stack %d bytes = %.1f KiB" % (c["arena"], c["stack"], (c["arena"] + c["stack"]) / 1024))
    comp, io = board["cores"]["compute"], board["cores"]["io"]
    print("time model: V5F %d MHz, V3F %d MHz (board.json: %s), IPC %.1f / %.1f (%s: one instruction per "
          "cycle, no stalls)" % (comp["clock_hz"] / 1e6, io["clock_hz"] / 1e6,
                                 "vendor SDK default clocks" if "clock_source" in comp else "clocks without a source",
                                 comp["ipc"], io["ipc"],
                                 "measured" if comp.get("ipc_measured") and io.get("ipc_measured") else "unmeasured"))
    print()
    times = model_times(c["layers"], board)
    print("%-26s %-28s %10s" % ("SD card", "cores", "s per cat"))
    for (sd, cores), t in times.items():
        print("%-26s %-28s %10.2f" % (sd, cores, t))
    best = min(times.values())
    print()
    print("identical=%s instructions_per_mac=%.2f modelled_s_per_cat=%.2f" % ("yes" if identical else "no", ipm, best))


if __name__ == "__main__":
    main()
