"""The MicroPython module `tinygan` (usermod_tinygan/modtinygan.c): the same API and the same
bytes as the CPython binding on the full default model, in MicroPython's unix port and in the
tinygan port's QEMU virt rv32 firmware (micropython_port/, docs/micropython-port.md).

Both are built (micropython_port/Makefile, targets unix and qemu) into temporary directories.
Everything skips only when no MicroPython source is there (MICROPY_TOP unset and the submodule
micropython_port/micropython not populated); the QEMU tests also when the RV32 toolchain or QEMU
is not installed.
"""
import binascii
import json
import os
import shutil
import subprocess

import pytest

import tinygan
from tinygan import qemu_board, rv32, sdcard, tgw
from tinygan.device import latent

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT_DIR = os.path.join(REPO, "micropython_port")
SCRIPTS = os.path.join(REPO, "scripts")
MODEL = os.path.join(REPO, "weights", "default.tgw")
ENTROPY = os.path.join(REPO, "sdcard", "entropy.bin")


def micropy_top():
    """The MicroPython source tree the port builds against, or None."""
    top = os.environ.get("MICROPY_TOP")
    if top:
        return top  # set explicitly: a wrong path must fail the build, not skip
    sub = os.path.join(PORT_DIR, "micropython")
    return sub if os.path.isfile(os.path.join(sub, "py", "mkenv.mk")) else None


TOP = micropy_top()
pytestmark = pytest.mark.skipif(
    TOP is None, reason="MicroPython source absent: MICROPY_TOP unset and micropython_port/micropython not populated "
    "(git submodule update --init micropython_port/micropython)")


def make(target, build_root, **variables):
    cmd = ["make", "-C", PORT_DIR, target, "MICROPY_TOP=" + TOP, "BUILD_ROOT=" + str(build_root),
           "-j%d" % max(1, os.cpu_count() or 1)] + ["%s=%s" % kv for kv in variables.items()]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, "build failed:\n" + (r.stdout + r.stderr)[-4000:]


@pytest.fixture(scope="module")
def micropython(tmp_path_factory):
    build_root = tmp_path_factory.mktemp("mp-build")
    make("unix", build_root)
    exe = os.path.join(str(build_root), "unix", "micropython")
    assert os.access(exe, os.X_OK)
    return exe


def run_mp(exe, code, tmp_path, timeout=300):
    """Runs code under the MicroPython unix port with scripts/ importable; returns its stdout."""
    script = tmp_path / "mp_script.py"
    script.write_text("import sys\nsys.path.insert(0, %r)\n" % SCRIPTS + code)
    r = subprocess.run([exe, "-X", "heapsize=8M", str(script)], capture_output=True, text=True, timeout=timeout,
                       cwd=str(tmp_path))
    assert r.returncode == 0, "MicroPython failed:\n" + (r.stdout + r.stderr)[-4000:]
    return r.stdout


def entropy_blocks(n):
    with open(ENTROPY, "rb") as f:
        data = f.read(200 * n)
    assert len(data) == 200 * n
    return [data[200 * i:200 * (i + 1)] for i in range(n)]


def test_default_model_identical_to_cpython_engine(micropython, tmp_path):
    """Three cats, latents computed by scripts/latent.py under MicroPython from the sample pool."""
    host = tinygan.Model(MODEL)
    out = run_mp(micropython, """
import json, latent, tinygan
m = tinygan.Model(%r)
pool = open(%r, 'rb')
for i in range(3):
    z = latent.latent_from_bytes(pool.read(200), m.latent_inv_scale)
    open('z%%d.bin' %% i, 'wb').write(z)
    open('cat%%d.rgb' %% i, 'wb').write(m.generate(z))
print(json.dumps({'name': m.name, 'latent_dim': m.latent_dim, 'latent_inv_scale': m.latent_inv_scale,
                  'out_shape': list(m.out_shape), 'arena_size': m.arena_size, 'file_size': m.file_size,
                  'layers': m.layers, 'macs': [s['macs'] for s in m.stats]}))
""" % (MODEL, ENTROPY), tmp_path)
    attrs = json.loads(out.strip().splitlines()[-1])
    for i, block in enumerate(entropy_blocks(3)):
        z = latent.latent_from_bytes(block, host.latent_inv_scale)
        assert (tmp_path / ("z%d.bin" % i)).read_bytes() == bytes(z)
        mp_image = (tmp_path / ("cat%d.rgb" % i)).read_bytes()
        assert len(mp_image) == 64 * 64 * 3
        assert mp_image == bytes(host.generate(z))
    assert attrs["macs"] == [s["macs"] for s in host.stats]
    assert attrs["layers"] == host.layers
    for name in ("name", "latent_dim", "latent_inv_scale", "arena_size", "file_size"):
        assert attrs[name] == getattr(host, name), name
    assert tuple(attrs["out_shape"]) == host.out_shape


def test_file_object_out_buffer_progress_and_verify(micropython, tmp_path):
    """Model(open file), generate(out=...), progress calls / cancel / exception, verify()."""
    out = run_mp(micropython, """
import tinygan
f = open(%r, 'rb')
m = tinygan.Model(f)
z = bytes(range(100))
buf = bytearray(64 * 64 * 3)
calls = []
r = m.generate(z, out=buf, progress=lambda layer, chunk, n: calls.append((layer, chunk, n)))
print('same_object', r is buf)
open('calls.txt', 'w').write(repr(calls))
open('cat.rgb', 'wb').write(buf)
try:
    m.generate(z, progress=lambda layer, chunk, n: layer == 2 and chunk == 1)
except tinygan.EngineError as e:
    print('cancel', isinstance(e, ValueError), e)
try:
    m.generate(z, progress=lambda layer, chunk, n: 1 // 0)
except ZeroDivisionError:
    print('callback exception propagates')
try:
    m.generate(bytes(99))
except ValueError as e:
    print('short latent', e)
m.verify()
print('verified')
""" % MODEL, tmp_path)
    host = tinygan.Model(MODEL)
    host_calls = []
    host_image = host.generate(bytes(range(100)), progress=lambda *a: host_calls.append(a))
    assert "same_object True" in out
    assert len(host_calls) > len(host.layers)  # about one call per chunk
    assert (tmp_path / "calls.txt").read_text() == repr(host_calls)
    assert (tmp_path / "cat.rgb").read_bytes() == bytes(host_image)
    assert "cancel True" in out and "layer 2 chunk 1" in out
    assert "callback exception propagates" in out
    assert "short latent" in out
    assert "verified" in out


def test_corrupted_chunk_names_layer_and_chunk(micropython, tmp_path):
    data = bytearray(open(MODEL, "rb").read())
    layer = tgw.read_tgw(bytes(data)).layers[1]
    data[layer.chunk_offset + 3 * layer.chunk_stride + 77] ^= 0x04
    bad = tmp_path / "bad.tgw"
    bad.write_bytes(bytes(data))
    with pytest.raises(tinygan.EngineError) as host_err:
        tinygan.Model(str(bad)).generate(bytes(100))
    out = run_mp(micropython, """
import tinygan
m = tinygan.Model('bad.tgw')      # header and parameter blocks are fine: open succeeds
try:
    m.generate(bytes(100))
    print('NO ERROR')
except tinygan.EngineError as e:
    print('generate:', e)
try:
    m.verify()
    print('NO ERROR')
except ValueError as e:
    print('verify:', e)
""", tmp_path)
    assert "NO ERROR" not in out
    assert "generate: layer 1 chunk 3: CRC mismatch" in out
    assert "verify: layer 1 chunk 3: CRC mismatch" in out
    assert ("generate: %s" % host_err.value) in out


def test_truncated_file_is_an_engine_error(micropython, tmp_path):
    shutil.copyfile(MODEL, tmp_path / "short.tgw")
    with open(tmp_path / "short.tgw", "r+b") as f:
        f.truncate(os.path.getsize(MODEL) // 2)
    out = run_mp(micropython, """
import tinygan
try:
    tinygan.Model('short.tgw')
    print('NO ERROR')
except tinygan.EngineError as e:
    print('open:', e)
try:
    tinygan.Model('missing.tgw')
except OSError as e:
    print('missing: OSError')
""", tmp_path)
    assert "NO ERROR" not in out and "open: " in out
    assert "missing: OSError" in out


# ---------------------------------------------------------------- QEMU virt rv32 firmware

RV32_MISSING = rv32.missing_tools()
needs_rv32 = pytest.mark.skipif(bool(RV32_MISSING), reason="RV32 toolchain/QEMU not installed: %s"
                                % ", ".join(RV32_MISSING))


@pytest.fixture(scope="module")
def qemu_firmware(qemu_build_root):
    return os.path.join(str(qemu_build_root), "qemu", "firmware.elf")


@pytest.fixture(scope="module")
def sd_image(tmp_path_factory):
    """A FAT32 card as the board sees it: the default model, the sample pool, the latent module."""
    work = tmp_path_factory.mktemp("sd")
    card = work / "card"
    (card / "scripts").mkdir(parents=True)
    shutil.copyfile(MODEL, card / "model.tgw")
    shutil.copyfile(ENTROPY, card / "entropy.bin")
    for name in ("latent.py", "latent_tables.py"):
        shutil.copyfile(os.path.join(SCRIPTS, name), card / "scripts" / name)
    return sdcard.build_image(str(card), str(work / "sd.img"), log=lambda *a: None)


def run_qemu(elf, sd_image, code, tmp_path, timeout=500):
    """Boots the firmware with sd_image as its card and runs code in the raw REPL (the protocol
    mpremote uses), then machine.reset() as a second raw-REPL command, which ends QEMU
    (semihosting exit) after the code's exception, if any, has been reported. Returns the code's
    stdout."""
    os.symlink(sd_image, tmp_path / "sd.img")
    commands = code.strip() + "\n\x04import machine\nmachine.reset()\n\x04"
    cmd = [qemu_board.QEMU] + qemu_board.QEMU_ARGS + ["-serial", "stdio", "-kernel", elf]
    r = subprocess.run(cmd, input=b"\r\x01" + commands.encode(), capture_output=True, timeout=timeout,
                       cwd=str(tmp_path))
    out = r.stdout.decode(errors="replace")
    assert "raw REPL; CTRL-B to exit" in out, out[-3000:]
    body = out.split("raw REPL; CTRL-B to exit", 1)[1]
    assert body.startswith("\r\n>OK"), body[:3000]
    stdout, _, rest = body[len("\r\n>OK"):].partition("\x04")
    stderr = rest.partition("\x04")[0]
    assert not stderr.strip(), "firmware raised:\n" + stderr
    assert r.returncode == 0, out[-3000:]
    return stdout


@needs_rv32
def test_qemu_firmware_generates_the_same_bytes(qemu_firmware, sd_image, tmp_path):
    out = run_qemu(qemu_firmware, sd_image, """
import binascii, os, sys, time, latent, tinygan
print('cwd', os.getcwd(), sys.platform)
m = tinygan.Model('model.tgw')
pool = open('entropy.bin', 'rb')
for i in range(2):
    z = latent.latent_from_bytes(pool.read(200), m.latent_inv_scale)
    t = time.ticks_us()
    img = m.generate(z)
    dt = time.ticks_diff(time.ticks_us(), t)
    print('cat', binascii.hexlify(z).decode(), binascii.hexlify(img).decode(), dt)
print('macs', [s['macs'] for s in m.stats])
print('arena', m.arena_size)
""", tmp_path)
    host = tinygan.Model(MODEL)
    assert "cwd /sd tinygan" in out
    cats = [line.split() for line in out.splitlines() if line.startswith("cat ")]
    assert len(cats) == 2
    for block, (_, z_hex, img_hex, us) in zip(entropy_blocks(2), cats):
        z = latent.latent_from_bytes(block, host.latent_inv_scale)
        assert binascii.unhexlify(z_hex) == bytes(z)
        image = binascii.unhexlify(img_hex)
        assert len(image) == 64 * 64 * 3
        assert image == bytes(host.generate(z))
    assert "macs %s" % [s["macs"] for s in host.stats] in out
    assert "arena %d" % host.arena_size in out


@needs_rv32
def test_qemu_firmware_reports_a_corrupted_chunk(qemu_firmware, tmp_path):
    data = bytearray(open(MODEL, "rb").read())
    layer = tgw.read_tgw(bytes(data)).layers[2]
    data[layer.chunk_offset + 5 * layer.chunk_stride + 100] ^= 0x80
    card = tmp_path / "card"
    card.mkdir()
    (card / "model.tgw").write_bytes(bytes(data))
    image = sdcard.build_image(str(card), str(tmp_path / "bad.img"), log=lambda *a: None)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    out = run_qemu(qemu_firmware, image, """
import tinygan
m = tinygan.Model('model.tgw')
try:
    m.generate(bytes(100))
    print('NO ERROR')
except tinygan.EngineError as e:
    print('error:', e)
""", run_dir)
    assert "NO ERROR" not in out
    assert "error: layer 2 chunk 5: CRC mismatch" in out
