"""CH32H417 LCD benchmark: emulated time and host cost of each step of the board's LCD driver.

    python3 bench/ch32h417_lcd.py

Builds the bare-metal LCD test (tests/ch32h417/prog.c + lcd_test.c with boards/CH32H417/
ch32h417_lcd.c, needs riscv64-unknown-elf-gcc) and runs it on the emulated chip with the ST7796S
panel model attached.  A step ends when the driver's next CASET reaches the panel (init, fill,
64x64 x4 blit, text, progress bar).  Emulated time is what the V5F would spend at 12.5 MHz SCK
(IPC = 1, no bus contention: docs/ch32h417-emulator.md); CPU time is this machine's, shared.
"""
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from test_ch32h417_emulator import build  # noqa: E402
from tinygan.ch32h417emu import Chip  # noqa: E402
from tinygan.ch32h417emu.hostserial import BufferHost  # noqa: E402
from tinygan.ch32h417emu.peripherals.st7796s import St7796s  # noqa: E402

BOARD = os.path.join(ROOT, "boards", "CH32H417")
STEPS = ("init", "fill 480x320", "blit 64x64 x4", "text 14 chars", "progress bar")


def main():
    image = build(tempfile.mkdtemp(), "TEST_LCD", sources=(os.path.join(BOARD, "ch32h417_lcd.c"),
                                                             os.path.join(BOARD, "ch32h417_button.c")))
    host = BufferHost()
    chip = Chip(image, host=host)
    panel = St7796s(chip)
    rows = []
    casets = lambda: sum(1 for _, c in panel.log if c == 0x2A)    # noqa: E731
    marks = [1, 2, 3, 4]     # the fill, blit, text and bar each start with one CASET; the bar with 6
    for i, name in enumerate(STEPS):
        e0, c0, f0, p0 = chip.now, time.process_time(), panel.counts["frames"], panel.counts["pixels"]
        if i < len(marks):
            chip.run(seconds=5, until=lambda: casets() >= marks[i])
        else:
            chip.run(seconds=5, until=lambda: b"lcd " in host.out and host.out.endswith(b"\n"))
        rows.append((name, chip.now - e0, time.process_time() - c0, panel.counts["frames"] - f0,
                     panel.counts["pixels"] - p0))
    print(f"{'step':<16}{'emulated ms':>13}{'CPU s':>8}{'SPI frames':>12}{'pixels':>9}")
    for name, emu, cpu, frames, pixels in rows:
        print(f"{name:<16}{emu * 1e3:>13.3f}{cpu:>8.2f}{frames:>12}{pixels:>9}")
    print(f"result: {bytes(host.out).decode().strip()}; panel errors {panel.counts['errors']}; "
          f"total {chip.now * 1e3:.1f} ms emulated")


if __name__ == "__main__":
    main()
