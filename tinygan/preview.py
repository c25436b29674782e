"""Terminal preview of an image with ANSI 24-bit colour half blocks (two pixel rows per line)."""


def ansi_halfblocks(img, step=2):
    """img: uint8 [H, W, 3]; every `step`-th pixel; upper half block = top pixel, background = bottom."""
    h, w = img.shape[:2]
    lines = []
    for y in range(0, h - step, 2 * step):
        row = []
        for x in range(0, w, step):
            t, b = img[y, x], img[y + step, x]
            row.append("\x1b[38;2;%d;%d;%dm\x1b[48;2;%d;%d;%dm\u2580" % (t[0], t[1], t[2], b[0], b[1], b[2]))
        lines.append("".join(row) + "\x1b[0m")
    return "\n".join(lines)
