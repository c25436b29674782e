"""Entropy pool on the SD card: a file of random bytes plus a power-cut-safe cursor.

The pool file (`entropy.bin`) is only ever read. The cursor file (`entropy.cur`) holds two
fixed-size records, written alternately:

    offset 0 and 512 (separate 512-byte sectors, so a torn sector write on the card can only
    damage the record being written), each 16 bytes little-endian:
      magic  b"TGC1"
      seq    uint32   (record with the higher valid seq wins)
      cursor uint32   (bytes of the pool handed out so far)
      crc32  uint32   (binascii.crc32 of the first 12 bytes)

take(n) writes the NEW cursor (seq+1) over the OLDER record, closes the file, and only then
reads the n bytes and returns them. A power cut tearing that write leaves a record whose CRC
fails, so the other, older record wins: the reservation never happened and its bytes were never
used. A power cut after the write but before the bytes are used skips exactly that reservation
(at most one take(): the documented bound), and never reuses a byte.

Exhaustion raises EntropyExhausted (the default: stop with a clear message). An optional
fallback source (os.urandom / the board TRNG) can be passed in; bytes from it are flagged as NOT
quantum so the caller can say so.
"""
import binascii
import struct

MAGIC = b"TGC1"
RECORD = 16
STRIDE = 512  # one record per sector
POOL_NAME = "entropy.bin"
CURSOR_NAME = "entropy.cur"


class EntropyError(Exception):
    pass


class EntropyExhausted(EntropyError):
    pass


def _pack(seq, cursor):
    head = MAGIC + struct.pack("<II", seq, cursor)
    return head + struct.pack("<I", binascii.crc32(head) & 0xFFFFFFFF)


def _unpack(rec):
    """-> (seq, cursor) or None for a torn/blank/foreign record."""
    if len(rec) != RECORD or rec[:4] != MAGIC:
        return None
    if struct.unpack("<I", rec[12:16])[0] != binascii.crc32(rec[:12]) & 0xFFFFFFFF:
        return None
    return struct.unpack("<II", rec[4:12])


def _file_size(path):
    import os
    return os.stat(path)[6]


# The file object factory used for cursor writes; the power-cut tests replace it.
_open = open


def read_cursor(path):
    """-> (seq, cursor, slot_of_winner).

    A missing cursor file, or one with no valid record (which take() cannot produce: it writes
    one slot at a time), is an error, never a guess that could hand out used bytes again. The
    device never creates a cursor; the PC tools do (sdcard build, entropy fetch of a new pool,
    entropy init).
    """
    try:
        with open(path, "rb") as f:
            data = f.read(STRIDE + RECORD)
    except OSError:
        raise EntropyError("%s: missing cursor file; refusing to guess which bytes were used "
                           "(for a pool that is really unused: `tinygan entropy init`)" % path)
    best = None
    for slot in (0, 1):
        r = _unpack(data[slot * STRIDE:slot * STRIDE + RECORD])
        if r is not None and (best is None or r[0] > best[0]):
            best = (r[0], r[1], slot)
    if best is None:
        raise EntropyError("%s: no valid cursor record; refusing to guess which bytes were "
                           "used (restore it, or start a fresh pool)" % path)
    return best


def init_cursor(path, cursor=0):
    """Writes a fresh cursor file (both records valid, same cursor)."""
    with open(path, "wb") as f:
        f.write(_pack(1, cursor))
        f.write(bytes(STRIDE - RECORD))
        f.write(_pack(0, cursor))


class Pool:
    """`root` is the SD card's root folder (a path string, also under MicroPython)."""

    def __init__(self, root, fallback=None, log=print):
        self.pool_path = root + "/" + POOL_NAME
        self.cursor_path = root + "/" + CURSOR_NAME
        self.fallback = fallback  # callable n -> bytes, or None (stop when exhausted)
        self.log = log
        try:
            self.size = _file_size(self.pool_path)
        except OSError:
            raise EntropyError("%s: no entropy pool on the SD card" % self.pool_path)
        # Bytes handed out by this Pool object, and whether any were not quantum.
        self.taken = 0
        self.not_quantum = False

    def cursor(self):
        return read_cursor(self.cursor_path)[1]

    def remaining(self):
        return max(0, self.size - self.cursor())

    def _commit(self, seq, slot, cursor):
        # Rewrite only the losing slot, in place ("r+b"), so the winner stays intact.
        f = _open(self.cursor_path, "r+b")
        try:
            f.seek(slot * STRIDE)
            f.write(_pack(seq, cursor))
            f.flush()
        finally:
            f.close()

    def take(self, n):
        seq, cur, slot = read_cursor(self.cursor_path)
        if cur + n > self.size:
            if self.fallback is None:
                raise EntropyExhausted(
                    "entropy pool %s exhausted: %d of %d bytes used, %d needed; "
                    "refill it with `tinygan entropy fetch --out %s` on a PC"
                    % (self.pool_path, cur, self.size, n, POOL_NAME))
            self.log("WARNING: entropy pool exhausted; using the fallback source, NOT quantum")
            self.not_quantum = True
            self.taken += n
            return bytes(self.fallback(n))
        self._commit(seq + 1, 1 - slot, cur + n)  # commit BEFORE the bytes exist for anyone
        with open(self.pool_path, "rb") as f:
            f.seek(cur)
            data = f.read(n)
        if len(data) != n:
            raise EntropyError("entropy pool %s shorter than its size" % self.pool_path)
        self.taken += n
        return data


class Stream:
    """Byte-at-a-time reader over Pool.take() reservations of the given size.

    Bytes left in a reservation when the stream is dropped are discarded, never reused.
    """

    def __init__(self, pool, first=0):
        self.pool = pool
        self.buf = b""
        self.pos = 0
        if first:
            self.reserve(first)

    def reserve(self, n):
        self.buf = self.buf[self.pos:] + self.pool.take(n)
        self.pos = 0

    def read(self, n):
        if self.pos + n > len(self.buf):
            self.reserve(self.pos + n - len(self.buf))
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out
