"""`tinygan deploy`: put a card's content on a board through mpremote, or onto a mounted card.

    tinygan deploy --port /dev/ttyACM0 [--card DIR]   # the card folder -> the board's /sd
    tinygan deploy --sd /media/SDCARD                 # build the card content on a mounted card
    tinygan deploy --port ... --dry-run               # print the mpremote commands only

Layout on the board (docs/app.md, "Card layout and sys.path"): the firmware mounts the card at
/sd and makes it the current folder; sys.path is ['', '/sd/scripts', '.frozen', '/sd/lib'], so
the card's scripts/ overrides the application frozen into the firmware and `mpremote mip install`
puts packages in /sd/lib. --port copies the card folder (DIR, or the --sd card, or one built like
`tinygan sdcard build` from --model) to the same paths under /sd, and this repository's
scripts/*.py to /sd/scripts/ (the firmware has them frozen; the card's copy overrides that), model.tgw, phrases/ (with phrases/.rendered.txt), boot.py and main.py (when the card has them)
and the READMEs to /sd/. A re-run copies only what differs: one `mpremote exec` lists every file
under /sd with its size and CRC32 (computed on the board), and only files missing there or
different are copied (`mpremote fs cp -f`), folders made first. Files only on the board stay.

The entropy pool and cursor are the board's: deploy copies them only to a card that has neither,
and never replaces them, so no tool writes a cursor behind the card's (tinygan/cardentropy.py).
"""
import inspect
import os
import shutil
import subprocess
import tempfile
import zlib

from tinygan.appshim import DEFAULT_WEIGHTS, SCRIPTS, use_scripts
from tinygan.cli import CLIError
from tinygan import sdcard

BOARD_ROOT = "/sd"
ENTROPY_FILES = ("entropy.bin", "entropy.cur")
BATCH = 40  # mpremote commands per invocation (one connection each)

# Runs on the board (MicroPython), self-contained (the board's scripts may be missing or old):
# every folder and file under /sd, files with size and CRC32 (phrasebank.file_crc's own code).
LIST_WALK = """
def _tg_walk(d):
    for e in os.ilistdir(d):
        p = d + '/' + e[0]
        if e[1] & 0x4000:
            print('TGD ' + p)
            _tg_walk(p)
        else:
            print('TGF %d %08x %s' % (os.stat(p)[6], file_crc(p), p))
try:
    os.stat('ROOT')
    _tg_walk('ROOT')
except OSError as e:
    print('TGNOCARD %s' % e)
print('TGEND')
""".replace("ROOT", BOARD_ROOT)


def list_script():
    use_scripts()
    import phrasebank
    return "import os, binascii\n" + inspect.getsource(phrasebank.file_crc) + LIST_WALK


def script_files():
    """The application as it is in this repository (scripts/*.py) -> scripts/NAME on the card,
    where it overrides the copy frozen into the firmware (sys.path above)."""
    return {"scripts/" + name: os.path.join(SCRIPTS, name)
            for name in sorted(os.listdir(SCRIPTS)) if name.endswith(".py")}


def card_files(card):
    """{path relative to the card, '/'-separated: local path} of every file in the folder."""
    files = {}
    for dirpath, dirnames, names in os.walk(card):
        dirnames.sort()
        for name in names:
            if name.endswith(".tmp"):
                continue  # a build's leftover, never card content
            path = os.path.join(dirpath, name)
            files[os.path.relpath(path, card).replace(os.sep, "/")] = path
    return files


def parse_listing(text, port):
    """mpremote exec's output -> (folders, {rel: (size, crc)}) under /sd."""
    folders, files = set(), {}
    done = False
    prefix = BOARD_ROOT + "/"
    for line in text.splitlines():
        if line.startswith("TGNOCARD"):
            raise CLIError("the board on %s has no card at %s (%s)" % (port, BOARD_ROOT, line[9:]))
        if line.startswith("TGD " + prefix):
            folders.add(line[4 + len(prefix):])
        elif line.startswith("TGF "):
            size, crc, path = line[4:].split(" ", 2)
            if path.startswith(prefix):
                files[path[len(prefix):]] = (int(size), int(crc, 16))
        elif line == "TGEND":
            done = True
    if not done:
        raise CLIError("the board on %s did not list its card:\n%s" % (port, text[-2000:]))
    return folders, files


def list_board(port):
    need_mpremote()
    r = subprocess.run(["mpremote", "connect", port, "exec", list_script()],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise CLIError("mpremote could not list the card on %s: %s"
                       % (port, (r.stderr or r.stdout).strip()[-2000:]))
    return parse_listing(r.stdout, port)


def _signature(path):
    with open(path, "rb") as f:
        data = f.read()
    return len(data), zlib.crc32(data) & 0xFFFFFFFF


def plan(card, board=None, log=print, scripts=None):
    """-> (folders to make, [(local, rel)] to copy). board: (folders, files) from list_board, or
    None for an empty card (a dry run). scripts: {rel: local} to add (script_files()); the card
    folder's own files of the same name win."""
    local = dict(scripts or {})
    local.update(card_files(card))
    folders, files = board if board is not None else (set(), {})
    on_board = [name for name in ENTROPY_FILES if name in files]
    if on_board:
        log("deploy: the board's entropy pool and cursor stay as they are (%s)"
            % ", ".join(on_board))
        if len(on_board) == 1:
            log("deploy: WARNING: the board's card has %s but not %s; the device will refuse "
                "to take entropy until that is resolved (docs/app.md)"
                % (on_board[0], [n for n in ENTROPY_FILES if n not in files][0]))
    copies = []
    for rel in sorted(local):
        if rel in ENTROPY_FILES and on_board:
            continue
        if files.get(rel) != _signature(local[rel]):
            copies.append((local[rel], rel))
    mkdirs = []
    for _, rel in copies:
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in folders and d not in mkdirs:
                mkdirs.append(d)
    return mkdirs, copies


def commands(port, mkdirs, copies):
    """mpremote command lines for the plan, BATCH operations each (chained with '+')."""
    ops = [["fs", "mkdir", ":%s/%s" % (BOARD_ROOT, d)] for d in mkdirs]
    ops += [["fs", "cp", "-f", src, ":%s/%s" % (BOARD_ROOT, rel)] for src, rel in copies]
    out = []
    for i in range(0, len(ops), BATCH):
        cmd = ["mpremote", "connect", port]
        for j, op in enumerate(ops[i:i + BATCH]):
            cmd += (["+"] if j else []) + op
        out.append(cmd)
    return out


def need_mpremote():
    if shutil.which("mpremote") is None:
        raise CLIError("mpremote not found (pip install mpremote)")


def deploy_port(port, card, dry_run=False, log=print):
    """Copies what differs between the card folder and the board's /sd; returns the copies."""
    if dry_run:
        log("deploy: dry run, without asking the board: the commands for an empty card (a real "
            "run lists the board's card first and copies only what differs)")
        board = None
    else:
        board = list_board(port)
    mkdirs, copies = plan(card, board, log, scripts=script_files())
    for cmd in commands(port, mkdirs, copies):
        print(" ".join(cmd))
        if dry_run:
            continue
        if subprocess.run(cmd).returncode != 0:
            raise CLIError("mpremote failed on %s" % port)
    log("deploy: %d file(s) %scopied to %s:%s, %d folder(s) made; the rest is up to date"
        % (len(copies), "would be " if dry_run else "", port, BOARD_ROOT, len(mkdirs)))
    return copies


def add_arguments(parser):
    parser.add_argument("--port", help="serial port of the board (mpremote connect PORT)")
    parser.add_argument("--sd", help="mount point of the SD card to fill")
    parser.add_argument("--card", help="--port: the card folder to copy (from `tinygan sdcard "
                        "build --out DIR`), as it is; default: --sd's card, or one built from "
                        "--model like `tinygan sdcard build`")
    parser.add_argument("--model", default=DEFAULT_WEIGHTS)
    parser.add_argument("--dry-run", action="store_true", help="print what would run")


def run(args):
    if not args.port and not args.sd:
        raise CLIError("nothing to do: give --port and/or --sd")
    if args.sd:
        if args.dry_run:
            print("would build the SD card content into %s" % args.sd)
        else:
            sdcard.build_folder(os.path.abspath(args.sd), model=args.model)
    if args.port:
        if not args.dry_run:
            need_mpremote()
        if args.card:
            if not os.path.isfile(os.path.join(args.card, "model.tgw")):
                raise CLIError("--card %s: not a card folder (no model.tgw; build one with "
                               "`tinygan sdcard build --out DIR`)" % args.card)
            deploy_port(args.port, args.card, args.dry_run)
        elif args.sd and not args.dry_run:
            deploy_port(args.port, os.path.abspath(args.sd))
        else:
            with tempfile.TemporaryDirectory() as card:
                sdcard.build_folder(card, model=args.model)
                deploy_port(args.port, card, args.dry_run)
    return 0
