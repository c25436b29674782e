"""The CH32H417 SD card driver (boards/CH32H417/ch32h417_sdmmc.c, machine.SDCard, /sd).

Static: the driver's DMA buffer lies in the board's .dma region of shared SRAM, 16-byte aligned,
read from the linked firmware.elf (the SDMMC DMA cannot reach DTCM; the controller needs 16-byte
aligned addresses: ch32h417_sdmmc.h / SDMMC_SD example of openwch/ch32h417 EVT V1.3).

On the emulated chip (`tinygan emulate ch32h417 --sd IMG`): the card image is built here with
tinygan.sdcard.build_image, mounted by the firmware at /sd, listed and copied with mpremote,
checked with mtools on the image file, and a file's CRC-32 computed on the chip compared with the
host's. These need the emulator's SDMMC model (tinygan/ch32h417emu/peripherals/sdmmc.py) and skip
while it is absent.
"""
import binascii
import os
import random
import shutil
import subprocess
import sys

import pytest

from tinygan import sdcard
from test_ch32h417_firmware import CHIP_MEMORY, READELF, region_of, symbols
from test_micropython_port import MODEL, RV32_MISSING, TOP, make

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SDMMC_MODEL = os.path.join(REPO, "tinygan", "ch32h417emu", "peripherals", "sdmmc.py")
NO_SDMMC_MODEL = not os.path.isfile(SDMMC_MODEL)
DMA_ALIGN = 16                 # SDMMC_DMADDR_ALIGN_SIZE, sdmmc_sd.c
BOUNCE_BYTES = 16 * 512        # SD_BOUNCE_BLOCKS in ch32h417_sdmmc.c
SD_HIGH_SPEED_HZ = 50_000_000  # 400 MHz SYSCLK / 8 after CMD6 (README.md)

pytestmark = [
    pytest.mark.skipif(TOP is None, reason="MicroPython source absent: MICROPY_TOP unset and micropython_port/"
                       "micropython not populated (git submodule update --init micropython_port/micropython)"),
    pytest.mark.skipif(bool(RV32_MISSING), reason="RV32 toolchain not installed: %s" % ", ".join(RV32_MISSING)),
]
needs_sdmmc_model = pytest.mark.skipif(
    NO_SDMMC_MODEL, reason="the emulator has no SDMMC model yet (tinygan/ch32h417emu/peripherals/sdmmc.py absent): "
    "any access to an unmodelled peripheral halts the emulated V5F")
needs_mtools = pytest.mark.skipif(shutil.which("mcopy") is None or shutil.which("mkfs.fat") is None,
                                  reason="needs mtools (mcopy) and dosfstools (mkfs.fat)")


@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    root = tmp_path_factory.mktemp("ch32h417-sd-build")
    make("ch32h417", root)                       # the default build: the SD driver in
    out = root / "ch32h417"
    return {name: str(out / name) for name in ("firmware.elf", "firmware.bin")}


def dma_buffer_problems(sym, name, size):
    """What is wrong with DMA buffer `name` of `size` bytes in the symbol table sym."""
    if name not in sym:
        return ["%s is not in the firmware" % name]
    addr, length = sym[name]
    problems = []
    if length != size:
        problems.append("%s is %d bytes, not %d" % (name, length, size))
    if addr % DMA_ALIGN:
        problems.append("%s at 0x%08x is not %d-byte aligned" % (name, addr, DMA_ALIGN))
    if region_of(addr, length) != "SRAM":
        problems.append("%s at 0x%08x is not in shared SRAM" % (name, addr))
    if not (sym["__dma_start"][0] <= addr and addr + length <= sym["__dma_end"][0]):
        problems.append("%s at 0x%08x is outside the .dma region" % (name, addr))
    return problems


def test_dma_buffer_check_can_fail():
    dma = {"__dma_start": (0x20170000, 0), "__dma_end": (0x20172000, 0)}
    assert dma_buffer_problems(dict(dma, buf=(0x20170000, BOUNCE_BYTES)), "buf", BOUNCE_BYTES) == []
    in_dtcm = dma_buffer_problems(dict(dma, buf=(0x200C1000, BOUNCE_BYTES)), "buf", BOUNCE_BYTES)
    assert any("not in shared SRAM" in p for p in in_dtcm)
    assert any("not 16-byte aligned" in p for p in dma_buffer_problems(dict(dma, buf=(0x20170008, 512)), "buf", 512))
    assert any("outside the .dma" in p for p in dma_buffer_problems(dict(dma, buf=(0x20100000, 512)), "buf", 512))


def test_sd_dma_buffer_lies_in_shared_sram_aligned(firmware):
    sym = symbols(firmware["firmware.elf"])
    assert dma_buffer_problems(sym, "sd_dma_buf", BOUNCE_BYTES) == []
    sram_start, sram_size = CHIP_MEMORY["SRAM"]
    assert sram_start <= sym["__dma_start"][0] < sym["__dma_end"][0] <= sram_start + sram_size


def test_build_has_the_driver_and_the_block_device(firmware):
    sym = symbols(firmware["firmware.elf"])
    for name in ("sd_init", "sd_read", "sd_write", "ch32h417_sdcard_type", "board_mount_storage", "storage_mount_sd"):
        assert name in sym, name
    # the driver's code is not in ITCM (ITCM is for the engine and the VM): it waits on the card anyway
    assert region_of(sym["sd_read"][0], 4) == "flash"
    assert subprocess.run([READELF, "-h", firmware["firmware.elf"]], capture_output=True).returncode == 0


# ---------------------------------------------------------------- on the emulated chip

@pytest.fixture(scope="module")
def card(tmp_path_factory):
    """A FAT32 card image: the default model and a 150 KB file of seeded random bytes (several
    clusters: multi-block reads), built by tinygan.sdcard.build_image."""
    work = tmp_path_factory.mktemp("ch32h417-sd")
    folder = work / "card"
    folder.mkdir()
    shutil.copyfile(MODEL, folder / "model.tgw")
    (folder / "data.bin").write_bytes(random.Random(12).randbytes(150_000))
    image = sdcard.build_image(str(folder), str(work / "sd.img"), log=lambda *a: None)
    return {"image": image, "folder": folder, "work": work}


def stop(proc):
    """Ends an emulator (SIGTERM, then SIGKILL on a loaded machine that does not get to it)."""
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def boot(firmware_bin, image, *extra):
    """The firmware on the emulated chip with `image` as its card, booted to the REPL:
    -> (process, pty path, what the console printed up to the first prompt)."""
    from test_ch32h417_firmware import BOOT_S, open_pty, read_until
    proc = subprocess.Popen([sys.executable, "-m", "tinygan", "emulate", "ch32h417", "--firmware", firmware_bin,
                             "--sd", image, "--serial", "pty", "--timeout", "1500"] + list(extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        first = proc.stdout.readline()
        assert first.startswith("serial: "), first + proc.stderr.read()
        port = first.split(" ", 1)[1].strip()
        fd = open_pty(port)
        try:
            banner = read_until(fd, b">>> ", BOOT_S)
        finally:
            os.close(fd)
    except BaseException:
        stop(proc)
        raise
    return proc, port, banner


@pytest.fixture(scope="module")
def emulated_with_card(firmware, card):
    proc, port, banner = boot(firmware["firmware.bin"], card["image"])
    try:
        assert b"/sd not mounted" not in banner, banner
        yield port, proc
    finally:
        stop(proc)


def mpremote(port, *args, timeout=300):
    from test_ch32h417_firmware import mpremote as run
    return run(port, *args, timeout=timeout)


@needs_sdmmc_model
@needs_mtools
def test_fs_ls_lists_the_model(emulated_with_card):
    listing = mpremote(emulated_with_card[0], "fs", "ls", ":/sd")
    sizes = {line.split()[1]: int(line.split()[0]) for line in listing.splitlines()[1:] if line.strip()}
    assert sizes.get("model.tgw") == os.path.getsize(MODEL), listing
    assert sizes.get("data.bin") == 150_000, listing


@needs_sdmmc_model
@needs_mtools
def test_card_runs_4bit_high_speed_block_addressed(emulated_with_card, card):
    out = mpremote(emulated_with_card[0], "exec", "import machine; print(machine.SDCard().info())")
    blocks, clock, high_speed, block_addressed, retries = eval(out.strip())
    assert blocks == os.path.getsize(card["image"]) // 512
    assert (clock, high_speed, block_addressed, retries) == (SD_HIGH_SPEED_HZ, True, True, 0)


@needs_sdmmc_model
@needs_mtools
def test_python_crc_of_a_file_equals_the_host(emulated_with_card, card):
    data = (card["folder"] / "data.bin").read_bytes()
    out = mpremote(emulated_with_card[0], "exec",
                   "import binascii\nc = 0\nwith open('/sd/data.bin', 'rb') as f:\n"
                   "    while True:\n        b = f.read(4096)\n        if not b:\n            break\n"
                   "        c = binascii.crc32(b, c)\nprint(c)\n"
                   # an unaligned destination (bounced through the DMA buffer)
                   "b = bytearray(10001)\nmv = memoryview(b)[1:]\nwith open('/sd/data.bin', 'rb') as f:\n"
                   "    f.readinto(mv)\nprint(binascii.crc32(mv))\n")
    assert out.split() == [str(binascii.crc32(data)), str(binascii.crc32(data[:10000]))]


@needs_sdmmc_model
@needs_mtools
def test_fs_cp_to_and_from_the_card_and_the_image_holds_it(emulated_with_card, card, tmp_path):
    blob = random.Random(7).randbytes(3000)          # 6 blocks: a multi-block write
    (tmp_path / "small.bin").write_bytes(blob)
    port = emulated_with_card[0]
    mpremote(port, "fs", "cp", str(tmp_path / "small.bin"), ":/sd/small.bin")
    mpremote(port, "fs", "cp", ":/sd/small.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == blob
    subprocess.run(["mcopy", "-n", "-o", "-i", card["image"], "::/small.bin", str(tmp_path / "from-image.bin")],
                   check=True, capture_output=True)
    assert (tmp_path / "from-image.bin").read_bytes() == blob


@needs_sdmmc_model
@needs_mtools
def test_transient_errors_are_retried_persistent_ones_raise_eio(firmware, card):
    """--sd-fault of the emulator's card model: a one-time CRC error and a one-time time-out on
    chosen blocks are retried (the data still right); a CRC error on every read of a block gives
    OSError(EIO) after SD_RETRIES (3) more tries, and the card still reads elsewhere."""
    image = str(card["work"] / "faults.img")          # not the image the other emulator has open
    shutil.copyfile(card["image"], image)
    proc, port, _ = boot(firmware["firmware.bin"], image, "--sd-fault", "crc-once:5000", "--sd-fault",
                         "timeout-once:7001", "--sd-fault", "crc:6000")
    try:
        out = mpremote(port, "exec", "import machine, binascii\nsd = machine.SDCard()\nb = bytearray(2048)\n"
                       "sd.readblocks(4999, b); print(binascii.crc32(b), sd.info()[4])\n"
                       "sd.readblocks(7000, b); print(binascii.crc32(b), sd.info()[4])\n"
                       "try:\n    sd.readblocks(5999, b)\nexcept OSError as e:\n    print(e.errno, sd.info()[4])\n"
                       "sd.readblocks(100, b); print(binascii.crc32(b))\n")
    finally:
        stop(proc)
    with open(image, "rb") as f:
        img = f.read(8000 * 512)
    crc = lambda block: str(binascii.crc32(img[block * 512:(block + 4) * 512]))
    assert out.split() == [crc(4999), "1", crc(7000), "2", "5", "5", crc(100)]
