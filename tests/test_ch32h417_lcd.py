"""The CH32H417 LCD and button (issue 13): the board's drivers against the emulator's models.

The real drivers (boards/CH32H417/ch32h417_lcd.c, ch32h417_button.c) are linked into the bare-metal
test program (tests/ch32h417/prog.c + lcd_test.c) and run on the emulated V5F; their build switches
are the wrong drivers the models must refuse.  The expected picture is computed here from the
test image's formula, the font's source file and the driver's documented geometry with numpy,
not from the models: RGB888 -> RGB565 by dropping low bits, nearest upscale, back to 8 bits by bit
replication.
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("unicorn", reason="unicorn (PyPI) is not installed")

from test_ch32h417_emulator import GCC, build, needs_gcc                 # noqa: E402
from tinygan.ch32h417emu import Chip                                      # noqa: E402
from tinygan.ch32h417emu.hostserial import BufferHost                     # noqa: E402
from tinygan.ch32h417emu.peripherals.button import Button                 # noqa: E402
from tinygan.ch32h417emu.peripherals.st7796s import St7796s               # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARD = os.path.join(ROOT, "boards", "CH32H417")
DRIVERS = (os.path.join(BOARD, "ch32h417_lcd.c"), os.path.join(BOARD, "ch32h417_button.c"))
sys.path.insert(0, BOARD)
import gen_font                                                           # noqa: E402

IMG_X, IMG_Y, SCALE = 16, 24, 4                 # lcd_test.c
TEXT_X, TEXT_Y, TEXT = 288, 40, "Hello, cat! 42"
PROGRESS = (3, 4)
DMA_TIMEOUT = 2                                 # LCD_DMA_TIMEOUT in ch32h417_lcd.h


def rgb565(r, g, b):
    r, g, b = (np.asarray(v, dtype=np.uint32) for v in (r, g, b))
    return ((r >> 3) << 11 | (g >> 2) << 5 | b >> 3).astype(np.uint16)


def to_rgb888(v):
    v = v.astype(np.uint16)
    r5, g6, b5 = v >> 11, (v >> 5) & 0x3F, v & 0x1F
    return np.stack([r5 << 3 | r5 >> 2, g6 << 2 | g6 >> 4, b5 << 3 | b5 >> 2], axis=-1).astype(np.uint8)


def pattern_image():
    r, c = np.mgrid[0:64, 0:64].astype(np.uint32)
    return np.stack([(c * 4 + r) & 0xFF, ((r * 4) ^ (c * 3)) & 0xFF, (r * c + 17) & 0xFF], axis=-1).astype(np.uint8)


def expected_screen():
    """(320, 480) RGB565 of what lcd_test.c draws, from the driver's documented behaviour."""
    screen = np.full((320, 480), rgb565(0, 0, 96), dtype=np.uint16)
    img = pattern_image()
    big = np.repeat(np.repeat(rgb565(img[..., 0], img[..., 1], img[..., 2]), SCALE, axis=0), SCALE, axis=1)
    screen[IMG_Y:IMG_Y + 64 * SCALE, IMG_X:IMG_X + 64 * SCALE] = big
    glyphs = gen_font.parse()
    fg, bg = rgb565(255, 255, 0), 0
    for i, ch in enumerate(TEXT):
        cell = np.full((8, 6), bg, dtype=np.uint16)
        for row, bits in enumerate(glyphs[ord(ch)]):
            cell[row, :5] = [fg if b == "#" else bg for b in bits]
        x = TEXT_X + i * 12
        screen[TEXT_Y:TEXT_Y + 16, x:x + 12] = np.repeat(np.repeat(cell, 2, axis=0), 2, axis=1)
    x, y, w, h = 20, 296, 440, 16                   # LCD_PROGRESS_* in ch32h417_lcd.h
    screen[y:y + h, x:x + w] = rgb565(255, 255, 255)
    inner = w - 2
    filled = inner * PROGRESS[0] // PROGRESS[1]
    screen[y + 1:y + h - 1, x + 1:x + 1 + filled] = rgb565(0, 200, 80)
    screen[y + 1:y + h - 1, x + 1 + filled:x + 1 + inner] = rgb565(40, 40, 40)
    return screen


@pytest.fixture(scope="module")
def bdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("ch32h417lcd"))


def program(bdir, test, *defs):
    return build(bdir, test, *defs, sources=DRIVERS)


def run_lcd(image, seconds=1.0):
    host = BufferHost()
    chip = Chip(image, host=host)
    panel = St7796s(chip)
    chip.run(seconds=seconds, until=lambda: b"lcd " in host.out and host.out.endswith(b"\n"))
    return chip, panel, bytes(host.out).decode()


def error_texts(panel):
    return [what for _, what in panel.errors]


# -- the correct driver -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_run(bdir):
    if shutil.which(GCC) is None:
        pytest.skip("riscv64-unknown-elf-gcc is not installed")
    return run_lcd(program(bdir, "TEST_LCD"))


@needs_gcc
def test_driver_draws_the_scaled_image_text_and_bar_pixel_exact(good_run, tmp_path):
    chip, panel, out = good_run
    assert out == "lcd ok\n"
    png = tmp_path / "lcd.png"
    panel.save_png(png)
    from PIL import Image
    got = np.asarray(Image.open(png).convert("RGB"))
    want = to_rgb888(expected_screen())
    assert got.shape == (320, 480, 3)
    bad = np.argwhere((got != want).any(axis=-1))
    assert not len(bad), f"{len(bad)} pixels differ, first at (y, x) {tuple(bad[0])}"
    assert (panel.rgb565() == expected_screen()).all()


@needs_gcc
def test_init_follows_the_datasheet_sequence_and_waits(good_run):
    chip, panel, _ = good_run
    st = panel.summary()
    assert panel.errors == [] and panel.unknown == []
    assert st["display_on"] and not st["sleeping"] and st["backlight"]
    assert st["colmod"] == 0x55 and st["madctl"] == 0x20 and st["resets"] == 1
    cmds = [c for _, c in panel.log]
    assert cmds[:5] == [0x01, 0x11, 0x3A, 0x36, 0x29]
    t = {c: tt for tt, c in reversed(panel.log)}                  # first time of each command
    assert t[0x11] - t[0x01] >= 5e-3                                # SWRESET -> next command
    assert t[0x3A] - t[0x11] >= 120e-3                              # SLPOUT -> the driver's 120 ms
    bar = 2 * 440 + 2 * 14 + 438 * 14                               # frame + inside of the progress bar
    assert st["pixels"] == 480 * 320 + (64 * SCALE) ** 2 + len(TEXT) * 12 * 16 + bar
    spi = chip.stats()["peripherals"]["SPI2"]
    assert spi["sck_hz"] == 12_500_000 and st["overclocked"] == 0
    assert spi["frames_without_pins"] == 0 and spi["overwritten"] == 0
    assert spi["dma_frames"] == 2 * st["pixels"]                    # every pixel byte came by DMA
    assert chip.stats()["peripherals"]["DMA1"] == {"transfers": {3: spi["dma_frames"]}}   # channel 3 only


# -- wrong drivers ------------------------------------------------------------------------------------
@needs_gcc
def test_no_spi_clock_sends_nothing_and_the_dma_times_out(bdir):
    chip, panel, out = run_lcd(program(bdir, "TEST_LCD", "LCD_SKIP_SPI_CLOCK"))
    assert out == f"lcd err fill {DMA_TIMEOUT}\n"
    assert chip.peripheral("SPI2").ignored_writes > 0
    assert panel.counts["frames"] == 0 and not panel.ram.any()


@needs_gcc
@pytest.mark.parametrize("switch, error", [
    ("LCD_SKIP_SLPOUT", "pixel data in Sleep In (before SLPOUT + 120 ms)"),
    ("LCD_SKIP_COLMOD", "pixel data before COLMOD 0x55 (16 bits per pixel)"),
])
def test_pixels_before_slpout_or_colmod_are_refused(bdir, switch, error):
    chip, panel, out = run_lcd(program(bdir, "TEST_LCD", switch))
    assert out == "lcd ok\n"                     # the driver cannot tell: it has no read-back
    assert error in error_texts(panel)
    assert panel.counts["pixels"] == 0 and panel.counts["pixels_refused"] > 0
    assert not panel.ram.any()


@needs_gcc
def test_dc_changed_before_the_command_byte_left_the_wire(bdir):
    chip, panel, out = run_lcd(program(bdir, "TEST_LCD", "LCD_DC_NO_BSY_WAIT"))
    assert panel.log == []                       # every command byte was sampled with DC high
    assert "data byte 0x01 without a command" in error_texts(panel)
    assert not panel.display_on and not panel.ram.any()


# -- the models on their own (no cross compiler needed) ------------------------------------------------
class StandInUc:
    def reg_read(self, reg):
        return 0

    def emu_stop(self):
        pass


class StandIn:
    """The core a test's register writes come from (what the chip asks of a core: hart, name, uc)."""
    hart = 1
    name = "V5F"
    uc = StandInUc()


def bare_chip():
    return Chip(b"\x6f\x00\x00\x00" * 4)           # `j .`: the V3F spins, nothing else runs


def write(chip, addr, value, size=4):
    chip.mmio_write(StandIn(), addr, size, value)


def panel_pins_as_outputs(chip):
    write(chip, 0x4002101C, 1 << 3)                 # RCC HB2PCENR: IOPBEN
    write(chip, 0x40010C04, 0x44411144)             # GPIOB CFGHR: PB10, PB11, PB12 push-pull outputs
    write(chip, 0x40010C10, (1 << 10) | (1 << 11) | (1 << 12))   # RST, DC, CS high


class Wire:
    def sck_hz(self):
        return 12.5e6


def send(panel, chip, t, command, *params):
    write(chip, 0x40010C10, 1 << (12 + 16))         # CS low
    write(chip, 0x40010C10, 1 << (11 + 16))         # DC low
    panel.spi_frame(command, t, Wire(), 0)
    write(chip, 0x40010C10, 1 << 11)                # DC high
    for i, p in enumerate(params):
        panel.spi_frame(p, t + (i + 1) * 1e-6, Wire(), 0)
    write(chip, 0x40010C10, 1 << 12)                # CS high


def test_a_command_during_the_swreset_wait_is_refused():
    chip = bare_chip()
    panel_pins_as_outputs(chip)
    panel = St7796s(chip)
    send(panel, chip, 0.010, 0x01)
    send(panel, chip, 0.012, 0x11)                  # 2 ms later: inside the 5 ms wait
    send(panel, chip, 0.016, 0x11)
    assert [c for _, c in panel.log] == [0x01, 0x11]
    assert panel.errors[0][1].startswith("command 0x11 refused") and "SWRESET" in panel.errors[0][1]


def test_unknown_commands_and_windows_outside_the_panel_are_recorded():
    chip = bare_chip()
    panel_pins_as_outputs(chip)
    panel = St7796s(chip)
    send(panel, chip, 0.010, 0xB6, 0x80, 0x02)      # a vendor command the model leaves out
    send(panel, chip, 0.011, 0x2A, 0x00, 0x00, 0x01, 0xE0)   # column end 480 (MADCTL 0: 0..319)
    assert panel.unknown == [(0.010, 0xB6)]
    assert "CASET 0..480 outside 0..319" in error_texts(panel)
    assert "data byte 0x80 without a command" in error_texts(panel)


def test_png_channels_are_widened_by_bit_replication(tmp_path):
    chip = bare_chip()
    panel = St7796s(chip)
    panel.ram[0, :4] = [0xFFFF, 0x0000, 0x8410, 0x07E0]   # white, black, mid grey, green
    got = panel.image()[0, :4]
    assert got.tolist() == [[255, 255, 255], [0, 0, 0], [132, 130, 132], [0, 255, 0]]


class Recorder:
    def __init__(self):
        self.frames = []

    def spi_frame(self, byte, t, spi, mode):
        self.frames.append((byte, t))


def spi2_routed(chip):
    write(chip, 0x4002101C, (1 << 0) | (1 << 3) | (1 << 4))      # AFIOEN, IOPBEN, IOPCEN
    write(chip, 0x40021020, 1 << 14)                              # HB1PCENR: SPI2EN
    write(chip, 0x40010010, 5 << 20)                              # AFIO GPIOB_AFHR: PB13 AF5
    write(chip, 0x40010014, 5 << 4)                               # AFIO GPIOC_AFLR: PC1 AF5
    write(chip, 0x40010C04, 0x44944444)                           # PB13 AF push-pull
    write(chip, 0x40011000, 0x44444494)                           # PC1 AF push-pull
    spi = chip.peripheral("SPI2")
    rec = Recorder()
    spi.attach(rec)
    return spi, rec


def test_spi_frames_go_at_the_sck_rate_and_a_write_over_a_full_buffer_is_lost():
    chip = bare_chip()
    spi, rec = spi2_routed(chip)
    write(chip, 0x40003800, 0xC000 | 0x300 | 0x4 | (2 << 3) | 0x40, 2)   # 1-line TX, soft NSS, master, /8, SPE
    for b in (0x11, 0x22, 0x33):                    # no TXE wait: 0x22 waits in DATAR, 0x33 replaces it
        write(chip, 0x4000380C, b, 2)
    assert spi.read_statr(None) & 0x82 == 0x80      # BSY, TXE clear
    chip.run(seconds=100e-6)
    assert [b for b, _ in rec.frames] == [0x11, 0x33] and spi.counts["overwritten"] == 1
    (_, t0), (_, t1) = rec.frames
    assert chip.hclk == 25e6                        # no PLL in this bare chip: HSI
    assert t1 - t0 == pytest.approx(8 / (25e6 / 8))  # back to back at HCLK / 8
    assert spi.read_statr(None) & 0x82 == 0x02      # idle: TXE, not BSY


def test_spi_master_with_nss_low_is_a_mode_fault_and_16_bit_frames_stop_the_run():
    chip = bare_chip()
    spi, rec = spi2_routed(chip)
    write(chip, 0x40003800, 0x200 | 0x4 | 0x40, 2)  # SSM without SSI: NSS reads low
    assert spi.read_statr(None) & 0x20 and not spi.get("CTLR1") & 0x44
    write(chip, 0x40003800, 0x800 | 0x300 | 0x4 | 0x40, 2)
    assert chip.fault is not None and "16-bit frames" in str(chip.fault)


def test_exti_latches_an_edge_only_for_an_enabled_line():
    chip = bare_chip()
    write(chip, 0x4002101C, (1 << 0) | (1 << 3))    # AFIOEN, IOPBEN
    write(chip, 0x40010C00, 0x44444448)             # PB0 input with pull
    write(chip, 0x40010C10, 1)                      # pull-up
    write(chip, 0x4001003C, 1)                      # AFIO EXTICR1: line 0 from port B
    write(chip, 0x4001040C, 1)                      # FTENR line 0, INTENR not yet
    exti, gpio = chip.peripheral("EXTI"), chip.peripheral("GPIOB")
    gpio.drive(0, 0)
    gpio.drive(0, None)
    assert exti.get("INTFR") == 0 and exti.counts["edges_masked"] == 1
    write(chip, 0x40010400, 1)                      # INTENR line 0
    gpio.drive(0, 0)
    assert exti.get("INTFR") == 1 and 36 in exti.irq_lines()
    gpio.drive(0, None)                             # rising: RTENR is off
    write(chip, 0x40010414, 1)                      # write 1 to clear
    assert exti.get("INTFR") == 0 and exti.irq_lines() == []


def test_dma_refuses_memory_outside_shared_sram():
    chip = bare_chip()
    write(chip, 0x40021018, 1)                      # HBPCENR: DMA1EN
    write(chip, 0x40020800, 64 << 16)               # DMAMUX channel 3 <- request 65 (SPI2 TX)
    write(chip, 0x40020030 + 4, 8)                  # CNTR3
    write(chip, 0x40020030 + 8, 0x4000380C)         # PADDR3 = SPI2 DATAR
    write(chip, 0x40020030 + 12, 0x200C1000)        # MADDR3 in DTCM
    write(chip, 0x40020030, 0x10 | 0x80 | 0x1)      # DIR from memory, MINC, EN
    chip.peripheral("DMAMUX").request(65, 0.0)
    assert chip.fault is not None and "outside shared SRAM" in str(chip.fault)
    assert chip.fault.addr == 0x200C1000


# -- the button ---------------------------------------------------------------------------------------
def run_button(image, presses=()):
    host = BufferHost()
    chip = Chip(image, host=host)
    button = Button(chip)
    chip.run(seconds=0.05, until=lambda: b"button ready\n" in host.out)
    assert bytes(host.out) == b"button ready\n"
    for k, (duration, bounce) in enumerate(presses):
        button.press(duration, bounce=bounce, at=chip.now + 0.01 + 0.1 * k)
    chip.run(seconds=1.0, until=lambda: b"presses" in host.out and host.out.endswith(b"\n"))
    return chip, bytes(host.out).decode()


@needs_gcc
def test_a_bouncing_press_counts_once(bdir):
    chip, out = run_button(program(bdir, "TEST_BUTTON"), [(0.05, 3)])
    assert out == "button ready\npresses 1\n"
    assert chip.peripheral("EXTI").counts["pending_set"] == 4       # the bounce did reach the EXTI


@needs_gcc
def test_no_press_counts_zero_and_two_presses_count_two(bdir):
    _, out = run_button(program(bdir, "TEST_BUTTON"))
    assert out == "button ready\npresses 0\n"
    _, out = run_button(program(bdir, "TEST_BUTTON"), [(0.05, 2), (0.04, 1)])
    assert out == "button ready\npresses 2\n"


@needs_gcc
def test_a_press_without_exti_set_up_is_not_seen(bdir):
    chip, out = run_button(program(bdir, "TEST_BUTTON", "BUTTON_SKIP_EXTI"), [(0.05, 3)])
    assert out == "button ready\npresses 0\n"
    assert chip.peripheral("EXTI").get("INTFR") == 0


# -- the sources --------------------------------------------------------------------------------------
@needs_gcc
@pytest.mark.parametrize("arch", [("-march=rv32imac", "-mabi=ilp32"), ("-march=rv32imafc", "-mabi=ilp32f")])
def test_drivers_are_warning_free_c99(tmp_path, arch):
    for src in DRIVERS:
        subprocess.run([GCC, *arch, "-misa-spec=2.2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-Os",
                        "-ffreestanding", f"-I{BOARD}", "-c", src, "-o", str(tmp_path / "x.o")], check=True)


def test_font_header_is_generated_from_the_font_source():
    with open(os.path.join(BOARD, "ch32h417_font5x7.h")) as f:
        assert f.read() == gen_font.header(gen_font.parse())
