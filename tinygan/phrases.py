"""`tinygan phrases check|render CARD`: validate a phrase bank; render its clips with espeak-ng.

CARD is an SD card root (holding phrases/), the phrases folder itself, or a FAT card image (read
and changed with mtools: tinygan/fatimage.py). Clips are rendered in the device format
(scripts/wav.py: 8-bit unsigned PCM, mono, 11025 Hz) from each fragment's .txt, through a cache
keyed by text and voice (~/.cache/tinygan/clips), and written next to the .txt via a temporary
file + rename; a .wav the tool did not write (your own recording) is never replaced.
phrases/.rendered.txt records what each rendered clip was made from, so `check` (and the device,
scripts/phrasebank.py) reports a clip whose text changed since as stale. Format: docs/phrase-bank.md.
"""
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import wave
import zlib

import numpy as np

from tinygan.appshim import use_scripts
from tinygan import fatimage
from tinygan.cli import CLIError
from tinygan.fsutil import write_atomic

VOICE = "en-us"
SPEED = 150  # words per minute: a little slower than espeak's default, clearer on a small speaker
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "tinygan", "clips")


def sd_root(path):
    """The folder that holds phrases/ (accepts either DIR or DIR/phrases)."""
    path = os.path.abspath(path)
    if os.path.basename(path) == "phrases" and not os.path.isdir(os.path.join(path, "phrases")):
        return os.path.dirname(path)
    if not os.path.isdir(os.path.join(path, "phrases")):
        raise CLIError("%s: no phrases/ folder here" % path)
    return path


def to_device_format(samples, rate):
    """int16 mono samples at `rate` -> 8-bit unsigned samples at wav.RATE (bytes)."""
    use_scripts()
    import wav
    x = samples.astype(np.float64)
    if rate != wav.RATE:
        # Box low-pass over the decimation factor, then linear interpolation onto the new grid.
        k = max(1, int(round(rate / wav.RATE)))
        if k > 1:
            x = np.convolve(x, np.ones(k) / k, mode="same")
        t = np.arange(int(len(x) * wav.RATE / rate)) * (rate / wav.RATE)
        x = np.interp(t, np.arange(len(x)), x)
    peak = np.max(np.abs(x)) if len(x) else 0.0
    if peak > 0:
        x = x * (0.9 * 127.0 / peak)  # normalise: quiet clips are inaudible on a small speaker
    return np.clip(np.round(x) + 128, 0, 255).astype(np.uint8).tobytes()


def espeak_samples(text):
    """Renders text with espeak-ng -> (int16 array, rate)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise CLIError("espeak-ng not found (Debian: apt-get install espeak-ng; .ci/install does)")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "s.wav")
        r = subprocess.run([exe, "-v", VOICE, "-s", str(SPEED), "-w", out, text],
                           capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(out):
            raise CLIError("espeak-ng failed on %r: %s" % (text, r.stderr.strip()))
        with wave.open(out, "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise CLIError("espeak-ng produced an unexpected WAV format")
            data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
            return data, w.getframerate()


def clip_bytes(text):
    """The whole device-format WAV file for `text`, from the cache when possible."""
    use_scripts()
    import wav
    key = hashlib.sha256(("%s|%s|%d|%d" % (text, VOICE, SPEED, wav.RATE)).encode()).hexdigest()
    cached = os.path.join(CACHE, key[:32] + ".wav")
    if os.path.exists(cached):
        with open(cached, "rb") as f:
            return f.read()
    samples = to_device_format(*espeak_samples(text))
    data = wav.header(len(samples)) + samples + (b"\x80" if len(samples) & 1 else b"")
    os.makedirs(CACHE, exist_ok=True)
    write_atomic(cached, data)
    return data


def fragments(root):
    """Yields (txt_path, text, text_crc) for every non-empty fragment .txt under root/phrases,
    read by the device's own phrasebank.read_text (the same text and CRC it computes)."""
    use_scripts()
    import phrasebank
    for dirpath, dirnames, files in os.walk(os.path.join(root, "phrases")):
        dirnames.sort()
        for name in sorted(files):
            if name.endswith(".txt") and not name.startswith("."):
                path = os.path.join(dirpath, name)
                text, crc = phrasebank.read_text(path)
                if text:
                    yield path, text, crc


OLD_MANIFEST = ".rendered.json"  # before the text CRCs: {"phrases/PATH": sha256 of the clip}


def _crc(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def _rendered(root, log):
    """{PATH under phrases/: (size, clip crc, text crc or None)} of the clips render wrote."""
    use_scripts()
    import phrasebank
    pdir = os.path.join(root, "phrases")
    problems = []
    rendered = phrasebank.read_manifest(pdir, problems)
    for p in problems:
        log("phrases: " + p)
    try:
        with open(os.path.join(pdir, OLD_MANIFEST)) as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = {}
    for rel, sha in old.items():  # a card rendered before the text CRCs existed
        path = os.path.join(root, rel)
        key = os.path.relpath(path, pdir).replace(os.sep, "/")
        if key not in rendered and os.path.isfile(path):
            with open(path, "rb") as f:
                data = f.read()
            if hashlib.sha256(data).hexdigest() == sha:
                rendered[key] = (len(data), _crc(data), None)
    return rendered


def _write_manifest(root, rendered):
    use_scripts()
    import phrasebank
    lines = ["# written by `tinygan phrases render`: SIZE CLIPCRC TEXTCRC PATH of each clip it "
             "rendered (docs/phrase-bank.md)"]
    for rel in sorted(rendered):
        size, clip_crc, text_crc = rendered[rel]
        lines.append("%d %08x %08x %s" % (size, clip_crc, text_crc, rel))
    pdir = os.path.join(root, "phrases")
    write_atomic(os.path.join(pdir, phrasebank.MANIFEST), "\n".join(lines) + "\n")
    if os.path.exists(os.path.join(pdir, OLD_MANIFEST)):
        os.remove(os.path.join(pdir, OLD_MANIFEST))


def render(root, log=print):
    """Writes NN.wav for every non-empty NN.txt whose clip is missing or was rendered by this
    tool from another text. A .wav this tool did not write (a person's own recording) is never
    replaced: phrases/.rendered.txt records each clip render wrote (size, CRC32) and the CRC32 of
    the text it was made from, which is also how `check` and the device find stale clips."""
    rendered = _rendered(root, log)
    pdir = os.path.join(root, "phrases")
    n_written = n_total = n_kept = 0
    for path, text, text_crc in fragments(root):
        n_total += 1
        target = path[:-4] + ".wav"
        rel = os.path.relpath(target, pdir).replace(os.sep, "/")
        data = clip_bytes(text)
        made = (len(data), _crc(data), text_crc)
        if os.path.exists(target):
            with open(target, "rb") as f:
                have = f.read()
            if have == data:
                rendered[rel] = made
                continue
            if rendered.get(rel, (None, None))[:2] != (len(have), _crc(have)):
                log("phrases: keeping %s (not written by render; delete it to re-render)"
                    % os.path.relpath(target, root))
                rendered.pop(rel, None)  # a recording that replaced a rendered clip is yours
                n_kept += 1
                continue
        write_atomic(target, data)
        rendered[rel] = made
        n_written += 1
    _write_manifest(root, {k: v for k, v in rendered.items() if v[2] is not None})
    log("phrases: %d clips rendered, %d up to date, %d own recordings kept"
        % (n_written, n_total - n_written - n_kept, n_kept))
    return n_written


def check(root, audio=True, log=print):
    use_scripts()
    import phrasebank
    bank = phrasebank.Bank(root, audio=audio)
    for p in bank.problems:
        log("problem: " + p)
    for mood in sorted(bank.slots):
        sizes = [len(c) for c in bank.slots[mood]]
        log("%s: slot sizes %s -> %d verdicts" % (mood, sizes, bank.count(mood)))
    log("total: %d verdicts, %d problem(s)" % (bank.count(), len(bank.problems)))
    return bank


def _snapshot(folder):
    """{path relative to folder: (size, crc)} of every file under it."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                data = f.read()
            out[os.path.relpath(path, folder).replace(os.sep, "/")] = (len(data), _crc(data))
    return out


@contextlib.contextmanager
def card(path, write=False):
    """Yields (root, name): the card root for a folder (or its phrases/ folder); for a FAT card
    image a local copy of its phrases/, whose changes go back into the image when the block ends
    without an error and `write` is set (fatimage.edit: all of them or none). `name(p)` turns a
    path under root into what to call it in messages."""
    if not fatimage.is_image(path):
        yield sd_root(path), lambda p: p
        return
    fatimage.check_fat(path)
    with tempfile.TemporaryDirectory() as tmp:
        if not fatimage.export_tree(path, "phrases", tmp):
            raise CLIError("%s: no phrases/ folder on this card image" % path)
        before = _snapshot(tmp)
        yield tmp, lambda p: p.replace(tmp + os.sep, path + "::/")
        if write:
            after = _snapshot(tmp)
            changed = sorted(rel for rel in after if before.get(rel) != after[rel])
            gone = sorted(rel for rel in before if rel not in after)
            if changed or gone:
                with fatimage.edit(path) as work:
                    for rel in changed:
                        fatimage.put(work, os.path.join(tmp, rel), rel)
                    for rel in gone:
                        fatimage.run(["mdel", "-i", work, "::/" + rel])


def add_arguments(parser):
    parser.add_argument("action", choices=["check", "render"])
    parser.add_argument("dir", help="SD card root holding phrases/, the phrases folder, or a FAT "
                        "card image (sd.img)")
    parser.add_argument("--text-only", action="store_true",
                        help="check: do not require clips (a bank not rendered yet)")


def run(args):
    with card(args.dir, write=args.action == "render") as (root, name):
        def log(msg):
            print(name(msg))
        if args.action == "render":
            render(root, log=log)
            return 0
        bank = check(root, audio=not args.text_only, log=log)
        return 1 if bank.problems else 0
