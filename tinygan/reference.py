"""`tinygan reference`: the PyTorch integer reference of the engine.

Reads only the .tgw file. Each layer is an exact integer computation: conv_transpose2d in float64
on integer-valued tensors is exact here (|acc| < 2^31 << 2^53, and every partial sum is an integer),
followed by gemmlowp requantization or the threshold lookup. This is the definition the C engine,
the RV32 build and the firmware must match byte for byte.
"""
import numpy as np
import torch

from tinygan import quant, tgw


def layer_accumulators(layer, x_off):
    """int64 accumulators [N, cout, H, W] of one layer; x_off = input minus its zero point."""
    w = torch.from_numpy(layer.weights_torch().astype(np.float64))
    stride, pad = (1, 0) if layer.kind == tgw.KIND_K4S1P0 else (2, 1)
    acc = torch.nn.functional.conv_transpose2d(torch.from_numpy(x_off.astype(np.float64)), w,
                                               stride=stride, padding=pad)
    acc = acc.numpy().astype(np.int64) + np.asarray(layer.bias, dtype=np.int64)[None, :, None, None]
    return acc


def threshold_pixels(acc, thresholds):
    """pixel = #{k : acc >= thresholds[c][k]} for each channel c; acc [N, C, H, W]."""
    out = np.empty(acc.shape, dtype=np.uint8)
    for c in range(acc.shape[1]):
        out[:, c] = np.searchsorted(thresholds[c], acc[:, c], side="right")
    return out


def reference_batch(model, latents):
    """latents: int8 [N, nz] -> uint8 images [N, H, W, 3] (HWC, RGB)."""
    latents = np.asarray(latents, dtype=np.int8)
    if latents.ndim == 1:
        latents = latents[None]
    if latents.shape[1] != model.latent_dim:
        raise ValueError("latent has %d values, the model takes %d" % (latents.shape[1], model.latent_dim))
    x_off = latents.astype(np.int64)[:, :, None, None]  # input zero point is 0
    for layer in model.layers:
        acc = layer_accumulators(layer, x_off)
        if layer.is_threshold:
            return threshold_pixels(acc, layer.thresholds).transpose(0, 2, 3, 1).copy()
        q = quant.requantize_np(acc, layer.mult[None, :, None, None], layer.shift[None, :, None, None], layer.out_zp)
        x_off = q.astype(np.int64) - layer.out_zp
    raise ValueError("model has no threshold (output) layer")


def reference_image(model, latent):
    """One int8 latent (nz values) -> uint8 [H, W, 3]."""
    return reference_batch(model, np.asarray(latent, dtype=np.int8)[None])[0]


def latent_from_entropy_file(path, model):
    """The device's latent from an entropy file, as int8 numpy values."""
    from tinygan import device

    z = device.latent_from_entropy_file(path, model.latent_dim, model.latent_inv_scale)
    return np.frombuffer(z, dtype=np.int8)


def add_arguments(p):
    from tinygan import device

    device.add_cat_arguments(p)


def run(args):
    from tinygan.cli import CLIError
    from tinygan.imageio import save_png

    try:
        model = tgw.read_tgw(args.model)
        z = latent_from_entropy_file(args.entropy, model)
    except (OSError, ValueError) as exc:
        raise CLIError(str(exc))
    img = reference_image(model, z)
    for path in save_png(img, args.output, upscale=args.upscale or None):
        print("wrote %s" % path)
    return 0
