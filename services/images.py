"""Image bytes from a request -> a checked RGB PIL image, for every image-taking service.

Each failure is the client's and says what is wrong: empty, over the byte limit (413), not an image,
a format the service does not take, zero size, more than ``max_pixels`` (a decompression bomb: checked
on the header, before any pixel is decoded), truncated or corrupt. Whatever the bytes, only
:class:`ClientError` leaves this module: image decoders raise many kinds of exception on hostile input.

Memory: ``max_pixels`` (``serve.services.<service>.max_pixels`` in params.yaml: 24 MP, a 6000 x 4000
camera photo) bounds one decode. A JPEG is decoded at a reduced scale (``draft``) when the caller says
how many pixels a side it needs, so a 24 MP photo for a 256 px network costs 1/16 of its full size (1/64
for a 96 px one); other formats are decoded in full.
Callers shrink each image to what their model needs as soon as it is decoded, so a batch holds one
full-size decode, and only while it is being parsed.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, NamedTuple

from services.base import ClientError

if TYPE_CHECKING:
    from PIL import Image

FORMATS = ("JPEG", "PNG", "BMP", "WEBP")
ORIENTATION = 0x0112     # the EXIF tag
TRANSPOSED = (5, 6, 7, 8)  # orientations that swap width and height


class Picture(NamedTuple):
    """A decoded image and the size the client's file has, as a viewer shows it (EXIF orientation applied)."""

    image: Image.Image  # RGB; smaller than ``size`` when decoded at a reduced scale
    size: tuple[int, int]


def decode_image(raw: bytes, formats: tuple[str, ...], max_bytes: int, max_pixels: int,
                 min_side: int | None = None) -> Picture:
    """Image bytes -> :class:`Picture` (RGB, EXIF orientation applied), or ClientError saying what is wrong.

    ``min_side`` is the side the caller shrinks the image to next: a JPEG is then decoded at 1/2, 1/4 or 1/8
    scale as long as both sides stay at least twice that (the caller's resize then still averages several
    pixels into one: about 1/255 from a resize of the full image, on average). ``Picture.size`` is the file's
    own size.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not raw:
        raise ClientError("the image is empty (0 bytes)")
    if len(raw) > max_bytes:
        raise ClientError(f"the image is {len(raw)} bytes; the limit is {max_bytes}", 413)
    try:
        image = Image.open(io.BytesIO(raw))
    except UnidentifiedImageError as err:
        raise ClientError(f"not an image in a supported format ({', '.join(formats)})") from err
    except Image.DecompressionBombError as err:  # PIL's own guard, far above max_pixels
        raise ClientError(f"the image's dimensions are absurd; the limit is {max_pixels} pixels") from err
    except Exception as err:  # noqa: BLE001 — any decoder failure on the header is a corrupt file
        raise _corrupt(err) from err
    # MPO: a JPEG with more pictures after the first (phones add depth maps, gain maps); PIL reads the first.
    if ("JPEG" if image.format == "MPO" else image.format) not in formats:
        raise ClientError(f"image format {image.format} is not supported; send one of {', '.join(formats)}")
    width, height = image.size
    if width < 1 or height < 1:
        raise ClientError(f"the image has zero size ({width}x{height})")
    # Checked on the header, before any pixel is decoded: a small file can claim 50,000 x 50,000.
    if width * height > max_pixels:
        raise ClientError(f"the image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}")
    try:
        if min_side:
            image.draft(None, (2 * min_side, 2 * min_side))  # JPEG only (a no-op for other formats)
        image.load()
        if image.getexif().get(ORIENTATION) in TRANSPOSED:
            width, height = height, width
        ImageOps.exif_transpose(image, in_place=True)  # in place: no full-size copy of an upright photo
        return Picture(image if image.mode == "RGB" else image.convert("RGB"), (width, height))
    except Exception as err:  # noqa: BLE001 — truncated data, corrupt EXIF, decoder errors of every kind
        raise _corrupt(err) from err


def _corrupt(err: Exception) -> ClientError:
    return ClientError(f"the image is truncated or corrupt ({type(err).__name__}: {err})"[:200])
