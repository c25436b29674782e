"""Training images: procedural cat faces, or any folder of photos cropped to 64x64.

No cat photo set can be downloaded where this project is built, so the default data set is drawn:
each image is one cat face (silhouette, two ears, two eyes with pupils, nose, mouth, whiskers) in a
random fur colour and pattern (solid, tabby, calico, tuxedo, bicolour), on a random background,
with pose (tilt), scale and position jitter. Faces are deliberately simple and strongly structured
so that a DCGAN learns them in a few hundred CPU steps.

Images are drawn at 4x with Pillow's ImageDraw and downsampled (supersampling = anti-aliasing),
which makes about 1,500 images per second per core. Image i of seed s depends only on (s, i), so a
data set is reproducible and any slice can be regenerated without drawing the rest.
"""
import math
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 64
SS = 4  # supersampling factor: draw at 256x256, downsample to 64x64
S = SIZE * SS

# Fur base colours (RGB) and the darker shade used for stripes/patches of the same coat.
FURS = [
    ((226, 140, 58), (160, 80, 25)),    # ginger
    ((240, 190, 120), (190, 125, 60)),  # cream / light ginger
    ((130, 130, 135), (70, 70, 78)),    # grey
    ((175, 165, 150), (95, 85, 75)),    # silver tabby base
    ((45, 42, 45), (15, 15, 18)),       # black
    ((235, 232, 225), (190, 185, 180)), # white
    ((120, 85, 55), (60, 40, 25)),      # brown
    ((200, 175, 150), (120, 95, 75)),   # fawn
]
IRISES = [(120, 190, 60), (220, 190, 40), (90, 160, 220), (230, 140, 40), (160, 200, 90)]
PATTERNS = ["solid", "tabby", "tabby", "calico", "tuxedo", "bicolour"]


def _jitter(rng, colour, amount=18):
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in colour)


BACKGROUNDS = ["plain", "gradient", "split"]


def _background(rng, draw, attrs):
    """A plain, two-tone or gradient background whose colour is unrelated to the cat."""
    kind = rng.random()
    c1 = tuple(rng.randint(30, 230) for _ in range(3))
    attrs["background"] = 0 if kind < 0.5 else 1 if kind < 0.8 else 2
    attrs["background_rgb"] = c1
    if kind < 0.5:
        draw.rectangle([0, 0, S, S], fill=c1)
        return
    c2 = tuple(rng.randint(30, 230) for _ in range(3))
    if kind < 0.8:  # vertical gradient, drawn as bands (cheap, invisible after downsampling)
        for y in range(0, S, SS):
            t = y / S
            draw.rectangle([0, y, S, y + SS], fill=tuple(int(a + (b - a) * t) for a, b in zip(c1, c2)))
    else:  # a floor / wall split
        split = rng.randint(S // 2, S * 7 // 8)
        draw.rectangle([0, 0, S, split], fill=c1)
        draw.rectangle([0, split, S, S], fill=c2)


def _face_layer(rng, attrs):
    """Draw the cat face centred on an S x S RGBA layer; returns the layer (pose is applied later)."""
    layer = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    fur = rng.randrange(len(FURS))
    base, dark = FURS[fur]
    base, dark = _jitter(rng, base), _jitter(rng, dark, 10)
    pattern = rng.choice(PATTERNS)
    attrs.update(fur=fur, fur_rgb=base, pattern=sorted(set(PATTERNS)).index(pattern))
    cx, cy = S / 2, S / 2 + S * 0.06
    rx = S * rng.uniform(0.30, 0.36)            # face half-width
    ry = rx * rng.uniform(0.80, 0.95)           # cats' faces are wider than tall
    face_box = [cx - rx, cy - ry, cx + rx, cy + ry]

    # Ears: triangles whose base sits inside the face's upper half.
    ear_h = ry * rng.uniform(0.75, 1.05)
    ear_w = rx * rng.uniform(0.45, 0.6)
    ear_spread = rx * rng.uniform(0.45, 0.62)
    ear_tilt = rx * rng.uniform(0.05, 0.25)     # tips lean outwards
    ear_colour = dark if pattern in ("bicolour",) else base
    inner = _jitter(rng, (235, 160, 170), 12)
    for side in (-1, 1):
        bx = cx + side * ear_spread
        by = cy - ry * 0.55
        tip = (bx + side * ear_tilt, by - ear_h)
        outer = [(bx - ear_w / 2 - side * 0, by + ry * 0.2), tip, (bx + ear_w / 2, by + ry * 0.2)]
        d.polygon(outer, fill=ear_colour)
        # inner ear: the same triangle shrunk towards its centroid
        gx = sum(p[0] for p in outer) / 3
        gy = sum(p[1] for p in outer) / 3
        d.polygon([(gx + (x - gx) * 0.55, gy + (y - gy) * 0.55 + ear_h * 0.05) for x, y in outer], fill=inner)

    d.ellipse(face_box, fill=base)
    # Cheek fluff: two slightly wider ellipses low on the face.
    for side in (-1, 1):
        d.ellipse([cx + side * rx * 0.45 - rx * 0.6, cy + ry * 0.05 - ry * 0.5,
                   cx + side * rx * 0.45 + rx * 0.6, cy + ry * 0.05 + ry * 0.5], fill=base)

    # Patterns are drawn on their own layer and clipped to the face silhouette drawn so far.
    mask = layer.getchannel("A")
    pat = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    p = ImageDraw.Draw(pat)
    if pattern == "tabby":
        w = max(SS, int(rx * 0.08))
        for k in (-1, 0, 1):  # the forehead "M": three stripes
            x = cx + k * rx * 0.22
            p.line([(x, cy - ry * 1.0), (x, cy - ry * 0.45)], fill=dark, width=w)
        for side in (-1, 1):  # cheek stripes
            for k in range(rng.randint(2, 3)):
                y = cy + ry * (0.0 + 0.22 * k)
                p.line([(cx + side * rx * 1.1, y - ry * 0.1), (cx + side * rx * 0.6, y)], fill=dark, width=w)
    elif pattern == "calico":
        orange, black = _jitter(rng, (215, 120, 40)), _jitter(rng, (35, 30, 30))
        for colour in (orange, black):
            for _ in range(rng.randint(1, 2)):
                px, py = rng.uniform(cx - rx, cx + rx), rng.uniform(cy - ry * 1.4, cy + ry * 0.2)
                r = rx * rng.uniform(0.3, 0.55)
                p.ellipse([px - r, py - r * 0.8, px + r, py + r * 0.8], fill=colour)
    elif pattern == "tuxedo":  # white muzzle and chin on a dark coat
        white = _jitter(rng, (240, 240, 235), 8)
        p.ellipse([cx - rx * 0.5, cy - ry * 0.05, cx + rx * 0.5, cy + ry * 1.1], fill=white)
        p.polygon([(cx - rx * 0.12, cy - ry * 0.5), (cx + rx * 0.12, cy - ry * 0.5),
                   (cx + rx * 0.3, cy + ry * 0.2), (cx - rx * 0.3, cy + ry * 0.2)], fill=white)
    elif pattern == "bicolour":  # dark top half, light muzzle
        light = _jitter(rng, (235, 230, 220), 10)
        p.ellipse([cx - rx * 0.75, cy - ry * 0.1, cx + rx * 0.75, cy + ry * 1.2], fill=light)
    if pattern != "solid":
        pa = pat.getchannel("A")
        pat.putalpha(Image.fromarray(np.minimum(np.asarray(pa), np.asarray(mask))))
        layer.alpha_composite(pat)

    # Eyes: almond/round white-less cat eyes: iris ellipse, vertical slit or round pupil, glint.
    attrs["iris"] = rng.randrange(len(IRISES))
    iris = _jitter(rng, IRISES[attrs["iris"]], 15)
    eye_dx = rx * rng.uniform(0.36, 0.46)
    eye_y = cy - ry * rng.uniform(0.12, 0.25)
    er = rx * rng.uniform(0.15, 0.2)
    eh = er * rng.uniform(0.8, 1.05)
    pupil_w = er * rng.uniform(0.25, 0.8)      # slit in bright light, round in the dark
    for side in (-1, 1):
        ex = cx + side * eye_dx
        d.ellipse([ex - er - SS, eye_y - eh - SS, ex + er + SS, eye_y + eh + SS], fill=(20, 20, 20))
        d.ellipse([ex - er, eye_y - eh, ex + er, eye_y + eh], fill=iris)
        d.ellipse([ex - pupil_w, eye_y - eh * 0.9, ex + pupil_w, eye_y + eh * 0.9], fill=(10, 10, 10))
        g = er * 0.25
        d.ellipse([ex - er * 0.45 - g, eye_y - eh * 0.45 - g, ex - er * 0.45 + g, eye_y - eh * 0.45 + g],
                  fill=(250, 250, 250))

    # Nose (pink or dark inverted triangle), mouth (a "w" of two arcs), whiskers.
    ny = cy + ry * rng.uniform(0.2, 0.3)
    nw = rx * rng.uniform(0.1, 0.15)
    attrs["dark_nose"] = int(rng.random() >= 0.75)
    nose = _jitter(rng, (225, 120, 130), 15) if not attrs["dark_nose"] else (40, 30, 30)
    d.polygon([(cx - nw, ny - nw * 0.6), (cx + nw, ny - nw * 0.6), (cx, ny + nw * 0.6)], fill=nose)
    line_c = (30, 25, 25) if sum(base) > 250 or pattern == "tuxedo" else (200, 190, 185)
    lw = max(SS // 2, int(rx * 0.035))
    d.line([(cx, ny + nw * 0.6), (cx, ny + nw * 1.4)], fill=line_c, width=lw)
    mr = nw * 1.0
    d.arc([cx - 2 * mr, ny + nw * 1.4 - mr, cx, ny + nw * 1.4 + mr], 0, 180, fill=line_c, width=lw)
    d.arc([cx, ny + nw * 1.4 - mr, cx + 2 * mr, ny + nw * 1.4 + mr], 0, 180, fill=line_c, width=lw)
    whisk = (245, 245, 245) if sum(base) < 450 else (60, 55, 55)
    for side in (-1, 1):
        for k in (-1, 0, 1):
            x0 = cx + side * rx * 0.3
            y0 = ny + nw * (1.0 + 0.5 * k)
            d.line([(x0, y0), (x0 + side * rx * 0.95, y0 + k * ry * 0.18 - ry * 0.05)],
                   fill=whisk, width=max(1, SS // 2))
    return layer


def cat_image(seed, index, attrs=None):
    """Draw image `index` of data set `seed`: a 64x64 RGB PIL image. Deterministic in (seed, index).

    A dict passed as `attrs` receives what was drawn (class indices, colours, pose), the targets the
    evaluation's feature network learns to predict (tinygan/catfeatures.py)."""
    attrs = {} if attrs is None else attrs
    rng = random.Random("tinygan-cats:%d:%d" % (seed, index))  # str seeds hash stably (sha512)
    canvas = Image.new("RGB", (S, S))
    _background(rng, ImageDraw.Draw(canvas), attrs)
    face = _face_layer(rng, attrs)
    # Pose and framing: tilt, scale, shift (kept small so the face never leaves the frame).
    angle = rng.uniform(-15, 15)
    scale = rng.uniform(0.85, 1.1)
    face = face.rotate(angle, resample=Image.BILINEAR)
    if abs(scale - 1) > 1e-3:
        n = int(S * scale)
        face = face.resize((n, n), Image.BILINEAR)
    dx = rng.randint(-S // 16, S // 16) + (S - face.width) // 2
    dy = rng.randint(-S // 20, S // 20) + (S - face.height) // 2
    canvas.paste(face, (dx, dy), face)
    attrs.update(angle=angle, scale=scale, dx=dx - (S - face.width) // 2, dy=dy - (S - face.height) // 2)
    return canvas.resize((SIZE, SIZE), Image.LANCZOS)


def _draw_range(job):
    seed, start, n = job
    return np.stack([np.asarray(cat_image(seed, start + k)) for k in range(n)])


def procedural(n, seed=0, start=0, workers=1):
    """n procedural cat faces (images start..start+n-1) as a uint8 array [n, 64, 64, 3].

    `workers` > 1 draws in that many processes; the result is the same either way.
    """
    if workers <= 1 or n < 512:
        return _draw_range((seed, start, n))
    import multiprocessing

    step = -(-n // (workers * 4))
    jobs = [(seed, start + k, min(step, n - k)) for k in range(0, n, step)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return np.concatenate(pool.map(_draw_range, jobs))


IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".ppm")


def load_folder(folder, size=SIZE, limit=None):
    """Every image under `folder` (recursively), centre-cropped to a square and resized: uint8 [n,s,s,3].

    Files are taken in sorted path order so the data set (and so a training run) is reproducible.
    Unreadable files are skipped; no images at all is an error.
    """
    paths = []
    for root, _dirs, files in os.walk(folder):
        paths.extend(os.path.join(root, f) for f in files if f.lower().endswith(IMAGE_EXTS))
    paths.sort()
    if limit:
        paths = paths[:limit]
    images = []
    for path in paths:
        try:
            with Image.open(path) as im:
                images.append(np.asarray(center_crop_resize(im, size)))
        except (OSError, ValueError):
            continue
    if not images:
        raise ValueError("no readable images under %s" % folder)
    return np.stack(images)


def center_crop_resize(im, size=SIZE):
    """The largest centred square of `im`, resized to size x size RGB."""
    im = im.convert("RGB")
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return im.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)


def grid(images, cols=8, pad=2, scale=1):
    """Tile uint8 images [n, h, w, 3] into one PIL image with `pad` pixels of grey between them."""
    images = np.asarray(images)
    n, h, w, _ = images.shape
    rows = math.ceil(n / cols)
    sheet = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + pad) + pad), (40, 40, 40))
    for k in range(n):
        r, c = divmod(k, cols)
        sheet.paste(Image.fromarray(images[k]), (pad + c * (w + pad), pad + r * (h + pad)))
    if scale != 1:
        sheet = sheet.resize((sheet.width * scale, sheet.height * scale), Image.NEAREST)
    return sheet
