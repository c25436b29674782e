"""The engine's RAM: the arena plan (tg_plan.c) against its Python mirror (tinygan.arena), the
exporter's chunk policy, and `tinygan rechunk` (same bytes out with any chunking)."""
import os

import numpy as np
import pytest

import tinygan
from tinygan import arena, export, rechunk, reference, tgw

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(REPO, "weights", "default.tgw")
GOAL = 160 * 1024  # issue 3: activations + both chunk buffers + scratch <= 160 KB


def _rechunked(model, max_bytes, tmp_path):
    path = tmp_path / ("rechunk-%d.tgw" % max_bytes)
    path.write_bytes(tgw.write_tgw(rechunk.rechunk(model, max_bytes)))
    return str(path)


@pytest.mark.parametrize("max_bytes", [512, 4096, 16384, 65536])
def test_python_arena_equals_engine_and_output_is_unchanged(small_model_path, tmp_path, max_bytes, entropy_blocks):
    original = tgw.read_tgw(small_model_path)
    path = _rechunked(original, max_bytes, tmp_path)
    model = tgw.read_tgw(path)
    engine = tinygan.Model(path)
    assert engine.arena_size == arena.arena_size(model.layers)
    assert max(l.chunk_bytes for l in model.layers) <= max(max_bytes, max(
        l.cin * l.taps * tgw.GROUP for l in model.layers))  # one slab is the floor
    base = tinygan.Model(small_model_path)
    for block in entropy_blocks(2):
        z = bytes(np.frombuffer(block[:100], dtype=np.int8).clip(-127, 127).astype(np.int8).tobytes())
        assert engine.generate(z) == base.generate(z)


def test_tiny_and_single_layer_arenas(tiny_model_bytes, tmp_path):
    path = tmp_path / "tiny.tgw"
    path.write_bytes(tiny_model_bytes)
    model = tgw.read_tgw(str(path))
    assert tinygan.Model(str(path)).arena_size == arena.arena_size(model.layers)
    # a one-layer model has nothing to fuse: its only step writes the image directly
    layer = model.layers[0]
    single = tgw.Layer(kind=layer.kind, act=tgw.ACT_THRESHOLD, cin=layer.cin, cout=3, in_h=1, in_w=1, out_h=4, out_w=4,
                       in_zp=0, out_zp=0, chunk_groups=1, chunk_phases=4, in_scale=layer.in_scale,
                       bias=np.zeros(3, np.int64), thresholds=np.tile(np.arange(255, dtype=np.int64) - 127, (3, 1)),
                       packed=tgw.pack_weights(layer.weights_torch()[:, :3], layer.kind, 1, 4))
    one = tgw.TgwModel([single], model.latent_dim, model.latent_inv_scale, 4, 4, 3)
    p1 = tmp_path / "one.tgw"
    p1.write_bytes(tgw.write_tgw(one))
    m1 = tinygan.Model(str(p1))
    assert not arena.fuses_last(one.layers) and m1.arena_size == arena.arena_size(one.layers)
    z = bytes(range(layer.cin))
    want = reference.reference_image(tgw.read_tgw(str(p1)), np.frombuffer(z, np.int8))
    assert bytes(m1.generate(z, out=bytearray(48))) == want.tobytes()


def test_default_model_meets_the_ram_goal():
    model = tgw.read_tgw(DEFAULT, check_chunks=False)
    size = tinygan.Model(DEFAULT).arena_size
    print("default model arena: %d bytes (%.1f KiB), steps %s" % (size, size / 1024, arena.step_sizes(model.layers)))
    assert size == arena.arena_size(model.layers)
    assert size <= GOAL, "arena %d bytes > 160 KiB goal: rechunk weights/default.tgw?" % size


def test_chunk_policy_never_raises_the_peak(full_model_path):
    model = tgw.read_tgw(full_model_path, check_chunks=False)
    shapes = [arena.shape_of(layer) for layer in model.layers]
    chosen = export.choose_chunkings(shapes, 16384)
    smallest = [s._replace(chunk_groups=1, chunk_phases=1) for s in shapes]
    smallest[-1] = smallest[-1]._replace(chunk_groups=chosen[-1][0], chunk_phases=chosen[-1][1])
    picked = [s._replace(chunk_groups=cg, chunk_phases=cp) for s, (cg, cp) in zip(shapes, chosen)]
    assert arena.arena_size(picked) == arena.arena_size(smallest)
    assert arena.arena_size(picked) == tinygan.Model(full_model_path).arena_size
    # and it still takes big chunks where RAM allows: layer 1 reads 16 KiB at a time
    assert picked[1].chunk_groups * picked[1].chunk_phases * shapes[1].cin * 16 == 16384
