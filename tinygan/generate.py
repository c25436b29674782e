"""`tinygan generate`: the C engine paints a cat from a .tgw file and an entropy file."""

import numpy as np


def image_array(model, raw):
    return np.frombuffer(bytes(raw), dtype=np.uint8).reshape(model.out_shape)


def add_arguments(p):
    from tinygan import device

    device.add_cat_arguments(p)
    p.add_argument("--preview", action="store_true", help="show the cat in the terminal (ANSI half blocks)")
    p.add_argument("--stats", action="store_true", help="print per-layer bytes read, wait and compute time")


def run(args):
    import tinygan
    from tinygan import device
    from tinygan.cli import CLIError
    from tinygan.imageio import save_png
    from tinygan.preview import ansi_halfblocks

    try:
        model = tinygan.Model(args.model)
        z = device.latent_from_entropy_file(args.entropy, model.latent_dim, model.latent_inv_scale)
        raw = model.generate(z)
    except (OSError, ValueError) as exc:   # EngineError is a ValueError
        raise CLIError(str(exc))           # nothing was written
    img = image_array(model, raw)
    for path in save_png(img, args.output, upscale=args.upscale or None):
        print("wrote %s" % path)
    if args.stats:
        print(format_stats(model.stats))
    if args.preview:
        print(ansi_halfblocks(img))
    return 0


def format_stats(stats):
    lines = ["layer  bytes_read  wait_ms  compute_ms        MACs   GMAC/s"]
    for i, s in enumerate(stats):
        gmacs = s["macs"] / (s["compute_us"] * 1e3) if s["compute_us"] else float("nan")
        lines.append("%5d %11d %8.2f %11.2f %11d %8.2f" % (i, s["bytes_read"], s["wait_us"] / 1e3,
                                                           s["compute_us"] / 1e3, s["macs"], gmacs))
    return "\n".join(lines)
