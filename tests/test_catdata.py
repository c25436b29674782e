"""The procedural cat-face data set and the image-folder loader."""
import numpy as np
import pytest
from PIL import Image

from tinygan import catdata


def test_deterministic_in_seed_and_index():
    a = np.asarray(catdata.cat_image(0, 5))
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, np.asarray(catdata.cat_image(0, 5)))
    assert not np.array_equal(a, np.asarray(catdata.cat_image(0, 6)))
    assert not np.array_equal(a, np.asarray(catdata.cat_image(1, 5)))


def test_slices_and_workers_agree():
    # Image i depends only on (seed, i): a slice equals the same images drawn alone, and
    # drawing in worker processes gives the same bytes as drawing in this one.
    whole = catdata.procedural(520, seed=3, workers=2)
    assert whole.shape == (520, 64, 64, 3)
    assert np.array_equal(whole[500:], catdata.procedural(20, seed=3, start=500))


def test_faces_are_structured_and_varied():
    data = catdata.procedural(200, seed=0).astype(np.float64)
    mean = data.mean(axis=0)
    # Faces are centred and symmetric, backgrounds random: the average image is left-right symmetric...
    asym = np.abs(mean - mean[:, ::-1]).mean()
    assert asym < 6, asym
    # ...and the dark pupils sit in the upper-middle band on both sides of the centre line.
    lum = data.mean(axis=3)
    eye_band = lum[:, 24:36, 14:50]
    assert (eye_band.min(axis=(1, 2)) < 40).mean() > 0.95
    # Variety: the typical distance between two images is large (no two cats alike).
    flat = data.reshape(len(data), -1)
    d = np.abs(flat[:100] - flat[100:]).mean(axis=1)
    assert d.min() > 10 and d.mean() > 40, (d.min(), d.mean())


def test_load_folder_centre_crops(tmp_path):
    # 120x60: left 30 columns red, centre 60 green, right 30 blue -> the centred square is all green.
    a = np.zeros((60, 120, 3), np.uint8)
    a[:, :30] = (255, 0, 0)
    a[:, 30:90] = (0, 255, 0)
    a[:, 90:] = (0, 0, 255)
    (tmp_path / "sub").mkdir()
    Image.fromarray(a).save(tmp_path / "sub" / "wide.png")
    Image.new("L", (200, 300), 128).save(tmp_path / "grey.jpg")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("ignored")
    out = catdata.load_folder(str(tmp_path))
    assert out.shape == (2, 64, 64, 3) and out.dtype == np.uint8
    grey, wide = out  # sorted path order: grey.jpg < sub/wide.png
    assert np.abs(grey.astype(int) - 128).max() <= 2
    assert (wide[..., 1] > 250).all() and (wide[..., [0, 2]] < 5).all()


def test_load_folder_without_images(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="no readable images"):
        catdata.load_folder(str(tmp_path))


def test_grid_layout():
    imgs = np.zeros((10, 64, 64, 3), np.uint8)
    sheet = catdata.grid(imgs, cols=4, pad=2)
    assert sheet.size == (4 * 66 + 2, 3 * 66 + 2)
