"""Generators with DCGAN-style random weights, for tests and benchmarks without a trained model.

Conv weights N(0, 0.02) and BN gamma N(1, 0.02) as in the DCGAN paper's init, plus random BN
beta and running statistics measured on random latents, so that folding is actually exercised.
"""
import torch

from tinygan.model import Generator, weights_init


def random_generator(nz=100, ngf=128, nc=3, seed=0):
    torch.manual_seed(seed)
    net = Generator(nz=nz, ngf=ngf, nc=nc)
    net.apply(weights_init)
    g = torch.Generator().manual_seed(seed + 1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.bias.data = 0.1 * torch.randn(m.num_features, generator=g)
            m.momentum = None  # cumulative average over the batches below
    # Running statistics measured on real forward passes, as a trained net's BN layers have them.
    net.train()
    with torch.no_grad():
        for _ in range(2):
            net(torch.randn(32, nz, generator=g))
    return net.eval()
