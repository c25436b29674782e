"""The training loss plot, drawn with Pillow (no matplotlib dependency on the training host)."""
from PIL import Image, ImageDraw, ImageFont

COLOURS = {"lossD": (200, 60, 60), "lossG": (50, 100, 200)}


def _smooth(values, k):
    """Trailing moving average over k points (GAN losses are too noisy to read raw)."""
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= k:
            acc -= values[i - k]
        out.append(acc / min(i + 1, k))
    return out


def plot(history, path, width=720, height=360):
    """history rows: [step, lossD, lossG, ...]. Raw losses faint, moving averages bold."""
    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default()
    left, right, top, bottom = 50, width - 10, 24, height - 30
    d.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    d.text((left, 6), "DCGAN losses (faint: per step, bold: moving average)", fill=(0, 0, 0), font=font)
    if not history:
        im.save(path)
        return
    steps = [row[0] for row in history]
    series = {"lossD": [row[1] for row in history], "lossG": [row[2] for row in history]}
    ymax = max(max(v) for v in series.values())
    ymax = max(1.0, min(ymax, 3 * max(sum(v) / len(v) for v in series.values())))  # clip early spikes
    x0, x1 = steps[0], max(steps[-1], steps[0] + 1)

    def xy(s, v):
        return (left + (right - left) * (s - x0) / (x1 - x0), bottom - (bottom - top) * min(v, ymax) / ymax)

    for k in range(5):  # y ticks
        v = ymax * k / 4
        y = xy(x0, v)[1]
        d.line([left - 4, y, left, y], fill=(0, 0, 0))
        d.text((4, y - 6), "%.2f" % v, fill=(0, 0, 0), font=font)
    for k in range(5):  # x ticks
        s = x0 + (x1 - x0) * k / 4
        x = xy(s, 0)[0]
        d.line([x, bottom, x, bottom + 4], fill=(0, 0, 0))
        d.text((x - 12, bottom + 8), "%d" % s, fill=(0, 0, 0), font=font)
    for i, (name, values) in enumerate(series.items()):
        colour = COLOURS[name]
        faint = tuple(c + (255 - c) * 2 // 3 for c in colour)
        if len(values) > 1:
            d.line([xy(s, v) for s, v in zip(steps, values)], fill=faint, width=1)
            d.line([xy(s, v) for s, v in zip(steps, _smooth(values, max(1, len(values) // 50)))], fill=colour, width=2)
        d.text((right - 120, top + 6 + 14 * i), name, fill=colour, font=font)
    im.save(path)
