"""The engine's CRC-32 (usermod_tinygan/engine/tg_crc32.c, slicing-by-8) equals zlib.crc32: through
the CPython extension on every length 0..5000 at every start offset 0..7, chained at any split, and
on RV32 under QEMU; the checked-in tables equal the generator's output."""
import os
import random
import re
import subprocess
import zlib

import pytest

from tinygan import _engine, crc_tablegen, rv32

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def data():
    rng = random.Random(12)
    return bytes(rng.randrange(256) for _ in range(16 * 1024 + 16))


def test_checked_in_tables_equal_the_generator():
    with open(crc_tablegen.OUT) as f:
        assert f.read() == crc_tablegen.render()


def test_generator_byte_table_is_zlibs():
    # table 0 row b is the CRC register after one byte b from a zero register; zlib computes the
    # same with its pre/post inversion undone
    t = crc_tablegen.tables()
    for b in range(256):
        assert t[0][b] == zlib.crc32(bytes([b]), 0xFFFFFFFF) ^ 0xFFFFFFFF
    # table k = byte b then k zero bytes
    for k in range(1, crc_tablegen.SLICES):
        for b in (0, 1, 0x80, 0xFF):
            assert t[k][b] == zlib.crc32(bytes([b]) + bytes(k), 0xFFFFFFFF) ^ 0xFFFFFFFF


def test_known_check_value():
    assert _engine.crc32(b"123456789") == 0xCBF43926  # the catalogued CRC-32 check value
    assert _engine.crc32(b"") == 0
    assert _engine.crc32(b"", 0x12345678) == 0x12345678


def test_every_length_and_offset_against_zlib(data):
    view = memoryview(data)
    for off in range(8):
        for n in range(5001):
            piece = view[off:off + n]
            assert _engine.crc32(piece) == zlib.crc32(piece), (off, n)


def test_chained_calls_equal_one_call(data):
    rng = random.Random(5)
    view = memoryview(data)
    for _ in range(2000):
        off = rng.randrange(8)
        n = rng.randrange(3000)
        cuts = sorted(rng.randrange(n + 1) for _ in range(rng.randrange(1, 5)))
        crc, prev = 0, off
        for c in cuts + [n]:
            crc = _engine.crc32(view[prev:off + c], crc)
            prev = off + c
        assert crc == zlib.crc32(view[off:off + n]), (off, n, cuts)
    # starting from a value other than 0 (any register content, as zlib allows)
    assert _engine.crc32(data[:777], 0xDEADBEEF) == zlib.crc32(data[:777], 0xDEADBEEF)


@pytest.mark.parametrize("fill", [0x00, 0xFF])
def test_constant_buffers(fill):
    for n in (1, 7, 8, 9, 63, 64, 4096, 16384, 16389):
        buf = bytes([fill]) * n
        for off in range(4):
            assert _engine.crc32(memoryview(buf)[off:]) == zlib.crc32(buf[off:]), (fill, n, off)


def test_a_single_bit_flip_changes_the_crc(data):
    # the slicing tables are used at every position: a flip in any byte must be seen
    base = _engine.crc32(data[:4096])
    for pos in range(0, 4096, 37):
        bad = bytearray(data[:4096])
        bad[pos] ^= 1 << (pos % 8)
        assert _engine.crc32(bytes(bad)) != base, pos


MISSING = rv32.missing_tools()


@pytest.mark.skipif(bool(MISSING), reason="RV32 toolchain/QEMU not installed: %s" % ", ".join(MISSING))
def test_rv32_matches_zlib(data, tmp_path):
    rng = random.Random(7)
    lengths = list(range(0, 70)) + [rng.randrange(70, 5001) for _ in range(40)] + [4096, 5000, 16384]
    cases = []
    for off in range(8):
        for n in lengths:
            if off + n <= len(data):
                cases.append((off, n, rng.randrange(n + 1)))
    elf = rv32.build(str(tmp_path), main="crc_check.c")
    cases_txt = "".join("%d %d %d\n" % c for c in cases).encode()
    text, _ = rv32.run_program(elf, {"data.bin": data, "cases.txt": cases_txt}, timeout=300)
    got = {(int(o), int(n)): (int(a, 16), int(b, 16))
           for o, n, a, b in re.findall(r"^crc (\d+) (\d+) ([0-9a-f]{8}) ([0-9a-f]{8})$", text, re.M)}
    assert len(got) == len(set((o, n) for o, n, _ in cases)), text[-2000:]
    for off, n, _split in cases:
        want = zlib.crc32(data[off:off + n])
        assert got[(off, n)] == (want, want), (off, n)
    speed = re.search(r"speed bytes (\d+) instr (\d+)", text)
    assert speed, text[-2000:]


@pytest.mark.parametrize("loads", ["word loads", "byte loads"])
def test_host_against_zlib_under_asan_ubsan(tmp_path, loads, sanitizer_cc):
    cc = sanitizer_cc(libs=("z",))
    if cc is None:
        pytest.skip("no C compiler with AddressSanitizer/UBSan runtime and zlib found")
    exe = tmp_path / "crc_check"
    build = [cc, "-std=c99", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
             "-fno-sanitize-recover=all", "-I" + os.path.join(REPO, "usermod_tinygan", "engine")]
    if loads == "byte loads":
        build.append("-DTG_CRC32_BYTE_LOADS")
    r = subprocess.run(build + [os.path.join(REPO, "usermod_tinygan", "engine", "tg_crc32.c"),
                                os.path.join(REPO, "usermod_tinygan", "tools", "crc_check.c"), "-lz", "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "ok %d" % (8 * 5001)
