"""Shared fixtures. Names are stable; other test modules rely on them:

- tiny_model_bytes: a .tgw of a tiny generator (nz=8, ngf=4, 512-byte chunks: several chunks
  per layer) - small enough to corrupt every single byte of it in a test.
- small_model_path: a small generator (nz=100, ngf=16) as a .tgw file, for fast engine tests
  with the real latent size.
- full_model_path: the full-size DCGAN (nz=100, ngf=128, 12.6M parameters) with DCGAN-style random
  weights, exported once per session (about 20 s on 2 cores).
- full_model_report: the exporter's report for full_model_path.
- entropy_blocks: a function n -> list of n distinct 200-byte entropy blocks (seeded, reproducible).
- qemu_build_root: one build of the QEMU board's firmware (BUILD_ROOT/qemu/firmware.elf) and of
  mpy-cross (BUILD_ROOT/mpy-cross/mpy-cross) for every test file that boots it.
- ch32h417_build_root: one default build of the CH32H417 firmware: the folder holding
  firmware.bin, firmware.elf and v3f.elf, for every test file that boots it on the emulated chip.
- sanitizer_cc: a function libs -> the first of cc/gcc/clang that links an AddressSanitizer/UBSan
  program with those -l libraries, or None.
"""
import os
import random
import shutil
import subprocess

import pytest

from tinygan import export, testmodels


def _export(tmp_path_factory, name, **kw):
    net = testmodels.random_generator(**{k: kw.pop(k) for k in ("nz", "ngf", "seed") if k in kw})
    data, report = export.export_generator(net, name=name, **kw)
    path = tmp_path_factory.mktemp("models") / (name + ".tgw")
    path.write_bytes(data)
    return path, data, report


@pytest.fixture(scope="session")
def tiny_model_bytes(tmp_path_factory):
    _, data, _ = _export(tmp_path_factory, "tiny", nz=8, ngf=4, seed=3, calib=64, chunk_bytes=512, psnr_latents=0)
    return data


@pytest.fixture(scope="session")
def small_model_path(tmp_path_factory):
    path, _, _ = _export(tmp_path_factory, "small", nz=100, ngf=16, seed=2, calib=256, psnr_latents=0)
    return str(path)


@pytest.fixture(scope="session")
def _full_model(tmp_path_factory):
    return _export(tmp_path_factory, "full_random", nz=100, ngf=128, seed=0, psnr_latents=8)


@pytest.fixture(scope="session")
def full_model_path(_full_model):
    return str(_full_model[0])


@pytest.fixture(scope="session")
def full_model_report(_full_model):
    return _full_model[2]


@pytest.fixture
def entropy_blocks():
    def make(n, seed=1234):
        rng = random.Random(seed)
        return [bytes(rng.randrange(256) for _ in range(200)) for _ in range(n)]
    return make


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _port_build(tmp_path_factory, target, what):
    """One build of the port's make target into a fresh BUILD_ROOT; -> the root."""
    from test_micropython_port import PORT_DIR, TOP  # the MicroPython tree the port builds against
    if TOP is None:
        pytest.skip("MicroPython source absent (bash .ci/install populates micropython_port/micropython)")
    root = tmp_path_factory.mktemp(target + "-build")
    r = subprocess.run(["make", "-C", PORT_DIR, target, "MICROPY_TOP=" + TOP, "BUILD_ROOT=%s" % root,
                        "-j%d" % max(1, os.cpu_count() or 1)], capture_output=True, text=True)
    assert r.returncode == 0, "%s firmware build failed:\n" % what + (r.stdout + r.stderr)[-4000:]
    return root


@pytest.fixture(scope="session")
def qemu_build_root(tmp_path_factory):
    return _port_build(tmp_path_factory, "qemu", "QEMU")


@pytest.fixture(scope="session")
def ch32h417_build_root(tmp_path_factory):
    return str(_port_build(tmp_path_factory, "ch32h417", "CH32H417") / "ch32h417")


@pytest.fixture(scope="session")
def sanitizer_cc():
    def find(libs=()):
        for cc in ("cc", "gcc", "clang"):
            if shutil.which(cc):
                probe = subprocess.run([cc, "-fsanitize=address,undefined", "-x", "c", "-", "-o", os.devnull] +
                                       ["-l" + lib for lib in libs],
                                       input="int main(void){return 0;}", capture_output=True, text=True)
                if probe.returncode == 0:
                    return cc
        return None
    return find
