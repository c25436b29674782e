"""The two cores stream the default model from the SD card on the emulated CH32H417 (issue 12).

The V3F reads every weight chunk and parameter block from the card (boards/CH32H417/v3f/
v3f_server.c) into the V5F's buffers in shared SRAM while the V5F computes; the protocol is
boards/CH32H417/ch32h417_iocore.h. On the emulated chip (tinygan/ch32h417emu, the firmware booted
in-process with its console on a byte buffer):

- `tinygan.Model('/sd/model.tgw')` on a card built from the shipped default model paints, for 3
  entropy blocks turned into latents by the firmware's own scripts/latent.py, the bytes the host
  engine paints (compared in full, hex over the console);
- the V5F's kernels retire the instructions the bare-metal RV32 image retires for the same cat
  under QEMU (tinygan/rv32.py), within 1 %, counted by the emulator over the kernels' address
  ranges from the ELF's symbol table (not by the firmware's own clock);
- the card delivers, per cat, exactly the file minus its 512-byte header (parameter blocks and
  chunks, no FAT reads: the V3F reads through an extent map made when the Model opened);
- card faults (the emulator's --sd-fault) end to end: a one-time CRC error is retried and the
  image is unchanged; a persistent one, and a card that stops answering, give an EngineError
  naming the layer and the chunk, and the REPL still answers.
"""
import binascii
import os
import random
import re
import shutil
import subprocess

import pytest

import tinygan
from test_micropython_port import MODEL, RV32_MISSING, TOP
from tinygan import sdcard, tgw
from tinygan.device import latent

pytest.importorskip("unicorn", reason="unicorn (PyPI) is not installed")

from tinygan.ch32h417emu.codescan import function_ranges         # noqa: E402
from tinygan.ch32h417emu.repl import Repl                         # noqa: E402

# What booting the CH32H417 firmware with a card needs (also tests/test_ch32h417_entropy_powercut.py).
FIRMWARE_WITH_CARD = [
    pytest.mark.skipif(TOP is None, reason="MicroPython source absent: MICROPY_TOP unset and micropython_port/"
                       "micropython not populated (git submodule update --init micropython_port/micropython)"),
    pytest.mark.skipif(bool(RV32_MISSING), reason="RV32 toolchain not installed: %s" % ", ".join(RV32_MISSING)),
    pytest.mark.skipif(shutil.which("mcopy") is None or shutil.which("mkfs.fat") is None,
                       reason="needs mtools (mcopy) and dosfstools (mkfs.fat) for the card image"),
]
pytestmark = FIRMWARE_WITH_CARD

HEADER_BYTES = 512              # docs/weight-format.md: the header the engine reads once, at open
def entropy(n, seed=1234):
    """n seeded 200-byte entropy blocks (as conftest's entropy_blocks gives them)."""
    rng = random.Random(seed)
    return [bytes(rng.randrange(256) for _ in range(200)) for _ in range(n)]


KERNELS = ("tg_kernel_first", "tg_kernel_s2_fast")     # the kernels the engine calls (tg_kernels.h)


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    work = tmp_path_factory.mktemp("ch32h417-stream")
    folder = work / "card"
    folder.mkdir()
    shutil.copyfile(MODEL, folder / "model.tgw")
    return sdcard.build_image(str(folder), str(work / "sd.img"), log=lambda *a: None)


def test_function_ranges_can_fail(ch32h417_build_root):
    ranges = function_ranges(os.path.join(ch32h417_build_root, "firmware.elf"), KERNELS + ("no_such_function",))
    assert set(ranges) == set(KERNELS), ranges           # every kernel found, the made-up name not
    assert all(end > start for start, end in ranges.values())


@pytest.fixture(scope="module")
def three_cats(ch32h417_build_root, card):
    """Three cats painted on the emulated chip from the card, with the card's traffic per cat; for
    the first, the emulator also counts the V5F's instructions in the kernels."""
    elf = os.path.join(ch32h417_build_root, "firmware.elf")
    board = Repl(ch32h417_build_root, sd=card)
    assert board.do("import tinygan, binascii, latent; m = tinygan.Model('/sd/model.tgw'); print(m.reader)") == "V3F"
    cats = []
    for k, block in enumerate(entropy(3)):
        board.do("z = latent.latent_from_bytes(%r)" % block)
        board.chip.profile({1: list(function_ranges(elf, KERNELS).values())} if k == 0 else {})
        sd0, k0 = dict(board.chip.stats()["sd"]), board.chip.profile_counts()[1]
        out = board.do("img = m.generate(z); print(binascii.hexlify(img).decode())")
        sd1, k1 = board.chip.stats()["sd"], board.chip.profile_counts()[1]
        cats.append({"block": block, "image": bytes.fromhex(out.strip()),
                     "sd_read": sd1["bytes_read"] - sd0["bytes_read"],
                     "sd_written": sd1["bytes_written"] - sd0["bytes_written"],
                     "kernel_instr": k1 - k0})
    return cats


def test_three_cats_from_the_card_are_the_host_engines_bytes(three_cats):
    host = tinygan.Model(MODEL)
    images = [c["image"] for c in three_cats]
    for c in three_cats:
        assert c["image"] == bytes(host.generate(latent.latent_from_bytes(c["block"])))
    assert len(set(images)) == 3                           # three entropy blocks, three cats


def test_sd_bytes_per_cat_are_the_file_minus_its_header(three_cats):
    for c in three_cats:
        assert c["sd_read"] == os.path.getsize(MODEL) - HEADER_BYTES
        assert c["sd_written"] == 0


@pytest.mark.skipif(bool(RV32_MISSING), reason="RV32 toolchain not installed")
def test_v5f_kernel_instructions_match_bare_metal_rv32(three_cats, tmp_path):
    from tinygan import rv32
    elf = rv32.build(str(tmp_path))
    z = latent.latent_from_bytes(three_cats[0]["block"])
    image, counters = rv32.run(elf, MODEL, z)
    assert image == three_cats[0]["image"]
    bare = sum(l["kernel_instr"] for l in counters["layers"])
    chip = three_cats[0]["kernel_instr"]
    assert abs(chip - bare) <= 0.01 * bare, (chip, bare)


# ---------------------------------------------------------------- faults

def first_chunk_block(image, layer, chunk):
    """The card block holding the first byte of a layer's chunk of model.tgw on the image."""
    lay = tgw.read_tgw(open(MODEL, "rb").read()).layers[layer]
    assert chunk < lay.n_chunks
    return file_block(image, "model.tgw", lay.chunk_offset + chunk * lay.chunk_stride)


def file_block(image, name, offset):
    """The card block of byte `offset` of file `name` on a FAT image (the file is contiguous on a
    freshly built image; checked with the cluster list mtools gives)."""
    out = subprocess.run(["mshowfat", "-i", image, "::/" + name], capture_output=True, text=True, check=True).stdout
    runs = [tuple(int(x) for x in r.split("-")) if "-" in r else (int(r), int(r))
            for r in re.findall(r"<([0-9-]+)>", out)]
    boot = open(image, "rb").read(512)
    per_cluster = boot[13]
    reserved = int.from_bytes(boot[14:16], "little")
    fats = boot[16]
    root_entries = int.from_bytes(boot[17:19], "little")
    fat_size = int.from_bytes(boot[22:24], "little") or int.from_bytes(boot[36:40], "little")
    data = reserved + fats * fat_size + (root_entries * 32 + 511) // 512
    cluster_index = offset // (512 * per_cluster)
    for first, last in runs:
        if cluster_index <= last - first:
            return data + (first + cluster_index - 2) * per_cluster + (offset // 512) % per_cluster
        cluster_index -= last - first + 1
    raise ValueError("offset %d beyond the file" % offset)


@pytest.fixture
def fault_card(card, tmp_path):
    path = str(tmp_path / "faults.img")
    shutil.copyfile(card, path)
    return path


def test_transient_crc_error_in_a_chunk_is_retried_and_the_cat_unchanged(ch32h417_build_root, fault_card):
    block = first_chunk_block(fault_card, 1, 7) + 3
    board = Repl(ch32h417_build_root, sd=fault_card, sd_faults=["crc-once:%d" % block])
    z = latent.latent_from_bytes(entropy(1)[0])
    out = board.do("import tinygan, binascii, machine; m = tinygan.Model('/sd/model.tgw'); "
                   "print(binascii.crc32(m.generate(%r)), machine.SDCard().info()[4])" % bytes(z))
    crc, retries = out.split()
    assert int(crc) == binascii.crc32(bytes(tinygan.Model(MODEL).generate(z)))
    assert int(retries) == 1
    assert board.chip.by_name["SDMMC"].card.stats["crc_errors"] == 1


@pytest.mark.parametrize("fault, layer, chunk", [("crc", 2, 5), ("vanish", 1, 40)])
def test_persistent_fault_names_layer_and_chunk_and_the_repl_answers(ch32h417_build_root, fault_card, fault, layer,
                                                                      chunk):
    z = bytes(latent.latent_from_bytes(entropy(1)[0]))
    if fault == "crc":
        spec = "crc:%d" % first_chunk_block(fault_card, layer, chunk)
        board = Repl(ch32h417_build_root, sd=fault_card, sd_faults=[spec])
        board.do("import tinygan; m = tinygan.Model('/sd/model.tgw')")
    else:
        board = Repl(ch32h417_build_root, sd=fault_card)
        board.do("import tinygan; m = tinygan.Model('/sd/model.tgw')")
        card = board.chip.by_name["SDMMC"].card
        t = tgw.read_tgw(open(MODEL, "rb").read())
        # the card answers for every block up to the middle of the chosen chunk, then never again
        before = sum((l.param_size + 511) // 512 + l.n_chunks * l.chunk_stride // 512 for l in t.layers[:layer])
        before += (t.layers[layer].param_size + 511) // 512 + chunk * t.layers[layer].chunk_stride // 512 + 4
        card.faults.vanish_after = card.reads_total + before
    out = board.do("exec(%r)" % ("try:\n m.generate(%r)\nexcept tinygan.EngineError as e:\n print('EngineError:', e)\n" % z))
    assert out.splitlines()[-1].startswith("EngineError: layer %d chunk %d: read failed" % (layer, chunk)), out
    assert board.do("print(6 * 7)") == "42"                  # the REPL still answers
    if fault == "crc":
        assert board.chip.by_name["SDMMC"].card.stats["crc_errors"] == 4   # the read and its 3 retries
