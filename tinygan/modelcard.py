"""`tinygan modelcard weights/default.tgw`: regenerate the model card's figures.

Draws the card's 16-cat grid with the int8 C engine from 16 different 200-byte entropy blocks (the
bytes a device would take from its pool for one cat each), and measures:
- variety: the mean pairwise pixel distance between the 16 cats, next to the same figure for the
  training data (a collapsed generator scores near 0), and each cat's distance to its nearest
  training image (a generator that memorised the data scores near 0);
- quality: KID x1000 (tinygan/kid.py) of 1,000 of the model's cats (integer reference = engine
  bytes) against 1,000 fresh procedural cats, next to the floor, two procedural sets against
  each other;
- with `--checkpoint` (the float training checkpoint or generator): the PSNR of the int8 engine's
  images against the float PyTorch generator on the same latents.

The entropy blocks are SHA-256 in counter mode over a fixed label, so anyone regenerates the same
bytes without a binary file; they stand in for QRNG bytes (any bytes are valid entropy here).
"""
import argparse
import hashlib
import sys

import numpy as np

BLOCK = 200  # entropy bytes per cat: 50 pairs of uint16 -> 100 normals (docs: "One cat, end to end")


def entropy_blocks(n=16, label="tinygan model card"):
    """n blocks of BLOCK bytes: SHA-256(label:block:counter) concatenated."""
    blocks = []
    for b in range(n):
        raw = b"".join(hashlib.sha256(("%s:%d:%d" % (label, b, k)).encode()).digest() for k in range(7))
        blocks.append(raw[:BLOCK])
    return blocks


def engine_images(model_path, blocks):
    """The C engine's uint8 [n, 64, 64, 3] cats for the given entropy blocks, and their int8 latents."""
    import tinygan
    from tinygan import device

    model = tinygan.Model(model_path)
    latents = [device.latent.latent_from_bytes(b, model.latent_inv_scale) for b in blocks]
    images = np.stack([np.asarray(model.generate(bytes(q)), dtype=np.uint8).reshape(64, 64, 3) for q in latents])
    return images, latents, model


def float_images(checkpoint, latents, inv_scale):
    """The float generator (eval mode) on the dequantized latents q / inv_scale, uint8 by the engine's rule."""
    import torch

    from tinygan.model import load_generator
    from tinygan.train import to_uint8

    net = load_generator(checkpoint)
    z = torch.tensor(np.array([np.frombuffer(bytes(q), dtype=np.int8) for q in latents]), dtype=torch.float32)
    with torch.no_grad():
        return to_uint8(net(z / inv_scale))


def psnr(a, b):
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def mean_pairwise_distance(images):
    """Mean absolute per-pixel difference (0..255) over all pairs of distinct images."""
    flat = np.asarray(images, np.float64).reshape(len(images), -1)
    n = len(flat)
    total = sum(np.abs(flat[i] - flat[j]).mean() for i in range(n) for j in range(i + 1, n))
    return total / (n * (n - 1) / 2)


def nearest_distances(images, data):
    """For each image, the mean absolute per-pixel difference to its nearest image in `data`."""
    flat = np.asarray(images, np.float32).reshape(len(images), -1)
    out = []
    for x in flat:
        best = np.inf
        for start in range(0, len(data), 2048):
            d = np.abs(data[start:start + 2048].reshape(-1, flat.shape[1]).astype(np.float32) - x).mean(axis=1)
            best = min(best, float(d.min()))
        out.append(best)
    return np.array(out)


def add_arguments(p):
    p.add_argument("model", help="the exported .tgw (weights/default.tgw)")
    p.add_argument("--grid", default="weights/grid.png", help="where to write the 16-cat grid (4x4, 2x scale)")
    p.add_argument("--checkpoint", help="float training checkpoint for the int8-vs-float PSNR (not shipped)")
    p.add_argument("--data-images", type=int, default=2000,
                   help="procedural training images (seed 0) compared against for variety and memorisation")
    p.add_argument("--kid-images", type=int, default=1000,
                   help="images per set for the KID figure and its floor (default 1000; 0: skip)")


def run(args):
    from tinygan import catdata

    blocks = entropy_blocks(16)
    images, latents, model = engine_images(args.model, blocks)
    catdata.grid(images, cols=4, pad=2, scale=2).save(args.grid)
    data = catdata.procedural(args.data_images, seed=0)
    print("grid: %s (int8 C engine, 16 entropy blocks: entropy_blocks(16) in tinygan/modelcard.py)" % args.grid)
    print("mean pairwise pixel distance, 16 cats: %.1f / 255" % mean_pairwise_distance(images))
    print("mean pairwise pixel distance, first 16 training images: %.1f / 255" % mean_pairwise_distance(data[:16]))
    near = nearest_distances(images, data)
    print("distance of each cat to its nearest of %d training images: min %.1f, mean %.1f / 255"
          % (len(data), near.min(), near.mean()))
    if args.checkpoint:
        ref = float_images(args.checkpoint, latents, model.latent_inv_scale)
        per = [psnr(a, b) for a, b in zip(images, ref)]
        print("int8 engine vs float PyTorch, PSNR over the 16 cats: %.2f dB (per cat: min %.2f, max %.2f)"
              % (psnr(images, ref), min(per), max(per)))
        catdata.grid(ref, cols=4, pad=2, scale=2).save(args.grid.replace(".png", "-float.png"))
    else:
        print("int8-vs-float PSNR: skipped (needs --checkpoint, the float generator)")
    if args.kid_images:
        from tinygan import kid

        ref = kid.procedural_features(args.kid_images, kid.REFERENCE_SEED)
        print("KID x1000, %d cats (integer reference) vs %d procedural cats (seed %d): %.3f +- %.3f"
              % ((args.kid_images, args.kid_images, kid.REFERENCE_SEED)
                 + kid.kid(kid.features(kid.tgw_images(args.model, args.kid_images)), ref)))
        print("KID x1000 floor, procedural seed %d vs seed %d: %.3f +- %.3f"
              % ((kid.FLOOR_SEED, kid.REFERENCE_SEED) + kid.kid(kid.procedural_features(args.kid_images, kid.FLOOR_SEED), ref)))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m tinygan.modelcard", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
