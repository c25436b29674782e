"""The device application on the QEMU firmware, driven as a user drives it (issue: boot, REPL,
mpremote, card edits): `tinygan emulate qemu --press N`, the card's main.py, a corrupted card,
Ctrl-C, mpremote over the pty.

The firmware is built into a temporary directory (micropython_port/Makefile, target qemu); the
tests skip only when there is no MicroPython source or no RV32 toolchain/QEMU, saying which.
"""
import os
import re
import select
import shutil
import subprocess
import sys
import termios
import time
import tty

import pytest

from tinygan import emulate, qemu_board, rv32, sdcard, tgw

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(REPO, "weights", "default.tgw")
TOP = emulate.micropython_source()
MISSING = rv32.missing_tools()
pytestmark = [
    pytest.mark.skipif(TOP is None, reason="MicroPython source absent: MICROPY_TOP unset and "
                       "micropython_port/micropython not populated (bash .ci/install populates it)"),
    pytest.mark.skipif(bool(MISSING), reason="RV32 toolchain/QEMU not installed: %s" % ", ".join(MISSING)),
]


def quiet(*a):
    pass


@pytest.fixture(scope="module")
def elf(qemu_build_root):
    return str(qemu_build_root / "qemu" / "firmware.elf")


def default_card(tmp_path, name="card"):
    """The default card as `tinygan sdcard build` makes it: (folder, image)."""
    folder = str(tmp_path / name)
    sdcard.build_folder(folder, log=quiet)
    return folder, sdcard.build_image(folder, str(tmp_path / (name + ".img")), log=quiet)


def image_file(image, name, dest):
    subprocess.run(["mcopy", "-o", "-i", image, "::/" + name, dest], check=True,
                   env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    with open(dest, "rb") as f:
        return f.read()


def tinygan_cli(*args, timeout=1800):
    return subprocess.run([sys.executable, "-m", "tinygan"] + list(args), capture_output=True, text=True,
                          timeout=timeout)


def test_three_presses_identical_to_host_demo(elf, tmp_path):
    """`tinygan emulate qemu --press 3`: the unmodified app started by the card's main.py makes three
    cats; each image and each WAV equals what the host simulator (`tinygan demo --sd` on a copy of
    the same card) writes for the same card state, and both advance the cursor alike."""
    folder, image = default_card(tmp_path)
    host_card = str(tmp_path / "host-card")
    shutil.copytree(folder, host_card)
    out = str(tmp_path / "out")
    r = tinygan_cli("emulate", "qemu", "--sd", image, "--press", "3", "--out", out, "--firmware", elf,
                    "--timeout", "1500")
    assert r.returncode == 0, r.stdout + r.stderr
    console = open(os.path.join(out, "console.log"), "rb").read().decode(errors="replace")
    assert "main.py starts in 1 s" in console
    assert "MemoryError" not in console and "Traceback" not in console
    for k in range(1, 4):
        d = str(tmp_path / ("demo%d" % k))
        h = tinygan_cli("demo", "--sd", host_card, "--out", d)
        assert h.returncode == 0, h.stdout + h.stderr
        assert open(os.path.join(out, "cat-%d.png" % k), "rb").read() == open(os.path.join(d, "cat.png"), "rb").read(), k
        assert open(os.path.join(out, "verdict-%d.wav" % k), "rb").read() == \
            open(os.path.join(d, "verdict.wav"), "rb").read(), k
    cats = [open(os.path.join(out, "cat-%d.png" % k), "rb").read() for k in range(1, 4)]
    assert len(set(cats)) == 3
    device_cursor = image_file(image, "entropy.cur", str(tmp_path / "dev.cur"))
    assert device_cursor == open(os.path.join(host_card, "entropy.cur"), "rb").read()


def corrupted_card(tmp_path):
    folder = str(tmp_path / "bad-card")
    sdcard.build_folder(folder, log=quiet)
    path = os.path.join(folder, "model.tgw")
    data = bytearray(open(path, "rb").read())
    layer = tgw.read_tgw(bytes(data)).layers[2]
    data[layer.chunk_offset + 5 * layer.chunk_stride + 100] ^= 0x80
    open(path, "wb").write(bytes(data))
    return sdcard.build_image(folder, str(tmp_path / "bad.img"), log=quiet)


def boot_card(elf, image, tmp_path):
    """The firmware booted with `image` as its card (linked into a fresh run folder): -> Console."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    os.symlink(image, run_dir / "sd.img")
    return qemu_board.boot(elf, str(run_dir), str(tmp_path / "console.log"))


def test_corrupted_model_names_layer_and_chunk_takes_no_entropy(elf, tmp_path):
    image = corrupted_card(tmp_path)
    before = image_file(image, "entropy.cur", str(tmp_path / "before.cur"))
    console = boot_card(elf, image, tmp_path)
    try:
        deadline = time.monotonic() + 300
        console.wait_for(b"STOP: ", 1, deadline, fail_on=(b"Traceback", b"Enter for a cat"))
        console.wait_for(b">>> ", 1, deadline, fail_on=(b"Traceback",))
        console.type(b"print(6 * 7)\r")
        console.wait_for(b"\n42\r\n", 1, deadline, fail_on=(b"Traceback",))
    finally:
        console.close()
    text = console.text().decode(errors="replace")
    stop = [l for l in text.splitlines() if l.startswith("STOP: ")]
    assert len(stop) == 1 and "layer 2 chunk 5: CRC mismatch" in stop[0] and "no entropy was taken" in stop[0], text
    assert "entropy: reserved" not in text
    assert image_file(image, "entropy.cur", str(tmp_path / "after.cur")) == before


class Pty:
    """The board's console on the pty `tinygan emulate qemu --serial pty` opened, raw."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        termios.tcflush(self.fd, termios.TCIOFLUSH)
        self.out = b""

    def type(self, data):
        os.write(self.fd, data)

    def read_until(self, pattern, timeout=120):
        end = time.monotonic() + timeout
        while not re.search(pattern, self.out):
            left = end - time.monotonic()
            assert left > 0, "timed out waiting for %r; console tail:\n%r" % (pattern, self.out[-2000:])
            if select.select([self.fd], [], [], min(left, 0.5))[0]:
                self.out += os.read(self.fd, 4096)
        return self.out

    def close(self):
        os.close(self.fd)


@pytest.fixture
def pty_board(elf, tmp_path):
    """The default card's firmware on a pty, as a user starts it: -> (pty path, image)."""
    _, image = default_card(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "tinygan", "emulate", "qemu", "--sd", image, "--serial", "pty",
                             "--firmware", elf], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    assert first.startswith("serial: /dev/pts/"), first + proc.stderr.read()
    yield first.split()[1], image
    proc.terminate()
    proc.wait(timeout=30)


def mpremote(port, *args, timeout=300):
    r = subprocess.run([sys.executable, "-m", "mpremote", "connect", port] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_mpremote_and_ctrl_c(pty_board, tmp_path):
    """mpremote reaches the board while main.py's app waits for a press (it interrupts it), lists
    the card and runs a script; Ctrl-C stops a running generate() within one chunk and the REPL
    answers afterwards."""
    pytest.importorskip("mpremote", reason="mpremote not installed (pip install mpremote; .ci/install does)")
    port, _ = pty_board
    time.sleep(3)  # let main.py start the app: mpremote has to interrupt it, as on a real board
    listing = mpremote(port, "fs", "ls", ":/sd")
    assert "model.tgw" in listing and "entropy.bin" in listing, listing
    script = tmp_path / "hello.py"
    script.write_text("import os, sys\nprint('machine', os.uname().machine)\nprint('path', sys.path)\n")
    out = mpremote(port, "run", str(script))
    assert "machine QEMU virt" in out and "'/sd/scripts', '.frozen', '/sd/lib'" in out, out

    con = Pty(port)
    try:
        con.type(b"\x03\x03\r\x02")  # out of anything running, to the friendly REPL
        con.read_until(rb">>> $")
        con.type(b"import time, tinygan; m = tinygan.Model('model.tgw')\r")
        con.read_until(rb">>> $")
        # A cat with no progress callback: Ctrl-C reaches the engine through its own per-chunk
        # hook. First a whole one, for its duration on this machine ...
        con.type(b"t = time.ticks_ms(); img = m.generate(bytes(100)); print('full', time.ticks_diff(time.ticks_ms(), t))\r")
        full = int(con.read_until(rb"full (\d+)\r\n>>> $").rsplit(b"full ", 1)[1].split()[0])
        # ... then one interrupted a quarter of the way in: it ends long before a whole cat would.
        con.type(b"t = time.ticks_ms()\r")
        con.read_until(rb">>> $")
        mark = len(con.out)
        con.type(b"exec('try:\\n m.generate(bytes(100))\\nexcept KeyboardInterrupt:\\n"
                 b" print(\\'stopped\\', time.ticks_diff(time.ticks_ms(), t))')\r")
        time.sleep(full / 4000)
        con.type(b"\x03")
        stopped = int(con.read_until(rb"stopped (\d+)\r\n")[mark:].rsplit(b"stopped ", 1)[1].split()[0])
        assert stopped < full * 3 // 4, (stopped, full)
        con.read_until(rb">>> $")
        # With a callback that reports each chunk (paced so the host keeps up with the console):
        # after Ctrl-C at most the chunk in flight is reported.
        con.type(b"exec('def cb(l, c, n):\\n print(\\'chunk\\', l, c)\\n t = time.ticks_ms()\\n"
                 b" while time.ticks_diff(time.ticks_ms(), t) < 40: pass')\r")
        con.read_until(rb">>> $")
        mark = len(con.out)
        con.type(b"m.generate(bytes(100), progress=cb)\r")
        con.read_until(rb"(chunk \d+ \d+\r\n.*){3}", timeout=300)
        seen = len(re.findall(rb"chunk \d+ \d+", con.out[mark:]))
        con.type(b"\x03")
        out = con.read_until(rb"KeyboardInterrupt.*\r\n>>> $")
        after = len(re.findall(rb"chunk \d+ \d+", out[mark:])) - seen
        assert after <= 1, "%d chunks reported after Ctrl-C" % after
        con.type(b"print(1 + 1)\r")
        con.read_until(rb"\r\n2\r\n>>> $")
    finally:
        con.close()
    assert mpremote(port, "exec", "print(40 + 2)").strip().endswith("42")


def test_edited_phrase_text_is_stale_on_the_device(elf, tmp_path):
    """A drag-and-drop edit of a fragment's text, after its clip was rendered: the firmware's
    phrase bank (frozen scripts/phrasebank.py on the card's files) reports the clip as stale."""
    folder = str(tmp_path / "card")
    sdcard.build_folder(folder, log=quiet)
    edited = os.path.join(folder, "phrases", "motivated", "2-action", "05.txt")
    with open(edited, "a") as f:
        f.write(" And then some.")
    os.remove(os.path.join(folder, "main.py"))  # to the REPL at once
    image = sdcard.build_image(folder, str(tmp_path / "sd.img"), log=quiet)
    console = boot_card(elf, image, tmp_path)
    try:
        deadline = time.monotonic() + 300
        console.wait_for(b">>> ", 1, deadline)
        console.type(b"import phrasebank; print('PROBLEMS', phrasebank.Bank('/sd').problems)\r")
        console.wait_for(b"PROBLEMS [", 1, deadline)
        console.wait_for(b">>> ", 2, deadline)
    finally:
        console.close()
    line = [l for l in console.text().decode(errors="replace").splitlines() if l.startswith("PROBLEMS")][0]
    assert "2-action/05.wav" in line and "stale" in line, line
    assert line.count("stale") == 1, line


def test_a_key_at_boot_skips_main_py(elf, tmp_path):
    """A key on the console within the second after boot.py leaves the REPL instead of the app."""
    _, image = default_card(tmp_path)
    console = boot_card(elf, image, tmp_path)
    try:
        console.type(b"\r")
        deadline = time.monotonic() + 300
        console.wait_for(b"main.py skipped", 1, deadline, fail_on=(b"Traceback", b"Enter for a cat"))
        console.wait_for(b">>> ", 1, deadline, fail_on=(b"Traceback", b"Enter for a cat"))
    finally:
        console.close()
    assert b"model: checking" not in console.text()  # the app never started


def test_press_times_out_with_the_console_tail(elf, tmp_path):
    """--timeout: a run that cannot finish in time exits non-zero and shows what the board said."""
    _, image = default_card(tmp_path)
    r = tinygan_cli("emulate", "qemu", "--sd", image, "--press", "1", "--out", str(tmp_path / "out"),
                    "--firmware", elf, "--timeout", "2")
    assert r.returncode != 0
    assert "timed out" in r.stderr and "main.py starts" in r.stderr, r.stderr
