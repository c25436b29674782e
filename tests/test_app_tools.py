"""Host tools around the device application: phrases check/render, sdcard build (folder and
FAT image), and the default bank's content."""
import os
import subprocess
import wave

import pytest

from tinygan import phrases, sdcard
from tinygan.appshim import SDCARD_SRC, use_scripts
from tinygan.cli import main

use_scripts()
import phrasebank  # noqa: E402
import wav  # noqa: E402

needs_espeak = pytest.mark.skipif(not os.path.exists("/usr/bin/espeak-ng"), reason="espeak-ng")


def test_default_bank_is_complete_and_grammatical_shape():
    bank = phrasebank.Bank(SDCARD_SRC, audio=False)
    assert bank.problems == []
    assert [len(s) for s in bank.slots["motivated"]] == [16] * 4
    assert [len(s) for s in bank.slots["demotivated"]] == [16] * 4
    assert bank.count() == 2 * 16 ** 4 == 131072
    for mood in bank.slots:
        s1, s2, s3, s4 = [[c[0] for c in clips] for clips in bank.slots[mood]]
        # Slots 1-3 form one sentence: capitalised subject, lower-case verb phrase, object
        # ending the sentence; slot 4 is a whole sentence. That makes every combination read.
        assert all(t[0].isupper() and not t.endswith(".") for t in s1)
        assert all(t[0].islower() and not t.endswith(".") for t in s2)
        assert all(t[0].islower() and t.endswith(".") for t in s3)
        assert all(t[0].isupper() and t.endswith(".") for t in s4)
        texts = s1 + s2 + s3 + s4
        assert len(set(texts)) == 64


def test_sample_pool_is_labelled_not_quantum():
    readme = open(os.path.join(SDCARD_SRC, "ENTROPY-README.txt")).read()
    assert "NOT quantum" in readme and "tinygan entropy fetch" in readme
    assert os.path.getsize(os.path.join(SDCARD_SRC, "entropy.bin")) == 65536


@needs_espeak
def test_render_then_check(tmp_path, capsys):
    d = tmp_path / "phrases" / "motivated" / "1-a"
    d.mkdir(parents=True)
    (d / "01.txt").write_text("The quantum vacuum\n")
    assert phrases.render(str(tmp_path), log=lambda *a: None) == 1
    assert phrases.render(str(tmp_path), log=lambda *a: None) == 0  # up to date
    r = wav.WavReader(str(d / "01.wav"))  # the device's own parser accepts it
    assert 0.4 < r.nsamples / wav.RATE < 4.0
    r.close()
    with wave.open(str(d / "01.wav")) as w:  # and so does Python's
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (11025, 1, 1)
    # Incomplete bank: check reports the missing mood and slots, exit status 1.
    assert main(["phrases", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "demotivated: missing mood folder" in out and "1 slot folders" in out


@needs_espeak
def test_render_updates_its_own_clips_but_never_a_recording(tmp_path):
    d = tmp_path / "phrases" / "motivated" / "1-a"
    d.mkdir(parents=True)
    (d / "01.txt").write_text("first text")
    (d / "02.txt").write_text("second text")
    assert phrases.render(str(tmp_path), log=lambda *a: None) == 2
    own = wav.header(4) + b"\x10\x20\x30\x40"
    (d / "02.wav").write_bytes(own)            # a person's own recording replaces clip 02
    (d / "01.txt").write_text("edited text")   # and clip 01's text changes
    logs = []
    assert phrases.render(str(tmp_path), log=logs.append) == 1
    assert (d / "02.wav").read_bytes() == own
    assert (d / "01.wav").read_bytes() == phrases.clip_bytes("edited text")
    assert any("keeping" in l and "02.wav" in l for l in logs), logs


def test_check_names_broken_wav(tmp_path, capsys):
    d = tmp_path / "phrases" / "motivated" / "1-a"
    d.mkdir(parents=True)
    (d / "01.txt").write_text("hello")
    (d / "01.wav").write_bytes(wav.header(10) + b"\x80" * 3)
    assert main(["phrases", "check", str(tmp_path)]) == 1
    assert "01.wav: data truncated" in capsys.readouterr().out


def test_to_device_format_resamples_and_normalises():
    import numpy as np
    t = np.arange(22050) / 22050.0
    x = (3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    out = np.frombuffer(phrases.to_device_format(x, 22050), dtype=np.uint8)
    assert len(out) == 11025
    assert 240 <= out.max() <= 255 and 0 <= out.min() <= 15  # ~90% of full scale
    # 440 Hz survives: count rising zero crossings over one second.
    s = out.astype(int) - 128
    assert abs(int(((s[:-1] < 0) & (s[1:] >= 0)).sum()) - 440) <= 3


@needs_espeak
@pytest.mark.skipif(subprocess.run(["which", "mcopy"], capture_output=True).returncode != 0,
                    reason="mtools")
def test_sdcard_build_folder_and_image(tmp_path):
    model = tmp_path / "m.tgw"
    model.write_bytes(b"model bytes")
    out = tmp_path / "card"
    img = tmp_path / "card.img"
    assert main(["sdcard", "build", "--out", str(out), "--image", str(img),
                 "--model", str(model)]) == 0
    assert (out / "model.tgw").read_bytes() == b"model bytes"
    assert (out / "entropy.bin").read_bytes() == open(sdcard.SAMPLE_POOL, "rb").read()
    assert not (out / "scripts").exists()  # the firmware has the application frozen in
    assert (out / "main.py").exists()
    assert "sox" in (out / "PHRASES-README.txt").read_text()
    bank = phrasebank.Bank(str(out))
    assert bank.problems == [] and bank.count() == 131072
    # The image holds the same files (listed and read back with mtools).
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    ls = subprocess.run(["mdir", "-b", "-i", str(img), "::/"], capture_output=True, text=True,
                        env=env).stdout
    for name in ("MODEL.TGW", "ENTROPY.BIN", "ENTROPY.CUR", "PHRASES", "MAIN.PY"):
        assert name.lower() in ls.lower(), ls
    got = subprocess.run(["mtype", "-i", str(img), "::/phrases/motivated/1-opening/01.txt"],
                         capture_output=True, text=True, env=env).stdout
    assert got.strip() == "The quantum vacuum"
    # Rebuilding keeps a used cursor (never rewinds over used entropy).
    use_scripts()
    import entropy
    entropy.Pool(str(out)).take(500)
    edited = out / "phrases" / "motivated" / "1-opening" / "01.txt"
    edited.write_text("My own opening")
    sdcard.build_folder(str(out), model=str(model), log=lambda *a: None)
    assert entropy.Pool(str(out)).cursor() == 500
    assert edited.read_text() == "My own opening"  # the card owner's edit survives
    assert (edited.parent / "01.wav").read_bytes() == phrases.clip_bytes("My own opening")


def test_deploy_dry_run_lists_the_card_layout(tmp_path, capsys):
    """Without a board: the mpremote commands for an empty card, in the layout the firmware's
    sys.path expects (scripts in /sd/scripts); the entropy files only because the card is empty."""
    card = tmp_path / "card"
    (card / "scripts").mkdir(parents=True)
    (card / "phrases" / "motivated" / "1-a").mkdir(parents=True)
    for name in os.listdir(os.path.join(SDCARD_SRC, "..", "scripts")):
        if name.endswith(".py"):
            (card / "scripts" / name).write_text("# " + name)
    (card / "model.tgw").write_bytes(b"m")
    (card / "phrases" / "motivated" / "1-a" / "01.txt").write_text("hi")
    (card / "entropy.bin").write_bytes(b"e")
    assert main(["deploy", "--port", "/dev/ttyX", "--dry-run", "--card", str(card)]) == 0
    out = capsys.readouterr().out
    cmds = [l for l in out.splitlines() if l.startswith("mpremote ")]
    assert cmds and all(c.startswith("mpremote connect /dev/ttyX ") for c in cmds), out
    text = "\n".join(cmds)
    for d in ("scripts", "phrases", "phrases/motivated", "phrases/motivated/1-a"):
        assert "fs mkdir :/sd/%s " % d in text + " ", (d, text)
    assert text.index("fs mkdir :/sd/phrases ") < text.index("fs mkdir :/sd/phrases/motivated ")
    for name in os.listdir(card / "scripts"):
        assert "%s :/sd/scripts/%s" % (card / "scripts" / name, name) in text, name
    for rel in ("model.tgw", "phrases/motivated/1-a/01.txt", "entropy.bin"):
        assert "fs cp -f %s :/sd/%s" % (card / rel, rel) in text, rel
    assert main(["deploy"]) == 2  # nothing to do is a clear error
    assert main(["deploy", "--port", "/dev/ttyX", "--card", str(tmp_path)]) == 2  # not a card


def test_deploy_plan_copies_what_differs_and_never_the_boards_entropy(tmp_path):
    from tinygan import deploy
    import zlib
    card = tmp_path / "card"
    (card / "scripts").mkdir(parents=True)
    (card / "scripts" / "app.py").write_bytes(b"new app")
    (card / "scripts" / "wav.py").write_bytes(b"same wav")
    (card / "entropy.bin").write_bytes(b"fresh pool")
    (card / "entropy.cur").write_bytes(b"fresh cursor")

    def sig(data):
        return (len(data), zlib.crc32(data))
    listing = ("noise from the board\nTGD /sd/scripts\nTGF %d %08x /sd/scripts/wav.py\n"
               "TGF %d %08x /sd/scripts/app.py\nTGF 5 0000abcd /sd/entropy.cur\n"
               "TGF 9 00001234 /sd/my file.txt\nTGEND\n"
               % (sig(b"same wav") + sig(b"old app")))
    board = deploy.parse_listing(listing, "PORT")
    assert board[1]["my file.txt"] == (9, 0x1234)
    logs = []
    mkdirs, copies = deploy.plan(str(card), board, log=logs.append)
    assert mkdirs == [] and [rel for _, rel in copies] == ["scripts/app.py"], copies
    assert any("WARNING" in l and "entropy.cur but not entropy.bin" in l for l in logs), logs
    with pytest.raises(Exception, match="did not list"):
        deploy.parse_listing("TGD /sd/scripts\n", "PORT")  # cut short: no TGEND
    with pytest.raises(Exception, match="no card at /sd"):
        deploy.parse_listing("TGNOCARD [Errno 2] ENOENT\nTGEND\n", "PORT")


def small_bank(root, texts=("first text", "second text")):
    d = root / "phrases" / "motivated" / "1-a"
    d.mkdir(parents=True)
    for i, t in enumerate(texts):
        (d / ("%02d.txt" % (i + 1))).write_text(t)
    return d


@needs_espeak
def test_check_reports_a_clip_rendered_from_another_text(tmp_path, capsys):
    d = small_bank(tmp_path)
    phrases.render(str(tmp_path), log=lambda *a: None)
    assert "stale" not in "\n".join(phrasebank.Bank(str(tmp_path)).problems)
    (d / "01.txt").write_text("an edited first text")       # dragged in: the old clip stays
    (d / "02.txt").write_text("an edited second text")
    own = wav.header(4) + b"\x10\x20\x30\x40"
    (d / "02.wav").write_bytes(own)                         # ... but 02 is recorded anew
    capsys.readouterr()
    assert main(["phrases", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    stale = [l for l in out.splitlines() if "stale" in l]
    assert len(stale) == 1 and str(d / "01.wav") + ": stale clip" in stale[0], out
    assert str(d / "01.txt") in stale[0]
    assert "1-a" in out and "02.wav" not in out, out        # the recording is valid
    assert phrases.render(str(tmp_path), log=lambda *a: None) == 1
    assert (d / "01.wav").read_bytes() == phrases.clip_bytes("an edited first text")
    assert (d / "02.wav").read_bytes() == own
    assert not [p for p in phrasebank.Bank(str(tmp_path)).problems if "stale" in p]


@needs_espeak
def test_render_takes_over_a_card_rendered_before_text_crcs(tmp_path):
    """A card whose clips were listed in the old phrases/.rendered.json (sha256 of each clip)."""
    import hashlib
    import json
    d = small_bank(tmp_path)
    (d / "01.wav").write_bytes(phrases.clip_bytes("first text"))
    (d / "02.wav").write_bytes(wav.header(2) + b"\x01\x02")  # a recording: not in the manifest
    sha = hashlib.sha256((d / "01.wav").read_bytes()).hexdigest()
    (tmp_path / "phrases" / ".rendered.json").write_text(
        json.dumps({"phrases/motivated/1-a/01.wav": sha}))
    (d / "01.txt").write_text("first text, edited")
    assert phrases.render(str(tmp_path), log=lambda *a: None) == 1
    assert (d / "01.wav").read_bytes() == phrases.clip_bytes("first text, edited")
    assert (d / "02.wav").read_bytes() == wav.header(2) + b"\x01\x02"
    assert not (tmp_path / "phrases" / ".rendered.json").exists()
    assert "motivated/1-a/01.wav" in (tmp_path / "phrases" / ".rendered.txt").read_text()


@needs_espeak
@pytest.mark.skipif(subprocess.run(["which", "mcopy"], capture_output=True).returncode != 0,
                    reason="mtools")
def test_check_and_render_a_card_image(tmp_path, capsys):
    from tinygan import fatimage
    folder = tmp_path / "card"
    small_bank(folder)
    phrases.render(str(folder), log=lambda *a: None)
    (folder / "entropy.cur").write_bytes(b"not touched by render")
    img = tmp_path / "sd.img"
    sdcard.build_image(str(folder), str(img), log=lambda *a: None)
    edited = tmp_path / "01.txt"
    edited.write_text("words typed on the card")
    fatimage.run(["mcopy", "-o", "-i", str(img), str(edited), "::/phrases/motivated/1-a/01.txt"])
    capsys.readouterr()
    assert main(["phrases", "check", str(img)]) == 1
    out = capsys.readouterr().out
    assert "%s::/phrases/motivated/1-a/01.wav: stale clip" % img in out, out
    assert main(["phrases", "render", str(img)]) == 0
    assert fatimage.read(str(img), "phrases/motivated/1-a/01.wav") == \
        phrases.clip_bytes("words typed on the card")
    assert fatimage.read(str(img), "phrases/motivated/1-a/02.wav") == \
        (folder / "phrases" / "motivated" / "1-a" / "02.wav").read_bytes()
    assert fatimage.read(str(img), "entropy.cur") == b"not touched by render"
    capsys.readouterr()
    assert main(["phrases", "check", str(img)]) == 1  # one mood only: not stale any more
    assert "stale" not in capsys.readouterr().out
    assert main(["phrases", "render", str(tmp_path / "missing.img")]) == 2
