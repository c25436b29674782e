"""The .tgw format: round trip, packing, and rejection of every corruption and truncation."""
import struct

import numpy as np
import pytest

from tinygan import tgw
from tinygan.tgw import TgwError


def test_round_trip_preserves_everything(tiny_model_bytes):
    m = tgw.read_tgw(tiny_model_bytes)
    again = tgw.write_tgw(m)
    assert again == tiny_model_bytes
    m2 = tgw.read_tgw(again)
    for a, b in zip(m.layers, m2.layers):
        for f in tgw.Layer.FIELDS:
            assert getattr(a, f) == getattr(b, f), f
        assert np.array_equal(a.packed, b.packed)
        assert np.array_equal(a.bias, b.bias)


def test_layout_is_sector_aligned_and_contiguous(tiny_model_bytes):
    m = tgw.read_tgw(tiny_model_bytes)
    assert len(tiny_model_bytes) % tgw.SECTOR == 0
    end = tgw.HEADER_SIZE
    for layer in m.layers:
        assert layer.param_offset == end and layer.param_offset % 512 == 0
        assert layer.chunk_offset % 512 == 0 and layer.chunk_stride % 512 == 0
        end = layer.chunk_offset + layer.n_chunks * layer.chunk_stride
    assert end == len(tiny_model_bytes)
    assert sum(layer.n_chunks for layer in m.layers) > len(m.layers)  # several chunks per layer


@pytest.mark.parametrize("kind,cin,cout,cg,cp", [
    (tgw.KIND_K4S1P0, 5, 8, 1, 16), (tgw.KIND_K4S1P0, 3, 12, 3, 4),
    (tgw.KIND_K4S2P1, 6, 3, 1, 1), (tgw.KIND_K4S2P1, 4, 16, 2, 2)])
def test_pack_unpack_inverse_and_order(kind, cin, cout, cg, cp):
    rng = np.random.default_rng(cin * cout)
    w = rng.integers(-127, 128, size=(cin, cout, 4, 4)).astype(np.int8)
    packed = tgw.pack_weights(w, kind, cg, cp)
    assert np.array_equal(tgw.unpack_weights(packed, kind, cin, cout, cg, cp), w)
    # spot-check the documented order element by element
    phases, taps = tgw.KIND_PHASES_TAPS[kind]
    ngroups = (cout + 3) // 4
    pos = 0
    for gblk in range(ngroups // cg):
        for pblk in range(phases // cp):
            for g in range(gblk * cg, (gblk + 1) * cg):
                for ph in range(pblk * cp, (pblk + 1) * cp):
                    for ci in range(cin):
                        for t in range(taps):
                            ky, kx = tgw.tap_kernel_index(kind, ph, t)
                            for j in range(4):
                                co = 4 * g + j
                                want = w[ci, co, ky, kx] if co < cout else 0
                                assert packed[pos] == want
                                pos += 1
    assert pos == packed.size


def test_stride2_taps_solve_the_transposed_convolution():
    # oy = 2*iy - 1 + ky for every (parity, tap): the gather tables are the scatter solved for iy.
    for p in (0, 1):
        for t in (0, 1):
            for m in range(4):
                oy = 2 * m + p
                iy = m + tgw.D_TAP[p][t]
                assert oy == 2 * iy - 1 + tgw.K_TAP[p][t]


def test_every_single_byte_corruption_is_rejected(tiny_model_bytes):
    data = tiny_model_bytes
    messages = set()
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0xA5
        with pytest.raises(TgwError) as exc:
            tgw.read_tgw(bytes(bad))
        messages.add(str(exc.value).split(":")[0])
    # the messages name where the damage is: the header, and each layer's parameters and chunks
    m = tgw.read_tgw(data)
    assert "header_crc" in messages or "magic" in messages
    for i, layer in enumerate(m.layers):
        assert "layer %d params" % i in messages
        for c in range(layer.n_chunks):
            assert "layer %d chunk %d" % (i, c) in messages


def test_every_truncation_is_rejected(tiny_model_bytes):
    for n in range(len(tiny_model_bytes)):
        with pytest.raises(TgwError, match="truncated"):
            tgw.read_tgw(tiny_model_bytes[:n])


def test_trailing_bytes_and_foreign_files_are_rejected(tiny_model_bytes):
    with pytest.raises(TgwError, match="trailing bytes"):
        tgw.read_tgw(tiny_model_bytes + b"\0")
    with pytest.raises(TgwError, match="magic"):
        tgw.read_tgw(b"\x89PNG\r\n\x1a\n" + bytes(600))


def _resealed(data, mutate):
    """Apply `mutate` to the header and recompute its CRC: tests the checks behind the CRC."""
    h = bytearray(data[:512])
    mutate(h)
    struct.pack_into("<I", h, 508, tgw.crc32(bytes(h[:508])))
    return bytes(h) + data[512:]


@pytest.mark.parametrize("offset,fmt,value,message", [
    (8, "<H", 2, "version"),
    (16, "<H", 7, "n_layers"),
    (28, "<I", 1, "flags"),
    (64 + 0, "<B", 9, "layer 0: kind"),
    (64 + 2, "<H", 99, "layer 0: cin"),
    (64 + 64 + 2, "<H", 5, "layer 1: cin"),
    (64 + 16, "<H", 8, "layer 0: group"),
    (64 + 22, "<H", 3, "layer 0: chunk_groups"),
    (64 + 28, "<I", 1024, "layer 0: param_offset"),
])
def test_fields_behind_a_valid_crc_are_checked(tiny_model_bytes, offset, fmt, value, message):
    bad = _resealed(tiny_model_bytes, lambda h: struct.pack_into(fmt, h, offset, value))
    with pytest.raises(TgwError, match=message):
        tgw.read_tgw(bad)


def test_param_checks_behind_a_valid_crc(tiny_model_bytes):
    m = tgw.read_tgw(tiny_model_bytes)
    m.layers[0].shift = m.layers[0].shift.copy()
    m.layers[0].shift[1] = 40
    with pytest.raises(TgwError, match=r"layer 0 params: shift\[1\]"):
        tgw.read_tgw(tgw.write_tgw(m))
    m = tgw.read_tgw(tiny_model_bytes)
    th = m.layers[-1].thresholds.copy()
    th[2, 10], th[2, 11] = 5, 4
    m.layers[-1].thresholds = th
    with pytest.raises(TgwError, match="thresholds of channel 2 decrease"):
        tgw.read_tgw(tgw.write_tgw(m))
