"""`tinygan sdcard build --out DIR [--image FILE.img]`: the SD card's content.

Layout of the card (docs/app.md):
    model.tgw        the weight file (default: weights/default.tgw)
    entropy.bin      the entropy pool (default: the shipped sample pool, NOT quantum)
    entropy.cur      the pool's cursor (fresh: 0), see scripts/entropy.py
    phrases/...      the phrase bank (repo sdcard/phrases), clips rendered with espeak-ng
    scripts/*.py     the device application, for `mpremote cp` or copying by hand
    ENTROPY-README.txt  what the pool is and how to replace it
    PHRASES-README.txt  how to edit the phrase bank with a file manager
The image is FAT32 (mkfs.fat + mcopy); FAT32 needs >= 33 MiB, so the size is at least 40 MiB.
"""
import os
import shutil
import subprocess

from tinygan.appshim import DEFAULT_WEIGHTS, SCRIPTS, SDCARD_SRC, use_scripts
from tinygan.cli import CLIError
from tinygan import phrases

SAMPLE_POOL = os.path.join(SDCARD_SRC, "entropy.bin")


def _copy(src, dst):
    tmp = dst + ".tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def build_folder(out, model=DEFAULT_WEIGHTS, pool=SAMPLE_POOL, phrases_src=SDCARD_SRC,
                 log=print):
    """Builds (or refreshes) the card in folder `out`. An existing pool + cursor in `out` are
    kept as they are (rebuilding must never rewind the cursor over used entropy), and so are
    phrase texts and recordings already there (the card owner's edits)."""
    use_scripts()
    import entropy
    if not os.path.exists(model):
        raise CLIError("model %s not found (train + export one, or pass --model)" % model)
    if not os.path.exists(pool):
        raise CLIError("entropy pool %s not found" % pool)
    os.makedirs(out, exist_ok=True)
    _copy(model, os.path.join(out, "model.tgw"))
    log("sdcard: model %s (%d bytes)" % (model, os.path.getsize(model)))
    pool_out = os.path.join(out, entropy.POOL_NAME)
    cur_out = os.path.join(out, entropy.CURSOR_NAME)
    if os.path.exists(pool_out) and os.path.exists(cur_out):
        log("sdcard: keeping the existing entropy pool and cursor in %s" % out)
    else:
        _copy(pool, pool_out)
        entropy.init_cursor(cur_out + ".tmp", 0)
        os.replace(cur_out + ".tmp", cur_out)
        log("sdcard: entropy pool %s (%d bytes), cursor 0" % (pool, os.path.getsize(pool)))
    for readme in ("ENTROPY-README.txt", "PHRASES-README.txt", "main.py"):
        if os.path.exists(os.path.join(SDCARD_SRC, readme)):
            _copy(os.path.join(SDCARD_SRC, readme), os.path.join(out, readme))
    # Texts already on the card are the card owner's (maybe edited): copy only missing ones.
    src = os.path.join(phrases_src, "phrases")
    kept = 0
    for dirpath, _, files in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        dst = os.path.join(out, "phrases", rel)
        os.makedirs(dst, exist_ok=True)
        for name in files:
            if name.endswith(".txt"):
                if os.path.exists(os.path.join(dst, name)):
                    kept += 1
                else:
                    _copy(os.path.join(dirpath, name), os.path.join(dst, name))
    if kept:
        log("sdcard: kept %d phrase texts already on the card" % kept)
    phrases.render(out, log=log)
    os.makedirs(os.path.join(out, "scripts"), exist_ok=True)
    for name in sorted(os.listdir(SCRIPTS)):
        if name.endswith(".py"):
            _copy(os.path.join(SCRIPTS, name), os.path.join(out, "scripts", name))
    return out


def _tree_bytes(folder):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)


def build_image(folder, image, size_mib=None, log=print):
    """FAT32 image holding the folder's content; written to image + '.tmp', then renamed."""
    for tool in ("mkfs.fat", "mcopy", "mmd"):
        if shutil.which(tool) is None:
            raise CLIError("%s not found (Debian: dosfstools, mtools; .ci/install has them)" % tool)
    need = _tree_bytes(folder)
    if size_mib is None:
        size_mib = max(40, int(need * 1.3 / 2**20) + 8)
    tmp = image + ".tmp"
    with open(tmp, "wb") as f:
        f.truncate(size_mib * 2**20)
    try:
        _run(["mkfs.fat", "-F", "32", "-n", "TINYGAN", tmp])
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
        for name in sorted(os.listdir(folder)):
            _run(["mcopy", "-s", "-i", tmp, os.path.join(folder, name), "::/"], env)
        os.replace(tmp, image)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    log("sdcard: FAT32 image %s (%d MiB, %d bytes of content)" % (image, size_mib, need))
    return image


def _run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise CLIError("%s failed: %s" % (cmd[0], (r.stderr or r.stdout).strip()))


def add_arguments(parser):
    parser.add_argument("action", choices=["build"])
    parser.add_argument("--out", required=True, help="folder to build the card in")
    parser.add_argument("--image", help="also write a FAT32 image of it to this file")
    parser.add_argument("--model", default=DEFAULT_WEIGHTS)
    parser.add_argument("--pool", default=SAMPLE_POOL, help="entropy pool to put on the card")
    parser.add_argument("--size-mib", type=int, help="image size (default: content + margin)")


def run(args):
    out = os.path.abspath(args.out)
    if out == SDCARD_SRC or out.startswith(SCRIPTS):
        raise CLIError("--out must not be inside the repository's source folders")
    build_folder(out, model=args.model, pool=args.pool)
    if args.image:
        build_image(out, args.image, args.size_mib)
    return 0
