"""Hostile request bodies for the handlers' ``parse`` fuzz tests (seeded, so a failure replays).

    parsed = parse_all(handler, bodies(rng, {"image": [png_b64]}, 300))   # only ClientError escapes
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

CONTENT_TYPES = ("application/json", "application/json; charset=utf-8", "image/jpeg", "audio/wav",
                 "application/octet-stream", "text/plain", "")
AWKWARD_CHARS = "\x00\x1b\x85\u200b\u200d\u202e\u2028\ufeff\ue000\u0378\ud800\udfff\u0301é李👩"
DEEP = 20_000  # nesting of a value already decoded by TorchServe: deeper than Python's recursion limit


def text(rng: np.random.Generator) -> str:
    """A string of awkward characters (controls, invisibles, lone surrogates, combining marks) and random ones."""
    n = int(rng.choice([0, 1, 5, 40, 3000]))
    pool = [*AWKWARD_CHARS, *(chr(int(c)) for c in rng.integers(0, sys.maxunicode + 1, 20))]
    return "".join(pool[i] for i in rng.integers(len(pool), size=n))


def value(rng: np.random.Generator, depth: int = 0, decoded: bool = False) -> Any:
    """A random JSON value of any type: huge and special numbers, awkward strings, nested arrays and objects.

    With ``decoded`` (a body TorchServe already parsed) integers are unbounded and arrays may nest ``DEEP``.
    """
    kind = int(rng.integers(12 if depth < 3 else 8))
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.integers(2))
    if kind == 2:
        return int(rng.choice([0, -1, 1, 7, 100, 2**31, -(2**63), 2**64]))
    if kind == 3:  # past the 4,300 digits int -> str refuses
        return int(rng.choice([-1, 1])) * 10 ** int(rng.choice([40, 400, 5000] if decoded else [40, 400]))
    if kind == 4:
        return float(rng.choice([0.5, -0.0, 1e308, 5e-324, 1.0000001, -1.5]))
    if kind == 5:
        return float(rng.choice([np.inf, -np.inf, np.nan])) if decoded else 1e308
    if kind in (6, 7):
        return text(rng)
    if kind == 8:
        nested: Any = value(rng, 3, decoded)
        for _ in range(int(rng.choice([1, 50, DEEP if decoded else 200]))):
            nested = [nested]
        return nested
    if kind in (9, 10):
        return [value(rng, depth + 1, decoded) for _ in range(int(rng.integers(4)))]
    return {text(rng): value(rng, depth + 1, decoded) for _ in range(int(rng.integers(4)))}


def obj(rng: np.random.Generator, fields: dict[str, list], decoded: bool) -> dict:
    """An object with some of ``fields``: each a random value or one of its listed good values."""
    out = {}
    for key, good in fields.items():
        roll = rng.random()
        if roll < 0.25:
            continue
        out[key] = good[int(rng.integers(len(good)))] if good and roll < 0.6 else value(rng, 0, decoded)
    if rng.random() < 0.2:
        out[text(rng)] = value(rng, 0, decoded)
    return out


def bodies(rng: np.random.Generator, fields: dict[str, list], n: int) -> Iterator[tuple[Any, str]]:
    """``n`` (body, content type) pairs: random bytes, JSON bytes, decoded objects and other values, text."""
    for i in range(n):
        content_type = CONTENT_TYPES[int(rng.integers(len(CONTENT_TYPES)))]
        kind = i % 6
        if kind == 0:
            body: Any = rng.bytes(int(rng.choice([0, 1, 12, 500])))
            if rng.random() < 0.5:
                body = b"{" + body
        elif kind == 1:
            body = json.dumps(obj(rng, fields, decoded=False)).encode()  # escapes lone surrogates as \ud800
        elif kind == 2:
            body = obj(rng, fields, decoded=True)
        elif kind == 3:
            body = value(rng, 0, decoded=True)
        elif kind == 4:
            body = json.dumps(obj(rng, fields, decoded=False))
        else:
            raw = json.dumps(obj(rng, fields, decoded=False)).encode()
            body = raw[:int(rng.integers(len(raw) + 1))]  # truncated JSON
        yield body, content_type


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_all(handler, bodies_and_types) -> int:
    """Feed every (body, content type) to ``handler.parse``: only ClientError may escape (4xx, a short message).
    Returns how many parsed, so a test can check the success path was fuzzed too."""
    from services.base import ClientError

    parsed = 0
    for body, content_type in bodies_and_types:
        try:
            handler.parse(body, content_type)
            parsed += 1
        except ClientError as err:
            assert err.status in (400, 413) and len(err.message) < 400
    return parsed
