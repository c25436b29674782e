"""Host access to the on-device application in scripts/ (it runs unchanged under CPython).

Importing this module puts the repository's scripts/ directory on sys.path, so device modules
import under their device names: `from tinygan.device import latent` or `import latent`.
"""
import importlib
import os
import sys

SCRIPTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")

if SCRIPTS_DIR not in sys.path:
    sys.path.insert(0, SCRIPTS_DIR)


def add_cat_arguments(p):
    """The arguments `tinygan generate` and `tinygan reference` share: model, entropy, output."""
    p.add_argument("model", help=".tgw weight file")
    p.add_argument("--entropy", required=True,
                   help="entropy file: its first 2*latent_dim bytes (200 for the default latent_dim 100) make the latent")
    p.add_argument("-o", "--output", required=True, help="output PNG (the model's image size, 64x64 by default)")
    p.add_argument("--upscale", type=int, default=0, help="also write an upscaled copy (e.g. 8)")


def latent_from_entropy_file(path, latent_dim=100, inv_scale=32):
    """The first 2*latent_dim bytes of an entropy file through the device's latent module (bytes);
    an odd latent_dim is refused (docs/latent.md)."""
    import latent

    need = 2 * latent_dim
    with open(path, "rb") as f:
        data = f.read(need)
    if len(data) < need:
        raise ValueError("%s: %d bytes, a latent needs %d" % (path, len(data), need))
    return latent.latent_from_bytes(data, inv_scale, latent_dim)


def __getattr__(name):  # `from tinygan.device import latent` imports scripts/latent.py
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise AttributeError("no device module %r in %s (%s)" % (name, SCRIPTS_DIR, exc))
