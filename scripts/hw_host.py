"""Host hardware layer: SD card = a folder (or a FAT image under MicroPython), DAC = a WAV file,
display = an image file + a terminal preview, trigger = Enter key or a fixed count.

Imports under CPython and MicroPython; its twins are hw_qemu.py (the QEMU board) and
hw_ch32h417.py (same attributes: sd_root, open_dac/close_dac, display, trigger).
"""
import os

import wav


class WavSink(wav.Writer):
    """The DAC as a WAV file in the device's clip format; written to path + '.tmp', then renamed,
    so an interrupted run never leaves a half-written file under the final name."""

    def __init__(self, path):
        self.path = path
        self.tmp = path + ".tmp"
        wav.Writer.__init__(self, open(self.tmp, "wb"))

    def close(self):
        self.finish()
        try:
            os.remove(self.path)  # MicroPython's rename does not replace an existing file
        except OSError:
            pass
        os.rename(self.tmp, self.path)


def _save_image(path, rgb, w, h):
    """PNG under CPython (the host package's tinygan.imageio); PPM under MicroPython, which has
    no PNG encoder (there `tinygan` is the engine module, so the import fails cleanly)."""
    try:
        import numpy as np
        from tinygan.imageio import save_png
    except ImportError:
        path = path.rsplit(".", 1)[0] + ".ppm"
        with open(path, "wb") as f:
            f.write(b"P6 %d %d 255\n" % (w, h))
            f.write(rgb)
        return path
    save_png(np.frombuffer(bytes(rgb), dtype=np.uint8).reshape(h, w, 3), path)
    return path


def preview(rgb, w, h, step=4):
    """Terminal preview: ANSI 24-bit colour, two pixel rows per character (upper half block)."""
    lines = []
    for y in range(0, h - step, 2 * step):
        row = []
        for x in range(0, w, step):
            a = (y * w + x) * 3
            b = ((y + step) * w + x) * 3
            row.append("\x1b[38;2;%d;%d;%dm\x1b[48;2;%d;%d;%dm\u2580"
                       % (rgb[a], rgb[a + 1], rgb[a + 2], rgb[b], rgb[b + 1], rgb[b + 2]))
        lines.append("".join(row) + "\x1b[0m")
    return "\n".join(lines)


class Display:
    def __init__(self, path=None, terminal=False):
        self.path = path
        self.terminal = terminal
        self.last = None

    def show(self, rgb, w, h):
        self.last = (rgb, w, h)  # the caller's buffer, no copy: it is reused for the next cat
        if self.path:
            self.path = _save_image(self.path, rgb, w, h)
        if self.terminal:
            print(preview(rgb, w, h))


class Trigger:
    """count=None: wait for Enter (q quits); count=N: fire N times, then stop."""

    def __init__(self, count=None):
        self.count = count

    def wait(self):
        if self.count is not None:
            if self.count <= 0:
                return False
            self.count -= 1
            return True
        try:
            return input("Enter for a cat, q to quit: ").strip().lower() != "q"
        except EOFError:
            return False


class FileBlockDev:
    """A FAT image file as a block device for MicroPython's os.VfsFat (512-byte blocks)."""

    def __init__(self, path, block=512):
        self.f = open(path, "r+b")
        self.block = block
        self.f.seek(0, 2)
        self.blocks = self.f.tell() // block

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * self.block + off)
        self.f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self.f.seek(n * self.block + off)
        self.f.write(buf)

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.blocks
        if op == 5:  # block size
            return self.block
        if op == 3:  # sync
            self.f.flush()
        return 0


def mount_image(image, mountpoint="/sd"):
    """MicroPython only: mounts a FAT image and returns the mount point to use as sd_root."""
    os.mount(os.VfsFat(FileBlockDev(image)), mountpoint)
    return mountpoint


class Board:
    def __init__(self, sd_root, wav_path=None, image_path=None, terminal=False, count=None):
        self.sd_root = sd_root
        self.wav_path = wav_path
        self.display = Display(image_path, terminal)
        self.trigger = Trigger(count)
        self.dac = None

    def open_dac(self):
        self.dac = WavSink(self.wav_path) if self.wav_path else NullSink()
        return self.dac

    def close_dac(self):
        if self.dac is not None and hasattr(self.dac, "close"):
            self.dac.close()
        self.dac = None


class NullSink:
    def __init__(self):
        self.n = 0

    def write(self, buf, n):
        self.n += n
