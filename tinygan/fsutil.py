"""File helpers shared by the host tools."""
import os


def write_atomic(path, data):
    """Write bytes (or str, as UTF-8) to `path` via a temporary file and a rename: a crash or an
    error leaves the old file or the new one, never a half-written one."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
