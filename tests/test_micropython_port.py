"""The MicroPython module `tinygan` (usermod_tinygan/modtinygan.c) in MicroPython's unix port:
the same API and the same bytes as the CPython binding on the full default model.

Builds the unix port with the user module (micropython_port/Makefile, target unix) into a
temporary directory. Skips only when no MicroPython source is there (MICROPY_TOP unset and the
submodule micropython_port/micropython not populated).
"""
import json
import os
import shutil
import subprocess

import pytest

import tinygan
from tinygan import tgw
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
