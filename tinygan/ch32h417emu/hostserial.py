"""Host ends of the console USART: a byte buffer (tests), stdio, or a pty for mpremote."""
import os
import select
import sys
import termios
import tty


class BufferHost:
    """Collects what the chip sends; feed() queues bytes for the chip to receive."""

    def __init__(self):
        self.out = bytearray()
        self._in = bytearray()

    def write(self, data):
        self.out += data

    def feed(self, data):
        self._in += data

    def poll(self, timeout=0):
        data, self._in = bytes(self._in), bytearray()
        return data


class FdHost:
    """Reads from one file descriptor and writes to another (non-blocking reads)."""

    def __init__(self, rfd, wfd):
        self.rfd, self.wfd = rfd, wfd

    def write(self, data):
        try:
            os.write(self.wfd, data)
        except (BlockingIOError, OSError):
            pass                       # nobody reading (pty without a client): the byte is lost, as on a wire

    def poll(self, timeout=0):
        try:
            r, _, _ = select.select([self.rfd], [], [], timeout)
            return os.read(self.rfd, 4096) if r else b""
        except OSError:
            return b""


class PtyHost(FdHost):
    """A pseudo-terminal: `name` is the /dev/pts/N path a client (mpremote) opens."""

    def __init__(self):
        master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(master, False)
        self.name = os.ttyname(self._slave)
        super().__init__(master, master)


class StdioHost(FdHost):
    """The terminal: raw mode while running (restored by close())."""

    def __init__(self):
        self._saved = None
        fd = sys.stdin.fileno()
        if os.isatty(fd):
            self._saved = termios.tcgetattr(fd)
            tty.setraw(fd)
        super().__init__(fd, sys.stdout.fileno())

    def close(self):
        if self._saved is not None:
            termios.tcsetattr(self.rfd, termios.TCSADRAIN, self._saved)
