"""The phrase bank on the SD card, as a person edits it with a file manager.

    phrases/<mood>/<slot>/<name>.txt   the fragment's text (UTF-8, one line)
    phrases/<mood>/<slot>/<name>.wav   its clip (format: wav.py)

<mood> is `motivated` or `demotivated`; <slot> folders are spoken in name order (the default
bank uses 1-opening, 2-action, 3-target, 4-closer); a clip is the pair of files sharing <name>.
Loading validates everything and keeps only valid clips; each problem is reported as
"path: what is wrong", so a broken edit is reported and the device speaks from what is valid.
See docs/phrase-bank.md.
"""
import os

from verdict import MOODS
import wav

SLOTS = 4


def _is_dir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except OSError:
        return False


def _read_text(path):
    with open(path, "rb") as f:
        raw = f.read(1024)
    text = raw.decode("utf-8").strip()
    return " ".join(text.split())


class Bank:
    """slots[mood] = list of SLOTS lists of (text, wav_path or None); problems = [str]."""

    def __init__(self, root, audio=True):
        self.root = root + "/phrases"
        self.audio = audio
        self.slots = {}
        self.problems = []
        for mood in MOODS:
            self.slots[mood] = self._load_mood(mood)

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
            text = _read_text(pair["txt"])
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
        return (text, pair["wav"])

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
