"""Issue 15: every documented rule of the weight file is checked by both readers with the same message.

Each crafted file below breaks exactly one rule of docs/weight-format.md and carries valid CRCs (the
test re-seals the header, parameter-block and chunk CRCs itself, from the documented layout, not
through the writer). The Python reader, the C engine (at open, in verify() and in generate()) and
the `tinygan generate` / `tinygan reference` commands must all refuse it, with one message, and no
image may be written.
"""
import io
import math
import os
import struct
import zlib

import numpy as np
import pytest

import tinygan
from tinygan import cli, export, testmodels, tgw
from tinygan.device import latent

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------- re-sealing

def _descriptors(data):
    """(n_layers, [dict of the layout fields]) straight from the header bytes (docs offsets)."""
    n = struct.unpack_from("<H", data, 16)[0]
    out = []
    for i in range(n):
        d = 64 + 64 * i
        act, cout = data[d + 1], struct.unpack_from("<H", data, d + 4)[0]
        n_chunks = struct.unpack_from("<H", data, d + 26)[0]
        param_offset, param_size, chunk_offset, chunk_bytes, chunk_stride = struct.unpack_from("<5I", data, d + 28)
        out.append(dict(act=act, cout=cout, n_chunks=n_chunks, param_offset=param_offset, param_size=param_size,
                        chunk_offset=chunk_offset, chunk_stride=chunk_stride))
    return out


def reseal(data):
    """Recompute every chunk CRC (stored in the parameter block), every param_crc and the header CRC."""
    b = bytearray(data)
    for d in _descriptors(b):
        per_channel = 256 if d["act"] == 2 else 3
        crc_at = d["param_offset"] + 4 * d["cout"] * per_channel
        for c in range(d["n_chunks"]):
            off = d["chunk_offset"] + c * d["chunk_stride"]
            struct.pack_into("<I", b, crc_at + 4 * c, zlib.crc32(bytes(b[off:off + d["chunk_stride"]])))
        end = d["param_offset"] + d["param_size"] - 4
        struct.pack_into("<I", b, end, zlib.crc32(bytes(b[d["param_offset"]:end])))
    struct.pack_into("<I", b, 508, zlib.crc32(bytes(b[:508])))
    return bytes(b)


def patched(data, offset, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return reseal(b)


def param_offset_of(data, layer, index):
    """File offset of int32 number `index` of a layer's parameter block."""
    return _descriptors(data)[layer]["param_offset"] + 4 * index


# ----------------------------------------------------------------------------- the verdicts

def python_message(data):
    with pytest.raises(tgw.TgwError) as exc:
        tgw.read_tgw(data)
    return str(exc.value)


def c_messages(data):
    """The C engine's messages: at open, else from verify() and from generate() (both must refuse)."""
    try:
        m = tinygan.Model(io.BytesIO(data))
    except tinygan.EngineError as exc:
        return [str(exc)]
    out = []
    for call in (m.verify, lambda: m.generate(bytes(m.latent_dim))):
        with pytest.raises(tinygan.EngineError) as exc:
            call()
        out.append(str(exc.value))
    return out


def run_cli(capsys, *argv):
    rc = cli.main(list(argv))
    return rc, capsys.readouterr().err


def assert_refused_everywhere(data, want, tmp_path, capsys):
    """Python reader, C engine and both commands refuse `data` with the message `want`; no PNG."""
    assert python_message(data) == want
    assert c_messages(data) and all(msg == want for msg in c_messages(data)), c_messages(data)
    path = tmp_path / "bad.tgw"
    path.write_bytes(data)
    ent = tmp_path / "e.bin"
    ent.write_bytes(bytes(range(256)) * 4)
    for command in ("generate", "reference"):
        out = tmp_path / ("%s.png" % command)
        rc, err = run_cli(capsys, command, str(path), "--entropy", str(ent), "-o", str(out), "--upscale", "2")
        assert rc == 2 and want in err, (command, err)
    assert sorted(os.listdir(tmp_path)) == ["bad.tgw", "e.bin"]  # no image, no temporary file


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny model (nz=8, ngf=4: layers 8->32->16->8->4->3, 512-byte chunks)."""
    data, _ = export.export_generator(testmodels.random_generator(nz=8, ngf=4, seed=3), calib=64, chunk_bytes=512,
                                      psnr_latents=0, name="tiny")
    return data


def test_the_tiny_model_is_accepted_as_is(tiny):
    assert reseal(tiny) == tiny  # re-sealing an intact file changes nothing
    tgw.read_tgw(tiny)
    m = tinygan.Model(io.BytesIO(tiny))
    m.verify()
    m.generate(bytes(8))


# ----------------------------------------------------------------------------- case 3: int32 overflow

def test_last_layer_bias_near_int32_max_is_refused(tiny, tmp_path, capsys):
    # the file: the RGB layer's bias at 2^31 - 101 (C wrapped, the reference did not)
    bad = patched(tiny, param_offset_of(tiny, 4, 1), "<i", INT32_MAX - 100)
    assert_refused_everywhere(bad, "layer 4 channel 1: accumulator can overflow int32 "
                                   "(bias 2147483547, weights x inputs 0..255)", tmp_path, capsys)


def test_first_layer_bias_near_int32_min_is_refused(tiny, tmp_path, capsys):
    bad = patched(tiny, param_offset_of(tiny, 0, 5), "<i", INT32_MIN + 7)
    assert_refused_everywhere(bad, "layer 0 channel 5: accumulator can overflow int32 "
                                   "(bias -2147483641, weights x inputs -128..127)", tmp_path, capsys)


def test_requant_shift_plus_30_is_refused(tiny, tmp_path, capsys):
    cout = _descriptors(tiny)[2]["cout"]
    bad = patched(tiny, param_offset_of(tiny, 2, 2 * cout + 3), "<i", 30)
    assert_refused_everywhere(bad, "layer 2 channel 3: shift 30 makes acc << shift overflow int32", tmp_path, capsys)


# ----------------------------------------------------------------------------- case 4: documented fields

def _desc(i, field_offset):
    return 64 + 64 * i + field_offset


@pytest.mark.parametrize("offset,fmt,value,want", [
    (_desc(4, 52), "<f", 0.25, "layer 4: out_scale must be 0 (threshold layer)"),
    (_desc(2, 52), "<f", 0.0, "layer 2: out_scale must be finite and > 0 (requant layer)"),
    (_desc(0, 48), "<f", float("nan"), "layer 0: in_scale must be finite and > 0"),
    (_desc(3, 48), "<f", float("inf"), "layer 3: in_scale must be finite and > 0"),
    (_desc(1, 48), "<f", -1.0, "layer 1: in_scale must be finite and > 0"),
    (_desc(1, 48), "<f", 0.5, "layer 1: in_scale differs from layer 0 out_scale"),
    (20, "<H", 0, "latent_inv_scale: 0 (must be 1..65535)"),
    (26, "<H", 1, "out_c: 1 (the image is RGB: 3)"),
    (32, "4s", b"\xff\xfeab", "name: not valid UTF-8"),
    (32, "3s", b"\xed\xa0\x80", "name: not valid UTF-8"),          # an encoded surrogate
    (32, "2s", b"\xc0\xaf", "name: not valid UTF-8"),              # an overlong '/'
    (32 + 31, "B", 0xC3, "name: not valid UTF-8"),                 # a character cut at the end
    (32 + 20, "B", ord("x"), "name: bytes after the terminating NUL must be zero"),
    (_desc(0, 0), "B", 2, "layer 0: kind must be convt_k4s1p0 (the first layer takes the 1x1 latent)"),
])
def test_documented_header_fields_are_checked(tiny, tmp_path, capsys, offset, fmt, value, want):
    if offset == 32 + 31:  # a name filling all 32 bytes whose last character is cut
        b = bytearray(tiny)
        b[32:64] = b"n" * 31 + b"\xc3"
        bad = reseal(b)
    else:
        bad = patched(tiny, offset, fmt, value)
    assert_refused_everywhere(bad, want, tmp_path, capsys)


def test_padding_channel_weights_must_be_zero(tiny, tmp_path, capsys):
    d = _descriptors(tiny)[4]                     # cout 3: lane 3 of the only group is padding
    b = bytearray(tiny)
    b[d["chunk_offset"] + 4 * 5 + 3] = 1          # (ci 0, tap 1, lane 3) of chunk 0
    assert_refused_everywhere(reseal(b), "layer 4 chunk 0: weights of padding channel 3 not zero", tmp_path, capsys)


def test_chunk_padding_must_be_zero(tiny, tmp_path, capsys):
    d = _descriptors(tiny)[4]
    m = tgw.read_tgw(tiny)
    assert m.layers[4].chunk_bytes < d["chunk_stride"]
    b = bytearray(tiny)
    b[d["chunk_offset"] + m.layers[4].chunk_bytes + 7] = 0x40
    assert_refused_everywhere(reseal(b), "layer 4 chunk 0: padding not zero", tmp_path, capsys)


# ----------------------------------------------------------------------------- odd latent sizes

ODD = "latent_dim: 7 is odd (the latent is made of Box-Muller pairs, so latent_dim must be even)"


def _odd_latent_file(tiny):
    """The tiny model with its first layer's 8th input channel dropped: nz = 7, everything else valid."""
    m = tgw.read_tgw(tiny)
    first = m.layers[0]
    w = first.weights_torch()[:7]
    first.cin, first.packed = 7, tgw.pack_weights(w, first.kind, first.chunk_groups, first.chunk_phases)
    m.latent_dim = 7
    return tgw.write_tgw(m)


def test_odd_latent_is_refused_by_every_tool_with_one_message(tiny, tmp_path, capsys):
    assert_refused_everywhere(_odd_latent_file(tiny), ODD, tmp_path, capsys)
    with pytest.raises(ValueError) as exc:
        latent.latent_from_bytes(bytes(14), 32, 7)
    assert str(exc.value) == ODD
    with pytest.raises(ValueError) as exc:
        export.export_generator(testmodels.random_generator(nz=7, ngf=4, seed=1), calib=8, psnr_latents=0)
    assert str(exc.value) == ODD


def test_export_cli_refuses_odd_latent_and_writes_nothing(tmp_path, capsys):
    import torch

    ckpt = tmp_path / "g.pt"
    torch.save(testmodels.random_generator(nz=37, ngf=4, seed=1).state_dict(), str(ckpt))
    out = tmp_path / "m.tgw"
    rc, err = run_cli(capsys, "export", str(ckpt), "-o", str(out), "--calib", "8", "--psnr-latents", "0")
    assert rc == 2 and ODD.replace("7", "37", 1) in err
    assert not out.exists()


# ----------------------------------------------------------------------------- the exporter

def test_exporter_refuses_a_model_whose_accumulator_can_overflow(tmp_path):
    import torch

    net = testmodels.random_generator(nz=8, ngf=4, seed=3)
    conv = net.main[-2]                        # the RGB ConvTranspose2d (before Tanh)
    conv.weight.data[:, 1] = 0.0
    conv.weight.data[0, 1, 1, 1] = 1e-6        # a tiny weight: huge w_scale ratio ...
    conv.weight.data[1, 1, 1, 1] = -1e-6
    conv.bias = torch.nn.Parameter(torch.zeros(3))
    conv.bias.data[1] = 10.0                   # ... so the bias in accumulator units is >= 2^31
    with pytest.raises(ValueError, match="export: layer 4 channel 1: accumulator can overflow int32"):
        export.export_generator(net, calib=16, psnr_latents=0)


def test_writer_cuts_names_at_a_character_boundary_and_refuses_nul(tiny):
    m = tgw.read_tgw(tiny)
    m.name = "k\u00e4tzchen-" * 4                 # 11 bytes a copy: byte 32 falls inside a character
    again = tgw.read_tgw(tgw.write_tgw(m))
    assert again.name == ("k\u00e4tzchen-" * 4).encode()[:31].decode()
    assert tinygan.Model(io.BytesIO(tgw.write_tgw(m))).name == again.name
    m.name = "a\0b"
    with pytest.raises(ValueError, match="NUL"):
        tgw.write_tgw(m)


def test_default_model_passes_every_new_rule():
    path = os.path.join(REPO, "weights", "default.tgw")
    if not os.path.exists(path):
        pytest.skip("weights/default.tgw is not in this checkout")
    model = tgw.read_tgw(path)
    for i, layer in enumerate(model.layers):
        assert tgw.layer_weight_problem(layer, i) is None
    tinygan.Model(path).verify()
    assert math.isclose(model.layers[0].in_scale, 1 / model.latent_inv_scale)


# ----------------------------------------------------------------------------- the latent from its doc

def doc_tables():
    """docs/latent.md, 'The tables': the entries from their formulas, little-endian int32 bytes."""
    ln = [math.floor(math.log(1 + i / 512) * 2 ** 30 + 0.5) for i in range(513)]
    sin = [math.floor(math.sin(math.pi / 2 * i / 1024) * 2 ** 30 + 0.5) for i in range(1025)]
    return math.floor(math.log(2) * 2 ** 30 + 0.5), ln, sin


def doc_latent_pair(u1, u2, inv_scale, tables):
    """docs/latent.md, 'The integer computation', steps 1-6, written from the page alone."""
    ln2, LN, SIN = tables
    v = 2 * u1 + 1
    e = v.bit_length() - 1
    frac = (v - (1 << e)) << (30 - e)
    i, t = frac >> 21, frac & ((1 << 21) - 1)
    a = LN[i]
    ln_v = e * ln2 + a + ((((LN[i + 1] if t else a) - a) * t) >> 21)
    A = 34 * ln2 - 2 * ln_v
    r = math.isqrt(A << 10)

    def sq(p):
        j, f = p >> 5, p & 31
        return SIN[j] + (((SIN[j + 1] - SIN[j]) * f) >> 5 if f else 0)

    k = 2 * u2 + 1
    quadrant, p = k >> 15, k & 32767
    s, c = sq(p), sq(32768 - p)
    cos, sin = [(c, s), (-s, c), (-c, -s), (s, -c)][quadrant]
    out = []
    for z in (r * cos, r * sin):
        m = min((abs(z) * inv_scale + (1 << 49)) >> 50, 127)
        out.append((-m if z < 0 else m) & 0xFF)
    return out


def test_latent_tables_match_the_doc():
    import latent_tables

    ln2, ln, sin = doc_tables()
    assert ln2 == latent_tables.LN2_Q30 == 744261118
    assert struct.pack("<513i", *ln) == latent_tables.LN_TABLE
    assert struct.pack("<1025i", *sin) == latent_tables.SIN_TABLE
    doc = open(os.path.join(REPO, "docs", "latent.md")).read()
    for name, table in (("LN_TABLE", latent_tables.LN_TABLE), ("SIN_TABLE", latent_tables.SIN_TABLE)):
        assert "`0x%08x`" % zlib.crc32(table) in doc, name


def test_latent_module_equals_an_implementation_of_its_doc():
    import random

    tables = doc_tables()
    rng = random.Random(15)
    pairs = [(rng.randrange(65536), rng.randrange(65536)) for _ in range(200_000)]
    pairs += [(u, rng.randrange(65536)) for u in range(65536)] + [(rng.randrange(65536), u) for u in range(65536)]
    pairs += [(0, 0), (65535, 65535), (0, 65535), (65535, 0), (32768, 16384), (1, 49151)]
    for n, (u1, u2) in enumerate(pairs):
        inv_scale = (32, 1, 7, 100, 1687)[n % 5]
        block = bytes([u1 & 0xFF, u1 >> 8, u2 & 0xFF, u2 >> 8])
        assert list(latent.latent_from_bytes(block, inv_scale, 2)) == doc_latent_pair(u1, u2, inv_scale, tables), \
            (u1, u2, inv_scale)


def test_partial_sum_without_the_bias_must_fit_too(tmp_path, capsys):
    """A final sum that fits int32 is not enough: the kernels add the terms to 0 or to the bias in any
    order (the VNNI kernel and the fused last layer add the bias last), so the terms alone must fit.
    Layer 1 channel 0: 16,580 input channels x 4 taps of weight 127 x input 255 = 2,147,741,400
    > 2^31 - 1, while bias -1,000,000 brings the full sum back to 2,146,741,400."""
    nz, wide = 2, 16580
    rng = np.random.default_rng(3)
    w0 = rng.integers(-3, 4, size=(nz, wide, 4, 4)).astype(np.int8)
    first = tgw.Layer(kind=tgw.KIND_K4S1P0, act=tgw.ACT_REQUANT, cin=nz, cout=wide, in_h=1, in_w=1, out_h=4, out_w=4,
                      in_zp=0, out_zp=-128, chunk_groups=5, chunk_phases=16, in_scale=1 / 32, out_scale=0.1,
                      bias=np.zeros(wide, np.int64), mult=np.full(wide, 1 << 30), shift=np.zeros(wide, np.int64),
                      packed=tgw.pack_weights(w0, tgw.KIND_K4S1P0, 5, 16))
    w1 = np.zeros((wide, 3, 4, 4), np.int8)
    w1[:, 0] = 127
    th = np.tile(np.arange(255, dtype=np.int64), (3, 1))
    last = tgw.Layer(kind=tgw.KIND_K4S2P1, act=tgw.ACT_THRESHOLD, cin=wide, cout=3, in_h=4, in_w=4, out_h=8, out_w=8,
                     in_zp=-128, out_zp=0, chunk_groups=1, chunk_phases=1, in_scale=0.1, out_scale=0.0,
                     bias=np.array([-1_000_000, 0, 0]), thresholds=th, packed=tgw.pack_weights(w1, tgw.KIND_K4S2P1, 1, 1))
    data = tgw.write_tgw(tgw.TgwModel([first, last], nz, 32, 8, 8, 3, "wide"))
    assert -1_000_000 + 255 * 127 * 4 * wide <= INT32_MAX < 255 * 127 * 4 * wide
    assert_refused_everywhere(data, "layer 1 channel 0: accumulator can overflow int32 "
                                    "(bias -1000000, weights x inputs 0..255)", tmp_path, capsys)
