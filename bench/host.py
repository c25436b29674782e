"""Host benchmark: time per cat, C engine (int8) vs PyTorch fp32 of the same model, in one run.

    python3 bench/host.py [--model weights/default.tgw] [--repeats 5] [--threads 2]

The engine uses one compute thread (the k4 s2 p1 kernel printed as `kernel`: AVX-512 VNNI where the
CPU has it) and one reader thread that also checks the chunk CRCs. The fp32 side is the float generator the .tgw was exported from (a DCGAN-style random one with the
same architecture when no checkpoint is given: the cost does not depend on the weights). Prints
per-layer MAC/s of the engine and its RAM (arena: activations + both chunk buffers + parameters).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygan  # noqa: E402
from tinygan import export, testmodels  # noqa: E402
from tinygan.model import load_generator  # noqa: E402


def median_time(fn, repeats):
    fn()  # warm-up: page cache, thread pool, allocator
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help=".tgw to benchmark (default: export a random full-size model)")
    ap.add_argument("--checkpoint", help="float checkpoint for the PyTorch side (default: random, same shape)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="PyTorch threads (the engine uses one core + a reader thread)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    net = load_generator(args.checkpoint) if args.checkpoint else testmodels.random_generator(seed=0)
    path = args.model
    if not path:
        path = "/tmp/tinygan-bench-random.tgw"
        data, _ = export.export_generator(net, calib=256, psnr_latents=0)
        with open(path, "wb") as f:
            f.write(data)
    engine = tinygan.Model(path)
    z8 = bytes(np.random.default_rng(0).integers(-100, 100, engine.latent_dim, dtype=np.int8).tobytes())
    zf = torch.randn(1, net.nz)

    from tinygan import _engine
    _engine.use_portable_kernel(True)
    t_portable = median_time(lambda: engine.generate(z8), args.repeats)
    _engine.use_portable_kernel(False)
    t_engine = median_time(lambda: engine.generate(z8), args.repeats)
    stats = engine.stats
    with torch.no_grad():
        t_torch = median_time(lambda: net(zf), args.repeats)
        t_torch_b = median_time(lambda: net(torch.randn(16, net.nz)), max(1, args.repeats // 2)) / 16

    print("model: %s (%d bytes); engine kernel: %s" % (path, os.path.getsize(path), tinygan.KERNEL))
    print()
    print("%-34s %12s %10s" % ("per cat (median of %d)" % args.repeats, "seconds", "vs fp32"))
    print("%-34s %12.4f %10.2fx" % ("C engine int8 (1 core + reader)", t_engine, t_torch / t_engine))
    print("%-34s %12.4f %10.2fx" % ("C engine, portable kernel", t_portable, t_torch / t_portable))
    print("%-34s %12.4f %10.2fx" % ("PyTorch fp32, batch 1, %d threads" % args.threads, t_torch, 1.0))
    print("%-34s %12.4f %10.2fx" % ("PyTorch fp32, batch 16, per image", t_torch_b, t_torch / t_torch_b))
    print()
    print("%5s %14s %12s %12s %12s %10s" % ("layer", "useful MACs", "bytes read", "wait ms", "compute ms", "GMAC/s"))
    for i, s in enumerate(stats):
        print("%5d %14d %12d %12.2f %12.2f %10.2f" % (i, s["macs"], s["bytes_read"], s["wait_us"] / 1e3,
                                                     s["compute_us"] / 1e3, s["macs"] / max(1, s["compute_us"]) / 1e3))
    total_macs = sum(s["macs"] for s in stats)
    print("%5s %14d %12d %12.2f %12.2f %10.2f" % ("all", total_macs, sum(s["bytes_read"] for s in stats),
                                                 sum(s["wait_us"] for s in stats) / 1e3,
                                                 sum(s["compute_us"] for s in stats) / 1e3,
                                                 total_macs / max(1, sum(s["compute_us"] for s in stats)) / 1e3))
    print()
    print("engine RAM: arena %d bytes (%.1f KiB: activations, two chunk buffers, parameter blocks, the fused RGB "
          "layer's weights and int32 sums; tinygan inspect shows the regions)" % (engine.arena_size, engine.arena_size / 1024))


if __name__ == "__main__":
    main()
