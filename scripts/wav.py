"""The one clip format the device plays, and a streaming reader/writer for it.

Format: RIFF/WAVE, PCM (format 1), mono, 8-bit unsigned, 11025 Hz. A 12-bit DAC plays a sample
s as s << 4; 8-bit unsigned needs no conversion on the device and halves SD traffic vs 16-bit.
The reader validates RIFF, WAVE, the fmt chunk, the data chunk and that the data is complete,
and names the file and the problem in WavError.
"""
import struct

RATE = 11025
CHANNELS = 1
BITS = 8


class WavError(Exception):
    pass


class WavReader:
    """Opens and validates a clip; read_into(buf) streams the samples in chunks."""

    def __init__(self, path):
        self.path = path
        try:
            self.f = open(path, "rb")
        except OSError as e:
            raise WavError("%s: cannot open (%s)" % (path, e))
        try:
            self.nsamples = self._parse()
        except Exception:
            self.f.close()
            raise
        self.left = self.nsamples

    def _err(self, msg):
        return WavError("%s: %s" % (self.path, msg))

    def _parse(self):
        f = self.f
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise self._err("not a RIFF/WAVE file")
        fmt = None
        while True:
            ch = f.read(8)
            if len(ch) < 8:
                raise self._err("no data chunk" if fmt else "no fmt chunk")
            cid = ch[:4]
            size = struct.unpack("<I", ch[4:8])[0]
            if cid == b"fmt ":
                body = f.read(size)
                if size < 16 or len(body) < 16:
                    raise self._err("fmt chunk truncated")
                fmt = struct.unpack("<HHIIHH", body[:16])
                if size & 1:
                    f.read(1)
                tag, ch_n, rate, _, _, bits = fmt
                if tag != 1:
                    raise self._err("not PCM (format tag %d); need 8-bit unsigned PCM" % tag)
                if ch_n != CHANNELS:
                    raise self._err("%d channels; need mono" % ch_n)
                if rate != RATE:
                    raise self._err("sample rate %d Hz; need %d Hz" % (rate, RATE))
                if bits != BITS:
                    raise self._err("%d bits per sample; need %d" % (bits, BITS))
            elif cid == b"data":
                if fmt is None:
                    raise self._err("data chunk before fmt chunk")
                start = f.tell()
                f.seek(0, 2)
                have = f.tell() - start
                f.seek(start)
                if have < size:
                    raise self._err("data truncated: header says %d bytes, file has %d"
                                    % (size, have))
                if size == 0:
                    raise self._err("no samples")
                return size
            else:
                f.seek(size + (size & 1), 1)

    def read_into(self, buf):
        """Fills buf (a bytearray/memoryview) with up to len(buf) samples; returns the count."""
        if self.left <= 0:
            return 0
        if len(buf) > self.left:
            buf = memoryview(buf)[:self.left]
        n = self.f.readinto(buf)
        if not n:
            raise self._err("data ended early")
        self.left -= n
        return n

    def close(self):
        self.f.close()


def header(nsamples):
    """44-byte header of a clip with nsamples samples in the device format."""
    return (b"RIFF" + struct.pack("<I", 36 + nsamples + (nsamples & 1)) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, CHANNELS, RATE, RATE * CHANNELS,
                                    CHANNELS, BITS)
            + b"data" + struct.pack("<I", nsamples))


class Writer:
    """Streams samples into an open, seekable binary file in the clip format: a header with size
    0 first, the samples as they come, then finish() pads to an even length and writes the real
    sizes. Used for the host's WAV file and the QEMU board's DAC capture alike."""

    def __init__(self, f):
        self.f = f
        self.n = 0
        f.write(header(0))

    def write(self, buf, n):
        self.f.write(memoryview(buf)[:n])
        self.n += n

    def finish(self):
        if self.n & 1:
            self.f.write(b"\x80")
        self.f.seek(0)
        self.f.write(header(self.n))
        self.f.close()


def write(path, samples):
    """Writes a whole clip (bytes of 8-bit unsigned samples)."""
    with open(path, "wb") as f:
        f.write(header(len(samples)))
        f.write(samples)
        if len(samples) & 1:
            f.write(b"\x80")
