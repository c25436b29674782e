"""`tinygan phrases check|render DIR`: validate a phrase bank; render its clips with espeak-ng.

DIR is an SD card root (holding phrases/) or the phrases folder itself. Clips are rendered in the
device format (scripts/wav.py: 8-bit unsigned PCM, mono, 11025 Hz) from each fragment's .txt,
through a cache keyed by text and voice (~/.cache/tinygan/clips), and written next to the .txt via
a temporary file + rename; a .wav the tool did not write (your own recording) is never replaced.
Format: docs/phrase-bank.md.
"""
import hashlib
import os
import shutil
import subprocess
import tempfile
import wave

import numpy as np

from tinygan.appshim import use_scripts
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
    """Yields (txt_path, text) for every fragment .txt under root/phrases."""
    for dirpath, dirnames, files in os.walk(os.path.join(root, "phrases")):
        dirnames.sort()
        for name in sorted(files):
            if name.endswith(".txt") and not name.startswith("."):
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    text = " ".join(f.read().split())
                if text:
                    yield path, text


MANIFEST = ".rendered.json"  # hidden: the device ignores it


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def render(root, log=print):
    """Writes NN.wav for every non-empty NN.txt whose clip is missing or was rendered by this
    tool from an older text. A .wav this tool did not write (a person's own recording) is never
    replaced: phrases/.rendered.json remembers the hash of every clip render wrote."""
    import json
    manifest_path = os.path.join(root, "phrases", MANIFEST)
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        manifest = {}
    n_written = n_total = n_kept = 0
    for path, text in fragments(root):
        n_total += 1
        target = path[:-4] + ".wav"
        rel = os.path.relpath(target, root)
        data = clip_bytes(text)
        if os.path.exists(target):
            with open(target, "rb") as f:
                have = _sha(f.read())
            if have == _sha(data):
                manifest[rel] = have
                continue
            if manifest.get(rel) != have:
                log("phrases: keeping %s (not written by render; delete it to re-render)" % rel)
                n_kept += 1
                continue
        write_atomic(target, data)
        manifest[rel] = _sha(data)
        n_written += 1
    write_atomic(manifest_path, json.dumps(manifest, indent=0, sort_keys=True).encode())
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


def add_arguments(parser):
    parser.add_argument("action", choices=["check", "render"])
    parser.add_argument("dir", help="SD card root holding phrases/, or the phrases folder")
    parser.add_argument("--text-only", action="store_true",
                        help="check: do not require clips (a bank not rendered yet)")


def run(args):
    root = sd_root(args.dir)
    if args.action == "render":
        render(root)
        return 0
    bank = check(root, audio=not args.text_only)
    return 1 if bank.problems else 0
