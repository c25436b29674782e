"""The DCGAN generator and discriminator (PyTorch), and checkpoint loading.

The module layout matches PyTorch's examples/dcgan (`netG.main.N.*`), so a checkpoint saved there
with `torch.save(netG.state_dict(), ...)` loads here unchanged.
"""
import torch
from torch import nn

NZ, NGF, NDF, NC = 100, 128, 64, 3


class Generator(nn.Module):
    """Standard DCGAN generator: nz -> 4x4x(8 ngf) -> ... -> 64x64xnc, BN+ReLU between, tanh last."""

    def __init__(self, nz=NZ, ngf=NGF, nc=NC):
        super().__init__()
        self.nz, self.ngf, self.nc = nz, ngf, nc
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.main(z)


class Discriminator(nn.Module):
    """Standard DCGAN discriminator: 64x64xnc -> logit (no sigmoid; train with BCEWithLogits)."""

    def __init__(self, ndf=NDF, nc=NC):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        )

    def forward(self, x):
        return self.main(x).view(-1)


def weights_init(m):
    """The DCGAN paper's init: conv N(0, 0.02), BN gamma N(1, 0.02), beta 0."""
    name = m.__class__.__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def generator_state_dict(obj, raw=False):
    """Extract a generator state_dict from what torch.load returned.

    Accepts a bare state_dict (PyTorch examples/dcgan: keys `main.N.*`, possibly with a
    `module.` prefix from DataParallel) or the project's training checkpoints (dict with `netG`
    and, since training keeps one, `netG_ema`). A checkpoint's moving-average generator is the one
    taken unless `raw` (it is the one trained for export; docs/training.md "EMA").
    """
    if isinstance(obj, dict) and "netG_ema" in obj and not raw:
        obj = obj["netG_ema"]
    elif isinstance(obj, dict) and "netG" in obj:
        obj = obj["netG"]
    if not isinstance(obj, dict) or not any(k.startswith(("main.", "module.main.")) for k in obj):
        raise ValueError("not a DCGAN generator checkpoint (expected keys 'main.N.*' or a 'netG' entry)")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in obj.items()}


def load_generator(path, map_location="cpu", raw=False):
    """Load a Generator from a checkpoint file; nz/ngf/nc are inferred from the weight shapes.

    A training checkpoint gives its EMA generator, or with `raw` the trained weights themselves.
    """
    obj = torch.load(path, map_location=map_location, weights_only=True)
    sd = generator_state_dict(obj, raw=raw)
    w0 = sd["main.0.weight"]  # [nz, 8*ngf, 4, 4]
    w_last = sd["main.12.weight"]  # [ngf, nc, 4, 4]
    net = Generator(nz=w0.shape[0], ngf=w0.shape[1] // 8, nc=w_last.shape[1])
    net.load_state_dict(sd)
    return net.eval()
