"""The base handler keeps every request apart: ASCII status lines, per-request failures, bounded JSON."""

from __future__ import annotations

import json

import pytest

from services.base import MAX_INT_DIGITS, MAX_JSON_DEPTH, BaseHandler, ClientError, json_object, reason_phrase
from services.mock_context import MockContext


class Echo(BaseHandler):
    """A handler whose predict fails for the item "poison" (an unexpected error, not the client's)."""

    service = "echo"

    def parse(self, body, content_type):
        obj = json_object(body)
        if obj.get("boom"):
            raise KeyError("a bug in parse")
        if not isinstance(obj.get("text"), str):
            raise ClientError(f"'text' must be a string, got {obj.get('text')!r}")
        return obj["text"]

    def predict(self, items):
        if "poison" in items:
            raise RuntimeError("poisoned batch")
        return [{"echo": t} if t != "missing" else ClientError(f"no {t!r} here", 404, name=t) for t in items]


def run(bodies):
    ctx = MockContext(".")
    out = Echo().handle([{"body": json.dumps(b).encode()} for b in bodies], ctx)
    return [json.loads(o) for o in out], {i: s for i, s in ctx.statuses.items()}


def test_status_line_never_carries_client_text():
    answers, statuses = run([{"text": "José"}, {"text": 5}, {"text": "missing"}])
    assert answers[0] == {"echo": "José"}
    assert statuses[1] == (400, "Bad Request") and "5" in answers[1]["error"]
    assert statuses[2] == (404, "Not Found") and answers[2] == {"error": "no 'missing' here", "name": "missing"}
    assert all(phrase.isascii() for _, phrase in statuses.values())
    assert reason_phrase(422) == "Unprocessable Entity" and reason_phrase(999) == "Error"


def test_a_poisoned_request_fails_alone():
    answers, statuses = run([{"text": "a"}, {"text": "poison"}, {"boom": 1}, {"text": "b"}])
    assert answers[0] == {"echo": "a"} and answers[3] == {"echo": "b"}
    assert statuses == {1: (500, "Internal Server Error"), 2: (500, "Internal Server Error")}
    assert "internal error" in answers[1]["error"] and "internal error" in answers[2]["error"]


def test_json_limits():
    deep = "[" * 5000 + "]" * 5000
    for body, needle in ((f'{{"text": {deep}}}', "nested too deep"),
                         ('{"a": ' + "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1) + "}", "nested too deep"),
                         ('{"n": ' + "9" * 5000 + "}", "digits"),
                         ('{"n": NaN}', "NaN"), ('{"n": -Infinity}', "Infinity"),
                         (b'{"t": "\xff"}', "UTF-8"), ("[1, 2]", "expected a JSON object"),
                         ("{", "not valid JSON")):
        with pytest.raises(ClientError, match=needle):
            json_object(body.encode() if isinstance(body, str) else body)
    assert json_object('{"n": ' + "9" * MAX_INT_DIGITS + "}")["n"] == int("9" * MAX_INT_DIGITS)
    assert json_object({"already": "decoded"}) == {"already": "decoded"}
    with pytest.raises(ClientError, match="UTF-8"):
        json_object('{"t": "\ud800"}')  # a lone surrogate in a text body
