"""Fields of a client's JSON body: a value named in an error message, a base64 file field decoded.

    raise ClientError(f"'chime' must be true or false, got {describe(value)}")
    raw = base64_field(obj, "image", max_bytes)     # an image or a WAV: base64 or a data: URL
    text, beam = text_request(body, content_type, default_beam=3, max_beam=10, max_chars=256)  # the translators

``describe`` is short, ASCII and safe to build for any value; ``repr`` is none of these: a 10,000-digit
integer raises ValueError, an array nested 10,000 deep raises RecursionError, a 10 MB string makes a
10 MB message, and a non-ASCII one breaks TorchServe's status line. Numbers and short strings are shown
(strings ASCII-escaped and cut); anything else is named by its JSON type.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from services.base import ClientError, is_json_body, json_object

MAX_SHOWN = 40  # characters of a value shown in a message


def describe(value: Any) -> str:
    """``value`` as an error message shows it: ``true``, ``null``, ``1.5``, ``'abc'``, ``an array``, ..."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int) and abs(value) < 10 ** MAX_SHOWN or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return "a number too large to show"
    if isinstance(value, str):
        text = ascii(value[:MAX_SHOWN])  # quoted; non-ASCII characters escaped (each up to 10 characters)
        cut = len(value) > MAX_SHOWN or len(text) > MAX_SHOWN + 2
        return f"{text[:MAX_SHOWN + 1]}...{text[0]}" if cut else text
    return {list: "an array", dict: "an object"}.get(type(value), f"a {type(value).__name__}")


def base64_field(obj: dict, key: str, max_bytes: int) -> bytes:
    """``obj[key]`` (base64, or a ``data:`` URL) decoded, or ClientError naming the field."""
    data = obj.get(key)
    if not isinstance(data, str) or not data:
        raise ClientError(f"'{key}' must be a base64 string of the file")
    if len(data) > max_bytes * 4 // 3 + 4:
        raise ClientError(f"'{key}' is larger than {max_bytes} bytes", 413)
    if data.startswith("data:"):
        _, comma, data = data.partition(",")
        if not comma:
            raise ClientError(f"'{key}' is a data: URL without the comma before its base64 payload")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as err:  # bad characters, bad padding, non-ASCII text
        raise ClientError(f"'{key}' is not valid base64: {err}") from err


def text_request(body: Any, content_type: str, default_beam: int, max_beam: int, max_chars: int) -> tuple[str, int]:
    """(text, beam width) of a translation request: JSON ``{"text": str, "beam_size": int (optional)}`` (labelled
    JSON, or any body opening ``{``, the rule of every service) or a plain UTF-8 body; ClientError naming what is
    wrong (the text empty, too long or not a string, the beam not an integer from 1 to ``max_beam``)."""
    beam = default_beam
    if is_json_body(body, content_type):
        obj = json_object(body)
        text = obj.get("text")
        if "beam_size" in obj:
            beam = obj["beam_size"]
            if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= max_beam:
                raise ClientError(f"'beam_size' must be an integer from 1 to {max_beam}")
    elif isinstance(body, (bytes, bytearray)):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ClientError("request body is not valid UTF-8") from err
    else:
        text = body
    if not isinstance(text, str):
        raise ClientError(f"'text' must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ClientError("'text' is empty")
    if len(text) > max_chars:
        raise ClientError(f"'text' is {len(text)} characters long; the limit is {max_chars}")
    return text, beam
