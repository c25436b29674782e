"""Latent vector from entropy bytes: integer-only Box-Muller (runs on the board and on CPython).

Pair i uses u1 = LE uint16 at bytes[4i:4i+2] and u2 = LE uint16 at bytes[4i+2:4i+4];
U = (u + 0.5) / 65536, r = sqrt(-2 ln U1), z[2i] = r cos(2 pi U2), z[2i+1] = r sin(2 pi U2);
then q = clamp(round_half_away(z * inv_scale), -127, 127) as int8 (inv_scale is the weight file's
latent_inv_scale, 32 by default). No floats: ln and sin come from Q30 tables with linear
interpolation (latent_tables.py, generated offline), sqrt is an integer Newton iteration, so
CPython, MicroPython and C produce the same bytes. Versus float64 Box-Muller a value differs in
rare cases where z * inv_scale lies within about 1e-5 of a rounding boundary, and then by 1 LSB
(docs/latent.md has the measured rate).
"""
import latent_tables as _t

_LN = _t.LN_TABLE
_SIN = _t.SIN_TABLE
_LN_SHIFT = 30 - 9      # Q30 fraction -> 512 ln segments
_SIN_SHIFT = 15 - 10    # 32768 angle steps per quadrant -> 1024 sin segments
_TWO_17_LN2_Q30 = 2 * 17 * _t.LN2_Q30


def _entry(table, i):
    return int.from_bytes(table[4 * i:4 * i + 4], "little")  # all entries are >= 0


def _bit_length(n):
    """int.bit_length(), which MicroPython lacks."""
    b = 0
    while n:
        n >>= 1
        b += 1
    return b


def _ln_q30(v):
    """ln(v) in Q30 for an integer 1 <= v < 2^17."""
    e = _bit_length(v) - 1
    frac = ((v - (1 << e)) << 30) >> e           # (v / 2^e - 1) in Q30, exact
    i = frac >> _LN_SHIFT
    t = frac & ((1 << _LN_SHIFT) - 1)
    a = _entry(_LN, i)
    b = _entry(_LN, i + 1) if t else a
    return e * _t.LN2_Q30 + a + (((b - a) * t) >> _LN_SHIFT)


def _isqrt(n):
    """floor(sqrt(n)) for an integer n >= 0 (Newton's method; MicroPython has no math.isqrt)."""
    if n < 2:
        return n
    x = 1 << ((_bit_length(n) + 1) >> 1)        # >= sqrt(n)
    while True:
        y = (x + n // x) >> 1
        if y >= x:
            return x
        x = y


def _sin_quadrant_q30(p):
    """sin(pi/2 * p / 32768) in Q30 for 0 <= p <= 32768."""
    i = p >> _SIN_SHIFT
    t = p & ((1 << _SIN_SHIFT) - 1)
    a = _entry(_SIN, i)
    b = _entry(_SIN, i + 1) if t else a
    return a + (((b - a) * t) >> _SIN_SHIFT)


def _cos_sin_q30(u2):
    """(cos, sin) of 2 pi (u2 + 0.5) / 65536 in Q30."""
    k = 2 * u2 + 1                     # angle in units of 2 pi / 131072, odd
    quadrant = k >> 15
    p = k & 32767
    s = _sin_quadrant_q30(p)
    c = _sin_quadrant_q30(32768 - p)
    if quadrant == 0:
        return c, s
    if quadrant == 1:
        return -s, c
    if quadrant == 2:
        return -c, -s
    return s, -c


def _quantize(z_q50, inv_scale):
    """clamp(round_half_away(z * inv_scale), -127, 127) for z in Q50."""
    m = (abs(z_q50) * inv_scale + (1 << 49)) >> 50
    if m > 127:
        m = 127
    return -m if z_q50 < 0 else m


def normal_pair_q50(u1, u2):
    """Two standard normals (Q50 integers) from two uint16 values."""
    # -2 ln U1 = 2 (17 ln 2 - ln(2 u1 + 1)) > 0 since U1 = (2 u1 + 1) / 2^17
    a_q30 = _TWO_17_LN2_Q30 - 2 * _ln_q30(2 * u1 + 1)
    r_q20 = _isqrt(a_q30 << 10)         # sqrt(A * 2^40) = r * 2^20
    c, s = _cos_sin_q30(u2)
    return r_q20 * c, r_q20 * s


def latent_from_bytes(data, inv_scale=32, nz=100):
    """2*nz entropy bytes -> nz int8 latent values, as a bytes object (two's complement)."""
    if nz % 2:  # the weight-file readers refuse such a file with the same message
        raise ValueError("latent_dim: %d is odd (the latent is made of Box-Muller pairs, so latent_dim must be even)" % nz)
    need = 2 * nz
    if len(data) < need:
        raise ValueError("latent needs %d entropy bytes, got %d" % (need, len(data)))
    out = bytearray(nz)
    for i in range(nz // 2):
        o = 4 * i
        u1 = data[o] | (data[o + 1] << 8)
        u2 = data[o + 2] | (data[o + 3] << 8)
        z0, z1 = normal_pair_q50(u1, u2)
        out[2 * i] = _quantize(z0, inv_scale) & 0xFF
        out[2 * i + 1] = _quantize(z1, inv_scale) & 0xFF
    return bytes(out)
