"""FAT card images through mtools, for the host tools that read or change a card image
(`tinygan sdcard build --image`, `tinygan phrases render|check IMG`).

Paths inside the image are written "::/phrases/x.txt" (mtools' notation). Changes go to a copy of
the image (IMG.tmp) that replaces IMG only when every step succeeded (`edit`), so a failure
leaves the image as it was. Nothing may use the image meanwhile (a running emulator, a mount).
"""
import contextlib
import os
import shutil
import subprocess

from tinygan.cli import CLIError

ENV = dict(os.environ, MTOOLS_SKIP_CHECK="1")  # images made by other tools have odd geometry


def need_tools(*tools):
    for tool in tools:
        if shutil.which(tool) is None:
            raise CLIError("%s not found (Debian: dosfstools, mtools; .ci/install has them)" % tool)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, env=ENV)
    if r.returncode != 0:
        err = (r.stderr or r.stdout).decode("utf-8", "replace").strip()
        raise CLIError("%s failed: %s" % (cmd[0], err))
    return r.stdout


def is_image(path):
    """True for a file (a card image), False for a folder; an error for neither."""
    if os.path.isdir(path):
        return False
    if os.path.isfile(path):
        return True
    raise CLIError("%s: no such folder or card image" % path)


def check_fat(image):
    """Refuses (naming the file) what mtools cannot read as a FAT file system."""
    need_tools("mdir")
    r = subprocess.run(["mdir", "-b", "-i", image, "::/"], capture_output=True, env=ENV)
    if r.returncode != 0:
        raise CLIError("%s: not a FAT card image (%s); give a card image or a folder"
                       % (image, (r.stderr or r.stdout).decode("utf-8", "replace").strip()))


def exists(image, path):
    need_tools("mdir")
    return subprocess.run(["mdir", "-b", "-i", image, "::/" + path], capture_output=True,
                          env=ENV).returncode == 0


def read(image, path):
    """The bytes of the file ::/path in the image, or None when it has no such file."""
    need_tools("mcopy")
    return run(["mcopy", "-n", "-i", image, "::/" + path, "-"]) if exists(image, path) else None


def export_tree(image, path, dest):
    """Copies the folder ::/path of the image, with everything in it, to dest/<its name>;
    False when the image has no such folder."""
    need_tools("mcopy")
    if not exists(image, path):
        return False
    os.makedirs(dest, exist_ok=True)
    run(["mcopy", "-s", "-n", "-i", image, "::/" + path, dest])
    return True


def put(image, local, path):
    """Writes the local file to ::/path, creating its folders and replacing a file there."""
    need_tools("mcopy", "mmd")
    parts = path.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        folder = "/".join(parts[:i])
        if not exists(image, folder):
            run(["mmd", "-i", image, "::/" + folder])
    run(["mcopy", "-o", "-i", image, local, "::/" + path])


@contextlib.contextmanager
def edit(image):
    """Yields the path of a working copy of the image; it replaces the image when the block
    ends without an error and is removed otherwise."""
    tmp = image + ".tmp"
    shutil.copyfile(image, tmp)
    try:
        yield tmp
        os.replace(tmp, image)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
