"""`tinygan verify`: the C engine against the PyTorch integer reference, latent by latent."""
import numpy as np


def first_difference(a, b):
    """(y, x, c, engine value, reference value) of the first differing pixel, or None."""
    diff = np.argwhere(a != b)
    if not diff.size:
        return None
    y, x, c = diff[0]
    return int(y), int(x), int(c), int(a[y, x, c]), int(b[y, x, c])


def add_arguments(p):
    p.add_argument("model", help=".tgw weight file")
    p.add_argument("--latents", type=int, default=8, help="number of latents to compare (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random entropy blocks")


def run(args):
    import tinygan
    from tinygan import reference, tgw
    from tinygan.cli import CLIError
    from tinygan.device import latent

    try:
        engine = tinygan.Model(args.model)
        ref_model = tgw.read_tgw(args.model)
    except (OSError, ValueError) as exc:
        raise CLIError(str(exc))
    rng = np.random.default_rng(args.seed)
    failures = 0
    for k in range(args.latents):
        block = rng.integers(0, 256, size=2 * engine.latent_dim, dtype=np.uint8).tobytes()
        z = latent.latent_from_bytes(block, engine.latent_inv_scale, engine.latent_dim)
        got = np.frombuffer(bytes(engine.generate(z)), dtype=np.uint8).reshape(engine.out_shape)
        want = reference.reference_image(ref_model, np.frombuffer(z, dtype=np.int8))
        d = first_difference(got, want)
        if d is None:
            print("latent %d: identical" % k)
        else:
            failures += 1
            print("latent %d: DIFFERENT, first at y=%d x=%d channel %d: engine %d, reference %d" % ((k,) + d))
    print("%d of %d latents identical" % (args.latents - failures, args.latents))
    return 1 if failures else 0
