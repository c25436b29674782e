"""The fast kernels equal the plain integer kernel: tg_kernel_s2_fast (float32 multiply-adds over
exact int8 products) at the edge values where its float partial sums are largest, on the host and on
rv32imafc (QEMU); it and the host's AVX-512 VNNI kernel on thousands of random and extreme shapes
(usermod_tinygan/tools/kernel_check.c, raw int32 sums compared)."""
import os
import platform
import shutil
import subprocess

import pytest

from tinygan import rv32

EDGE = os.path.join(rv32.REPO, "rv32", "kernel_edge.c")
ENGINE = os.path.join(rv32.REPO, "usermod_tinygan", "engine")
CHECK = os.path.join(rv32.REPO, "usermod_tinygan", "tools", "kernel_check.c")
X86_KERNEL = os.path.join(rv32.REPO, "usermod_tinygan", "host", "tg_kernel_x86.c")
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


@pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler (cc)")
@pytest.mark.parametrize("kernel", ["tg_kernel_s2_fast", "tg_kernel_s2_x86"])
def test_kernels_equal_plain_on_random_shapes(tmp_path, kernel):
    srcs = [os.path.join(ENGINE, "tg_kernels.c"), CHECK]
    if kernel == "tg_kernel_s2_x86":
        if platform.machine() not in ("x86_64", "AMD64"):
            pytest.skip("the host's AVX-512 kernel is x86-64 only")
        srcs.append(X86_KERNEL)
        if "avx512_vnni" not in open("/proc/cpuinfo").read():
            pytest.skip("this CPU has no AVX-512 VNNI: the x86 kernel would only run its fallback")
    exe = str(tmp_path / "kernel_check")
    r = subprocess.run(["cc", "-std=gnu99", "-O2", "-ffp-contract=fast", "-Wall", "-Wextra", "-Werror",
                        "-DTG_KERNEL_S2=" + kernel, "-I" + ENGINE] + srcs + ["-o", exe], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([exe, "3000"], capture_output=True, text=True)
    assert r.returncode == 0 and "3000 cases, all equal" in r.stdout, r.stdout + r.stderr
