"""The device application: trigger -> entropy -> latent -> model -> display -> mood + verdict
-> speech. Runs unchanged under MicroPython on the board and under CPython on the host
(board = hw_host.Board or hw_ch32h417.Board; model = tinygan.Model or any object with the same
API).

Entropy per cat, committed in ONE reservation before anything is used:
    200 bytes (latent) + 1 (mood) + bytes_per_pick * 4 (one pick per slot)
= 205 bytes with the default bank. A slot whose size does not divide 256 may reject a byte;
each rejection takes 1 more byte in its own reservation (probability < 1/2 per try). A power cut
skips at most the reservation in flight (<= 205 bytes by default) and never reuses a byte.
"""
import entropy
import verdict
import phrasebank
import speech

LATENT_BYTES = 200
MODEL_NAME = "model.tgw"
# After each cat under MicroPython, print the heap (micropython.mem_info: free bytes and the
# largest free block, "max free sz", in 16-byte blocks). Off by default; tests switch it on.
HEAP_REPORT = False


def _pick_bytes(n):
    k = 1
    while 256 ** k < n:
        k += 1
    return k


def latent_bytes(model):
    """2 bytes per latent value (uint16 pairs for Box-Muller): 200 for nz = 100."""
    return 2 * getattr(model, "latent_dim", 100)


def first_reservation(bank, n_latent=LATENT_BYTES):
    """Bytes to commit up front: latent + mood + the largest pick cost over both moods."""
    worst = 0
    for m in verdict.MOODS:
        cost = 0
        for clips in bank.slots[m]:
            if clips:
                cost += _pick_bytes(len(clips))
        worst = max(worst, cost)
    return n_latent + 1 + worst


def _hw(shape):
    """(H, W) of the output, whether out_shape is written HWC or CHW (3 channels, RGB)."""
    dims = [d for d in shape]
    dims.remove(3)
    return dims[0], dims[1]


def default_latent_fn(b, inv_scale, nz):
    from latent import latent_from_bytes  # the contract's module (scripts/latent.py)
    return latent_from_bytes(b, inv_scale, nz)


class Buffers:
    """The image and the audio buffer, allocated once for every cat (no per-cat allocation that
    could fragment a small heap)."""

    def __init__(self, model):
        h, w = _hw(model.out_shape)
        self.image = bytearray(h * w * 3)
        self.audio = bytearray(speech.BUF)


def one_cat(board, model, pool, bank, latent_fn=default_latent_fn, log=print, bufs=None):
    """Makes one cat; returns a dict with mood, text, fragments, entropy bytes, samples."""
    if bufs is None:
        bufs = Buffers(model)
    before = pool.taken
    n_latent = latent_bytes(model)
    stream = entropy.Stream(pool, first_reservation(bank, n_latent))
    log("entropy: reserved %d bytes (pool cursor now %d of %d)"
        % (len(stream.buf), pool.cursor(), pool.size))
    z = latent_fn(stream.read(n_latent), model.latent_inv_scale, n_latent // 2)
    log("latent: %d int8 values" % len(z))

    def progress(layer, chunk, n_chunks):
        # Called by the engine after each weight chunk; one line per layer whose weights have all
        # been streamed. Layers are numbered from 0 as in docs/weight-format.md and the engine's
        # messages; the small last layer is read before the one it is fused into, so the lines go
        # 0, 1, 2, 4, 3. Returning None (falsy) lets it go on.
        if chunk == n_chunks - 1:
            log("generate: layer %d weights streamed (%d chunks)" % (layer, n_chunks))

    rgb = model.generate(z, out=bufs.image, progress=progress)
    h, w = _hw(model.out_shape)
    board.display.show(rgb, w, h)
    log("display: %dx%d cat shown" % (w, h))
    m = verdict.mood(stream)
    clips = verdict.pick(stream, bank.slots[m])
    text = " ".join(c[0] for c in clips)
    log("mood: %s" % m)
    log("verdict: %s" % text)
    sink = board.open_dac()
    try:
        n = speech.speak([c[1] for c in clips if c[1]], sink, buf=bufs.audio, log=log)
    finally:
        board.close_dac()
    log("speech: %d samples (%.1f s)" % (n, n / 11025))
    return {"mood": m, "text": text, "fragments": [c[0] for c in clips],
            "entropy_bytes": pool.taken - before, "samples": n, "rgb": rgb,
            "not_quantum": pool.not_quantum}


class CardError(Exception):
    """The card's model cannot be used; raised before any entropy is taken."""


def engine_error():
    """The engine's error class (tinygan.EngineError, a ValueError that names layer and chunk);
    ValueError where the engine module is not there (stand-in models in tests)."""
    try:
        import tinygan
        return tinygan.EngineError
    except (ImportError, AttributeError):
        return ValueError


def load(board, model_factory, fallback=None, log=print):
    """Opens the SD card's model (and checks every chunk's CRC), entropy pool and phrase bank;
    reports bank problems. A model that fails raises CardError before the pool is touched."""
    root = board.sd_root
    path = root + "/" + MODEL_NAME
    try:
        model = model_factory(path)
        log("model: checking %s (%d bytes)" % (path, getattr(model, "file_size", 0)))
        model.verify()
    except OSError as e:
        raise CardError("model %s: cannot read it (%s)" % (path, e))
    except engine_error() as e:
        raise CardError("model %s: %s" % (path, e))
    pool = entropy.Pool(root, fallback=fallback, log=log)
    bank = phrasebank.Bank(root)
    for p in bank.problems:
        log("phrase bank: " + p)
    log("phrase bank: %d verdicts available, %d problem(s)" % (bank.count(), len(bank.problems)))
    log("entropy: %d bytes left (%d cats)" % (pool.remaining(), pool.remaining() // 205))
    return model, pool, bank


def heap_report():
    try:
        import gc
        import micropython
    except ImportError:
        return
    gc.collect()
    micropython.mem_info()


def main(board, model_factory=None, fallback=None, log=print):
    """The REPL entry point: `import app, hw_...; app.main(hw_....Board(...))`. Returns 0 when the
    trigger stops, 1 after a stop it reported (card, entropy or engine error)."""
    if model_factory is None:
        import tinygan
        model_factory = tinygan.Model
    try:
        model, pool, bank = load(board, model_factory, fallback, log)
    except CardError as e:
        log("STOP: %s (no entropy was taken)" % e)
        return 1
    bufs = Buffers(model)
    failed = engine_error()
    cats = 0
    while board.trigger.wait():
        try:
            one_cat(board, model, pool, bank, log=log, bufs=bufs)
        except entropy.EntropyExhausted as e:
            log("STOP: %s" % e)
            return 1
        except failed as e:  # an SD read or CRC error while streaming
            log("STOP: engine: %s (this cat's entropy is spent, never reused)" % e)
            return 1
        cats += 1
        if HEAP_REPORT:
            heap_report()
    return 0


def board_for_this_machine():
    """The board layer of the machine this runs on (os.uname().machine names the firmware's
    board); the host's needs arguments and is made by its caller."""
    import os
    machine = os.uname().machine if hasattr(os, "uname") else ""
    if machine.startswith("QEMU"):
        import hw_qemu
        return hw_qemu.Board()
    if machine.startswith("CH32H417"):
        import hw_ch32h417
        return hw_ch32h417.Board()
    raise CardError("no board layer for machine %r (on the host: tinygan demo)" % machine)


def run():
    """What the card's main.py calls at power-on: the app on this machine's board."""
    return main(board_for_this_machine())
