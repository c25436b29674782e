"""The full-size 12.6M-parameter model: export, read back, reference, PSNR; CLI on checkpoints."""
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from tinygan import reference, testmodels, tgw
from tinygan.model import NZ

pytestmark = pytest.mark.slow


def test_full_model_export_report(full_model_path, full_model_report):
    r = full_model_report
    print("full-size export: %.1f s, PSNR %.2f dB over %d latents, %d pixel levels"
          % (r["export_s"], r["psnr_db"], r["psnr_latents"], r["pixel_levels"]))
    assert r["weights"] == 12_654_592
    assert r["psnr_db"] >= 30.0
    t = time.perf_counter()
    model = tgw.read_tgw(full_model_path)
    print("read + validate all chunks: %.2f s" % (time.perf_counter() - t))
    assert model.macs() == 354_420_224
    assert max(layer.chunk_bytes for layer in model.layers) <= 16384


def test_full_model_reference_time_and_variety(full_model_path, entropy_blocks):
    model = tgw.read_tgw(full_model_path)
    from tinygan.device import latent
    zs = [np.frombuffer(latent.latent_from_bytes(b), dtype=np.int8) for b in entropy_blocks(2)]
    t = time.perf_counter()
    imgs = [reference.reference_image(model, z) for z in zs]
    print("reference: %.2f s per image" % ((time.perf_counter() - t) / len(zs)))
    assert not np.array_equal(imgs[0], imgs[1])


@pytest.mark.parametrize("style", ["examples_dcgan", "training_checkpoint"])
def test_export_cli_accepts_both_checkpoint_styles(tmp_path, style):
    net = testmodels.random_generator(nz=NZ, ngf=8, seed=4)
    ckpt = tmp_path / "netG.pth"
    if style == "examples_dcgan":
        torch.save(net.state_dict(), ckpt)      # what PyTorch's examples/dcgan saves
    else:
        torch.save({"netG": net.state_dict(), "step": 10}, ckpt)
    out = tmp_path / "m.tgw"
    r = subprocess.run([sys.executable, "-m", "tinygan", "export", str(ckpt), "-o", str(out), "--calib", "128",
                        "--psnr-latents", "4"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "PSNR" in r.stdout and "layer" in r.stdout
    model = tgw.read_tgw(str(out))
    assert model.latent_dim == NZ and len(model.layers) == 5
    r = subprocess.run([sys.executable, "-m", "tinygan", "inspect", str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and "OK" in r.stdout


def test_export_cli_rejects_a_non_checkpoint(tmp_path):
    bad = tmp_path / "x.pth"
    torch.save({"foo": torch.zeros(3)}, bad)
    out = tmp_path / "m.tgw"
    r = subprocess.run([sys.executable, "-m", "tinygan", "export", str(bad), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "not a DCGAN generator checkpoint" in r.stderr
    assert not out.exists()
