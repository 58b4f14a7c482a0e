"""A client's JSON value named in an error message: short, ASCII and safe to build for any value.

    raise ClientError(f"'chime' must be true or false, got {describe(value)}")

``repr`` is none of these: a 10,000-digit integer raises ValueError, an array nested 10,000 deep raises
RecursionError, a 10 MB string makes a 10 MB message, and a non-ASCII one breaks TorchServe's status
line. Numbers and short strings are shown (strings ASCII-escaped and cut); anything else is named by
its JSON type.
"""

from __future__ import annotations

from typing import Any

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
