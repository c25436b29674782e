"""Mood and fragment picks from entropy bytes, without modulo bias.

uniform(stream, n): draw k = bytes needed for n (256**k >= n) as a big-endian integer v;
accept if v < limit = (256**k // n) * n, return v % n; else draw again (rejection sampling).
Every accepted value is equally likely for any n. For n <= 256 one byte per try; a try is
rejected with probability (256 % n) / 256 < 1/2, so a pick costs 1 byte plus on average
less than 1 extra, and more than k extra bytes with probability < 2**-k. Slot sizes that divide
256 (the default bank's 16) never reject: a default cat uses exactly 200 + 1 + 4 = 205 bytes.
"""

MOODS = ("motivated", "demotivated")


def uniform(stream, n):
    if n < 1:
        raise ValueError("uniform() needs n >= 1")
    k = 1
    while 256 ** k < n:
        k += 1
    limit = (256 ** k // n) * n
    while True:
        v = 0
        for b in stream.read(k):
            v = (v << 8) | b
        if v < limit:
            return v % n


def mood(stream):
    """One bit (the low bit of one byte; the other 7 bits are discarded)."""
    return MOODS[stream.read(1)[0] & 1]


def pick(stream, slots):
    """slots: list of lists of clips -> one clip per non-empty slot (empty slots skipped)."""
    out = []
    for clips in slots:
        if clips:
            out.append(clips[uniform(stream, len(clips))])
    return out
