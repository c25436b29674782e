"""PNG output for the host tools (the device shows the image on its LCD instead)."""
import os

import numpy as np


def save_png(img, path, upscale=None):
    """Write a uint8 [H, W, 3] image to `path` atomically; with `upscale` also write a
    nearest-neighbour enlarged copy next to it (`name.xN.png`). Returns the paths written."""
    from PIL import Image

    img = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    written = []
    targets = [(path, Image.fromarray(img, "RGB"))]
    if upscale and upscale > 1:
        base, ext = os.path.splitext(path)
        big = Image.fromarray(img, "RGB").resize((img.shape[1] * upscale, img.shape[0] * upscale), Image.NEAREST)
        targets.append(("%s.x%d%s" % (base, upscale, ext or ".png"), big))
    for target, im in targets:
        tmp = "%s.tmp-%d.png" % (target, os.getpid())
        im.save(tmp, format="PNG")
        os.replace(tmp, target)
        written.append(target)
    return written
