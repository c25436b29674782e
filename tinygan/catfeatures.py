"""The feature network behind the quality figure (tinygan/kid.py), trained by the project itself.

No pretrained network (Inception or any other) can be downloaded where this project is built, so
the figure's feature space is a small CNN trained here, with a fixed seed, on procedural cats that
no GAN trains on (data seed FEATURE_DATA_SEED). Its task makes its features see what a GAN gets
wrong on these images:
- predict what catdata drew: fur colour class and RGB, coat pattern, iris colour, background kind
  and RGB, pink or dark nose, tilt, scale, shift (catdata.cat_image's `attrs`);
- predict how the image was degraded: each training image is, at random, blurred (Gaussian,
  sigma 0.3-1.5 px) and/or given pixel noise (std 2.5-30 levels), and the net regresses both
  amounts, so soft outlines and speckle move an image's features away from the data's.

The features are the 128 outputs of its penultimate layer, standardised by their mean and std
over its clean training images (stored with the weights). The trained weights are shipped as
weights/catfeatures.bin.gz (float16, ~330 KB: a gzip of a JSON header plus the raw arrays);
`python3 -m tinygan.catfeatures -o weights/catfeatures.bin.gz` rebuilds that file bit for bit
with the same PyTorch build on the same kind of CPU (one thread, fixed seeds; other CPUs or PyTorch
versions may round float sums differently, which is why the weights are shipped, not retrained).
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

from tinygan import catdata

FEATURE_DATA_SEED = 100       # procedural data the feature net learns on (training uses 0)
WEIGHTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights", "catfeatures.bin.gz")
CLASSES = [("fur", len(catdata.FURS)), ("pattern", len(set(catdata.PATTERNS))), ("iris", len(catdata.IRISES)),
           ("background", len(catdata.BACKGROUNDS)), ("dark_nose", 2)]
N_REGRESS = 12  # fur RGB, background RGB, angle, scale, dx, dy, blur, noise
RECIPE = {"images": 6000, "steps": 2000, "batch": 64, "lr": 1e-3, "seed": 0}


class CatFeatures(nn.Module):
    """64x64 RGB in [-1, 1] -> 128 features; `heads` maps them to the training targets."""

    def __init__(self):
        super().__init__()
        chans = [3, 16, 32, 64, 128]
        convs = []
        for cin, cout in zip(chans, chans[1:]):  # 64 -> 32 -> 16 -> 8 -> 4
            convs += [nn.Conv2d(cin, cout, 3, 2, 1), nn.ReLU()]
        self.convs = nn.Sequential(*convs, nn.AvgPool2d(2))  # 4x4 -> 2x2 keeps where things are
        self.fc = nn.Linear(128 * 4, 128)
        self.heads = nn.Linear(128, sum(n for _, n in CLASSES) + N_REGRESS)
        # Per-feature mean and std over the (clean) training images, set after training: KID's cubic
        # kernel is not scale-free, and standardised features make x.y/d of order 1 as it expects.
        self.register_buffer("mean", torch.zeros(128))
        self.register_buffer("std", torch.ones(128))

    def raw_features(self, x):
        return self.fc(self.convs(x).flatten(1))

    def features(self, x):
        """The figure's features: standardised penultimate activations [n, 128]."""
        return (self.raw_features(x) - self.mean) / self.std

    def forward(self, x):
        return self.heads(torch.relu(self.raw_features(x)))


def attribute_targets(attrs):
    """(class indices [n, 5] int64, regression targets [n, N_REGRESS - 2] float32, each about unit scale)."""
    cls = np.array([[a[name] for name, _ in CLASSES] for a in attrs], dtype=np.int64)
    reg = np.array([[c / 127.5 - 1 for c in a["fur_rgb"]] + [c / 127.5 - 1 for c in a["background_rgb"]]
                    + [a["angle"] / 15, (a["scale"] - 0.975) / 0.125, a["dx"] / 16, a["dy"] / 13]
                    for a in attrs], dtype=np.float32)
    return cls, reg


def draw_with_attributes(n, seed):
    """uint8 [n, 64, 64, 3] procedural cats and their attribute dicts."""
    images, attrs = [], []
    for i in range(n):
        a = {}
        images.append(np.asarray(catdata.cat_image(seed, i, a)))
        attrs.append(a)
    return np.stack(images), attrs


def to_float(images_uint8):
    """uint8 NHWC -> float NCHW in [-1, 1] (the generator's output range)."""
    return torch.from_numpy(np.ascontiguousarray(images_uint8)).permute(0, 3, 1, 2).float() / 127.5 - 1


def gaussian_blur(x, sigma):
    """Per-image Gaussian blur of x [n, 3, h, w]; sigma [n] in pixels (0: unchanged)."""
    k = torch.arange(-3, 4, dtype=x.dtype)
    w = torch.exp(-k[None] ** 2 / (2 * sigma.clamp(min=1e-3)[:, None] ** 2))
    w = w / w.sum(1, keepdim=True)
    n, c, h, wd = x.shape
    y = x.reshape(1, n * c, h, wd)
    kern = w.repeat_interleave(c, 0)
    y = nn.functional.conv2d(nn.functional.pad(y, (3, 3, 0, 0), mode="replicate"), kern[:, None, None, :], groups=n * c)
    y = nn.functional.conv2d(nn.functional.pad(y, (0, 0, 3, 3), mode="replicate"), kern[:, None, :, None], groups=n * c)
    return torch.where((sigma > 0)[:, None, None, None], y.reshape(n, c, h, wd), x)


def degrade(x, gen):
    """Randomly blur and/or noise each image; returns (images, blur sigma [n], noise std [n])."""
    n = x.shape[0]
    blur = torch.where(torch.rand(n, generator=gen) < 0.5, 0.3 + 1.2 * torch.rand(n, generator=gen), torch.zeros(n))
    noise = torch.where(torch.rand(n, generator=gen) < 0.5, 0.02 + 0.22 * torch.rand(n, generator=gen), torch.zeros(n))
    x = gaussian_blur(x, blur)
    x = (x + noise[:, None, None, None] * torch.randn(x.shape, generator=gen)).clamp(-1, 1)
    return x, blur, noise


def train_features(images=RECIPE["images"], steps=RECIPE["steps"], batch=RECIPE["batch"], lr=RECIPE["lr"],
                   seed=RECIPE["seed"], log=None):
    """Train CatFeatures deterministically (one thread); returns the net in eval mode."""
    log = log or (lambda msg: None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a fixed reduction order: the same bytes on every run
    try:
        data, attrs = draw_with_attributes(images, FEATURE_DATA_SEED)
        cls, reg = (torch.from_numpy(t) for t in attribute_targets(attrs))
        x_all = to_float(data)
        torch.manual_seed(seed)
        net = CatFeatures()
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed + 1)
        t0 = time.time()
        for step in range(steps):
            idx = torch.randint(0, images, (batch,), generator=gen)
            x, blur, noise = degrade(x_all[idx], gen)
            out = net(x)
            loss, col = 0, 0
            for j, (_, k) in enumerate(CLASSES):
                loss = loss + nn.functional.cross_entropy(out[:, col:col + k], cls[idx, j])
                col += k
            target = torch.cat([reg[idx], (blur / 1.5)[:, None], (noise / 0.24)[:, None]], 1)
            loss = loss + nn.functional.mse_loss(out[:, col:], target, reduction="sum") / batch
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if (step + 1) % 100 == 0 or step + 1 == steps:
                log("feature net step %d/%d loss %.3f (%.0f s)" % (step + 1, steps, loss.item(), time.time() - t0))
        net = to_half(net).eval()
        with torch.no_grad():
            f = torch.cat([net.raw_features(x_all[i:i + 500]) for i in range(0, images, 500)])
            net.mean.copy_(f.mean(0))
            net.std.copy_(f.std(0).clamp(min=1e-3))
    finally:
        torch.set_num_threads(threads)
    return to_half(net)


def to_half(net):
    """Round weights and statistics to float16 (what the file stores): a trained net equals its file."""
    with torch.no_grad():
        for t in net.state_dict().values():
            t.copy_(t.half().float())
    return net


def save(net, path):
    """gzip(JSON header line + float16 arrays in state_dict order), with no timestamp: same net, same bytes."""
    sd = net.state_dict()
    header = json.dumps({"format": "tinygan-catfeatures-1", "arrays": [[k, list(v.shape)] for k, v in sd.items()]})
    raw = header.encode() + b"\n" + b"".join(v.detach().half().numpy().tobytes() for v in sd.values())
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
        f.write(raw)
    from tinygan.fsutil import write_atomic

    write_atomic(path, buf.getvalue())


def load(path=WEIGHTS):
    """The shipped (or a rebuilt) feature net, eval mode."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
        header, body = raw.split(b"\n", 1)
        meta = json.loads(header)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError("%s: not a catfeatures weight file (%s)" % (path, exc))
    if meta.get("format") != "tinygan-catfeatures-1":
        raise ValueError("%s: unknown format %r" % (path, meta.get("format")))
    net = CatFeatures()
    sd, off = {}, 0
    for name, shape in meta["arrays"]:
        n = int(np.prod(shape)) * 2
        if off + n > len(body):
            raise ValueError("%s: truncated at %s" % (path, name))
        sd[name] = torch.from_numpy(np.frombuffer(body[off:off + n], dtype=np.float16).reshape(shape).astype(np.float32))
        off += n
    if off != len(body):
        raise ValueError("%s: %d trailing bytes" % (path, len(body) - off))
    net.load_state_dict(sd)
    return net.eval()


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m tinygan.catfeatures", description="train the quality figure's feature net")
    p.add_argument("-o", "--output", default=WEIGHTS, help="weight file to write (default: the shipped one)")
    args = p.parse_args(argv)
    net = train_features(log=lambda m: print(m, file=sys.stderr))
    save(net, args.output)
    print("wrote %s sha256 %s" % (args.output, file_sha256(args.output)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
