"""The int32 rule (docs/weight-format.md) as a property: on random small models with extreme biases,
multipliers and shifts *inside* the rule, both readers accept and the C engine equals the PyTorch
reference byte for byte; one step past the rule, both readers refuse with the same message.

The rule's bounds are computed here independently of tinygan.tgw: from the scatter definition of
ConvTranspose2d (every output pixel's contributing weights found by solving oy = iy*stride - pad + ky),
not from the gather tap tables the readers use.
"""
import io

import numpy as np
import pytest

import tinygan
from tinygan import reference, tgw

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def terms_range(w, kind, in_h, in_w, xlo, xhi):
    """Per output channel, the least and greatest sum of w * x (x in [xlo, xhi]) over any one output pixel."""
    cin, cout = w.shape[:2]
    stride, pad = (1, 0) if kind == tgw.KIND_K4S1P0 else (2, 1)
    oh, ow = (in_h - 1) * stride - 2 * pad + 4, (in_w - 1) * stride - 2 * pad + 4
    w = w.astype(np.int64)
    big, small = np.maximum(w * xhi, w * xlo), np.minimum(w * xhi, w * xlo)
    lo, hi = np.zeros(cout, np.int64), np.zeros(cout, np.int64)

    def hits(o, k, n):
        return (o + pad - k) % stride == 0 and 0 <= (o + pad - k) // stride < n

    for oy in range(oh):
        for ox in range(ow):
            mask = np.array([[hits(oy, ky, in_h) and hits(ox, kx, in_w) for kx in range(4)] for ky in range(4)])
            hi = np.maximum(hi, (big * mask).sum(axis=(0, 2, 3)))
            lo = np.minimum(lo, (small * mask).sum(axis=(0, 2, 3)))
    return lo, hi


def rule_holds(b, s, lo, hi):
    """The documented rule: partial sums with or without the bias, and acc << s, stay inside int32."""
    if max(b, 0) + hi > INT32_MAX or min(b, 0) + lo < INT32_MIN:
        return False
    return s <= 0 or ((b + hi) << s <= INT32_MAX and (b + lo) << s >= INT32_MIN)


def largest_shift(b, lo, hi):
    s = 0
    while s < 30 and rule_holds(b, s + 1, lo, hi):
        s += 1
    return s


def divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def random_model(rng, n_layers):
    """A valid model whose biases, multipliers and shifts sit at or near the rule's limits."""
    nz = 2 * int(rng.integers(1, 5))
    layers, cin, h, in_scale, in_zp = [], nz, 1, 1.0 / 32, 0
    bounds = []
    for i in range(n_layers):
        last = i == n_layers - 1
        kind = tgw.KIND_K4S1P0 if i == 0 else tgw.KIND_K4S2P1
        cout = 3 if last else int(rng.integers(1, 10))
        w = rng.integers(-128, 128, size=(cin, cout, 4, 4))
        for c in range(cout):  # some channels at the int8 extremes
            pick = rng.integers(4)
            if pick == 0:
                w[:, c] = 127
            elif pick == 1:
                w[:, c] = -128
        w = w.astype(np.int8)
        xlo, xhi = (-128, 127) if i == 0 else (0, 255)
        lo, hi = terms_range(w, kind, h, h, xlo, xhi)
        bias, mult, shift = [], [], []
        for c in range(cout):
            mode = rng.integers(5)
            b = [INT32_MAX - int(hi[c]), INT32_MIN - int(lo[c]), int(rng.integers(-3000, 3000)), 0,
                 int(rng.integers(INT32_MIN - int(lo[c]), INT32_MAX - int(hi[c])))][mode]
            assert rule_holds(b, 0, int(lo[c]), int(hi[c]))
            bias.append(b)
            m = [1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31)), 0][rng.integers(4)]
            smax = largest_shift(b, int(lo[c]), int(hi[c]))
            s = 0 if m == 0 else [smax, int(rng.integers(-31, smax + 1)), -31, int(rng.integers(-12, 1))][rng.integers(4)]
            mult.append(m)
            shift.append(s)
        bounds.append((lo, hi, xlo, xhi))
        out_h = 4 if kind == tgw.KIND_K4S1P0 else 2 * h
        ngroups = (cout + 3) // 4
        phases = tgw.KIND_PHASES_TAPS[kind][0]
        cg = int(rng.choice(divisors(ngroups)))
        cp = int(rng.choice(divisors(phases)))
        fields = dict(kind=kind, cin=cin, cout=cout, in_h=h, in_w=h, out_h=out_h, out_w=out_h, in_zp=in_zp,
                      chunk_groups=cg, chunk_phases=cp, in_scale=in_scale,
                      packed=tgw.pack_weights(w, kind, cg, cp), bias=np.array(bias, np.int64))
        if last:
            acc_lo = max(INT32_MIN, int(min(bias) + lo.min()))
            acc_hi = min(INT32_MAX, int(max(bias) + hi.max()))
            th = np.sort(rng.integers(acc_lo, acc_hi + 1, size=(cout, 255)), axis=1)
            th[:, 0], th[:, -1] = INT32_MIN, INT32_MAX   # the extremes are thresholds too
            layers.append(tgw.Layer(act=tgw.ACT_THRESHOLD, out_zp=0, out_scale=0.0, thresholds=th, **fields))
        else:
            out_scale = float(rng.uniform(0.01, 1.0))
            layers.append(tgw.Layer(act=tgw.ACT_REQUANT, out_zp=-128, out_scale=out_scale, mult=np.array(mult),
                                    shift=np.array(shift), **fields))
            in_scale, in_zp = out_scale, -128
        cin, h = cout, out_h
    model = tgw.TgwModel(layers, nz, 32, h, h, 3, "property")
    return model, bounds


def latents(rng, model):
    nz = model.latent_dim
    w0 = model.layers[0].weights_torch().astype(np.int64)
    steer = np.where(w0[:, 0, 0, 0] > 0, 127, -128)  # drives layer 0 channel 0, pixel (0, 0) to its maximum
    return np.array([np.full(nz, 127), np.full(nz, -128), steer, -1 - steer,
                     rng.integers(-128, 128, size=nz)], dtype=np.int8)


def c_engine(data):
    m = tinygan.Model(io.BytesIO(data))
    m.verify()
    return m


@pytest.mark.parametrize("seed", range(48))
def test_engine_equals_reference_on_random_models_inside_the_rule(seed):
    rng = np.random.default_rng(1000 + seed)
    model, _ = random_model(rng, n_layers=1 + seed % 4)
    data = tgw.write_tgw(model)
    ref = tgw.read_tgw(data)   # the Python reader accepts it ...
    engine = c_engine(data)    # ... and so does the C one
    for z in latents(rng, ref):
        got = np.frombuffer(bytes(engine.generate(z.tobytes())), np.uint8).reshape(engine.out_shape)
        assert np.array_equal(got, reference.reference_image(ref, z)), "seed %d latent %s" % (seed, z.tolist())


@pytest.mark.parametrize("seed", range(24))
def test_one_step_past_the_rule_both_readers_refuse_alike(seed):
    rng = np.random.default_rng(5000 + seed)
    model, bounds = random_model(rng, n_layers=1 + seed % 4)
    i = int(rng.integers(len(model.layers)))
    layer = model.layers[i]
    c = int(rng.integers(layer.cout))
    lo, hi, xlo, xhi = bounds[i]
    b = int(layer.bias[c])
    requant = not layer.is_threshold
    if requant and seed % 2 and largest_shift(b, int(lo[c]), int(hi[c])) < 30:
        s = largest_shift(b, int(lo[c]), int(hi[c])) + 1
        layer.shift = layer.shift.copy()
        layer.shift[c] = s
        if layer.mult[c] == 0:
            layer.mult = layer.mult.copy()
            layer.mult[c] = 1 << 30
        want = "layer %d channel %d: shift %d makes acc << shift overflow int32" % (i, c, s)
    else:
        # one past either edge, where that is still an int32 (hi = 0: no bias is too large)
        edges = [e for e in (INT32_MAX - int(hi[c]) + 1, INT32_MIN - int(lo[c]) - 1) if INT32_MIN <= e <= INT32_MAX]
        nb = edges[seed % len(edges)]
        layer.bias = layer.bias.copy()
        layer.bias[c] = nb
        if requant:  # keep the shift itself harmless, so the bias is the one fault
            layer.shift = layer.shift.copy()
            layer.shift[c] = min(int(layer.shift[c]), 0)
        want = "layer %d channel %d: accumulator can overflow int32 (bias %d, weights x inputs %d..%d)" % (
            i, c, nb, xlo, xhi)
    data = tgw.write_tgw(model)
    with pytest.raises(tgw.TgwError) as exc:
        tgw.read_tgw(data)
    assert str(exc.value) == want
    with pytest.raises(tinygan.EngineError) as exc:
        c_engine(data)
    assert str(exc.value) == want


def test_accumulator_exactly_at_int32_max_is_computed_exactly():
    """A one-layer model whose channel 0 reaches exactly INT32_MAX at output pixel (0, 0): wrapping
    would give pixel 0; the exact accumulator passes all 255 thresholds."""
    rng = np.random.default_rng(7)
    nz = 6
    w = rng.integers(-128, 128, size=(nz, 3, 4, 4)).astype(np.int8)
    lo, hi = terms_range(w, tgw.KIND_K4S1P0, 1, 1, -128, 127)
    bias = np.array([INT32_MAX - int(hi[0]), INT32_MIN - int(lo[1]), 0], np.int64)
    th = np.tile(np.arange(255, dtype=np.int64) * 1000 - 127000, (3, 1))
    th[:, -1] = INT32_MAX
    layer = tgw.Layer(kind=tgw.KIND_K4S1P0, act=tgw.ACT_THRESHOLD, cin=nz, cout=3, in_h=1, in_w=1, out_h=4, out_w=4,
                      chunk_groups=1, chunk_phases=4, in_scale=1 / 32, bias=bias, thresholds=th,
                      packed=tgw.pack_weights(w, tgw.KIND_K4S1P0, 1, 4))
    data = tgw.write_tgw(tgw.TgwModel([layer], nz, 32, 4, 4, 3))
    ref, engine = tgw.read_tgw(data), c_engine(data)
    # output pixel (oy, ox) of channel c sees only w[:, c, oy, ox]: steer the pixel that attains hi[0]
    w64 = w.astype(np.int64)
    per_pixel = np.maximum(127 * w64[:, 0], -128 * w64[:, 0]).sum(axis=0)    # [4, 4]
    oy, ox = np.unravel_index(int(np.argmax(per_pixel)), (4, 4))
    assert per_pixel[oy, ox] == hi[0]
    up = np.where(w[:, 0, oy, ox] > 0, 127, -128).astype(np.int8)
    assert int(bias[0]) + int((w64[:, 0, oy, ox] * up).sum()) == INT32_MAX
    img = np.frombuffer(bytes(engine.generate(up.tobytes())), np.uint8).reshape(4, 4, 3)
    assert np.array_equal(img, reference.reference_image(ref, up))
    assert img[oy, ox, 0] == 255      # INT32_MAX passes every threshold; a wrapped sum would pass none
