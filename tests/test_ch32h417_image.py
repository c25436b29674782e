"""`boards/CH32H417/mkimage.py --check`: the merged flash image (firmware.bin) checked against the
two ELF files it was made from (docs/flashing-ch32h417.md tells to run it on a file before flashing
it, and on a read-back after). It must pass on the real build and fail, naming the segment or the
offset, on each way a file can be wrong: a flipped byte, a truncated file, the two halves swapped,
the ELF files given in the wrong order, garbage between the segments, an image larger than the
flash, a V5F entry off the wake address.

The real build is the firmware fixture of test_ch32h417_firmware.py (same make, same switches); the
small synthetic ELF files come from its tiny_elf(), with the entry point patched in here.
"""
import os
import re
import shutil
import struct
import subprocess
import sys

import pytest

import test_ch32h417_firmware as firmware
from test_ch32h417_firmware import build, tiny_elf  # noqa: F401  (build is a fixture)

MKIMAGE = os.path.join(firmware.BOARD, "mkimage.py")
KIB = 1024


def needs_build(test):
    """The firmware test's skips: no MicroPython source or no RV32 toolchain."""
    for mark in firmware.pytestmark:
        test = mark(test)
    return test


def run_check(image, v3f, v5f):
    return subprocess.run([sys.executable, MKIMAGE, "--check", str(image), str(v3f), str(v5f)],
                          capture_output=True, text=True)


def assert_fails(result, *phrases):
    assert result.returncode == 1, "the check passed:\n" + result.stdout
    for phrase in phrases:
        assert phrase in result.stderr, "%r not in:\n%s" % (phrase, result.stderr)


def with_entry(path, entry):
    """path's ELF file with e_entry (offset 24 of the header) set; returns path."""
    data = bytearray(open(path, "rb").read())
    struct.pack_into("<I", data, 24, entry)
    open(path, "wb").write(bytes(data))
    return path


def image_of(parts, size=None):
    """A flash image: {offset: bytes} over 0xFF."""
    end = size if size is not None else max(off + len(b) for off, b in parts.items())
    image = bytearray(b"\xff" * end)
    for off, blob in parts.items():
        image[off:off + len(blob)] = blob
    return bytes(image)


# ---------------------------------------------------------------- on the real build

@pytest.fixture
def real(build, tmp_path):  # noqa: F811
    """A writable copy of the built firmware.bin, its bytes, and the two ELF files."""
    copy = tmp_path / "firmware.bin"
    shutil.copyfile(build["firmware.bin"], copy)
    return copy, copy.read_bytes(), build["v3f.elf"], build["firmware.elf"]


@needs_build
def test_built_image_passes(real):
    path, data, v3f, v5f = real
    r = run_check(path, v3f, v5f)
    assert r.returncode == 0, r.stderr
    assert "%d bytes match" % len(data) in r.stdout


@needs_build
def test_flipped_byte_in_the_v5f_code_is_named(real):
    path, data, v3f, v5f = real
    bad = bytearray(data)
    bad[0x20000] ^= 0x01          # inside the V5F's .text (282 KiB from 0x10000)
    path.write_bytes(bytes(bad))
    assert_fails(run_check(path, v3f, v5f), "firmware.elf: segment", "differs at offset 0x20000",
                 "1 byte differs")


@needs_build
def test_flipped_byte_in_the_v3f_code_is_named(real):
    path, data, v3f, v5f = real
    bad = bytearray(data)
    bad[0x10] ^= 0x80
    path.write_bytes(bytes(bad))
    assert_fails(run_check(path, v3f, v5f), "v3f.elf: segment", "load address 0x00000000", "differs at offset 0x00010")


@needs_build
def test_garbage_between_the_slots_is_named(real):
    path, data, v3f, v5f = real
    bad = bytearray(data)
    bad[0x8000] = 0x00            # the unused part of the V3F slot
    path.write_bytes(bytes(bad))
    assert_fails(run_check(path, v3f, v5f), "offset 0x08000: 0x00 where nothing is loaded", "0xff fill")


@needs_build
def test_truncated_image_is_named(real):
    path, data, v3f, v5f = real
    path.write_bytes(data[:-100])
    assert_fails(run_check(path, v3f, v5f), "firmware.elf: segment", "past the end of the image (%d bytes)"
                 % (len(data) - 100), "truncated")


@needs_build
def test_image_cut_at_the_v5f_slot_is_named(real):
    """Only the V3F part (what a tool writing the first 64 KiB alone would leave)."""
    path, data, v3f, v5f = real
    path.write_bytes(data[:0x10000])
    r = run_check(path, v3f, v5f)
    assert_fails(r, "firmware.elf: segment", "past the end of the image (65536 bytes)")
    assert "v3f.elf" not in r.stderr.split(":\n", 1)[1]  # the V3F part itself is right


@needs_build
def test_swapped_halves_are_named(real):
    """The V5F image at offset 0 and the V3F start-up at 0x10000: the chip would reset into the V5F's code."""
    path, data, v3f, v5f = real
    v3f_part, v5f_part = data[:0x10000].rstrip(b"\xff"), data[0x10000:]
    path.write_bytes(image_of({0: v5f_part, 0x10000 + len(v5f_part): v3f_part}))
    r = run_check(path, v3f, v5f)
    assert_fails(r)
    assert re.search(r"v3f\.elf: segment \d+ \(load address 0x00000000, \d+ bytes\) differs at", r.stderr), r.stderr
    assert re.search(r"firmware\.elf: segment \d+ \(load address 0x00010000, \d+ bytes\) differs at", r.stderr), r.stderr


@needs_build
def test_elf_files_in_the_wrong_order_are_named(real):
    path, _, v3f, v5f = real
    assert_fails(run_check(path, v5f, v3f), "firmware.elf: entry 0x00010000, but the V3F starts at 0x00000000",
                 "give the V3F start-up first", "lies outside the V3F's 64 KiB slot")


@needs_build
def test_readback_longer_than_the_image_passes_only_if_erased(real):
    """A read-back of a whole 4 KiB-rounded range (wlink dump) has erased flash after the image."""
    path, data, v3f, v5f = real
    path.write_bytes(data + b"\xff" * 3000)
    assert run_check(path, v3f, v5f).returncode == 0
    path.write_bytes(data + b"\xff" * 2999 + b"\x00")
    assert_fails(run_check(path, v3f, v5f), "offset 0x%05x: 0x00 where nothing is loaded" % (len(data) + 2999))


@needs_build
def test_image_larger_than_the_flash_is_named(real):
    path, data, v3f, v5f = real
    path.write_bytes(data + b"\xff" * (960 * KIB + 1 - len(data)))
    assert_fails(run_check(path, v3f, v5f), "the image is 983041 bytes, more than the 960 KiB flash")


@needs_build
def test_image_mk_runs_the_check(build):  # noqa: F811
    """The build itself refuses a bad image: image.mk runs --check on what mkimage wrote."""
    text = open(os.path.join(firmware.BOARD, "image.mk")).read()
    assert "mkimage.py --check $@.tmp $(BUILD)/v3f.elf $(BUILD)/firmware.elf" in text
    assert os.path.isfile(build["firmware.bin"]) and not os.path.exists(build["firmware.bin"] + ".tmp")


# ---------------------------------------------------------------- on small synthetic files

@pytest.fixture
def tiny(tmp_path):
    """A V3F ELF (4 bytes at 0x0, entry 0x0) and a V5F ELF (8 bytes at 0x10000, entry 0x10000), and
    the image mkimage makes of them."""
    v3f = tiny_elf(tmp_path / "v3f.elf", [(0x0, b"V3F!")])
    v5f = with_entry(tiny_elf(tmp_path / "v5f.elf", [(0x10000, b"V5F!code")]), 0x10000)
    image = tmp_path / "tiny.bin"
    r = subprocess.run([sys.executable, MKIMAGE, str(image), "0", "0xF0000", v3f, v5f], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return tmp_path, image, v3f, v5f


def test_tiny_image_passes_and_equals_an_independent_merge(tiny):
    _, image, v3f, v5f = tiny
    assert image.read_bytes() == image_of({0: b"V3F!", 0x10000: b"V5F!code"})
    assert run_check(image, v3f, v5f).returncode == 0


def test_v5f_entry_not_1kib_aligned(tiny):
    tmp_path, image, v3f, _ = tiny
    v5f = with_entry(tiny_elf(tmp_path / "odd.elf", [(0x10000, b"V5F!code")]), 0x10004)
    assert_fails(run_check(image, v3f, v5f), "odd.elf: entry 0x00010004 is not 1 KiB aligned")


def test_v5f_entry_aligned_but_not_the_wake_address(tiny):
    tmp_path, _, v3f, _ = tiny
    v5f = with_entry(tiny_elf(tmp_path / "at8k.elf", [(0x8000, b"V5F!code")]), 0x8000)
    image = tmp_path / "at8k.bin"
    image.write_bytes(image_of({0: b"V3F!", 0x8000: b"V5F!code"}))
    assert_fails(run_check(image, v3f, v5f), "at8k.elf: entry 0x00008000, but the V5F is woken at 0x00010000",
                 "at8k.elf: segment 0 (load address 0x00008000, 8 bytes) lies outside the V5F's slot")


def test_v5f_entry_outside_its_code(tiny):
    tmp_path, image, v3f, _ = tiny
    v5f = with_entry(tiny_elf(tmp_path / "far.elf", [(0x10400, b"V5F!code")]), 0x10000)
    image.write_bytes(image_of({0: b"V3F!", 0x10400: b"V5F!code"}))
    assert_fails(run_check(image, v3f, v5f), "far.elf: entry 0x00010000 is not in a segment stored in flash")


def test_not_an_elf_file(tiny):
    tmp_path, image, v3f, _ = tiny
    (tmp_path / "firmware.bin.elf").write_bytes(b"\xff" * 64)
    r = run_check(image, v3f, tmp_path / "firmware.bin.elf")
    assert r.returncode == 1 and "firmware.bin.elf: not a 32-bit little-endian ELF file" in r.stderr


def test_missing_file_is_an_error_not_a_traceback(tiny):
    tmp_path, image, v3f, v5f = tiny
    r = run_check(tmp_path / "absent.bin", v3f, v5f)
    assert r.returncode == 1 and "absent.bin" in r.stderr and "Traceback" not in r.stderr
