"""`tinygan emulate qemu`: the tinygan firmware on QEMU's virt rv32 machine (boards/QEMU_VIRT_RV32).

The card image is linked as sd.img into a fresh run folder that is QEMU's working directory: the
firmware opens it there through semihosting and mounts it at /sd, and the board layer
(scripts/hw_qemu.py) writes what the display and the DAC were given beside it (cat-K.ppm,
verdict-K.wav). Writes to the card go to the image itself.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from tinygan.cli import CLIError
from tinygan.emulate import PORT_DIR, firmware

QEMU = "qemu-system-riscv32"
DEFAULT_FIRMWARE = os.path.join(PORT_DIR, "build", "qemu", "firmware.elf")
QEMU_ARGS = ["-machine", "virt", "-cpu", "rv32", "-m", "64M", "-bios", "none", "-nographic",
             "-monitor", "null", "-semihosting-config", "enable=on,target=native"]
PROMPT = b"Enter for a cat"  # hw_host.Trigger's prompt: the app waits for the next press
FAILURES = (b"Traceback (most recent call last)", b"STOP: ", b"MemoryError")


def _run_dir(sd):
    if not sd:
        raise CLIError("--sd IMG is needed: the card image (tinygan sdcard build --out DIR --image IMG)")
    if not os.path.isfile(sd):
        raise CLIError("--sd %s: no such card image" % sd)
    run_dir = tempfile.mkdtemp(prefix="tinygan-qemu-")
    os.symlink(os.path.abspath(sd), os.path.join(run_dir, "sd.img"))
    return run_dir


def run(args):
    if shutil.which(QEMU) is None:
        raise CLIError("%s is not installed (apt-get install qemu-system-misc)" % QEMU)
    elf = firmware(args.firmware, "qemu", DEFAULT_FIRMWARE)
    run_dir = _run_dir(args.sd)
    _exit_on_sigterm()
    try:
        if args.press is not None:
            return press(elf, run_dir, args.press, args.out, args.timeout)
        if args.serial == "pty":
            return serve_pty(elf, run_dir, args.timeout)
        cmd = [QEMU] + QEMU_ARGS + ["-serial", "mon:stdio", "-kernel", elf]
        return subprocess.run(cmd, cwd=run_dir, timeout=args.timeout).returncode
    except subprocess.TimeoutExpired:
        print("tinygan emulate: --timeout %s s reached" % args.timeout, file=sys.stderr)
        return 124
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _exit_on_sigterm():
    """SIGTERM (kill, a test's terminate()) unwinds like Ctrl-C, so QEMU is ended with us."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def serve_pty(elf, run_dir, timeout=None):
    """QEMU with its console on a new pty; prints `serial: /dev/pts/N` first, then runs until
    killed (or the timeout)."""
    proc = subprocess.Popen([QEMU] + QEMU_ARGS + ["-serial", "pty", "-kernel", elf], cwd=run_dir,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        line = b""
        while b"/dev/pts/" not in line:  # QEMU: "char device redirected to /dev/pts/N (label serial0)"
            line = proc.stdout.readline()
            if not line:
                raise CLIError("QEMU exited before it opened a pty (status %s)" % proc.wait())
        print("serial: %s" % re.search(rb"/dev/pts/\d+", line).group().decode(), flush=True)
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Console:
    """The board's console over pipes: everything it prints is kept (and copied to log_path)
    by a reader thread; the caller waits for text and types."""

    def __init__(self, proc, log_path):
        self.proc = proc
        self.out = bytearray()
        self.lock = threading.Lock()
        self.log = open(log_path, "wb")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for chunk in iter(lambda: self.proc.stdout.read1(4096), b""):
            with self.lock:
                self.out += chunk
            self.log.write(chunk)
            self.log.flush()

    def text(self):
        with self.lock:
            return bytes(self.out)

    def type(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_for(self, pattern, count=1, deadline=None, fail_on=FAILURES):
        """Waits until `pattern` was printed `count` times; raises CLIError (with the console's
        tail) on a failure message (fail_on), on the board stopping, or at the deadline."""
        while True:
            out = self.text()
            for bad in fail_on:
                if bad in out:
                    raise CLIError("the board reported a failure (%s):\n%s" % (bad.decode(), self.tail()))
            if out.count(pattern) >= count:
                return
            if self.proc.poll() is not None:
                raise CLIError("the board stopped (status %s):\n%s" % (self.proc.returncode, self.tail()))
            if deadline is not None and time.monotonic() > deadline:
                raise CLIError("timed out waiting for %r:\n%s" % (pattern.decode(), self.tail()))
            time.sleep(0.05)

    def tail(self, n=3000):
        return self.text()[-n:].decode(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(timeout=5)
        self.log.close()


def read_ppm(path):
    """-> (width, height, rgb bytes) of a binary PPM as hw_qemu writes it."""
    with open(path, "rb") as f:
        data = f.read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    if not m:
        raise CLIError("%s is not a binary PPM" % path)
    w, h = int(m.group(1)), int(m.group(2))
    rgb = data[m.end():]
    if len(rgb) != w * h * 3:
        raise CLIError("%s: %d bytes of pixels for %dx%d" % (path, len(rgb), w, h))
    return w, h, rgb


def boot(elf, run_dir, log_path):
    """Boots the firmware with its console on pipes; -> Console."""
    proc = subprocess.Popen([QEMU] + QEMU_ARGS + ["-serial", "stdio", "-kernel", elf], cwd=run_dir,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return Console(proc, log_path)


def press(elf, run_dir, n, out_dir, timeout=None):
    """Boots with the card's main.py starting the app, presses Enter n times (each after the app
    asks), then collects what the display and the DAC were given."""
    import numpy as np
    from tinygan.imageio import save_png

    os.makedirs(out_dir, exist_ok=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    console = boot(elf, run_dir, os.path.join(out_dir, "console.log"))
    try:
        for k in range(1, n + 1):
            console.wait_for(PROMPT, k, deadline)
            print("emulate: cat %d of %d" % (k, n), file=sys.stderr, flush=True)
            console.type(b"\r")
        console.wait_for(PROMPT, n + 1, deadline)  # the last cat is done when the app asks again
    except CLIError as e:
        print("tinygan emulate: %s" % e, file=sys.stderr)
        return 1
    finally:
        console.close()
    for k in range(1, n + 1):
        ppm = os.path.join(run_dir, "cat-%d.ppm" % k)
        wav = os.path.join(run_dir, "verdict-%d.wav" % k)
        for path in (ppm, wav):
            if not os.path.isfile(path):
                print("tinygan emulate: the board wrote no %s:\n%s" % (os.path.basename(path), console.tail()),
                      file=sys.stderr)
                return 1
        w, h, rgb = read_ppm(ppm)
        save_png(np.frombuffer(rgb, dtype=np.uint8).reshape(h, w, 3), os.path.join(out_dir, "cat-%d.png" % k))
        shutil.copyfile(wav, os.path.join(out_dir, "verdict-%d.wav" % k))
    print("emulate: %d cats in %s (cat-K.png, verdict-K.wav, console.log)" % (n, out_dir), file=sys.stderr)
    return 0
