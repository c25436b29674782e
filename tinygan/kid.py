"""The quality figure: KID between generated cats and fresh procedural cats.

Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs"): the unbiased estimate
of the squared MMD between two sets of features under the kernel k(x, y) = (x.y / d + 1)^3. Unlike
FID it has no bias that depends on the number of images, so 1,000 images give a figure whose
expectation is the same as for 50,000, and two samples of one distribution score 0 on average
(single estimates scatter around 0, and may be slightly negative). Reported x1000, with the
standard error from 10 disjoint subsets.

The features are not Inception's (nothing can be downloaded here) but the project's own
tinygan/catfeatures.py network, trained once on procedural cats of seed 100. The reference set
is procedural cats of seed REFERENCE_SEED; the floor ("data vs data") compares it with cats of
seed FLOOR_SEED. Training uses seed 0 (docs/training.md), so all three sets are disjoint.

    python3 -m tinygan.kid weights/default.tgw runs/x/checkpoint.pt runs/x/generators/step0001000.pt
"""
import argparse
import sys

import numpy as np
import torch

REFERENCE_SEED = 101
FLOOR_SEED = 102
DEFAULT_IMAGES = 1000
SUBSETS = 10


def mmd2_unbiased(fx, fy):
    """Unbiased MMD^2 of two feature sets [n, d], [m, d] under k(x, y) = (x.y/d + 1)^3 (float64)."""
    fx, fy = np.asarray(fx, np.float64), np.asarray(fy, np.float64)
    if fx.ndim != 2 or fy.ndim != 2 or fx.shape[1] != fy.shape[1] or min(len(fx), len(fy)) < 2:
        raise ValueError("need two feature sets [n>=2, d] of the same width, got %s and %s" % (fx.shape, fy.shape))
    d = fx.shape[1]
    kxx = (fx @ fx.T / d + 1) ** 3
    kyy = (fy @ fy.T / d + 1) ** 3
    kxy = (fx @ fy.T / d + 1) ** 3
    n, m = len(fx), len(fy)
    return ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.mean())


def kid(fx, fy, subsets=SUBSETS):
    """(KID over all features, standard error from `subsets` disjoint equal subsets), both x1000."""
    whole = float(1000 * mmd2_unbiased(fx, fy))  # plain floats: checkpoints load with weights_only
    k = min(len(fx), len(fy)) // subsets
    if subsets < 2 or k < 2:
        return whole, float("nan")
    parts = [1000 * mmd2_unbiased(fx[i * k:(i + 1) * k], fy[i * k:(i + 1) * k]) for i in range(subsets)]
    return whole, float(np.std(parts, ddof=1) / np.sqrt(subsets))


def features(images_uint8, net=None, batch=250):
    """catfeatures of uint8 images [n, 64, 64, 3] -> float64 [n, 128]."""
    from tinygan import catfeatures

    net = net or catfeatures.load()
    out = []
    with torch.no_grad():
        for i in range(0, len(images_uint8), batch):
            out.append(net.features(catfeatures.to_float(images_uint8[i:i + batch])).double().numpy())
    return np.concatenate(out)


def procedural_features(n=DEFAULT_IMAGES, seed=REFERENCE_SEED, net=None, workers=1):
    from tinygan import catdata

    return features(catdata.procedural(n, seed=seed, workers=workers), net)


def generator_images(net, n=DEFAULT_IMAGES, seed=0, batch=100):
    """uint8 images of a float Generator (eval mode) on n latents N(0, 1) drawn from `seed`."""
    from tinygan.train import to_uint8

    z = torch.randn(n, net.nz, generator=torch.Generator().manual_seed(seed))
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            return np.concatenate([to_uint8(net(z[i:i + batch].to(next(net.parameters()).device)))
                                   for i in range(0, n, batch)])
    finally:
        net.train(was_training)


def tgw_images(path, n=DEFAULT_IMAGES, batch=50):
    """uint8 images of an exported .tgw through the PyTorch integer reference (byte-identical to the
    engine), on the device's latents from n entropy blocks (tinygan.modelcard.entropy_blocks)."""
    from tinygan import device, modelcard, tgw
    from tinygan.reference import reference_batch

    model = tgw.read_tgw(path)
    latents = np.array([np.frombuffer(device.latent.latent_from_bytes(b, model.latent_inv_scale), np.int8)
                        for b in modelcard.entropy_blocks(n, label="tinygan kid")])
    return np.concatenate([reference_batch(model, latents[i:i + batch]) for i in range(0, n, batch)])


def images_of(path, n=DEFAULT_IMAGES, raw=False):
    """Generated images of a .tgw, a training checkpoint (its EMA generator, or with `raw` its netG)
    or a generator state_dict."""
    if path.endswith(".tgw"):
        return tgw_images(path, n)
    from tinygan.model import load_generator

    return generator_images(load_generator(path, raw=raw), n)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m tinygan.kid", description="KID x1000 of models against procedural cats")
    p.add_argument("models", nargs="*", help=".tgw files, training checkpoints or generator state_dicts")
    p.add_argument("--images", type=int, default=DEFAULT_IMAGES, help="images per set (default %d)" % DEFAULT_IMAGES)
    p.add_argument("--floor", action="store_true", help="also print data vs data (seed %d vs %d)" % (FLOOR_SEED,
                                                                                                       REFERENCE_SEED))
    p.add_argument("--raw", action="store_true", help="a training checkpoint's netG instead of its EMA generator")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    ref = procedural_features(args.images)
    if args.floor:
        print("data vs data (seed %d vs %d, %d images): KID x1000 %.3f +- %.3f"
              % ((FLOOR_SEED, REFERENCE_SEED, args.images) + kid(procedural_features(args.images, FLOOR_SEED), ref)))
    for path in args.models:
        figure = kid(features(images_of(path, args.images, args.raw)), ref)
        print("%s%s (%d images): KID x1000 %.3f +- %.3f" % ((path, " (raw)" if args.raw else "", args.images) + figure))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
