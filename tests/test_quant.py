"""Requantization: the gemmlowp-literal code vs an independent arbitrary-precision definition."""
import math
import random

import numpy as np
import pytest

from tinygan import quant

INT32_MIN, INT32_MAX = quant.INT32_MIN, quant.INT32_MAX


def exact_mbqm(acc, mult, shift):
    """MBQM from its mathematical definition with Python's unbounded integers.

    SaturatingRoundingDoublingHighMul(a, b) is round-half-up of a*b / 2^31 (saturating the single
    overflow case); RoundingDivideByPOT(x, e) is round-half-away-from-zero of x / 2^e.
    """
    left, right = max(shift, 0), max(-shift, 0)
    x = ((acc << left) + 2 ** 31) % 2 ** 32 - 2 ** 31      # int32 wrap of the left shift
    if x == INT32_MIN and mult == INT32_MIN:
        high = INT32_MAX
    else:
        high = (2 * x * mult + 2 ** 31) // 2 ** 32          # floor(x*mult/2^31 + 1/2)
    sign = -1 if high < 0 else 1
    return sign * ((2 * abs(high) + 2 ** right) // 2 ** (right + 1))


EDGE_ACC = [INT32_MIN, INT32_MIN + 1, -(1 << 30), -12345, -2, -1, 0, 1, 2, 12345, 1 << 30, INT32_MAX - 1, INT32_MAX]
EDGE_MULT = [0, 1, 1 << 30, (1 << 30) + 1, 1518500250, INT32_MAX - 1, INT32_MAX, INT32_MIN]


def _cases(n, seed=7):
    rng = random.Random(seed)
    acc, mult, shift = [], [], []
    for a in EDGE_ACC:
        for m in EDGE_MULT:
            for s in range(-31, 31):
                acc.append(a), mult.append(m), shift.append(s)
    while len(acc) < n:
        # accumulators of all magnitudes, multipliers mostly in the exporter's [2^30, 2^31)
        acc.append(rng.randint(-(1 << rng.randint(0, 31)), (1 << rng.randint(0, 31)) - 1))
        mult.append(rng.randint(1 << 30, INT32_MAX) if rng.random() < 0.9 else rng.randint(INT32_MIN, INT32_MAX))
        shift.append(rng.randint(-31, 30) if rng.random() < 0.3 else rng.randint(-20, 0))
    return acc, mult, shift


def test_vectorised_mbqm_equals_exact_on_a_million_cases():
    acc, mult, shift = _cases(1_000_000)
    got = quant.mbqm_np(np.array(acc), np.array(mult), np.array(shift))
    want = np.array([exact_mbqm(a, m, s) for a, m, s in zip(acc, mult, shift)], dtype=np.int64)
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, "first mismatch acc=%d mult=%d shift=%d got %d want %d" % (
        acc[bad[0]], mult[bad[0]], shift[bad[0]], got[bad[0]], want[bad[0]])


def test_scalar_mbqm_equals_exact():
    acc, mult, shift = _cases(60_000, seed=11)
    for a, m, s in zip(acc, mult, shift):
        assert quant.mbqm(a, m, s) == exact_mbqm(a, m, s), (a, m, s)


@pytest.mark.parametrize("real", [1e-9, 2.3e-5, 0.0123, 0.25, 0.4999999, 0.5, 0.75, 0.9999999999, 1.0, 3.7, 1234.5])
def test_quantize_multiplier_represents_the_real_multiplier(real):
    m, s = quant.quantize_multiplier(real)
    assert (1 << 30) <= m < (1 << 31)
    assert -31 <= s <= 30
    assert math.isclose(m * 2.0 ** (s - 31), real, rel_tol=2 ** -30)


def test_quantize_multiplier_rounds_half_away_not_to_even():
    # q * 2^31 = 2^30 + 0.5 exactly: round half away gives 2^30 + 1, banker's rounding 2^30.
    real = (2 ** 30 + 0.5) / 2 ** 31
    assert quant.quantize_multiplier(real) == ((1 << 30) + 1, 0)
    assert quant.quantize_multiplier(0.0) == (0, 0)
    assert quant.quantize_multiplier(1e-40) == (0, 0)  # below 2^-32: flushed like TFLite


def test_round_half_away():
    assert [quant.round_half_away(x) for x in (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999)] == [-3, -2, -1, 1, 2, 3, 2]


def test_requantize_clamps_relu_with_zero_point_minus_128():
    acc = np.array([-10 ** 9, -5, 0, 5, 10 ** 9])
    q = quant.requantize_np(acc, 1 << 30, 0, -128)   # real multiplier 0.5
    assert q.tolist() == [-128, -128, -128, -125, 127]
