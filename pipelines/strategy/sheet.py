"""A contact sheet of images with a caption under each: the error sample a person looks through.

    png = contact_sheet([(image, "truth shirt / said t-shirt"), ...], columns=6)
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def contact_sheet(items: list[tuple[Image.Image, str]], columns: int = 6, cell: int = 112) -> bytes:
    """One PNG: each image scaled to fit ``cell`` px (nearest, so small images stay sharp), its caption below."""
    rows = max(1, -(-len(items) // columns))
    caption_h = 26
    sheet = Image.new("RGB", (columns * cell, rows * (cell + caption_h)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (image, caption) in enumerate(items):
        image = image.convert("RGB")
        scale = min(cell / image.width, cell / image.height)
        size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
        resample = Image.NEAREST if scale >= 1 else Image.BILINEAR
        x, y = (k % columns) * cell, (k // columns) * (cell + caption_h)
        sheet.paste(image.resize(size, resample), (x + (cell - size[0]) // 2, y + (cell - size[1]) // 2))
        for line_no, line in enumerate(caption.split("\n")[:2]):
            draw.text((x + 3, y + cell + 1 + 12 * line_no), line[:cell // 6], fill="black")  # ~6 px a character
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return buf.getvalue()
