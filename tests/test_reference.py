"""The PyTorch integer reference vs independent plain-loop integer implementations."""
import subprocess
import sys

import numpy as np
import pytest

from tinygan import quant, reference, tgw


def scatter_conv_transpose(x, w, stride, pad, bias):
    """Textbook ConvTranspose2d with Python ints: every input pixel scatters its 4x4 kernel."""
    cin, h, wd = x.shape
    cout = w.shape[1]
    oh, ow = (h - 1) * stride - 2 * pad + 4, (wd - 1) * stride - 2 * pad + 4
    out = [[[int(bias[co])] * ow for _ in range(oh)] for co in range(cout)]
    for ci in range(cin):
        for iy in range(h):
            for ix in range(wd):
                v = int(x[ci, iy, ix])
                if not v:
                    continue
                for co in range(cout):
                    for ky in range(4):
                        oy = iy * stride - pad + ky
                        if not 0 <= oy < oh:
                            continue
                        for kx in range(4):
                            ox = ix * stride - pad + kx
                            if 0 <= ox < ow:
                                out[co][oy][ox] += v * int(w[ci, co, ky, kx])
    return np.array(out, dtype=np.int64)


def _layer(kind, cin, cout, h, rng, cg=1, cp=1):
    w = rng.integers(-127, 128, size=(cin, cout, 4, 4)).astype(np.int8)
    return tgw.Layer(kind=kind, act=tgw.ACT_REQUANT, cin=cin, cout=cout, in_h=h, in_w=h,
                     chunk_groups=cg, chunk_phases=cp, bias=rng.integers(-5000, 5000, size=cout),
                     packed=tgw.pack_weights(w, kind, cg, cp)), w


@pytest.mark.parametrize("kind,cin,cout,h,cg,cp", [
    (tgw.KIND_K4S2P1, 7, 5, 3, 2, 2),     # k4 s2 p1, odd sizes, padded channel group
    (tgw.KIND_K4S2P1, 4, 8, 4, 1, 4),
    (tgw.KIND_K4S2P1, 3, 4, 1, 1, 1),     # 1x1 input: every output is a border pixel
    (tgw.KIND_K4S1P0, 9, 6, 1, 1, 16),    # the first layer: 1x1 -> 4x4
    (tgw.KIND_K4S1P0, 2, 12, 1, 3, 2),
])
def test_layer_accumulators_equal_plain_scatter(kind, cin, cout, h, cg, cp):
    rng = np.random.default_rng(cin * 100 + cout)
    layer, w = _layer(kind, cin, cout, h, rng, cg, cp)
    for trial in range(3):
        x = rng.integers(0, 256, size=(cin, h, h))            # input minus zero point: 0..255
        if trial == 2:
            x[:] = 255                                          # the extreme accumulators
        got = reference.layer_accumulators(layer, x[None])[0]
        stride, pad = (1, 0) if kind == tgw.KIND_K4S1P0 else (2, 1)
        want = scatter_conv_transpose(x, w, stride, pad, layer.bias)
        assert np.array_equal(got, want)


def plain_model(model, latent):
    """The whole model with plain loops, scalar gemmlowp and a linear threshold scan."""
    x = np.asarray(latent, dtype=np.int64).reshape(-1, 1, 1)
    for layer in model.layers:
        stride, pad = (1, 0) if layer.kind == tgw.KIND_K4S1P0 else (2, 1)
        acc = scatter_conv_transpose(x, layer.weights_torch(), stride, pad, layer.bias)
        if layer.is_threshold:
            img = np.zeros(acc.shape, dtype=np.uint8)
            for c, y, xx in np.ndindex(*acc.shape):
                img[c, y, xx] = sum(1 for t in layer.thresholds[c] if acc[c, y, xx] >= t)
            return img.transpose(1, 2, 0)
        q = np.zeros(acc.shape, dtype=np.int64)
        for c, y, xx in np.ndindex(*acc.shape):
            v = quant.mbqm(int(acc[c, y, xx]), int(layer.mult[c]), int(layer.shift[c])) + layer.out_zp
            q[c, y, xx] = min(127, max(-128, v))
        x = q - layer.out_zp


def test_whole_tiny_model_equals_plain_implementation(tiny_model_bytes):
    model = tgw.read_tgw(tiny_model_bytes)
    rng = np.random.default_rng(5)
    for _ in range(2):
        z = rng.integers(-127, 128, size=model.latent_dim).astype(np.int8)
        got = reference.reference_image(model, z)
        assert got.shape == (64, 64, 3) and got.dtype == np.uint8
        assert np.array_equal(got, plain_model(model, z))


def test_threshold_stage_matches_the_pixel_definition():
    from tinygan.export import output_thresholds, pixel_of

    for scale in (1e-4, 3.3e-3, 0.05):
        th = output_thresholds(scale)
        assert np.all(np.diff(th) >= 0)
        acc = np.arange(int(th[0]) - 50, int(th[-1]) + 50, max(1, int((th[-1] - th[0]) // 20000)))
        acc = np.concatenate([acc, th, th - 1])
        got = reference.threshold_pixels(acc.reshape(1, 1, 1, -1), th[None]).reshape(-1)
        assert np.array_equal(got, np.clip(pixel_of(acc, scale), 0, 255))


def test_reference_cli_writes_png(tmp_path, tiny_model_bytes):
    from PIL import Image

    model_path = tmp_path / "m.tgw"
    model_path.write_bytes(tiny_model_bytes)
    ent = tmp_path / "pool.bin"
    ent.write_bytes(bytes(range(200)) * 2)
    out = tmp_path / "cat.png"
    r = subprocess.run([sys.executable, "-m", "tinygan", "reference", str(model_path), "--entropy", str(ent),
                        "-o", str(out), "--upscale", "4"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    img = np.asarray(Image.open(out))
    model = tgw.read_tgw(tiny_model_bytes)
    z = reference.latent_from_entropy_file(str(ent), model)
    assert np.array_equal(img, reference.reference_image(model, z))
    assert Image.open(tmp_path / "cat.x4.png").size == (256, 256)


def test_reference_cli_rejects_short_entropy(tmp_path, tiny_model_bytes):
    model_path = tmp_path / "m.tgw"
    model_path.write_bytes(tiny_model_bytes)
    ent = tmp_path / "short.bin"
    ent.write_bytes(bytes(10))
    r = subprocess.run([sys.executable, "-m", "tinygan", "reference", str(model_path), "--entropy", str(ent),
                        "-o", str(tmp_path / "x.png")], capture_output=True, text=True)
    assert r.returncode == 2 and "latent needs" in r.stderr
    assert not (tmp_path / "x.png").exists()
