"""The quality figure: KID, the project's own feature network and its shipped weights."""
import os

import numpy as np
import pytest
import torch

from tinygan import catdata, catfeatures, kid


def _mmd2_loops(x, y):
    """The unbiased MMD^2 written out term by term (the definition, independent of the matrix code)."""
    d = x.shape[1]

    def k(a, b):
        return (np.dot(a, b) / d + 1) ** 3

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_mmd2_matches_the_definition_and_is_unbiased():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 5)), rng.normal(0.5, 1, size=(9, 5))
    assert abs(kid.mmd2_unbiased(x, y) - _mmd2_loops(x, y)) < 1e-9
    # Same distribution: estimates scatter around 0 (unbiased), far below a shifted distribution's.
    same = [kid.mmd2_unbiased(rng.normal(size=(50, 8)), rng.normal(size=(50, 8))) for _ in range(40)]
    shifted = kid.mmd2_unbiased(rng.normal(size=(50, 8)), rng.normal(0.7, 1, size=(50, 8)))
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(len(same))
    assert shifted > 10 * np.std(same)
    with pytest.raises(ValueError):
        kid.mmd2_unbiased(x, y[:, :4])


def test_shipped_feature_weights_load_and_are_the_recipe():
    assert os.path.exists(catfeatures.WEIGHTS), "weights/catfeatures.bin.gz is shipped"
    net = catfeatures.load()
    assert sum(p.numel() for p in net.parameters()) == 167619
    # every weight is float16-representable: the file holds exactly the net that was evaluated
    for p in net.parameters():
        assert torch.equal(p, p.half().float())


def test_feature_training_is_deterministic_and_saves_the_same_bytes(tmp_path):
    a = catfeatures.train_features(images=32, steps=4, batch=8)
    b = catfeatures.train_features(images=32, steps=4, batch=8)
    catfeatures.save(a, tmp_path / "a.gz")
    catfeatures.save(b, tmp_path / "b.gz")
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    again = catfeatures.load(tmp_path / "a.gz")
    x = catfeatures.to_float(catdata.procedural(3, seed=5))
    assert torch.equal(again.features(x), a.features(x))
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="catfeatures"):
        catfeatures.load(tmp_path / "bad.gz")


def test_attributes_do_not_change_the_images():
    attrs = {}
    img = np.asarray(catdata.cat_image(0, 7, attrs))
    assert np.array_equal(img, np.asarray(catdata.cat_image(0, 7)))
    assert set(attrs) >= {name for name, _ in catfeatures.CLASSES} | {"fur_rgb", "background_rgb", "angle"}
    cls, reg = catfeatures.attribute_targets([attrs])
    assert cls.shape == (1, len(catfeatures.CLASSES)) and reg.shape == (1, catfeatures.N_REGRESS - 2)
    assert np.all(np.abs(reg) <= 1.01)


@pytest.fixture(scope="module")
def reference():
    return kid.procedural_features(300, kid.REFERENCE_SEED)


def test_figure_is_near_zero_for_data_larger_for_noise_and_blur(reference):
    floor, err = kid.kid(kid.procedural_features(300, kid.FLOOR_SEED), reference)
    assert abs(floor) < 3 * err + 0.5, (floor, err)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=(300, 64, 64, 3), dtype=np.uint8)
    noisy, _ = kid.kid(kid.features(noise), reference)
    # the data blurred (soft outlines, like an undertrained generator) scores above the floor too
    data = catdata.procedural(300, seed=kid.FLOOR_SEED)
    x = catfeatures.gaussian_blur(catfeatures.to_float(data), torch.full((300,), 1.2))
    blurred = torch.floor(127.5 * (x + 1) + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    soft, _ = kid.kid(kid.features(blurred), reference)
    # Everything here is seeded, so these are fixed numbers (floor -2.1, blur 174 at 300 images):
    # the margins say the figure separates them by far more than its sampling noise.
    assert soft > floor + 100, (soft, floor)
    assert noisy > 10 * soft, (noisy, soft)


def test_figure_is_deterministic(reference):
    from tinygan import testmodels

    net = testmodels.random_generator(ngf=8, seed=0)
    a = kid.kid(kid.features(kid.generator_images(net, 100)), reference[:100])
    b = kid.kid(kid.features(kid.generator_images(net, 100)), reference[:100])
    assert a == b


def test_modelcard_prints_kid_and_floor(tmp_path, capsys):
    # `tinygan modelcard` end to end on a small exported model (a .tgw read by the integer reference).
    from tinygan import cli, export, testmodels

    data, _ = export.export_generator(testmodels.random_generator(ngf=8, seed=0), calib=64, psnr_latents=0)
    (tmp_path / "m.tgw").write_bytes(data)
    assert cli.main(["modelcard", str(tmp_path / "m.tgw"), "--grid", str(tmp_path / "g.png"),
                     "--kid-images", "40", "--data-images", "50"]) == 0
    out = capsys.readouterr().out
    model_line = [ln for ln in out.splitlines() if ln.startswith("KID x1000, 40 cats")]
    floor_line = [ln for ln in out.splitlines() if ln.startswith("KID x1000 floor")]
    assert model_line and floor_line, out
    value = float(model_line[0].split(": ")[1].split()[0])
    floor = float(floor_line[0].split(": ")[1].split()[0])
    assert value > floor + 100  # an untrained generator's cats are nowhere near the data
    assert (tmp_path / "g.png").exists()
