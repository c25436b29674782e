"""The CH32H417 firmware (boards/CH32H417/, `make -C micropython_port ch32h417`): its two ELF images
and the merged flash image checked against the chip's memory map, and booted on the emulated chip
(`tinygan emulate ch32h417`, tinygan/ch32h417emu) and driven through mpremote.

The chip's memory is written here from the vendor's header (openwch/ch32h417 EVT V1.3,
EVT/EXAM/SRC/Peripheral/inc/ch32h417.h: FLASH/ITCM/DTCM/SRAM_BASE; sizes from the SDK's README and
link scripts; ../shared/CH32H417.md section 2), not read from the board's memory.ld, so a wrong
linker script fails here. Everything skips when there is no MicroPython source or RV32 toolchain
(as in test_micropython_port.py).
"""
import base64
import binascii
import os
import re
import select
import struct
import subprocess
import sys
import time
import tty

import pytest

import tinygan
from tinygan.device import latent
from test_micropython_port import RV32_MISSING, TOP, make

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARD = os.path.join(REPO, "boards", "CH32H417")
READELF = "riscv64-unknown-elf-readelf"

KIB = 1024
# name: (start, size). Flash at its 0x0 alias (the address both cores execute it at).
CHIP_MEMORY = {
    "flash": (0x00000000, 960 * KIB),
    "ITCM": (0x200A0000, 128 * KIB),
    "DTCM": (0x200C0000, 256 * KIB),
    "SRAM": (0x20100000, 512 * KIB),
}
# The V5F's hardware interrupt save area (CSR 0xBC4 reads 0x200C0000; the vendor's Link_v5f.ld
# leaves these bytes out of every region).
RESERVED = [("DTCM hardware save area", 0x200C0000, 512)]
V5F_ENTRY = 0x00010000            # the vendor's Core_V5F_StartAddr (SRC/Debug/debug.h)
MIN_HEAP = 384 * KIB

pytestmark = [
    pytest.mark.skipif(TOP is None, reason="MicroPython source absent: MICROPY_TOP unset and micropython_port/"
                       "micropython not populated (git submodule update --init micropython_port/micropython)"),
    pytest.mark.skipif(bool(RV32_MISSING), reason="RV32 toolchain not installed: %s" % ", ".join(RV32_MISSING)),
]


def board_define(name):
    """An integer #define of boards/CH32H417/mpconfigboard.h."""
    text = open(os.path.join(BOARD, "mpconfigboard.h")).read()
    m = re.search(r"#define\s+%s\s+\(?(\d+)\)?" % name, text)
    assert m, "%s not defined in mpconfigboard.h" % name
    return int(m.group(1))


def board_make_var(name):
    text = open(os.path.join(BOARD, "mpconfigboard.mk")).read()
    return int(re.search(r"^%s\s*=\s*(\d+)" % name, text, re.M).group(1))


# ---------------------------------------------------------------- reading the ELF files (readelf)

def readelf(*args):
    return subprocess.run([READELF, "-W"] + list(args), capture_output=True, text=True, check=True).stdout


def sections(elf):
    """(name, address, size, flags) of every section header."""
    out = []
    for m in re.finditer(r"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]{8})\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)\s+\d+\s+\d+\s+\d+$",
                         readelf("-S", elf), re.M):
        out.append((m.group(1), int(m.group(2), 16), int(m.group(3), 16), m.group(4)))
    assert out, "no sections read from " + elf
    return out


def load_segments(elf):
    """(file offset, virtual address, physical address, file size, memory size) of each PT_LOAD."""
    return [tuple(int(g, 16) for g in m.groups())
            for m in re.finditer(r"^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)",
                                 readelf("-l", elf), re.M)]


def symbols(elf):
    """name -> (value, size)."""
    out = {}
    for m in re.finditer(r"^\s*\d+:\s+([0-9a-f]{8})\s+(0x[0-9a-f]+|\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)$",
                         readelf("-s", elf), re.M):
        out[m.group(3)] = (int(m.group(1), 16), int(m.group(2), 0))  # readelf prints large sizes in hex
    return out


def entry_point(elf):
    return int(re.search(r"Entry point address:\s+0x([0-9a-f]+)", readelf("-h", elf)).group(1), 16)


def region_of(addr, size):
    """The chip memory holding [addr, addr + size), or None."""
    for name, (start, length) in CHIP_MEMORY.items():
        if start <= addr and addr + size <= start + length:
            return name
    return None


def layout_problems(allocated, loads):
    """What is wrong with a layout: allocated = [(name, address, size)], loads = [(physical address,
    file size)] of the loadable segments. Empty when every section lies in memory the chip has,
    nothing in a reserved part, and everything loaded comes from flash."""
    problems = []
    for name, addr, size in allocated:
        if size == 0:
            continue
        if region_of(addr, size) is None:
            problems.append("%s at 0x%08x..0x%08x lies outside the chip's memory" % (name, addr, addr + size))
        for what, start, length in RESERVED:
            if addr < start + length and start < addr + size:
                problems.append("%s at 0x%08x..0x%08x overlaps the %s" % (name, addr, addr + size, what))
    for paddr, filesz in loads:
        if filesz and region_of(paddr, filesz) != "flash":
            problems.append("a segment loads %d bytes from 0x%08x, outside the flash" % (filesz, paddr))
    return problems


def elf_layout(elf):
    allocated = [(n, a, s) for n, a, s, flags in sections(elf) if "A" in flags]
    loads = [(paddr, filesz) for _, _, paddr, filesz, _ in load_segments(elf)]
    return allocated, loads


# ---------------------------------------------------------------- the build

# While the emulator has no SDMMC model, the firmware booted here is built without the SD driver
# (CH32H417_SDMMC=0): its first SDMMC access would halt the emulated V5F. The driver's own tests,
# test_ch32h417_sd_firmware.py, build it in.
SDMMC_MODELLED = os.path.isfile(os.path.join(REPO, "tinygan", "ch32h417emu", "peripherals", "sdmmc.py"))


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    root = tmp_path_factory.mktemp("ch32h417-build")
    make("ch32h417", root, CH32H417_SDMMC=int(SDMMC_MODELLED))
    out = root / "ch32h417"
    paths = {name: str(out / name) for name in ("v3f.elf", "firmware.elf", "firmware.bin")}
    for path in paths.values():
        assert os.path.isfile(path), path
    return paths


def test_layout_check_can_fail():
    """The checker itself: RAM at 0x20000000 (the old board file), the save area, a RAM load."""
    assert layout_problems([(".text", 0x10000, 0x1000), (".bss", 0x200C0200, 16)], [(0x10000, 0x1000)]) == []
    assert "outside the chip's memory" in layout_problems([(".bss", 0x20000000, 16)], [])[0]
    assert "hardware save area" in layout_problems([(".data", 0x200C0100, 0x200)], [])[0]
    assert "outside the chip's memory" in layout_problems([(".heap", 0x20170000, 96 * KIB)], [])[0]
    assert "outside the flash" in layout_problems([], [(0x200A0000, 4)])[0]


@pytest.mark.parametrize("image", ["v3f.elf", "firmware.elf"])
def test_sections_lie_in_chip_memory(build, image):
    allocated, loads = elf_layout(build[image])
    assert layout_problems(allocated, loads) == []
    assert sum(size for _, _, size in allocated) > 0


def test_entries_and_wake_address(build):
    """The V3F starts at the reset entry 0x0; the V5F image starts at its 1 KiB-aligned wake
    address, and the V3F program wakes it at exactly that address."""
    assert entry_point(build["v3f.elf"]) == 0
    v5f_entry = entry_point(build["firmware.elf"])
    assert v5f_entry == V5F_ENTRY and v5f_entry % 1024 == 0
    assert symbols(build["v3f.elf"])["__v5f_entry_addr"][0] == v5f_entry
    first = min(a for n, a, s, f in sections(build["firmware.elf"]) if "A" in f and s and region_of(a, s) == "flash")
    assert first == v5f_entry, "the V5F image's first flash byte is not its entry"


def test_bin_holds_every_loaded_byte_at_its_flash_offset(build):
    image = open(build["firmware.bin"], "rb").read()
    assert len(image) <= CHIP_MEMORY["flash"][1]
    for elf in (build["v3f.elf"], build["firmware.elf"]):
        data = open(elf, "rb").read()
        segments = [s for s in load_segments(elf) if s[3]]
        assert segments
        for offset, _, paddr, filesz, _ in segments:
            assert image[paddr:paddr + filesz] == data[offset:offset + filesz], \
                "%s: segment loaded from 0x%08x differs in firmware.bin" % (os.path.basename(elf), paddr)
    # the first instruction of the V3F program is the chip's first instruction
    v3f_text = [s for s in load_segments(build["v3f.elf"]) if s[2] == 0]
    assert v3f_text, "v3f.elf loads nothing at flash 0x0"


def test_memory_plan(build):
    """Heap in shared SRAM (>= 384 KiB), stack at the top of DTCM, the engine arena in DTCM, DMA
    buffers in shared SRAM, hot code (vectors, engine) in ITCM."""
    elf = build["firmware.elf"]
    sym = symbols(elf)
    heap_addr, heap_size = sym["gc_heap"]
    assert region_of(heap_addr, heap_size) == "SRAM" and heap_size >= MIN_HEAP
    assert heap_size == board_make_var("MICROPY_HEAP_SIZE")
    dtcm_start, dtcm_size = CHIP_MEMORY["DTCM"]
    assert sym["__v5f_stack_top"][0] == dtcm_start + dtcm_size
    assert sym["__v5f_stack_top"][0] - sym["__v5f_stack_bottom"][0] == board_make_var("MICROPY_STACK_SIZE")
    arena_addr, arena_size = sym["board_arena"]  # modtinygan.c's static arena
    assert arena_size == board_define("MICROPY_TINYGAN_ARENA_SIZE")
    assert region_of(arena_addr, arena_size) == "DTCM" and arena_addr % 16 == 0
    secs = {n: (a, s) for n, a, s, f in sections(elf)}
    for name in (".data", ".bss"):
        if secs[name][1]:
            assert region_of(*secs[name]) == "DTCM", name
    assert region_of(sym["__dma_start"][0], 16) == "SRAM" and sym["__dma_start"][0] % 16 == 0
    assert region_of(sym["__v5f_vectors"][0], 1024) == "ITCM"
    assert region_of(sym["tg_generate"][0], 4) == "ITCM"
    assert region_of(sym["tg_crc32"][0], 4) == "ITCM"
    # the engine's tables: zero-wait data (the CRC's slicing tables, 8 KiB)
    assert region_of(*sym["tg_crc32_table"]) == "DTCM" and sym["tg_crc32_table"][1] == 8 * 1024


# ---------------------------------------------------------------- on the emulated chip

BOOT_S = 120


def read_until(fd, marker, timeout):
    """Bytes read from fd until marker appears (or the timeout, then what was read)."""
    got = b""
    end = time.monotonic() + timeout
    while marker not in got and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            got += os.read(fd, 4096)
    return got


def open_pty(path):
    """The console, raw; what the firmware sent before is still there to read."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    return fd


def mpremote(port, *args, timeout=120):
    r = subprocess.run([sys.executable, "-m", "mpremote", "connect", port] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, "mpremote %s failed:\n%s" % (" ".join(args), r.stdout + r.stderr)
    return r.stdout


@pytest.fixture(scope="module")
def emulated(build):
    """The firmware running on the emulated chip, its console on a pty: (pty path, process)."""
    proc = subprocess.Popen([sys.executable, "-m", "tinygan", "emulate", "ch32h417", "--firmware",
                             build["firmware.bin"], "--serial", "pty", "--timeout", "1200"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO)
    try:
        first = proc.stdout.readline()
        assert first.startswith("serial: "), first + proc.stderr.read()
        yield first.split(" ", 1)[1].strip(), proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_boots_to_the_banner(emulated):
    port, proc = emulated
    fd = open_pty(port)
    try:
        out = read_until(fd, b">>> ", BOOT_S)
    finally:
        os.close(fd)
    assert proc.poll() is None, "the emulator stopped: " + proc.stderr.read()
    assert b"MicroPython v1.28.0" in out and b"CH32H417 tinygan with CH32H417 V5F" in out, out
    assert out.endswith(b">>> ")


def test_mpremote_exec(emulated):
    assert mpremote(emulated[0], "exec", "print(1+1)").strip() == "2"


def test_urandom_from_the_rng_and_uname(emulated):
    out = mpremote(emulated[0], "exec", "import os; print(os.urandom(16).hex()); print(os.urandom(16).hex()); "
                   "print(os.uname().machine)").split()
    assert len(out[0]) == 32 and len(out[1]) == 32 and out[0] != out[1]
    assert "CH32H417" in " ".join(out[2:])


def test_soft_reset_clears_the_globals(emulated):
    out = mpremote(emulated[0], "exec", "x = 5", "exec", "print(x)", "soft-reset", "exec", "print('x' in globals())")
    assert out.split() == ["5", "False"]


def test_ticks_follow_systick(emulated):
    out = mpremote(emulated[0], "exec", "import time; t = time.ticks_us(); time.sleep_ms(20); "
                   "print(time.ticks_diff(time.ticks_us(), t))")
    assert 20000 <= int(out) < 40000


def test_ctrl_c_stops_a_running_loop(emulated):
    fd = open_pty(emulated[0])
    try:
        os.write(fd, b"\r\x02")                      # friendly REPL (mpremote leaves the raw one)
        read_until(fd, b">>> ", 30)
        os.write(fd, b"while True: pass\r\r")
        time.sleep(1.0)
        os.write(fd, b"\x03")
        out = read_until(fd, b"KeyboardInterrupt", 60)
    finally:
        os.close(fd)
    assert b"KeyboardInterrupt" in out, out


def test_machine_reset_boots_again(emulated):
    """machine.reset() is a system reset: the V3F runs its start-up again and wakes the V5F."""
    port = emulated[0]
    fd = open_pty(port)
    try:
        # Ctrl-B prints the banner too: read past it, or the wait below would take it for the
        # banner after the reset, and mpremote would talk to a chip still resetting
        os.write(fd, b"\r\x03\x02")
        read_until(fd, b"for more information.\r\n>>> ", 30)
        os.write(fd, b"import machine; machine.reset()\r")
        out = read_until(fd, b"for more information.\r\n>>> ", BOOT_S)
    finally:
        os.close(fd)
    assert b"MicroPython v1.28.0" in out, out
    assert mpremote(port, "exec", "print(6*7)").strip() == "42"


def test_engine_on_the_emulated_chip_gives_the_host_bytes(emulated, tiny_model_bytes, tmp_path):
    """A model small enough for RAM (conftest's tiny one, 21 KiB) sent over mpremote into a bytes
    stream; one latent from the first entropy block of the sample pool; the image's CRC-32 (the
    12 KiB image itself would take minutes through the emulated 115200-baud console)."""
    (tmp_path / "tiny.tgw").write_bytes(tiny_model_bytes)
    host = tinygan.Model(str(tmp_path / "tiny.tgw"))
    with open(os.path.join(REPO, "sdcard", "entropy.bin"), "rb") as f:
        block = f.read(200)
    z = bytes(latent.latent_from_bytes(block[:2 * host.latent_dim], host.latent_inv_scale, nz=host.latent_dim))
    expected = binascii.crc32(bytes(host.generate(z)))
    out = mpremote(emulated[0], "exec", "import binascii, io, tinygan\n"
                   "m = tinygan.Model(io.BytesIO(binascii.a2b_base64(%r)))\n"
                   "img = m.generate(binascii.unhexlify(%r))\n"
                   "print(len(img), binascii.crc32(img))\n" % (base64.b64encode(tiny_model_bytes).decode(), z.hex()),
                   timeout=600)
    assert out.split() == [str(64 * 64 * 3), str(expected)]


def tiny_elf(path, segments):
    """A 32-bit little-endian ELF holding only program headers: [(physical address, bytes)]."""
    phoff, phentsize = 52, 32
    data_off = phoff + phentsize * len(segments)
    header = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack("<HHIIIIIHHHHHH", 2, 243, 1, 0, phoff, 0, 0, 52,
                                                               phentsize, len(segments), 40, 0, 0)
    phdrs, payload = b"", b""
    for paddr, blob in segments:
        phdrs += struct.pack("<8I", 1, data_off + len(payload), paddr, paddr, len(blob), len(blob), 5, 4)
        payload += blob
    path.write_bytes(header + phdrs + payload)
    return str(path)


def run_mkimage(tmp_path, *elfs):
    return subprocess.run([sys.executable, os.path.join(BOARD, "mkimage.py"), str(tmp_path / "out.bin"), "0",
                           "0xF0000"] + list(elfs), capture_output=True, text=True)


def test_mkimage_places_segments_and_refuses_bad_ones(tmp_path):
    good = run_mkimage(tmp_path, tiny_elf(tmp_path / "a.elf", [(0x0, b"V3F!")]),
                       tiny_elf(tmp_path / "b.elf", [(0x10000, b"V5F!"), (0x10010, b"data")]))
    assert good.returncode == 0, good.stderr
    image = (tmp_path / "out.bin").read_bytes()
    assert image[:4] == b"V3F!" and image[4:0x10000] == b"\xff" * (0x10000 - 4)
    assert image[0x10000:0x10004] == b"V5F!" and image[0x10010:] == b"data"
    outside = run_mkimage(tmp_path, tiny_elf(tmp_path / "c.elf", [(0x200C0000, b"ram!")]))
    assert outside.returncode != 0 and "outside the flash" in outside.stderr
    overlap = run_mkimage(tmp_path, tiny_elf(tmp_path / "d.elf", [(0x100, b"12345678")]),
                          tiny_elf(tmp_path / "e.elf", [(0x104, b"abcd")]))
    assert overlap.returncode != 0 and "overlaps" in overlap.stderr
