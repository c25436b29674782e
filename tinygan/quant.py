"""TFLite/gemmlowp integer requantization, the arithmetic behind "bit-identical".

Scalar versions use Python ints (exact, the specification); the numpy versions are vectorised
twins used by the reference and the exporter, checked against the scalar ones in the tests.
"""
import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def round_half_away(x):
    """Round half away from zero (TFLite's std::round), not Python's banker's round()."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def quantize_multiplier(real):
    """TFLite QuantizeMultiplier: real = mult * 2^(shift - 31), mult in [2^30, 2^31).

    Returns (mult, shift) with shift positive meaning a left shift; (0, 0) for real == 0.
    """
    if real == 0.0:
        return 0, 0
    if real < 0:
        raise ValueError("negative requantization multiplier %r" % real)
    q, shift = math.frexp(real)  # real = q * 2^shift, q in [0.5, 1)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:  # too small to represent: flush to zero like TFLite
        return 0, 0
    if shift > 30:
        raise ValueError("requantization multiplier %r too large" % real)
    return q_fixed, shift


def srdhm(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 scalars."""
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    # C's integer division truncates toward zero.
    num = ab + nudge
    q = abs(num) >> 31
    return q if num >= 0 else -q


def rdbpot(x, exponent):
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def _wrap32(x):
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def mbqm(acc, mult, shift):
    """TFLite MultiplyByQuantizedMultiplier (int32 in, int32 out)."""
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    # The left shift is done in int32 in C; wrapping models it exactly (never hit in practice).
    return rdbpot(srdhm(_wrap32(acc * (1 << left)), mult), right)


def mbqm_np(acc, mult, shift):
    """Vectorised mbqm. acc: int64 array of int32 values; mult, shift broadcastable int arrays."""
    acc = np.asarray(acc, dtype=np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    x = acc << left
    x = ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    ab = x * mult  # |ab| < 2^62: fits int64
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    num = ab + nudge
    hi = np.where(num >= 0, num >> 31, -((-num) >> 31))
    hi = np.where((x == INT32_MIN) & (mult == INT32_MIN), INT32_MAX, hi)
    mask = (np.int64(1) << right) - 1
    remainder = hi & mask
    threshold = (mask >> 1) + (hi < 0)
    return (hi >> right) + (remainder > threshold)


def requantize_np(acc, mult, shift, out_zp):
    """int8 output of a REQUANT layer: clamp(MBQM(acc) + out_zp, -128, 127)."""
    return np.clip(mbqm_np(acc, mult, shift) + out_zp, -128, 127).astype(np.int8)
