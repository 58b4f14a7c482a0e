"""Image bytes from a request -> a checked RGB PIL image, for every image-taking service.

Each failure is the client's and says what is wrong: empty, over the byte limit (413), not an image,
a format the service does not take, zero size, absurd dimensions (a decompression bomb: checked on
the header, before any pixel is decoded), truncated or corrupt.
"""

from __future__ import annotations

import base64
import binascii
import io

from services.base import ClientError

FORMATS = ("JPEG", "PNG", "BMP", "WEBP")


def base64_field(obj: dict, key: str, max_bytes: int) -> bytes:
    """``obj[key]`` (base64, or a ``data:`` URL) decoded, or ClientError naming the field."""
    data = obj.get(key)
    if not isinstance(data, str) or not data:
        raise ClientError(f"'{key}' must be a base64 string of the image file")
    if len(data) > max_bytes * 4 // 3 + 4:
        raise ClientError(f"'{key}' is larger than {max_bytes} bytes", 413)
    try:
        return base64.b64decode(data.split(",", 1)[1] if data.startswith("data:") else data, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ClientError(f"'{key}' is not valid base64: {err}") from err


def decode_image(raw: bytes, formats: tuple[str, ...] = FORMATS, max_bytes: int = 20_000_000,
                 max_pixels: int = 40_000_000):
    """Image bytes -> RGB PIL image (EXIF orientation applied), or ClientError saying what is wrong."""
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
    except (OSError, ValueError) as err:
        raise ClientError(f"the image is truncated or corrupt: {err}") from err
    if image.format not in formats:
        raise ClientError(f"image format {image.format} is not supported; send one of {', '.join(formats)}")
    width, height = image.size
    if width < 1 or height < 1:
        raise ClientError(f"the image has zero size ({width}x{height})")
    # Checked on the header, before any pixel is decoded: a small file can claim 50,000 x 50,000.
    if width * height > max_pixels:
        raise ClientError(f"the image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}")
    try:
        image.load()
        image = ImageOps.exif_transpose(image)  # the orientation a viewer shows
        return image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ClientError(f"the image is truncated or corrupt: {err}") from err
