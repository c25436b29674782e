"""`tinygan demo --out DIR`: one cat and its verdict from the device application, on the host.

Runs scripts/app.py under CPython with the C engine (tinygan.Model), the shipped weights and the
shipped sample entropy pool, on a copy of the SD card kept outside the repository (default
~/.cache/tinygan/sd), so repeated runs consume new entropy and the repository is never modified.
Writes DIR/cat.png, DIR/verdict.txt and DIR/verdict.wav.
"""
import os
import time

from tinygan.appshim import DEFAULT_WEIGHTS, REPO, use_scripts
from tinygan.cli import CLIError
from tinygan import sdcard
from tinygan.fsutil import write_atomic

DEFAULT_SD = os.path.join(os.path.expanduser("~"), ".cache", "tinygan", "sd")


def _inside_repo(path):
    path = os.path.realpath(path)
    return path == REPO or path.startswith(REPO + os.sep)


def engine_factory():
    try:
        import tinygan
        return tinygan.Model
    except AttributeError:
        raise CLIError("the C engine is not built (tinygan.Model missing): "
                       "run `pip install -e .` (bash .ci/install does)")


def add_arguments(parser):
    parser.add_argument("--out", required=True, help="folder for cat.png, verdict.txt, verdict.wav")
    parser.add_argument("--sd", default=DEFAULT_SD,
                        help="the SD card copy to run on (default %(default)s)")
    parser.add_argument("--model", default=DEFAULT_WEIGHTS)
    parser.add_argument("--terminal", action="store_true", help="also preview the cat in the terminal")


def run(args, model_factory=None):
    t0 = time.time()
    sd = os.path.abspath(args.sd)
    if _inside_repo(sd):
        raise CLIError("--sd %s is inside the repository; the demo never modifies it" % sd)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    if model_factory is None:
        model_factory = engine_factory()
    print("demo: SD card copy %s" % sd)
    sdcard.build_folder(sd, model=args.model)
    use_scripts()
    import app
    import entropy
    import hw_host
    board = hw_host.Board(sd, wav_path=os.path.join(out, "verdict.wav"),
                          image_path=os.path.join(out, "cat.png"), terminal=args.terminal,
                          count=1)
    import tinygan
    engine_error = getattr(tinygan, "EngineError", RuntimeError)
    try:
        model, pool, bank = app.load(board, model_factory)
        cat = app.one_cat(board, model, pool, bank)
    except entropy.EntropyExhausted as e:
        raise CLIError("%s (the demo's copy: %s)" % (e, os.path.join(sd, entropy.POOL_NAME)))
    except engine_error as e:
        raise CLIError("engine: %s (model %s)" % (e, os.path.join(sd, app.MODEL_NAME)))
    write_atomic(os.path.join(out, "verdict.txt"), cat["mood"] + "\n" + cat["text"] + "\n")
    print("demo: wrote %s (cat), %s (%s), %s (%.1f s of speech)"
          % (board.display.path, os.path.join(out, "verdict.txt"), cat["mood"],
             os.path.join(out, "verdict.wav"), cat["samples"] / 11025.0))
    print("demo: %d entropy bytes used; %d left in %s%s; %.1f s"
          % (cat["entropy_bytes"], pool.remaining(), pool.pool_path,
             " (sample pool: NOT quantum)" if _is_sample(sd) else "", time.time() - t0))
    return 0


def _is_sample(sd):
    try:
        with open(os.path.join(sdcard.SAMPLE_POOL), "rb") as a, \
                open(os.path.join(sd, "entropy.bin"), "rb") as b:
            return a.read(64) == b.read(64)
    except OSError:
        return False
