"""The rule every host tool keeps for a card's entropy pool and cursor: no tool ever writes a
cursor behind the card's (docs/app.md, "Entropy pool and cursor").

A card's entropy state is its pool (entropy.bin) and the cursor in entropy.cur (read with the
device's own scripts/entropy.py). When a tool meets two states, say a card folder and the card
image the device has been using, `merge` keeps:
- the same pool, or one pool a prefix of the other (a pool grown by `tinygan entropy fetch`):
  the longer pool and the larger cursor, so no byte the device handed out is handed out again;
- two different pools: nothing; it refuses and names both, since either choice could reuse
  entropy (the card's cursor belongs to the card's bytes only).
A pool without a cursor, or a cursor without its pool, is refused too, like the device does:
guessing which bytes were used is what the cursor exists to avoid.
"""
import os
import tempfile

from tinygan import fatimage
from tinygan.appshim import use_scripts
from tinygan.cli import CLIError
from tinygan.fsutil import write_atomic


class State:
    def __init__(self, where, pool, cursor):
        self.where = where    # what to call it in messages ("the card image sd.img")
        self.pool = pool      # the pool's bytes
        self.cursor = cursor  # bytes of it handed out so far

    def describe(self):
        return "%s holds a %d-byte pool at cursor %d" % (self.where, len(self.pool), self.cursor)


def _entropy():
    use_scripts()
    import entropy
    return entropy


def _state(where, pool, cursor_bytes):
    """State from the two files' bytes (None for a missing file); None when both are missing."""
    entropy = _entropy()
    if pool is None and cursor_bytes is None:
        return None
    if cursor_bytes is None:
        raise CLIError("%s: %s without %s; refusing to guess which bytes were used (for a pool "
                       "that is really unused: `tinygan entropy init`)"
                       % (where, entropy.POOL_NAME, entropy.CURSOR_NAME))
    if pool is None:
        raise CLIError("%s: %s without its pool %s; put the pool back (or delete %s to start a "
                       "fresh pool)" % (where, entropy.CURSOR_NAME, entropy.POOL_NAME,
                                        entropy.CURSOR_NAME))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, entropy.CURSOR_NAME)
        with open(path, "wb") as f:
            f.write(cursor_bytes)
        try:
            cursor = entropy.read_cursor(path)[1]
        except entropy.EntropyError as e:
            raise CLIError("%s: %s" % (where, str(e).replace(path, entropy.CURSOR_NAME)))
    return State(where, pool, cursor)


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return f.read()


def read_folder(folder):
    entropy = _entropy()
    return _state("the folder %s" % folder, _read(os.path.join(folder, entropy.POOL_NAME)),
                  _read(os.path.join(folder, entropy.CURSOR_NAME)))


def read_image(image):
    entropy = _entropy()
    return _state("the card image %s" % image, fatimage.read(image, entropy.POOL_NAME),
                  fatimage.read(image, entropy.CURSOR_NAME))


def merge(a, b):
    """The state to keep of a and b (either may be None); refuses two different pools."""
    if a is None or b is None:
        return a or b
    short, long_ = sorted((a, b), key=lambda s: len(s.pool))
    if long_.pool[:len(short.pool)] != short.pool:
        raise CLIError(
            "entropy pools differ: %s, %s; refusing to choose (a cursor only counts for its own "
            "pool, so either choice could hand out used entropy again). To keep one, delete the "
            "other's entropy.bin and entropy.cur (or build into a new folder or image)"
            % (a.describe(), b.describe()))
    top = max(a, b, key=lambda s: s.cursor)
    return State(top.where if long_ is top else "%s, cursor of %s" % (long_.where, top.where),
                 long_.pool, top.cursor)


def write_folder(folder, state, log=print):
    """Makes the folder's pool and cursor `state`, writing only what differs (pool first: a cut
    in between leaves the old, smaller cursor beside the new pool, and the card keeps its own)."""
    entropy = _entropy()
    have = read_folder(folder)
    pool_path = os.path.join(folder, entropy.POOL_NAME)
    cur_path = os.path.join(folder, entropy.CURSOR_NAME)
    if have is not None and (state.pool[:len(have.pool)] != have.pool
                             or state.cursor < have.cursor):
        raise CLIError("%s: refusing to replace its entropy state by one that %s (%s)"
                       % (folder, "rewinds its cursor" if state.cursor < have.cursor
                          else "is another pool", state.describe()))
    if have is None or have.pool != state.pool:
        write_atomic(pool_path, state.pool)
    if have is None or have.cursor != state.cursor:
        entropy.init_cursor(cur_path + ".tmp", state.cursor)
        os.replace(cur_path + ".tmp", cur_path)
    log("sdcard: entropy pool of %d bytes, cursor %d (from %s)"
        % (len(state.pool), state.cursor, state.where))
