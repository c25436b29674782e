"""`tinygan deploy --port` for real: mpremote against the QEMU firmware's pty serial, the card an
sd.img in QEMU's working folder (all this test assumes of the firmware: the QEMU board, a pty
serial, the card mounted at /sd from sd.img).

The card image starts without scripts/ (the default card has none: the firmware has the application
frozen in) and with an edited text and a missing clip; deploy must
put scripts/*.py in /sd/scripts/ (where sys.path finds them), fix the phrase files, leave the
board's entropy cursor alone, and copy nothing on a second run. Checked on the image afterwards
with mtools, and on the board with the firmware's own import.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from test_micropython_port import RV32_MISSING, TOP
from tinygan import cardentropy, fatimage, rv32, sdcard
from tinygan.appshim import SCRIPTS
from tinygan.cli import main

MISSING = [t for t in ("mpremote", "mcopy", "mkfs.fat", "espeak-ng") if shutil.which(t) is None]
pytestmark = [
    pytest.mark.skipif(TOP is None, reason="MicroPython source absent (see test_micropython_port)"),
    pytest.mark.skipif(bool(RV32_MISSING), reason="RV32 toolchain/QEMU: %s" % RV32_MISSING),
    pytest.mark.skipif(bool(MISSING), reason="not installed: %s" % ", ".join(MISSING)),
]


@pytest.fixture(scope="module")
def firmware(qemu_build_root):
    return os.path.join(str(qemu_build_root), "qemu", "firmware.elf")


class Board:
    """The QEMU firmware running with work/sd.img as its card, its console on a pty."""

    def __init__(self, elf, work):
        self.proc = subprocess.Popen(
            [rv32.QEMU, "-machine", "virt", "-cpu", "rv32", "-m", "64M", "-bios", "none",
             "-nographic", "-monitor", "null", "-semihosting-config", "enable=on,target=native",
             "-serial", "pty", "-kernel", elf],
            cwd=str(work), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()  # QEMU says where the pty is before it boots
        m = re.search(r"char device redirected to (/dev/pts/\d+)", line)
        if not m:
            self.close()
            raise AssertionError("QEMU did not report a pty: %r" % line)
        self.port = m.group(1)

    def exec(self, code):
        r = subprocess.run(["mpremote", "connect", self.port, "exec", code], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    def close(self):
        self.proc.kill()
        self.proc.wait()


def deploy(port, card, capsys):
    capsys.readouterr()
    t0 = time.time()
    assert main(["deploy", "--port", port, "--card", str(card)]) == 0
    out = capsys.readouterr().out
    return out, time.time() - t0


def test_deploy_to_the_qemu_board_copies_only_what_changed(firmware, tmp_path, capsys):
    model = tmp_path / "m.tgw"
    model.write_bytes(os.urandom(3000))
    card = tmp_path / "card"
    sdcard.build_folder(str(card), model=str(model), log=lambda *a: None)
    opening = card / "phrases" / "motivated" / "1-opening"
    # The board's card: no scripts/, an older text, a clip missing, as a first card might be.
    old = tmp_path / "old"
    shutil.copytree(card, old)
    (old / "phrases" / "motivated" / "1-opening" / "02.txt").write_text("An older opening")
    os.remove(old / "phrases" / "motivated" / "1-opening" / "03.wav")
    for name in sdcard.STARTUP:  # nothing may start at boot: this test drives the REPL only
        if (old / name).exists():
            os.remove(old / name)
    work = tmp_path / "qemu"
    work.mkdir()
    image = work / "sd.img"
    sdcard.build_image(str(old), str(image), log=lambda *a: None)

    board = Board(firmware, work)
    try:
        out, first_s = deploy(board.port, card, capsys)
        scripts = [n for n in os.listdir(SCRIPTS) if n.endswith(".py")]  # deploy adds the repo's
        n_scripts = len(scripts)
        assert "fs mkdir :/sd/scripts" in out, out
        for name in scripts:
            assert ":/sd/scripts/" + name in out, (name, out)
        assert ":/sd/phrases/motivated/1-opening/02.txt" in out
        assert ":/sd/phrases/motivated/1-opening/03.wav" in out
        startup = [n for n in sdcard.STARTUP if (card / n).exists()]  # removed from the board's card
        for name in startup:
            assert ":/sd/" + name in out, (name, out)
        assert "%d file(s) copied" % (n_scripts + 2 + len(startup)) in out, out
        assert ":/sd/entropy" not in out, out  # the board's pool and cursor are its own
        # The firmware finds the deployed application where deploy put it, and the device
        # takes entropy on its card.
        got = board.exec("import entropy, os\nprint('FILE', entropy.__file__)\n"
                         "p = entropy.Pool(os.getcwd())\np.take(205)\nprint('CUR', p.cursor())")
        assert "FILE /sd/scripts/entropy.py" in got, got
        assert "CUR 205" in got, got
        out, second_s = deploy(board.port, card, capsys)
        assert "0 file(s) copied" in out and "fs cp" not in out, out
        print("deploy: first run %.1f s, second %.1f s" % (first_s, second_s))
    finally:
        board.close()

    # The card image now holds what the folder holds, and the board's cursor.
    for name in scripts:
        assert fatimage.read(str(image), "scripts/" + name) == open(os.path.join(SCRIPTS, name), "rb").read()
    for name in ("02.txt", "03.wav"):
        assert fatimage.read(str(image), "phrases/motivated/1-opening/" + name) == \
            (opening / name).read_bytes()
    assert cardentropy.read_image(str(image)).cursor == 205
