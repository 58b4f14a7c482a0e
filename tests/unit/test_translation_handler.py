"""The translation handler through a mock TorchServe context (no server): answers, refusals (422),
input errors (400), and the refusal threshold read from the model's bundle."""

import json
import shutil

import pytest
import torch

from services.mock_context import MockContext
from services.translation import TranslationHandler


def model_dir_writing(tiny_model_dir, dest, favour: dict[str, float], threshold: float | None = None):
    """A copy of the tiny model whose output layer ignores the input and favours ``favour``'s
    characters ('<eos>' included): constrained to YYYY-MM-DD, {'1': 5} writes 1111-11-11 every time."""
    bundle = torch.load(tiny_model_dir / "model.pt", weights_only=False)
    tgt = bundle["meta"]["tgt"]
    bundle["state_dict"]["out.weight"].zero_()
    bias = torch.zeros_like(bundle["state_dict"]["out.bias"])
    for ch, value in favour.items():
        bias[tgt.index(ch)] = value
    bundle["state_dict"]["out.bias"] = bias
    if threshold is not None:
        bundle["meta"]["threshold"] = threshold
    dest.mkdir()
    torch.save(bundle, dest / "model.pt")
    shutil.copy(tiny_model_dir / "service.json", dest)
    return dest


def make_handler(model_dir):
    h = TranslationHandler()
    h.initialize(MockContext(model_dir))
    return h


@pytest.fixture(scope="module")
def handler(tiny_model_dir, tmp_path_factory):
    """A handler whose model answers 1111-11-11 to everything (no threshold in its meta)."""
    return make_handler(model_dir_writing(tiny_model_dir, tmp_path_factory.mktemp("m") / "ones", {"1": 5.0}))


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
        assert a["translation"] == "1111-11-11" and a["score"] <= 0
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


def test_handler_time_is_recorded(handler, tiny_model_dir):
    from services.metrics import HANDLER_LATENCY

    def count():
        return next(s.value for s in HANDLER_LATENCY.collect()[0].samples
                    if s.name.endswith("_count") and s.labels["service"] == "translation")

    run(handler, [b""], ["text/plain"], tiny_model_dir)  # the histogram exists from the first request
    before = count()
    run(handler, [b"", b"3 May 1979"], ["text/plain"] * 2, tiny_model_dir)
    assert count() == before + 2


def test_the_threshold_is_read_from_the_bundle(handler, tiny_model_dir, tmp_path):
    assert handler.threshold is None  # a model without one: no score test
    strict = make_handler(model_dir_writing(tiny_model_dir, tmp_path / "strict", {"1": 5.0}, threshold=0.0))
    assert strict.threshold == 0.0
    answers, statuses = run(strict, [{"text": "3 May 1979"}], ["application/json"], tiny_model_dir)
    assert statuses[0][0] == 422
    assert answers[0]["error"] == "not a date"
    assert answers[0]["reason"].startswith("no confident reading: the best, 1111-11-11, scores")
    lenient = make_handler(model_dir_writing(tiny_model_dir, tmp_path / "lenient", {"1": 5.0}, threshold=-1e9))
    answers, statuses = run(lenient, [{"text": "3 May 1979"}], ["application/json"], tiny_model_dir)
    assert statuses == {} and answers[0]["translation"] == "1111-11-11"


def test_no_date_read_answers_422_with_the_reason_and_the_text(tiny_model_dir, tmp_path):
    refuser = make_handler(model_dir_writing(tiny_model_dir, tmp_path / "eos", {"<eos>": 5.0}))
    texts = ["hello world", "José's café ☕"]
    answers, statuses = run(refuser, [{"text": t} for t in texts], ["application/json"] * 2, tiny_model_dir)
    assert statuses == {0: (422, statuses[0][1]), 1: (422, statuses[1][1])}
    assert statuses[1][1].isascii()  # the client's text stays out of the status line
    assert answers == [{"error": "not a date", "reason": "the model reads no date in it", "text": t} for t in texts]


def test_an_impossible_date_is_refused_with_the_calendar_reason(handler, tiny_model_dir, monkeypatch):
    import pipelines.tasks.translation as task

    monkeypatch.setattr(task, "translate", lambda *a, **k: [("2021-02-29", -0.01), ("2020-02-29", -0.01)])
    answers, statuses = run(handler, ["29 February 2021", "29 February 2020"], ["text/plain"] * 2, tiny_model_dir)
    assert statuses[0][0] == 422 and 1 not in statuses
    assert answers[0] == {"error": "not a date", "reason": "2021-02-29 is not a calendar date: February 2021 has "
                          "28 days", "text": "29 February 2021"}
    assert answers[1]["translation"] == "2020-02-29"


def test_refusals_and_input_errors_share_a_batch(tiny_model_dir, tmp_path):
    strict = make_handler(model_dir_writing(tiny_model_dir, tmp_path / "strict", {"1": 5.0}, threshold=0.0))
    answers, statuses = run(strict, [{"text": "a", "beam_size": 1}, b"\xff", {"text": "b", "beam_size": 3}],
                            ["application/json", "text/plain", "application/json"], tiny_model_dir)
    assert [statuses[i][0] for i in range(3)] == [422, 400, 422]
    assert answers[0]["text"] == "a" and answers[2]["text"] == "b" and "UTF-8" in answers[1]["error"]
