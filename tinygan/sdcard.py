"""`tinygan sdcard build --out DIR [--image FILE.img]`: the SD card's content.

Layout of the card (docs/app.md):
    model.tgw        the weight file (default: weights/default.tgw)
    entropy.bin      the entropy pool (default: the shipped sample pool, NOT quantum)
    entropy.cur      the pool's cursor (fresh: 0; an existing card's is kept), scripts/entropy.py
    phrases/...      the phrase bank (repo sdcard/phrases), clips rendered with espeak-ng
    (no scripts/: the firmware has the application frozen in; `tinygan deploy --port` puts an
    overriding copy in scripts/, first on the firmware's sys.path after '')
    boot.py, main.py run at power-on (when the repository's sdcard/ has them)
    ENTROPY-README.txt  what the pool is and how to replace it
    PHRASES-README.txt  how to edit the phrase bank with a file manager
The image is FAT32 (mkfs.fat + mcopy); FAT32 needs >= 33 MiB, so the size is at least 40 MiB.
"""
import os
import shutil

from tinygan.appshim import DEFAULT_WEIGHTS, SCRIPTS, SDCARD_SRC
from tinygan.cli import CLIError
from tinygan import cardentropy, fatimage, phrases

SAMPLE_POOL = os.path.join(SDCARD_SRC, "entropy.bin")
STARTUP = ("boot.py", "main.py")


def _copy(src, dst):
    tmp = dst + ".tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def build_folder(out, model=DEFAULT_WEIGHTS, pool=SAMPLE_POOL, phrases_src=SDCARD_SRC,
                 card_image=None, log=print):
    """Builds (or refreshes) the card in folder `out`. An existing pool + cursor in `out`, or in
    the existing `card_image` that will be rebuilt from it, are kept (the larger cursor of the
    same pool; two different pools are refused): rebuilding never rewinds the cursor over used
    entropy. `pool` only fills a card that has none. Phrase texts and recordings already in `out`
    are kept too (the card owner's edits)."""
    if not os.path.exists(model):
        raise CLIError("model %s not found (train + export one, or pass --model)" % model)
    if not os.path.exists(pool):
        raise CLIError("entropy pool %s not found" % pool)
    os.makedirs(out, exist_ok=True)
    _copy(model, os.path.join(out, "model.tgw"))
    log("sdcard: model %s (%d bytes)" % (model, os.path.getsize(model)))
    # The entropy rule (tinygan/cardentropy.py): never a cursor behind the card's.
    state = cardentropy.merge(cardentropy.read_folder(out),
                              cardentropy.read_image(card_image) if card_image else None)
    if state is None:
        with open(pool, "rb") as f:
            state = cardentropy.State("the fresh pool %s" % pool, f.read(), 0)
    cardentropy.write_folder(out, state, log)
    for readme in ("ENTROPY-README.txt", "PHRASES-README.txt"):
        if os.path.exists(os.path.join(SDCARD_SRC, readme)):
            _copy(os.path.join(SDCARD_SRC, readme), os.path.join(out, readme))
    # boot.py and main.py, when the repository's card has them, run at power-on; the card's own
    # (maybe edited) copies are the card owner's and stay.
    for name in STARTUP:
        src, dst = os.path.join(SDCARD_SRC, name), os.path.join(out, name)
        if os.path.exists(src) and not os.path.exists(dst):
            _copy(src, dst)
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
    return out


def _tree_bytes(folder):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)


def build_image(folder, image, size_mib=None, log=print):
    """FAT32 image holding the folder's content; written to image + '.tmp', then renamed."""
    fatimage.need_tools("mkfs.fat", "mcopy")
    need = _tree_bytes(folder)
    if size_mib is None:
        size_mib = max(40, int(need * 1.3 / 2**20) + 8)
    tmp = image + ".tmp"
    with open(tmp, "wb") as f:
        f.truncate(size_mib * 2**20)
    try:
        fatimage.run(["mkfs.fat", "-F", "32", "-n", "TINYGAN", tmp])
        for name in sorted(os.listdir(folder)):
            fatimage.run(["mcopy", "-s", "-i", tmp, os.path.join(folder, name), "::/"])
        os.replace(tmp, image)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    log("sdcard: FAT32 image %s (%d MiB, %d bytes of content)" % (image, size_mib, need))
    return image


def add_arguments(parser):
    parser.add_argument("action", choices=["build"])
    parser.add_argument("--out", required=True, help="folder to build the card in")
    parser.add_argument("--image", help="also write a FAT32 image of it to this file (an existing "
                        "card image's entropy cursor is kept, never rewound)")
    parser.add_argument("--model", default=DEFAULT_WEIGHTS)
    parser.add_argument("--pool", default=SAMPLE_POOL,
                        help="entropy pool for a card that has none (default: the sample pool)")
    parser.add_argument("--size-mib", type=int, help="image size (default: content + margin)")


def run(args):
    out = os.path.abspath(args.out)
    if out == SDCARD_SRC or out.startswith(SCRIPTS):
        raise CLIError("--out must not be inside the repository's source folders")
    card_image = None
    if args.image and os.path.exists(args.image):
        fatimage.check_fat(args.image)  # never overwrite what is not a card image
        card_image = args.image
    build_folder(out, model=args.model, pool=args.pool, card_image=card_image)
    if args.image:
        build_image(out, args.image, args.size_mib)
    return 0
