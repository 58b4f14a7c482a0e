"""The trigger-word handler against hostile input: clips too short for the network, any JSON value in any
field, random bodies; each answers 400 alone or in a batch. (Encodings and the chime: test_trigger_word_model.)

    python -m pytest -q tests/unit/test_trigger_word_handler.py
"""

import json

import numpy as np
import pytest

from pipelines.data.audio import encode_wav
from pipelines.tasks.trigger_word import TriggerWordTask
from services.mock_context import MockContext
from services.trigger_word import TriggerWordHandler
from tests.unit import fuzz


@pytest.fixture(scope="module")
def handler(tiny_trigger_word_dir):
    h = TriggerWordHandler()
    h.initialize(MockContext(tiny_trigger_word_dir))
    return h


def run(handler, bodies, ctype="audio/wav"):
    ctx = MockContext(handler.context.system_properties["model_dir"], [{"Content-Type": ctype}] * len(bodies))
    out = handler.handle([{"body": b} for b in bodies], ctx)
    return [json.loads(o) for o in out], {i: s[0] for i, s in ctx.statuses.items()}


def tone(n: int, rate: int = 16000) -> bytes:
    return encode_wav(0.3 * np.sin(np.arange(n) * 2 * np.pi * 440 / rate), rate)


def test_the_shortest_clip_follows_from_the_model():
    """The first output step needs ``kernel`` spectrogram frames, i.e. ``(kernel - 1) * hop`` samples."""
    task = TriggerWordTask({"features": {"hop": 160}})
    # 0.14 s: the course's Conv1D(kernel 15) on 10 ms frames
    assert task.min_samples(TriggerWordTask.build_model(_config(kernel=15, stride=4))) == 14 * 160
    assert task.min_samples(TriggerWordTask.build_model(_config(kernel=5, stride=2))) == 4 * 160


def _config(kernel: int, stride: int) -> dict:
    from pipelines.models.trigger_word import TriggerWordConfig

    return TriggerWordConfig(n_freq=8, conv_filters=4, gru=4, kernel=kernel, stride=stride).to_dict()


def test_a_clip_shorter_than_the_network_needs_is_400_alone_and_in_a_batch(handler):
    shortest = handler.min_samples
    assert handler.min_seconds == pytest.approx(shortest / 16000)
    message = f"the model needs at least {1000 * handler.min_seconds:.1f} ms"
    answers, statuses = run(handler, [tone(shortest - 1)])
    assert statuses == {0: 400} and message in answers[0]["error"]
    answers, statuses = run(handler, [tone(16000), tone(shortest - 1), tone(shortest), tone(1, 8000)])
    assert statuses == {1: 400, 3: 400} and message in answers[1]["error"]
    assert "activations" in answers[2] and answers[0]["duration_s"] == 1.0


def test_the_boundary_holds_at_other_rates(handler):
    for rate in (8000, 22050, 44100, 47999):
        n = handler.min_samples * rate // 16000 - 2  # then the fewest samples that resample to min_samples
        while -(-n * 16000 // rate) < handler.min_samples:
            n += 1
        answers, statuses = run(handler, [tone(n - 1, rate), tone(n, rate)])
        assert statuses == {0: 400}, (rate, answers)


@pytest.mark.parametrize("chime", [None, 0, 1, 1.0, "true", "yes", [], [True], {}, {"a": 1}, 10 ** 5000,
                                   float("nan"), "é" * 10_000], ids=lambda v: type(v).__name__)
def test_any_chime_but_a_boolean_is_400(handler, chime):
    body = {"audio": fuzz.b64(tone(16000)), "chime": chime}
    answers, statuses = run(handler, [body], "application/json")
    assert statuses == {0: 400} and answers[0]["error"].startswith("'chime' must be true or false, got ")
    assert len(answers[0]["error"]) < 120


def test_a_deeply_nested_chime_is_400(handler):
    chime: list = []
    for _ in range(fuzz.DEEP):
        chime = [chime]
    answers, statuses = run(handler, [{"audio": fuzz.b64(tone(16000)), "chime": chime}], "application/json")
    assert statuses == {0: 400}, answers  # the body's nesting limit (services.base), or the chime check


def test_parse_raises_only_client_errors(handler):
    audio = [fuzz.b64(tone(4000)), "data:audio/wav;base64," + fuzz.b64(tone(100, 8000)), "data:",
             fuzz.b64(tone(4000)[:30]), fuzz.b64(tone(4000, 47999))]
    fields = {"audio": audio, "chime": [True, False]}
    parsed = fuzz.parse_all(handler, fuzz.bodies(np.random.default_rng(5), fields, 400))
    assert parsed > 5
