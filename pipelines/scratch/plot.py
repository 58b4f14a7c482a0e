"""Decision-boundary pictures (what the Course 1-2 notebooks draw), with Pillow only: each panel colours a
grid by the model's predicted class and dots the points by their true class.

    png = boundaries_png([("he: test 0.96", predict_he), ...], x, y)   # predict(points (k, 2)) -> classes (k,)
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

AREA = ((244, 204, 204), (204, 221, 244))  # class 0 / class 1 backgrounds
DOTS = ((190, 30, 30), (30, 70, 190))


def panel(predict, x: np.ndarray, y: np.ndarray, title: str, size: int = 260) -> Image.Image:
    pad = 0.1 * (x.max(axis=0) - x.min(axis=0))
    lo, hi = x.min(axis=0) - pad, x.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], size), np.linspace(hi[1], lo[1], size))
    classes = np.asarray(predict(np.c_[gx.ravel(), gy.ravel()])).reshape(size, size).astype(int)
    pixels = np.asarray(AREA, dtype=np.uint8)[classes.clip(0, 1)]
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    scale = (size - 1) / (hi - lo)
    for (px, py), label in zip(x, y, strict=True):
        cx, cy = (px - lo[0]) * scale[0], (hi[1] - py) * scale[1]
        draw.ellipse((cx - 2, cy - 2, cx + 2, cy + 2), fill=DOTS[int(label)])
    framed = Image.new("RGB", (size, size + 18), "white")
    framed.paste(image, (0, 18))
    ImageDraw.Draw(framed).text((4, 3), title, fill="black")
    return framed


def boundaries_png(panels: list[tuple[str, object]], x: np.ndarray, y: np.ndarray, columns: int = 3) -> bytes:
    """One PNG: a panel per ``(title, predict)``, ``columns`` to a row."""
    images = [panel(predict, x, y, title) for title, predict in panels]
    w, h = images[0].size
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (w * min(columns, len(images)) + 4 * (columns - 1), h * rows + 4 * (rows - 1)), "white")
    for i, image in enumerate(images):
        sheet.paste(image, ((i % columns) * (w + 4), (i // columns) * (h + 4)))
    out = io.BytesIO()
    sheet.save(out, "PNG", optimize=True)  # Pillow writes no timestamp: the same picture gives the same bytes
    return out.getvalue()
