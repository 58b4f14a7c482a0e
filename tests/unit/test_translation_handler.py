"""The translation handler through a mock TorchServe context (no server)."""

import json

import pytest

from services.mock_context import MockContext
from services.translation import TranslationHandler


@pytest.fixture(scope="module")
def handler(tiny_model_dir):
    h = TranslationHandler()
    h.initialize(MockContext(tiny_model_dir))
    return h


def run(handler, bodies, content_types, model_dir):
    ctx = MockContext(model_dir, [{"Content-Type": ct} for ct in content_types])
    out = handler.handle([{"body": b} for b in bodies], ctx)
    return [json.loads(o) for o in out], ctx.statuses


def test_json_and_plain_text_bodies(handler, tiny_model_dir):
    answers, statuses = run(handler, [{"text": "3 May 1979"}, "3 May 1979", b"may 3, 1979",
                                      {"text": "3 may 1979", "beam_size": 1}],
                            ["application/json", "text/plain", "text/plain", "application/json"], tiny_model_dir)
    assert statuses == {}
    for a in answers:
        assert set(a) == {"translation", "score", "beam_size", "truncated"}
        assert isinstance(a["translation"], str) and a["score"] <= 0
    assert answers[0] == answers[1]  # same normalised input, same answer
    assert [a["beam_size"] for a in answers] == [2, 2, 2, 1]


@pytest.mark.parametrize("body,ctype,message", [
    (b"", "text/plain", "empty"),
    ("   ", "text/plain", "empty"),
    (b"\xff\xfe\x00", "text/plain", "UTF-8"),
    (b"{not json", "application/json", "not valid JSON"),
    (b"\xff{", "application/json", "UTF-8"),
    ({"text": 1979}, "application/json", "must be a string"),
    ({"text": None}, "application/json", "must be a string"),
    (["3 May 1979"], "application/json", "JSON object"),
    ({"text": "x" * 257}, "application/json", "limit is 256"),
    ({"text": "3 May 1979", "beam_size": 0}, "application/json", "beam_size"),
    ({"text": "3 May 1979", "beam_size": "3"}, "application/json", "beam_size"),
])
def test_bad_input_answers_400_json(handler, tiny_model_dir, body, ctype, message):
    answers, statuses = run(handler, [body], [ctype], tiny_model_dir)
    assert statuses[0][0] == 400
    assert message in answers[0]["error"]


def test_a_bad_request_does_not_spoil_its_batch(handler, tiny_model_dir):
    answers, statuses = run(handler, [{"text": "3 May 1979"}, b"\xff", {"text": "4 May 1979"}],
                            ["application/json", "text/plain", "application/json"], tiny_model_dir)
    assert set(statuses) == {1}
    assert "translation" in answers[0] and "translation" in answers[2] and "error" in answers[1]


def test_long_input_is_truncated_and_flagged(handler, tiny_model_dir):
    answers, _ = run(handler, [{"text": "3 may 1979 " * 10}], ["application/json"], tiny_model_dir)
    assert answers[0]["truncated"] is True


def test_request_metrics_are_recorded(handler, tiny_model_dir):
    from services.metrics import REQUESTS

    before = REQUESTS.labels(service="translation", status="400")._value.get()
    run(handler, [b""], ["text/plain"], tiny_model_dir)
    assert REQUESTS.labels(service="translation", status="400")._value.get() == before + 1
