"""The entropy cursor survives a power cut at every card write on the emulated CH32H417 (issue 12).

The firmware's own scripts/entropy.py takes entropy three times on a card image (its cursor file
written through VfsFat, the SD driver and the SDMMC controller onto the emulated card); the
card model then loses power at block write N (`--sd-fault cut:N`: nothing of that block
programmed; `tear:N,K`: its first K bytes), for every N the three takes write and K = 0 (cut), 8
(inside the 16-byte record at the start of its sector) and 256. After each
cut the image is read on the host (tinygan.cardentropy): the cursor must cover every byte that
was handed out before the cut (none reused) and skip at most one take. A cursor writer that
overwrites the winning record instead of the older one (the wrong driver) must fail the check.
"""
import os
import re
import shutil

import pytest

from test_ch32h417_streaming import FIRMWARE_WITH_CARD
from tinygan import cardentropy, sdcard
from tinygan.appshim import use_scripts

pytest.importorskip("unicorn", reason="unicorn (PyPI) is not installed")

from tinygan.ch32h417emu.peripherals.sdcard import PowerCut    # noqa: E402
from tinygan.ch32h417emu.repl import Repl                      # noqa: E402

use_scripts()
import entropy  # noqa: E402

pytestmark = FIRMWARE_WITH_CARD

TAKES, TAKE = 3, 200
# The wrong driver: commit into the slot of the record that currently wins.
OVERWRITE_WINNER = ("def _bad(self, n):\n"
                    " seq, cur, slot = entropy.read_cursor(self.cursor_path)\n"
                    " self._commit(seq + 1, slot, cur + n)\n"
                    " return b''\n"
                    "entropy.Pool.take = _bad\n")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A card image with a 4 KiB pool and a fresh cursor, as `tinygan sdcard build` writes them."""
    work = tmp_path_factory.mktemp("ch32h417-entropy")
    folder = work / "card"
    folder.mkdir()
    (folder / entropy.POOL_NAME).write_bytes(os.urandom(4096))
    entropy.init_cursor(str(folder / entropy.CURSOR_NAME))
    return sdcard.build_image(str(folder), str(work / "sd.img"), log=lambda *a: None)


def takes_on_chip(build, image, fault=None, patch=""):
    """Boots with `image` as the card and takes TAKES x TAKE bytes; -> (cursors printed after
    each take, whether the power was cut, block writes done)."""
    board = Repl(build, sd=image, sd_faults=[fault] if fault else [])
    writes0 = board.chip.by_name["SDMMC"].card.stats["blocks_written"]
    cut = False
    try:
        board.do("import entropy; p = entropy.Pool('/sd')")
        if patch:
            board.do("exec(%r)" % patch)
        for _ in range(TAKES):
            board.do("p.take(%d); print('took', p.cursor())" % TAKE)
    except PowerCut:
        cut = True
    finally:
        board.chip.by_name["SDMMC"].card.close()
    printed = [int(n) for n in re.findall(r"took (\d+)", board.host.out.decode(errors="replace"))]
    return printed, cut, board.chip.by_name["SDMMC"].card.stats["blocks_written"] - writes0


def violations(build, pristine, tmp_path, patch=""):
    """Every cut point of every take: the ones whose cursor after the cut is wrong."""
    ref = str(tmp_path / "ref.img")
    shutil.copyfile(pristine, ref)
    printed, cut, writes = takes_on_chip(build, ref, patch=patch)
    assert not cut and len(printed) == TAKES and writes >= TAKES, (printed, writes)
    bad = []
    for n in range(writes):
        for fault in ("cut:%d" % n, "tear:%d,8" % n, "tear:%d,256" % n):
            image = str(tmp_path / (fault.replace(":", "-").replace(",", "-") + ".img"))
            shutil.copyfile(pristine, image)
            printed, cut, _ = takes_on_chip(build, image, fault, patch)
            assert cut, "%s: no power cut happened" % fault
            try:
                after = cardentropy.read_image(image).cursor
            except Exception as e:                 # noqa: BLE001 - a lost cursor is a violation too
                bad.append((fault, printed, "unreadable: %s" % e))
                continue
            used = max(printed, default=0)
            if not used <= after <= used + TAKE:
                bad.append((fault, printed, after))
    return writes, bad


def test_cursor_survives_a_power_cut_at_every_write(ch32h417_build_root, pristine, tmp_path):
    writes, bad = violations(ch32h417_build_root, pristine, tmp_path)
    assert bad == [], bad
    assert writes >= TAKES            # every take wrote through the driver


def test_a_writer_overwriting_the_winning_record_fails_the_check(ch32h417_build_root, pristine, tmp_path):
    _, bad = violations(ch32h417_build_root, pristine, tmp_path, patch=OVERWRITE_WINNER)
    assert bad, "the check did not catch a cursor writer that overwrites the winning record"
