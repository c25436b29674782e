"""What MicroPython users bring, on the QEMU virt rv32 firmware (micropython_port/,
docs/micropython-port.md): .mpy modules compiled by the pinned tree's mpy-cross (bytecode and
rv32imc native code), packages installed by `mpremote mip install` into /sd/lib, and asyncio
frozen from the pinned tree's extmod/asyncio.

The firmware and mpy-cross are built (make -C micropython_port qemu) into a temporary directory.
Everything skips only when there is no MicroPython source, or no RV32 toolchain or QEMU (the rules
and helpers of tests/test_micropython_port.py). mpremote is a dev dependency: not skipped.
"""
import contextlib
import functools
import hashlib
import http.server
import json
import os
import re
import subprocess
import threading

import pytest

from tinygan import qemu_board, sdcard
from test_emulate_qemu import mpremote
from test_micropython_port import needs_rv32, pytestmark, run_qemu

pytestmark = [pytestmark, needs_rv32]

SYS_PATH = ["", "/sd/scripts", ".frozen", "/sd/lib"]


@pytest.fixture(scope="module")
def qemu_build(qemu_build_root):
    """(firmware.elf, mpy-cross): the QEMU firmware and the mpy-cross its build made."""
    return (os.path.join(str(qemu_build_root), "qemu", "firmware.elf"),
            os.path.join(str(qemu_build_root), "mpy-cross", "mpy-cross"))


def mpy_cross(exe, source, out, *flags):
    """Compiles Python source text to the .mpy file out with the build's mpy-cross; returns its bytes."""
    src = str(out)[:-4] + ".py"
    with open(src, "w") as f:
        f.write(source)
    r = subprocess.run([exe, *flags, "-o", str(out), src], capture_output=True, text=True)
    assert r.returncode == 0, "mpy-cross %s failed:\n%s" % (" ".join(flags), r.stderr)
    os.remove(src)  # only the .mpy goes onto the card
    with open(out, "rb") as f:
        return f.read()


def card_image(folder, tmp_path, name="sd.img"):
    return sdcard.build_image(str(folder), str(tmp_path / name), log=lambda *a: None)


BYTECODE_SRC = """
def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
"""

NATIVE_SRC = """
import micropython

@micropython.native
def sum_squares(n):
    s = 0
    for i in range(n):
        s += i * i
    return s

@micropython.viper
def xor_bytes(buf) -> int:
    p = ptr8(buf)
    x = 0
    for i in range(int(len(buf))):
        x ^= p[i]
    return x
"""


def test_mpy_modules_from_the_pinned_mpy_cross_import_and_run(qemu_build, tmp_path):
    """Bytecode and rv32imc native/viper .mpy run; a Zba-flagged and an x64 .mpy are refused."""
    elf, cross = qemu_build
    lib = tmp_path / "card" / "lib"
    lib.mkdir(parents=True)
    bytecode = mpy_cross(cross, BYTECODE_SRC, lib / "mpy_bytecode.mpy")
    native = mpy_cross(cross, NATIVE_SRC, lib / "mpy_native.mpy", "-march=rv32imc")
    mpy_cross(cross, NATIVE_SRC, lib / "mpy_zba.mpy", "-march=rv32imc", "-march-flags=zba")
    mpy_cross(cross, NATIVE_SRC, lib / "mpy_x64.mpy", "-march=x64")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    out = run_qemu(elf, card_image(tmp_path / "card", tmp_path), """
import sys, mpy_bytecode, mpy_native
print('path', sys.path)
print('mpy', sys.implementation._mpy)
print('files', mpy_bytecode.__file__, mpy_native.__file__)
print('fib', mpy_bytecode.fib(40))
print('squares', mpy_native.sum_squares(1000))
print('xor', mpy_native.xor_bytes(bytes(range(7, 250, 3))))
for name in ('mpy_zba', 'mpy_x64'):
    try:
        __import__(name)
        print(name, 'IMPORTED')
    except ValueError as e:
        print(name, 'refused:', e)
""", run_dir)
    assert "path %r" % SYS_PATH in out
    # The device's .mpy version and native arch are what mpy-cross wrote (header bytes 1 and 2).
    assert bytecode[:2] == b"M\x06" and native[:2] == b"M\x06"
    device_mpy = int(re.search(r"^mpy (\d+)", out, re.M).group(1))
    assert device_mpy & 0xFF == bytecode[1]
    assert (device_mpy >> 8) & 0xFF == native[2]  # arch rv32imc and sub-version, no extension flags
    assert "files /sd/lib/mpy_bytecode.mpy /sd/lib/mpy_native.mpy" in out
    a, b = 0, 1
    for _ in range(40):
        a, b = b, a + b
    assert "fib %d" % a in out
    assert "squares %d" % sum(i * i for i in range(1000)) in out
    assert "xor %d" % functools.reduce(lambda x, y: x ^ y, range(7, 250, 3)) in out
    assert "mpy_zba refused: incompatible .mpy file" in out  # the port's emitter allows no Zba
    assert "mpy_x64 refused: incompatible .mpy arch" in out


ASYNCIO_PROGRAM = """
import asyncio, time
log = []

async def sleeper(event):
    t0 = time.ticks_ms()
    await asyncio.sleep_ms(200)
    log.append(('slept', time.ticks_diff(time.ticks_ms(), t0) >= 200))
    event.set()

async def waiter(event):
    log.append(('waiting', event.is_set()))
    await event.wait()
    log.append(('woken', event.is_set()))
    return 'done'

async def slow():
    await asyncio.sleep(10)
    log.append(('slow finished',))

async def main():
    event = asyncio.Event()
    w = asyncio.create_task(waiter(event))
    r = await asyncio.gather(sleeper(event), w)
    log.append(('gather', r))
    try:
        await asyncio.wait_for(slow(), 0.05)
    except asyncio.TimeoutError:
        log.append(('timeout',))

asyncio.run(main())
import _asyncio
print('log', log)
print('asyncio from', asyncio.__file__)
"""


def test_asyncio_two_tasks_sleep_and_event(qemu_build, tmp_path):
    """asyncio is the frozen one (a card's lib/asyncio.py does not shadow it: docs' sys.path order)."""
    elf, _ = qemu_build
    card = tmp_path / "card"
    (card / "lib").mkdir(parents=True)
    (card / "lib" / "asyncio.py").write_text("raise ImportError('lib/asyncio.py was imported')\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    out = run_qemu(elf, card_image(card, tmp_path), ASYNCIO_PROGRAM, run_dir, timeout=120)
    expected = [("waiting", False), ("slept", True), ("woken", True), ("gather", [None, "done"]), ("timeout",)]
    assert "log %r" % expected in out
    assert "asyncio from asyncio/__init__.py" in out  # frozen (the card's would be /sd/lib/asyncio.py)


# ---------------------------------------------------------------- mpremote mip install

PKG_INIT = """
from tgdep import greet
from tgdemo.fast import checksum

def hello(data):
    return greet('tgdemo') + ' %d' % checksum(data)
"""

PKG_FAST = """
import micropython

@micropython.viper
def checksum(buf) -> int:
    p = ptr8(buf)
    s = 0
    for i in range(int(len(buf))):
        s = (s * 31 + p[i]) & 0xFFFF
    return s
"""

DEP_SRC = """
def greet(who):
    return 'hello from ' + who
"""


def mip_index(root, cross, packages):
    """Writes a mip index as micropython.org/pi/v2 lays it out and mpremote's mip.py reads it:
    package/<mpy version>/<name>/latest.json listing [target path, short sha256] pairs, and the
    files under file/<hash[:2]>/<hash>. packages: {name: ([(target, source, mpy-cross flags)], deps)}.
    Returns {target: full sha256} of every file."""
    full = {}
    for name, (files, deps) in packages.items():
        hashes = []
        for target, source, flags in files:
            data = mpy_cross(cross, source, root / "build.mpy", *flags)
            digest = hashlib.sha256(data).hexdigest()
            (root / "file" / digest[:2]).mkdir(parents=True, exist_ok=True)
            (root / "file" / digest[:2] / digest[:8]).write_bytes(data)
            hashes.append([target, digest[:8]])
            full[target] = digest
            mpy_version = data[1]
        (root / "build.mpy").unlink()
        pkg_dir = root / "package" / str(mpy_version) / name
        pkg_dir.mkdir(parents=True)
        (pkg_dir / "latest.json").write_text(json.dumps(
            {"hashes": hashes, "deps": [[d, "latest"] for d in deps], "version": "1.0"}))
    return full


@contextlib.contextmanager
def http_server(folder):
    """Serves folder on 127.0.0.1 (a free port); yields (url, list of requested paths)."""
    requested = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(folder), **kw)

        def log_message(self, fmt, *args):
            requested.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d/" % server.server_address[1], requested
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def qemu_on_pty(elf, sd_image, run_dir):
    """Boots the firmware with its UART on a pseudo-terminal, as a board on a USB serial port;
    yields the /dev/pts path for mpremote."""
    os.symlink(sd_image, run_dir / "sd.img")
    cmd = [qemu_board.QEMU] + qemu_board.QEMU_ARGS + ["-serial", "pty", "-kernel", elf]
    proc = subprocess.Popen(cmd, cwd=str(run_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()  # QEMU says where the UART went before the firmware starts
        m = re.search(r"char device redirected to (/dev/pts/\d+)", line)
        assert m, "QEMU did not report a pty: %r" % line
        yield m.group(1)
    finally:
        proc.kill()
        proc.wait()


def test_mpremote_mip_install_into_sd_lib(qemu_build, tmp_path):
    """mip picks /sd/lib from the device's sys.path and the device's .mpy version from
    sys.implementation._mpy, installs a package (bytecode + rv32imc viper .mpy) and its dependency
    from a local index, creating lib/ on a card that has none; the package imports then and after
    a reboot, byte-identical to what was served."""
    elf, cross = qemu_build
    index = tmp_path / "index"
    index.mkdir()
    served = mip_index(index, cross, {
        "tgdemo": ([("tgdemo/__init__.mpy", PKG_INIT, ()), ("tgdemo/fast.mpy", PKG_FAST, ("-march=rv32imc",))],
                   ["tgdep"]),
        "tgdep": ([("tgdep.mpy", DEP_SRC, ())], []),
    })
    card = tmp_path / "card"
    card.mkdir()
    (card / "hello.txt").write_text("a card without lib/\n")
    image = card_image(card, tmp_path)
    data = bytes(range(200))
    s = 0
    for b in data:
        s = (s * 31 + b) & 0xFFFF
    expected = "hello from tgdemo %d" % s

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with http_server(index) as (url, requested), qemu_on_pty(elf, image, run_dir) as pty:
        out = mpremote(pty, "mip", "install", "--index", url, "tgdemo")
        assert "to /sd/lib" in out
        for target in served:
            assert "Installing: /sd/lib/" + target in out
        assert "/package/6/tgdemo/latest.json" in requested and "/package/6/tgdep/latest.json" in requested
        again = mpremote(pty, "mip", "install", "--index", url, "tgdemo")  # hashes checked on the device
        for target in served:
            assert "Exists: /sd/lib/" + target in again
        out = mpremote(pty, "exec", "import tgdemo; print(tgdemo.hello(bytes(range(200))), tgdemo.__file__)")
        assert "%s /sd/lib/tgdemo/__init__.mpy" % expected in out

    reboot_dir = tmp_path / "reboot"
    reboot_dir.mkdir()
    out = run_qemu(elf, image, """
import hashlib, binascii, tgdemo
print(tgdemo.hello(bytes(range(200))))
for target in %r:
    print('sha', target, binascii.hexlify(hashlib.sha256(open('/sd/lib/' + target, 'rb').read()).digest()).decode())
""" % sorted(served), reboot_dir)
    assert expected in out
    for target, digest in served.items():
        assert "sha %s %s" % (target, digest) in out
