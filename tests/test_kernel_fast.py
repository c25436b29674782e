"""tg_kernel_s2_fast (float32 multiply-adds over exact int8 products) equals the plain integer kernel
at the edge values where its float partial sums are largest, on the host and on rv32imafc (QEMU)."""
import os
import shutil
import subprocess

import pytest

from tinygan import rv32

EDGE = os.path.join(rv32.REPO, "rv32", "kernel_edge.c")
ENGINE = os.path.join(rv32.REPO, "usermod_tinygan", "engine")
WANT = "sign +1: same hits100=200\nsign -1: same hits100=200\n"


def check(out):
    # 'same' alone could hide two equally wrong saturated outputs; hits100 shows real values
    assert WANT in out.replace("\r", ""), out


@pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler (cc)")
def test_fast_kernel_edge_values_host(tmp_path):
    exe = str(tmp_path / "kernel_edge")
    srcs = [os.path.join(ENGINE, f) for f in sorted(os.listdir(ENGINE)) if f.endswith(".c")]
    r = subprocess.run(["cc", "-std=c99", "-O2", "-ffp-contract=fast", "-Wall", "-Wextra", "-Werror",
                        "-I" + ENGINE, EDGE] + srcs + ["-o", exe], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    check(subprocess.run([exe], capture_output=True, text=True, check=True).stdout)


@pytest.mark.skipif(bool(rv32.missing_tools()), reason="RV32 toolchain/QEMU not installed: %s" % ", ".join(rv32.missing_tools()))
def test_fast_kernel_edge_values_rv32(tmp_path):
    elf = rv32.build(str(tmp_path), main="kernel_edge.c")
    r = subprocess.run(rv32.qemu_cmd(elf), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    check(r.stdout + r.stderr)  # QEMU prints the semihosting console on stderr
