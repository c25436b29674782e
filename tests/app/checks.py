"""Checks of the device application (scripts/) that run under CPython AND MicroPython.

Usage: <python3|micropython> checks.py SCRIPTS_DIR WORK_DIR [SD_ROOT_OR_IMAGE]
Prints "PASS name" or "FAIL name: why" per check and "DONE n_failed"; the pytest wrappers
(tests/test_app_*.py) run it with both interpreters. No engine here: a stand-in model whose
image is a function of the latent bytes (the engine has its own tests).
"""
import os
import sys

sys.path.insert(0, sys.argv[1])
WORK = sys.argv[2]
EXTRA = sys.argv[3] if len(sys.argv) > 3 else None

import entropy  # noqa: E402
import verdict  # noqa: E402
import wav  # noqa: E402
import phrasebank  # noqa: E402
import speech  # noqa: E402
import hw_host  # noqa: E402
import app  # noqa: E402

failed = []


def check(fn):
    try:
        fn()
        print("PASS " + fn.__name__)
    except Exception as e:  # report every failure, keep going
        failed.append(fn.__name__)
        print("FAIL %s: %s %s" % (fn.__name__, type(e).__name__, e))


def mkdirs(path):
    cur = ""
    for part in path.split("/"):
        if not part:
            cur = "/"
            continue
        cur = part if not cur else (cur.rstrip("/") + "/" + part)
        try:
            os.mkdir(cur)
        except OSError:
            pass


def rmtree(path):
    try:
        mode = os.stat(path)[0]
    except OSError:
        return
    if mode & 0x4000:
        for n in os.listdir(path):
            rmtree(path + "/" + n)
        os.rmdir(path)
    else:
        os.remove(path)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def make_pool(root, data):
    mkdirs(root)
    write(root + "/" + entropy.POOL_NAME, data)
    entropy.init_cursor(root + "/" + entropy.CURSOR_NAME, 0)


def pattern(n, seed=1):
    # A deterministic byte pattern (a small LCG), so checks are reproducible.
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = (x >> 16) & 0xFF
    return bytes(out)


def tone(n, period=25):
    return bytes(128 + (60 if (i // (period // 2)) % 2 else -60) for i in range(n))


def make_bank(root, sizes=(3, 2, 2, 2)):
    for mood in verdict.MOODS:
        for s, size in enumerate(sizes):
            d = "%s/phrases/%s/%d-slot" % (root, mood, s + 1)
            mkdirs(d)
            for i in range(size):
                base = "%s/%02d" % (d, i + 1)
                write(base + ".txt", ("%s s%d c%d" % (mood, s + 1, i + 1)).encode())
                wav.write(base + ".wav", tone(300 + 10 * i))


# ---- entropy pool ----------------------------------------------------------------------

def entropy_sequential_and_exhaustion():
    root = WORK + "/e1"
    data = pattern(1000)
    make_pool(root, data)
    p = entropy.Pool(root)
    got = p.take(300) + p.take(300) + p.take(300)
    assert got == data[:900], "bytes are not the pool's, in order"
    p2 = entropy.Pool(root)  # a reboot keeps the cursor
    assert p2.cursor() == 900, p2.cursor()
    try:
        p2.take(101)
        raise AssertionError("no EntropyExhausted")
    except entropy.EntropyExhausted as e:
        assert "exhausted" in str(e) and "tinygan entropy fetch" in str(e), str(e)
    assert p2.cursor() == 900, "a refused take moved the cursor"
    assert p2.take(100) == data[900:]


def entropy_fallback_is_flagged():
    root = WORK + "/e2"
    make_pool(root, pattern(10))
    logs = []
    p = entropy.Pool(root, fallback=lambda n: b"\x07" * n, log=logs.append)
    assert p.take(20) == b"\x07" * 20
    assert p.not_quantum and "NOT quantum" in logs[0], logs


def entropy_corrupt_cursor_refused():
    root = WORK + "/e3"
    make_pool(root, pattern(100))
    write(root + "/" + entropy.CURSOR_NAME, b"\xff" * 600)
    for step in ("corrupt", "missing"):
        try:
            entropy.Pool(root).take(1)
            raise AssertionError("a %s cursor was accepted" % step)
        except entropy.EntropyError as e:
            assert "refusing to guess" in str(e), str(e)
        if step == "corrupt":
            os.remove(root + "/" + entropy.CURSOR_NAME)


class PowerCut(Exception):
    pass


class TornFile:
    """A cursor file whose write() stores only the first `keep` bytes (then junk for the rest
    of the record when junk=True) and then loses power."""

    def __init__(self, f, keep, junk):
        self.f = f
        self.keep = keep
        self.junk = junk

    def seek(self, *a):
        return self.f.seek(*a)

    def write(self, data):
        part = data[:self.keep]
        if self.junk:
            part = part + b"\xa5" * (len(data) - self.keep)
        self.f.write(part)
        self.f.close()
        raise PowerCut()

    def flush(self):
        pass

    def close(self):
        try:
            self.f.close()
        except Exception:
            pass


def entropy_power_cut_every_write():
    """Cut power in the cursor update of every take of a run, at every byte of the record
    (0..16 bytes written; torn with old bytes or with junk), reboot, and go on. Across all runs:
    no pool byte is handed out twice, and each cut skips at most the reservation in flight."""
    sizes = [205, 1, 205, 3, 205]
    total = sum(sizes)
    data = pattern(total + max(sizes) + 50, 7)
    runs = 0
    for cut_at in range(len(sizes)):
        for keep in range(entropy.RECORD + 1):
            for junk in (False, True):
                root = WORK + "/pc"
                make_pool(root, data)
                handed = []  # (offset, length) of every take that returned
                skipped = 0
                real_open = entropy._open
                for i, n in enumerate(sizes):
                    if i == cut_at:
                        entropy._open = lambda p, m, k=keep, j=junk: TornFile(real_open(p, m), k, j)
                        before = entropy.Pool(root).cursor()
                        try:
                            entropy.Pool(root).take(n)
                            raise AssertionError("no power cut happened")
                        except PowerCut:
                            pass
                        finally:
                            entropy._open = real_open
                        after = entropy.Pool(root).cursor()  # reboot
                        lost = after - before
                        assert lost in (0, n), "cut moved the cursor by %d" % lost
                        assert lost == (n if keep == entropy.RECORD else 0), (keep, junk, lost)
                        skipped += lost
                    p = entropy.Pool(root)
                    off = p.cursor()
                    got = p.take(n)
                    # Independent check: the bytes are the pool's at the recorded offset.
                    assert got == data[off:off + n], "bytes do not match the pool offset"
                    handed.append((off, n))
                used = [0] * len(data)
                for off, n in handed:
                    for k in range(off, off + n):
                        used[k] += 1
                assert max(used) == 1, "a byte was handed out twice"
                assert skipped <= max(sizes), "skipped %d > one reservation" % skipped
                assert sum(used) == total, "a take was lost"
                runs += 1
    print("power-cut runs: %d" % runs)


# ---- verdict picks -----------------------------------------------------------------------

class ListStream:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def read(self, n):
        out = self.data[self.pos:self.pos + n]
        if len(out) < n:
            raise AssertionError("stream ran dry")
        self.pos += n
        return out


def uniform_exact_over_all_bytes():
    """Over all 256 first bytes, every value in range(n) comes up equally often (no modulo bias);
    rejected bytes cost exactly one more byte."""
    for n in range(1, 257):
        counts = [0] * n
        rejected = 0
        for b in range(256):
            s = ListStream(bytes([b, 0]))
            v = verdict.uniform(s, n)
            if s.pos == 1:
                counts[v] += 1
            else:
                rejected += 1
                assert b >= (256 // n) * n, (n, b)
        assert min(counts) == max(counts), (n, min(counts), max(counts))
        assert rejected == 256 % n, (n, rejected)
    # n > 256: two bytes per try
    s = ListStream(bytes([0xFF, 0xFF, 0x01, 0x02]))
    assert verdict.uniform(s, 1000) == 258 % 1000 and s.pos == 4


def mood_uses_one_bit():
    assert verdict.mood(ListStream(b"\x02")) == "motivated"
    assert verdict.mood(ListStream(b"\x03")) == "demotivated"


# ---- WAV + speech --------------------------------------------------------------------------

def wav_errors_name_file_and_problem():
    d = WORK + "/w"
    mkdirs(d)
    good = wav.header(100) + tone(100)
    cases = [
        ("bad-header", b"RIFX" + good[4:], "not a RIFF/WAVE"),
        ("wrong-rate", good[:24] + (22050).to_bytes(4, "little") + good[28:], "sample rate 22050"),
        ("stereo", good[:22] + (2).to_bytes(2, "little") + good[24:], "channels"),
        ("16bit", good[:34] + (16).to_bytes(2, "little") + good[36:], "16 bits"),
        ("truncated", good[:44 + 60], "data truncated"),
        ("no-data", good[:36], "no data chunk"),
        ("empty", b"", "not a RIFF/WAVE"),
    ]
    for name, data, expect in cases:
        path = d + "/" + name + ".wav"
        write(path, data)
        try:
            wav.WavReader(path)
            raise AssertionError("%s accepted" % name)
        except wav.WavError as e:
            assert path in str(e) and expect in str(e), (name, str(e))
    # A chunk the parser does not know (LIST, odd size + pad byte) is skipped.
    listed = good[:36] + b"LIST" + (3).to_bytes(4, "little") + b"abc\x00" + good[36:]
    write(d + "/list.wav", listed)
    r = wav.WavReader(d + "/list.wav")
    assert r.nsamples == 100
    r.close()
    write(d + "/ok.wav", good)
    r = wav.WavReader(d + "/ok.wav")
    assert r.nsamples == 100
    r.close()


class Sink:
    def __init__(self):
        self.data = bytearray()
        self.max_chunk = 0

    def write(self, buf, n):
        self.data += bytes(memoryview(buf)[:n])
        self.max_chunk = max(self.max_chunk, n)


def speech_streams_back_to_back_in_bounded_memory():
    d = WORK + "/sp"
    mkdirs(d)
    a, b = tone(1500), pattern(777, 3)
    wav.write(d + "/a.wav", a)
    wav.write(d + "/b.wav", b)
    write(d + "/bad.wav", b"junk")
    logs = []
    sink = Sink()
    n = speech.speak([d + "/a.wav", d + "/bad.wav", d + "/b.wav"], sink, log=logs.append)
    assert bytes(sink.data) == a + b and n == len(a) + len(b)
    assert sink.max_chunk <= speech.BUF, sink.max_chunk
    assert len(logs) == 1 and "bad.wav" in logs[0], logs


def wav_sink_roundtrip():
    d = WORK + "/ws"
    mkdirs(d)
    s = hw_host.WavSink(d + "/out.wav")
    s.write(bytearray(b"\x10\x20\x30"), 2)
    s.write(bytearray(b"\x40"), 1)
    s.close()
    r = wav.WavReader(d + "/out.wav")
    buf = bytearray(10)
    n = r.read_into(buf)
    r.close()
    assert r.nsamples == 3 and bytes(buf[:n]) == b"\x10\x20\x40"


# ---- phrase bank ---------------------------------------------------------------------------

def bank_valid_and_counts():
    root = WORK + "/b1"
    rmtree(root)
    make_bank(root, (3, 2, 2, 2))
    bank = phrasebank.Bank(root)
    assert bank.problems == [], bank.problems
    assert bank.count("motivated") == 24 and bank.count() == 48, bank.count()
    assert bank.slots["motivated"][0][0][0] == "motivated s1 c1"


def bank_broken_edits_reported_and_skipped():
    root = WORK + "/b2"
    rmtree(root)
    make_bank(root, (3, 2, 2, 2))
    m = root + "/phrases/motivated"
    os.remove(m + "/2-slot/01.txt")                       # missing text
    write(m + "/1-slot/02.wav", b"RIFF....WAVEjunk")       # broken clip
    write(m + "/1-slot/03.txt", b"   \n")                  # empty text
    for n in os.listdir(m + "/4-slot"):                    # empty slot
        os.remove(m + "/4-slot/" + n)
    os.remove(root + "/phrases/demotivated/3-slot/02.wav")  # missing clip
    bank = phrasebank.Bank(root)
    text = "\n".join(bank.problems)
    for expect in ("2-slot/01.wav: missing text", "1-slot/02.wav:", "1-slot/03.txt: empty text",
                   "4-slot: empty slot", "3-slot/02.txt: missing clip"):
        assert expect in text, (expect, text)
    assert len(bank.problems) == 5, text
    assert [len(c) for c in bank.slots["motivated"]] == [1, 1, 2, 0]
    # The device still speaks: the valid clips of the three non-empty slots.
    picks = verdict.pick(ListStream(b"\x00\x00\x00"), bank.slots["motivated"])
    assert len(picks) == 3 and picks[0][0] == "motivated s1 c1", picks


def bank_stale_clip_reported_own_recording_not():
    """A clip render wrote (listed in phrases/.rendered.txt, written here by hand with CRCs
    computed here) whose text changed is reported as stale and left out; a white-space-only
    edit is not a change; a person's own recording over a rendered clip is never stale."""
    import binascii
    root = WORK + "/b3"
    rmtree(root)
    make_bank(root, (3, 2, 2, 2))
    s1 = root + "/phrases/motivated/1-slot"
    lines = [b"# hand-written manifest"]
    for i in (1, 2, 3):
        clip = read("%s/%02d.wav" % (s1, i))
        text = ("motivated s1 c%d" % i).encode()
        lines.append(b"%d %08x %08x motivated/1-slot/%02d.wav" % (
            len(clip), binascii.crc32(clip) & 0xFFFFFFFF, binascii.crc32(text) & 0xFFFFFFFF, i))
    lines.append(b"garbage line")
    write(root + "/phrases/" + phrasebank.MANIFEST, b"\n".join(lines) + b"\n")
    bank = phrasebank.Bank(root)
    assert len(bank.problems) == 1 and "line 5 unreadable" in bank.problems[0], bank.problems
    write(s1 + "/01.txt", b"  motivated \t s1   c1\r\n")   # same words: not stale
    write(s1 + "/02.txt", b"new words for two")            # rendered clip, new text: stale
    write(s1 + "/03.txt", b"new words for three")          # ... but a person recorded it anew
    wav.write(s1 + "/03.wav", tone(999, period=40))
    bank = phrasebank.Bank(root)
    stale = [p for p in bank.problems if "stale" in p]
    assert len(stale) == 1, bank.problems
    assert stale[0].startswith(s1 + "/02.wav: stale clip") and s1 + "/02.txt" in stale[0], stale
    texts = [c[0] for c in bank.slots["motivated"][0]]
    assert texts == ["motivated s1 c1", "new words for three"], texts
    # Text-only loading (no clips needed) does not look at clips at all.
    assert phrasebank.Bank(root, audio=False).problems == []


# ---- the app with a stand-in model -----------------------------------------------------------

class FakeModel:
    latent_dim = 100
    latent_inv_scale = 32
    out_shape = (64, 64, 3)

    def __init__(self, path):
        read(path)  # the model file must exist on the card
        self.seen = []

    def verify(self):
        pass

    def generate(self, z, out=None, progress=None):
        self.seen.append(bytes(z))
        if progress:
            progress(0, 0, 1)
        img = bytearray((z[i % len(z)] + i) & 0xFF for i in range(64 * 64 * 3))
        if out is None:
            return img
        out[:] = img
        return out


class CorruptModel(FakeModel):
    """A card whose weight file fails its check: verify() names layer and chunk."""

    def verify(self):
        raise app.engine_error()("layer 2 chunk 5: CRC mismatch (weights corrupted)")


def app_one_cat(root=None):
    own_bank = root is None
    if own_bank:
        root = WORK + "/sd"
        rmtree(root)
        make_bank(root, (3, 2, 2, 2))
        make_pool(root, pattern(2000, 5))
        write(root + "/model.tgw", b"stand-in")
    pool_data = read(root + "/" + entropy.POOL_NAME)
    board = hw_host.Board(root, wav_path=WORK + "/v.wav", count=1)
    logs = []
    model, pool, bank = app.load(board, FakeModel, log=logs.append)
    start = pool.cursor()
    cat = app.one_cat(board, model, pool, bank, log=logs.append)  # the real latent module
    # Latent came from the first 200 bytes at the cursor; mood from the next byte.
    import latent
    assert model.seen[0] == bytes(latent.latent_from_bytes(pool_data[start:start + 200], 32))
    expect_mood = verdict.MOODS[pool_data[start + 200] & 1]
    assert cat["mood"] == expect_mood, (cat["mood"], expect_mood)
    assert pool.cursor() == start + cat["entropy_bytes"]
    assert 205 <= cat["entropy_bytes"], cat["entropy_bytes"]
    r = wav.WavReader(WORK + "/v.wav")
    assert r.nsamples == cat["samples"] > 0
    r.close()
    assert len(cat["fragments"]) == 4, cat["fragments"]
    assert cat["text"] == " ".join(cat["fragments"])
    if own_bank:  # the stand-in bank's texts name their mood
        assert cat["text"].startswith(cat["mood"]), cat["text"]
    else:
        assert cat["fragments"][0] in [c[0] for c in bank.slots[cat["mood"]][0]]
    print("cat: %s | %s | %d bytes" % (cat["mood"], cat["text"], cat["entropy_bytes"]))


def stand_in_card(name, pool_bytes, seed):
    """A fresh card under WORK: a 2x2x2x2 bank, a patterned pool, a stand-in model file."""
    root = WORK + name
    rmtree(root)
    make_bank(root, (2, 2, 2, 2))
    make_pool(root, pattern(pool_bytes, seed))
    write(root + "/model.tgw", b"stand-in")
    return root


def app_main_stops_when_exhausted():
    """Two triggers, entropy for one cat: the first cat is made, then a clear stop (status 1);
    with a fallback the second cat is made and flagged NOT quantum."""
    root = stand_in_card("/sd2", 300, 9)
    logs = []
    board = hw_host.Board(root, count=2)
    assert app.main(board, FakeModel, log=logs.append) == 1
    stops = [l for l in logs if l.startswith("STOP: ")]
    assert len(stops) == 1 and "exhausted" in stops[0], logs
    assert len([l for l in logs if l.startswith("verdict: ")]) == 1
    logs = []
    board = hw_host.Board(root, count=1)
    assert app.main(board, FakeModel, fallback=lambda n: bytes(n), log=logs.append) == 0
    assert [l for l in logs if "NOT quantum" in l], logs


def app_corrupt_model_takes_no_entropy():
    """A model that fails verify() at load: a STOP naming layer and chunk, status 1, no
    exception, and the pool's cursor where it was (not one byte taken)."""
    root = stand_in_card("/sd3", 1000, 3)
    before = read(root + "/" + entropy.CURSOR_NAME)
    logs = []
    assert app.main(hw_host.Board(root, count=2), CorruptModel, log=logs.append) == 1
    stops = [l for l in logs if l.startswith("STOP: ")]
    assert len(stops) == 1 and "layer 2 chunk 5: CRC mismatch" in stops[0], logs
    assert "no entropy was taken" in stops[0], stops
    assert read(root + "/" + entropy.CURSOR_NAME) == before
    assert not [l for l in logs if l.startswith("entropy: reserved")], logs


def app_reuses_its_image_buffer():
    """main() hands the engine one image buffer for every cat (out=), no per-cat allocation."""
    root = stand_in_card("/sd4", 2000, 4)
    outs = []

    class Recording(FakeModel):
        def generate(self, z, out=None, progress=None):
            outs.append(out)
            return FakeModel.generate(self, z, out, progress)

    assert app.main(hw_host.Board(root, count=3), Recording, log=lambda *a: None) == 0
    assert len(outs) == 3 and outs[0] is not None, outs
    assert outs[0] is outs[1] and outs[1] is outs[2]


def board_stub_says_it_waits_for_the_port():
    import hw_ch32h417
    try:
        hw_ch32h417.Board()
        raise AssertionError("the board stub pretended to work")
    except NotImplementedError as e:
        assert "waits for its DAC, LCD and button drivers" in str(e), str(e)


for fn in (entropy_sequential_and_exhaustion, entropy_fallback_is_flagged,
           entropy_corrupt_cursor_refused, entropy_power_cut_every_write,
           uniform_exact_over_all_bytes, mood_uses_one_bit, wav_errors_name_file_and_problem,
           speech_streams_back_to_back_in_bounded_memory, wav_sink_roundtrip,
           bank_valid_and_counts, bank_broken_edits_reported_and_skipped,
           bank_stale_clip_reported_own_recording_not, app_one_cat,
           app_main_stops_when_exhausted, app_corrupt_model_takes_no_entropy, app_reuses_its_image_buffer,
           board_stub_says_it_waits_for_the_port):
    check(fn)

if EXTRA:
    # A real SD card image: mount it with VfsFat (MicroPython) and run a cat from it.
    def fat_image_cat():
        root = hw_host.mount_image(EXTRA, "/sd")
        names = os.listdir(root)
        assert "phrases" in names and "entropy.bin" in names, names
        bank = phrasebank.Bank(root)
        assert bank.problems == [], bank.problems
        print("fat image verdicts: %d" % bank.count())
        app_one_cat(root)
    check(fat_image_cat)

print("DONE %d" % len(failed))
