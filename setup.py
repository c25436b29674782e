"""Builds the C engine into the CPython extension `tinygan._engine` during `pip install -e .`.

The engine sources under usermod_tinygan/engine/ are the same files the MicroPython module and the
bare-metal RV32 image compile; only usermod_tinygan/host/ is CPython-specific.
"""
import glob
import os
import platform

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _sources():
    engine = sorted(glob.glob(os.path.join("usermod_tinygan", "engine", "*.c")))
    host = sorted(glob.glob(os.path.join("usermod_tinygan", "host", "*.c")))
    return engine + host


ext_modules = []
if _sources():
    ext_modules.append(
        Extension(
            "tinygan._engine",
            sources=_sources(),
            include_dirs=[os.path.join("usermod_tinygan", "engine")],
            # -std=gnu99 rather than c99 only for the host binding's POSIX calls (pread, pthreads);
            # the engine itself is plain C99 and is also built with -std=c99 by the RV32 image.
            extra_compile_args=["-std=gnu99", "-O3", "-march=native", "-ffp-contract=fast", "-Wall", "-Wextra", "-Werror", "-pthread"],
            extra_link_args=["-pthread"],
            libraries=["z"],
            # the AVX-512 VNNI kernel (usermod_tinygan/host/tg_kernel_x86.c) checks the CPU at run
            # time and falls back to the portable kernel
            define_macros=[("TG_KERNEL_S2", "tg_kernel_s2_x86")] if platform.machine() in ("x86_64", "AMD64") else [],  # zlib's crc32 in the reader thread (zlib1g-dev, .ci/install)
        )
    )

setup(ext_modules=ext_modules)
