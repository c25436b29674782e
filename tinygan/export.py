"""`tinygan export`: quantize a DCGAN generator checkpoint to an int8 .tgw weight file.

Steps (docs/quantization.md): fold BatchNorm into the transposed convolutions; int8 symmetric
per-output-channel weights in [-127, 127]; calibrate each ReLU output's range on latents drawn the
way the device draws them; int32 bias at s_in*s_w[c]; TFLite QuantizeMultiplier per channel; ReLU
outputs with zero point -128; the RGB layer as 255 accumulator thresholds per channel.
"""
import math
import os
import sys
import time

import numpy as np
import torch

from tinygan import arena, quant, tgw
from tinygan.fsutil import write_atomic

DEFAULT_INV_SCALE = 32
DEFAULT_CHUNK_BYTES = 16384
DEFAULT_CALIB = 2048
DEFAULT_RANGE_QUANTILE = 0.99
INT32_MIN, INT32_MAX = quant.INT32_MIN, quant.INT32_MAX


# ----------------------------------------------------------------------------- folding

def fold_generator(net):
    """[(W [cin, cout, 4, 4] float64, bias [cout] float64, kind, has_relu)] with BN folded in."""
    mods = list(net.main)
    layers = []
    i = 0
    while i < len(mods):
        conv = mods[i]
        if not isinstance(conv, torch.nn.ConvTranspose2d):
            raise ValueError("unexpected module %s at main.%d" % (type(conv).__name__, i))
        w = conv.weight.detach().double().clone()
        b = conv.bias.detach().double().clone() if conv.bias is not None else torch.zeros(w.shape[1], dtype=torch.float64)
        i += 1
        if i < len(mods) and isinstance(mods[i], torch.nn.BatchNorm2d):
            bn = mods[i]
            inv = bn.weight.detach().double() / torch.sqrt(bn.running_var.detach().double() + bn.eps)
            w = w * inv[None, :, None, None]
            b = (b - bn.running_mean.detach().double()) * inv + bn.bias.detach().double()
            i += 1
        relu = i < len(mods) and isinstance(mods[i], torch.nn.ReLU)
        if relu or (i < len(mods) and isinstance(mods[i], torch.nn.Tanh)):
            i += 1
        kind = tgw.KIND_K4S1P0 if conv.stride == (1, 1) and conv.padding == (0, 0) else tgw.KIND_K4S2P1
        if conv.kernel_size != (4, 4) or (kind == tgw.KIND_K4S2P1 and (conv.stride, conv.padding) != ((2, 2), (1, 1))):
            raise ValueError("main.%d: only k4 s1 p0 and k4 s2 p1 transposed convolutions are supported" % (i - 1))
        layers.append((w, b, kind, relu))
    return layers


def float_forward(folded, z, collect=False):
    """Run the folded float model (in its dtype); z [N, nz]. Returns the tanh output and ReLU activations."""
    x = z.to(folded[0][0].dtype)[:, :, None, None]
    acts = []
    for w, b, kind, relu in folded:
        stride, pad = (1, 0) if kind == tgw.KIND_K4S1P0 else (2, 1)
        x = torch.nn.functional.conv_transpose2d(x, w, b, stride=stride, padding=pad)
        if relu:
            x = torch.relu(x)
            if collect:
                acts.append(x)
        else:
            x = torch.tanh(x)
    return x, acts


def calibrate_ranges(folded, z, quantile, batch=128):
    """Per ReLU layer, the `quantile` of the per-latent activation maxima (float32 forward).

    A high quantile of per-latent maxima rather than the single largest value: one outlier latent
    would otherwise stretch the scale for all, costing resolution (and PSNR) on every image.
    """
    f32 = [(w.float(), b.float(), kind, relu) for w, b, kind, relu in folded]
    maxima = []
    with torch.no_grad():
        for i in range(0, z.shape[0], batch):
            _, acts = float_forward(f32, z[i:i + batch].float(), collect=True)
            maxima.append(torch.stack([a.amax(dim=(1, 2, 3)) for a in acts], dim=1))
    maxima = torch.cat(maxima).double()
    return [float(torch.quantile(maxima[:, j], quantile)) for j in range(maxima.shape[1])]


def device_like_latents(n, nz, inv_scale, seed):
    """Latents quantized exactly as the device's int8 input: q = clamp(round(z * inv_scale))."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, nz, generator=g, dtype=torch.float64)
    q = torch.clamp(torch.round(z * inv_scale), -127, 127)  # round-half-even is irrelevant: ties have measure 0
    return q.to(torch.int64)


# ----------------------------------------------------------------------------- quantization

def quantize_weights(w):
    """Per output channel symmetric int8: returns (q [cin, cout, 4, 4] int8, scale [cout])."""
    amax = w.abs().amax(dim=(0, 2, 3)).numpy()
    scale = np.where(amax > 0, amax / 127.0, 1.0)
    q = np.asarray(w.numpy() / scale[None, :, None, None])
    q = np.where(q >= 0, np.floor(q + 0.5), -np.floor(-q + 0.5))  # round half away from zero
    return np.clip(q, -127, 127).astype(np.int8), scale


def pixel_of(acc, real_per_lsb):
    """The contract's pixel value for an accumulator: round_half_away(127.5 * (tanh(x) + 1))."""
    v = 127.5 * (np.tanh(np.asarray(acc, dtype=np.float64) * real_per_lsb) + 1.0)
    return np.floor(v + 0.5).astype(np.int64)  # v >= 0, so floor(v + 0.5) is half away from zero


def output_thresholds(real_per_lsb):
    """255 thresholds: thresholds[k-1] = smallest int32 acc whose pixel is >= k."""
    k = np.arange(1, 256, dtype=np.float64)
    x = np.arctanh((k - 0.5) / 127.5 - 1.0)
    t = np.ceil(x / real_per_lsb)
    t = np.clip(t, INT32_MIN, INT32_MAX).astype(np.int64)
    kk = k.astype(np.int64)
    # float rounding near a boundary can be one off either way: settle it on pixel_of itself.
    for _ in range(4):
        lower = (t > INT32_MIN) & (pixel_of(t - 1, real_per_lsb) >= kk)
        t = np.where(lower, t - 1, t)
        higher = (t < INT32_MAX) & (pixel_of(t, real_per_lsb) < kk)
        t = np.where(higher, t + 1, t)
    return np.maximum.accumulate(t)


def chunking_options(kind, cin, cout, max_bytes):
    """All (chunk_groups, chunk_phases) with chunks of at most max_bytes (one slab of one group and
    one phase always qualifies), most preferred first: fewest padded bytes read, then the largest
    chunk (fewer, longer SD reads)."""
    phases, taps = tgw.KIND_PHASES_TAPS[kind]
    ngroups = (cout + tgw.GROUP - 1) // tgw.GROUP
    unit = cin * taps * tgw.GROUP
    options = []
    for cg in (d for d in range(1, ngroups + 1) if ngroups % d == 0):
        for cp in (d for d in range(1, phases + 1) if phases % d == 0):
            size = cg * cp * unit
            if size > max_bytes and (cg, cp) != (1, 1):
                continue
            n = (ngroups // cg) * (phases // cp)
            options.append(((n * tgw.pad_to_sector(size), -size), cg, cp))
    return [(cg, cp) for _, cg, cp in sorted(options)]


def choose_chunkings(shapes, max_bytes):
    """Chunking of every layer: the most preferred option that does not raise the engine's peak RAM.

    shapes: arena.LayerShape per layer (chunk fields ignored). The peak is what the arena needs
    with every layer at its smallest chunks; each layer then takes the largest chunks that still
    fit under that peak. The last layer's chunks all stay resident when it is fused, so only its
    read efficiency matters.
    """
    options = [chunking_options(s.kind, s.cin, s.cout, max_bytes) for s in shapes]
    smallest = [min(o, key=lambda cgp: cgp[0] * cgp[1]) for o in options]
    chosen = list(smallest)
    chosen[-1] = options[-1][0]

    def with_chunking(choice):
        return [s._replace(chunk_groups=cg, chunk_phases=cp) for s, (cg, cp) in zip(shapes, choice)]

    steps = arena.step_sizes(with_chunking(chosen))
    peak = max(steps)
    for i in range(len(steps)):
        for option in options[i]:
            trial = chosen[:i] + [option] + chosen[i + 1:]
            if arena.step_sizes(with_chunking(trial))[i] <= peak:
                chosen[i] = option
                break
    return chosen


def layer_shapes(folded):
    """arena.LayerShape of each folded layer (chunking not chosen yet)."""
    shapes, h = [], 1
    for w, _, kind, relu in folded:
        h = 4 if kind == tgw.KIND_K4S1P0 else 2 * h
        act = tgw.ACT_REQUANT if relu else tgw.ACT_THRESHOLD
        shapes.append(arena.LayerShape(kind, act, w.shape[0], w.shape[1], h, h, 1, 1))
    return shapes


def export_generator(net, calib=DEFAULT_CALIB, seed=0, inv_scale=DEFAULT_INV_SCALE, chunk_bytes=DEFAULT_CHUNK_BYTES,
                     name="", psnr_latents=16, range_quantile=DEFAULT_RANGE_QUANTILE, log=None):
    """Quantize `net` (a tinygan.model.Generator). Returns (tgw_bytes, report dict)."""
    log = log or (lambda msg: None)
    t0 = time.perf_counter()
    folded = fold_generator(net.eval())
    nz = folded[0][0].shape[0]
    if nz % 2:
        raise ValueError(tgw.odd_latent_message(nz))
    ranges = calibrate_ranges(folded, device_like_latents(calib, nz, inv_scale, seed) / inv_scale, range_quantile)
    log("calibrated %d activation ranges on %d latents (%.1f s)" % (len(ranges), calib, time.perf_counter() - t0))

    chunkings = choose_chunkings(layer_shapes(folded), chunk_bytes)
    layers, report_layers = [], []
    in_scale, in_zp, h = 1.0 / inv_scale, 0, 1
    for i, (w, b, kind, relu) in enumerate(folded):
        cin, cout = w.shape[:2]
        qw, w_scale = quantize_weights(w)
        acc_scale = in_scale * w_scale
        bias = np.clip(np.floor(b.numpy() / acc_scale + 0.5), INT32_MIN, INT32_MAX).astype(np.int64)
        out_h = 4 if kind == tgw.KIND_K4S1P0 else 2 * h
        cg, cp = chunkings[i]
        fields = dict(kind=kind, cin=cin, cout=cout, in_h=h, in_w=h, out_h=out_h, out_w=out_h,
                      in_zp=in_zp, chunk_groups=cg, chunk_phases=cp, in_scale=in_scale,
                      packed=tgw.pack_weights(qw, kind, cg, cp), bias=bias)
        info = {"layer": i, "cin": cin, "cout": cout, "out": "%dx%d" % (out_h, out_h),
                "in_scale": in_scale, "w_scale_min": float(w_scale.min()), "w_scale_max": float(w_scale.max())}
        if relu:
            out_scale = max(ranges[len(report_layers)], 1e-8) / 255.0
            mults = [quant.quantize_multiplier(float(r)) for r in acc_scale / out_scale]
            layer = tgw.Layer(act=tgw.ACT_REQUANT, out_zp=-128, out_scale=out_scale,
                              mult=np.array([m for m, _ in mults]), shift=np.array([s for _, s in mults]), **fields)
            info.update(out_scale=out_scale, out_range=ranges[len(report_layers)])
            in_scale, in_zp = out_scale, -128
        else:
            th = np.stack([output_thresholds(float(s)) for s in acc_scale])
            layer = tgw.Layer(act=tgw.ACT_THRESHOLD, out_zp=0, out_scale=0.0, thresholds=th, **fields)
            info.update(out_scale=0.0, out_range=None)
        info.update(chunk_groups=cg, chunk_phases=cp)
        problem = tgw.layer_weight_problem(layer, i)
        if problem:  # the readers would refuse the file (docs/weight-format.md, the int32 rule)
            raise ValueError("export: %s" % problem)
        layers.append(layer)
        report_layers.append(info)
        h = out_h
    last = layers[-1]
    model = tgw.TgwModel(layers, nz, inv_scale, last.out_h, last.out_w, last.cout, name)
    data = tgw.write_tgw(model)
    for info, layer in zip(report_layers, layers):
        info.update(n_chunks=layer.n_chunks, chunk_bytes=layer.chunk_bytes)
    report = {"layers": report_layers, "calib_latents": calib, "range_quantile": range_quantile, "file_bytes": len(data),
              "weights": int(sum(l.cin * l.cout * 16 for l in layers)), "export_s": time.perf_counter() - t0}
    if psnr_latents:
        report.update(int8_vs_float(model, folded, psnr_latents, seed + 1, inv_scale))
    report["export_s"] = time.perf_counter() - t0
    return data, report


def int8_vs_float(model, folded, n, seed, inv_scale):
    """PSNR of the int8 reference image against the float model's image over n latents."""
    from tinygan.reference import reference_batch

    zq = device_like_latents(n, model.latent_dim, inv_scale, seed)
    imgs = reference_batch(model, zq.numpy().astype(np.int8))            # [n, 64, 64, 3] uint8
    with torch.no_grad():
        fl, _ = float_forward(folded, zq.double() / inv_scale)
    fimg = (127.5 * (fl + 1.0)).permute(0, 2, 3, 1).numpy()               # float pixels
    mse = float(np.mean((imgs.astype(np.float64) - fimg) ** 2))
    psnr = 10 * math.log10(255.0 ** 2 / mse) if mse > 0 else float("inf")
    levels = int(np.unique(imgs).size)
    return {"psnr_db": psnr, "psnr_latents": n, "pixel_levels": levels}


def format_report(report):
    lines = ["layer  cin  cout  out     in_scale   out_scale  w_scale[min..max]      chunks x bytes"]
    for r in report["layers"]:
        lines.append("%5d %4d %5d  %-6s %10.3g %11.3g  %9.3g..%-9.3g %6d x %d" % (
            r["layer"], r["cin"], r["cout"], r["out"], r["in_scale"], r["out_scale"],
            r["w_scale_min"], r["w_scale_max"], r["n_chunks"], r["chunk_bytes"]))
        if r.get("out_range") is not None:
            lines[-1] += "   relu range [0, %.3f]" % r["out_range"]
    lines.append("int8 weights: %d (%.2f MiB), file %d bytes, calibrated on %d latents"
                 % (report["weights"], report["weights"] / 2 ** 20, report["file_bytes"], report["calib_latents"]))
    if "psnr_db" in report:
        lines.append("int8 vs float: PSNR %.2f dB over %d latents, %d distinct pixel levels used"
                     % (report["psnr_db"], report["psnr_latents"], report["pixel_levels"]))
    lines.append("export time: %.1f s" % report["export_s"])
    return "\n".join(lines)


def add_arguments(p):
    p.add_argument("checkpoint", help="generator checkpoint: PyTorch examples/dcgan netG state_dict, or a tinygan training checkpoint")
    p.add_argument("-o", "--output", required=True, help="output .tgw file")
    p.add_argument("--calib", type=int, default=DEFAULT_CALIB, help="latents used to calibrate activation ranges (default %d)" % DEFAULT_CALIB)
    p.add_argument("--range-quantile", type=float, default=DEFAULT_RANGE_QUANTILE,
                   help="activation range = this quantile of the per-latent maxima (default %g; 1 = max)" % DEFAULT_RANGE_QUANTILE)
    p.add_argument("--seed", type=int, default=0, help="seed of the calibration latents")
    p.add_argument("--inv-scale", type=int, default=DEFAULT_INV_SCALE, help="latent quantization: q = round(z * INV_SCALE) (default 32)")
    p.add_argument("--chunk-kb", type=int, default=DEFAULT_CHUNK_BYTES // 1024, help="largest weight chunk in KiB (default 16)")
    p.add_argument("--psnr-latents", type=int, default=16, help="latents for the int8-vs-float PSNR report (0: skip)")
    p.add_argument("--name", default="", help="model name stored in the header (32 bytes max)")
    p.add_argument("--raw", action="store_true",
                   help="take a training checkpoint's trained generator (netG), not its moving average (netG_ema)")


def run(args):
    from tinygan.cli import CLIError
    from tinygan.model import load_generator

    try:
        net = load_generator(args.checkpoint, raw=args.raw)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise CLIError("cannot load generator from %s: %s" % (args.checkpoint, exc))
    if not 1 <= args.inv_scale <= 65535:
        raise CLIError("--inv-scale must be 1..65535")
    print("exporting %s (nz=%d, ngf=%d) ..." % (args.checkpoint, net.nz, net.ngf), file=sys.stderr)
    try:
        data, report = export_generator(net, calib=args.calib, seed=args.seed, inv_scale=args.inv_scale,
                                        chunk_bytes=args.chunk_kb * 1024, name=args.name or os.path.basename(args.output),
                                        psnr_latents=args.psnr_latents, range_quantile=args.range_quantile,
                                        log=lambda m: print(m, file=sys.stderr))
        tgw.read_tgw(data)  # never write a file our own reader would reject
    except ValueError as exc:  # TgwError is one: nothing is written
        raise CLIError(str(exc))
    write_atomic(args.output, data)
    print(format_report(report))
    print("wrote %s" % args.output)
    return 0
