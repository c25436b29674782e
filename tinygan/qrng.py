"""`tinygan entropy fetch --bytes N --out POOL`: quantum random bytes from the ANU QRNG.

API: GET {base}/?length=L&type=uint8 with header x-api-key; L <= 1024 per request; the answer
is JSON {"success": true, "data": [0..255, ...]}. The key comes from --key-file, the environment
variable TINYGAN_QRNG_KEY, or ~/.config/tinygan/qrng-key. The bytes are appended to POOL
atomically: the new pool (old content + all new bytes) is written to POOL.tmp and renamed over
POOL only when every request succeeded, so a failure leaves POOL as it was. A NEW pool gets a
fresh cursor file beside it (entropy.cur, cursor 0); an existing pool keeps its cursor.

`tinygan entropy init --out POOL` writes a fresh cursor for a pool you know is unused; it refuses
to overwrite an existing cursor (that could hand out used bytes again).
"""
import json
import os
import urllib.error
import urllib.parse
import urllib.request

from tinygan.appshim import use_scripts
from tinygan.cli import CLIError
from tinygan.fsutil import write_atomic

DEFAULT_URL = "https://api.quantumnumbers.anu.edu.au"
KEY_ENV = "TINYGAN_QRNG_KEY"
KEY_FILE = os.path.join(os.path.expanduser("~"), ".config", "tinygan", "qrng-key")
MAX_PER_REQUEST = 1024


def api_key(key_file=None):
    if key_file is None and os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].strip()
    path = key_file or KEY_FILE
    try:
        with open(path) as f:
            key = f.read().strip()
    except OSError:
        key = ""
    if not key:
        raise CLIError("no QRNG API key: set %s or write it to %s" % (KEY_ENV, path))
    return key


def fetch_block(base_url, key, n, timeout=30):
    url = base_url.rstrip("/") + "/?" + urllib.parse.urlencode({"length": n, "type": "uint8"})
    req = urllib.request.Request(url, headers={"x-api-key": key, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        raise CLIError("QRNG %s answered HTTP %d %s" % (base_url, e.code, e.reason))
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise CLIError("cannot reach the QRNG at %s (%s); are you offline?" % (base_url, reason))
    try:
        doc = json.loads(body)
        data = doc["data"]
        if not doc.get("success", False):
            raise ValueError(doc.get("message", "success is false"))
        if len(data) != n or any(not isinstance(v, int) or not 0 <= v <= 255 for v in data):
            raise ValueError("expected %d uint8 values" % n)
    except (ValueError, KeyError, TypeError) as e:
        raise CLIError("QRNG %s gave an unusable answer: %s" % (base_url, e))
    return bytes(data)


def fetch(out, nbytes, base_url=DEFAULT_URL, key=None, log=print):
    """Appends nbytes from the QRNG to the pool `out` (atomic: all or nothing)."""
    if nbytes < 1:
        raise CLIError("--bytes must be >= 1")
    old = b""
    new_pool = not os.path.exists(out)
    if not new_pool:
        with open(out, "rb") as f:
            old = f.read()
    got = bytearray()
    while len(got) < nbytes:
        n = min(MAX_PER_REQUEST, nbytes - len(got))
        got += fetch_block(base_url, key, n)
        log("entropy: %d / %d bytes" % (len(got), nbytes))
    write_atomic(out, bytes(old) + bytes(got))
    if new_pool and not os.path.exists(cursor_path(out)):
        init_cursor(out)
    log("entropy: %s now holds %d bytes (%d new)" % (out, len(old) + len(got), len(got)))
    return len(got)


def cursor_path(pool):
    use_scripts()
    import entropy
    return os.path.join(os.path.dirname(os.path.abspath(pool)), entropy.CURSOR_NAME)


def init_cursor(pool, log=print):
    use_scripts()
    import entropy
    path = cursor_path(pool)
    if os.path.exists(path):
        raise CLIError("%s exists; refusing to reset it (that could reuse entropy). Delete it "
                       "yourself only if the pool is really unused" % path)
    entropy.init_cursor(path + ".tmp", 0)
    os.replace(path + ".tmp", path)
    log("entropy: fresh cursor %s" % path)


def add_arguments(parser):
    parser.add_argument("action", choices=["fetch", "init"])
    parser.add_argument("--bytes", type=int, default=65536, help="how many bytes to fetch")
    parser.add_argument("--out", required=True, help="pool file to append to (e.g. SD/entropy.bin)")
    parser.add_argument("--url", default=os.environ.get("TINYGAN_QRNG_URL", DEFAULT_URL),
                        help="API base URL (default %(default)s)")
    parser.add_argument("--key-file", help="file holding the API key")


def run(args):
    if args.action == "init":
        init_cursor(args.out)
        return 0
    key = api_key(args.key_file)
    fetch(args.out, args.bytes, args.url, key)
    return 0
