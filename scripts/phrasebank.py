"""The phrase bank on the SD card, as a person edits it with a file manager.

    phrases/<mood>/<slot>/<name>.txt   the fragment's text (UTF-8, one line)
    phrases/<mood>/<slot>/<name>.wav   its clip (format: wav.py)

<mood> is `motivated` or `demotivated`; <slot> folders are spoken in name order (the default
bank uses 1-opening, 2-action, 3-target, 4-closer); a clip is the pair of files sharing <name>.
Loading validates everything and keeps only valid clips; each problem is reported as
"path: what is wrong", so a broken edit is reported and the device speaks from what is valid.

    phrases/.rendered.txt   what `tinygan phrases render` made each of its clips from

One line per clip render wrote: "SIZE CLIPCRC TEXTCRC PATH" (decimal size of the .wav, CRC32 of
the .wav and CRC32 of the normalised text it was rendered from, both 8 hex digits; PATH under
phrases/, '/'-separated); lines starting with '#' are comments. A clip whose .txt now normalises
to another CRC while the .wav is still the one render wrote (same size and CRC) is stale: it would
speak the old words, so it is reported and left out. A .wav that is not render's (a person's own
recording) is never stale. The check costs one CRC32 of each .txt (read anyway) and, only for a
changed text, one of its .wav. See docs/phrase-bank.md.
"""
import binascii
import os

from verdict import MOODS
import wav

SLOTS = 4
MANIFEST = ".rendered.txt"
TEXT_MAX = 1024  # bytes of a .txt that count (the printed fragment)


def _is_dir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except OSError:
        return False


def read_text(path):
    """-> (text, crc): the fragment's text with every run of ASCII white space made one space
    (bytes.split: the same under CPython and MicroPython), and the CRC32 of its UTF-8 bytes."""
    with open(path, "rb") as f:
        raw = f.read(TEXT_MAX)
    norm = b" ".join(raw.split())
    return norm.decode("utf-8"), binascii.crc32(norm) & 0xFFFFFFFF


def file_crc(path):
    """CRC32 of a whole file, read through one 512-byte buffer."""
    buf = bytearray(512)
    mv = memoryview(buf)
    crc = 0
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            crc = binascii.crc32(mv[:n], crc)
    return crc & 0xFFFFFFFF


def read_manifest(phrases_dir, problems):
    """{PATH: (size, clip crc, text crc)} from phrases/.rendered.txt ({} when there is none).
    A damaged line is reported; its clip then counts as a person's own recording."""
    rendered = {}
    path = phrases_dir + "/" + MANIFEST
    try:
        f = open(path, "rb")
    except OSError:
        return rendered
    with f:
        for i, line in enumerate(f):
            if line.startswith(b"#") or not line.strip():
                continue
            parts = line.split(None, 3)
            try:
                rendered[parts[3].strip().decode("utf-8")] = (
                    int(parts[0]), int(parts[1], 16), int(parts[2], 16))
            except (IndexError, ValueError, UnicodeError):
                problems.append("%s: line %d unreadable (its clip counts as your own recording)"
                                % (path, i + 1))
    return rendered


class Bank:
    """slots[mood] = list of SLOTS lists of (text, wav_path or None); problems = [str]."""

    def __init__(self, root, audio=True):
        self.root = root + "/phrases"
        self.audio = audio
        self.slots = {}
        self.problems = []
        # Only needed while loading (freed after): the clips render wrote, to find stale ones.
        self._rendered = read_manifest(self.root, self.problems) if audio else {}
        for mood in MOODS:
            self.slots[mood] = self._load_mood(mood)
        self._rendered = None

    def _load_mood(self, mood):
        mdir = self.root + "/" + mood
        if not _is_dir(mdir):
            self.problems.append("%s: missing mood folder" % mdir)
            return [[] for _ in range(SLOTS)]
        names = sorted(n for n in os.listdir(mdir) if _is_dir(mdir + "/" + n))
        if len(names) != SLOTS:
            self.problems.append("%s: %d slot folders (%s); need %d"
                                 % (mdir, len(names), ", ".join(names), SLOTS))
        slots = []
        for i in range(SLOTS):
            if i < len(names):
                slots.append(self._load_slot(mdir + "/" + names[i]))
            else:
                slots.append([])
        return slots

    def _load_slot(self, sdir):
        files = os.listdir(sdir)
        stems = {}
        for n in files:
            dot = n.rfind(".")
            ext = n[dot + 1:].lower() if dot > 0 else ""
            if n.startswith(".") or ext not in ("txt", "wav"):
                continue  # hidden files a desktop leaves behind; anything else is ignored
            stems.setdefault(n[:dot], {})[ext] = sdir + "/" + n
        clips = []
        for stem in sorted(stems):
            clip = self._load_clip(stems[stem], sdir + "/" + stem)
            if clip is not None:
                clips.append(clip)
        if not clips:
            self.problems.append("%s: empty slot (no valid clip); it is skipped" % sdir)
        return clips

    def _load_clip(self, pair, base):
        if "txt" not in pair:
            self.problems.append("%s.wav: missing text (%s.txt)" % (base, base))
            return None
        try:
            text, text_crc = read_text(pair["txt"])
        except (OSError, UnicodeError) as e:
            self.problems.append("%s: unreadable text (%s)" % (pair["txt"], e))
            return None
        if not text:
            self.problems.append("%s: empty text" % pair["txt"])
            return None
        if not self.audio:
            return (text, pair.get("wav"))
        if "wav" not in pair:
            self.problems.append("%s: missing clip (%s.wav)" % (pair["txt"], base))
            return None
        try:
            wav.WavReader(pair["wav"]).close()
        except wav.WavError as e:
            self.problems.append(str(e))
            return None
        if self._is_stale(pair["wav"], text_crc):
            self.problems.append("%s: stale clip, rendered from another text than %s (run "
                                 "`tinygan phrases render`, or record it yourself)"
                                 % (pair["wav"], pair["txt"]))
            return None
        return (text, pair["wav"])

    def _is_stale(self, wav_path, text_crc):
        made = self._rendered.get(wav_path[len(self.root) + 1:])
        if made is None or made[2] == text_crc:
            return False  # not render's, or rendered from this very text
        # The text changed: stale only if the .wav is still the one render wrote.
        return os.stat(wav_path)[6] == made[0] and file_crc(wav_path) == made[1]

    def count(self, mood=None):
        """Number of distinct verdicts (product of non-empty slot sizes) for one or all moods."""
        total = 0
        for m in (MOODS if mood is None else (mood,)):
            n = 1
            any_clip = False
            for clips in self.slots[m]:
                if clips:
                    n *= len(clips)
                    any_clip = True
            total += n if any_clip else 0
        return total
