"""The English -> Spanish handler through a mock TorchServe context (no server): answers, the beam and the
truncation flag, and input errors (400) that leave their batch-mates answered. The network is an untrained
smoke-size Transformer with a subword vocabulary learnt from a few Bible verses."""

import json

import pytest
import torch

from pipelines.data import bible
from pipelines.serving.package import service_config
from pipelines.tasks.bible_translation import BibleTranslationTask, train_tokenizer
from services.mock_context import MockContext
from services.translation_en_es import TranslationEnEsHandler

SERVICE = "translation_en_es"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, smoke_params):
    data = tmp_path_factory.mktemp("bible")
    bible.write_dataset({**smoke_params["data_bible"], "train_books": ["Jude"], "dev_books": ["Ruth"],
                         "test_books": ["Jonah"]}, data)
    params = smoke_params["c5w4_transformer_en_es"]
    rows = bible.read_split(data, "train")
    task = BibleTranslationTask(params, {"spm": train_tokenizer([t for _, en, es in rows for t in (en, es)], 200),
                                         "max_tokens": 32})
    torch.manual_seed(0)
    model = task.build_model(task.model_config())
    out = tmp_path_factory.mktemp("model_dir")
    torch.save({"model_name": "c5w4_transformer_en_es", "config": task.model_config(), "meta": task.meta,
                "state_dict": model.state_dict(), "params": params, "run": "test"}, out / "model.pt")
    (out / "service.json").write_text(json.dumps(service_config(SERVICE, smoke_params)))
    return out


@pytest.fixture(scope="module")
def handler(model_dir):
    h = TranslationEnEsHandler()
    h.initialize(MockContext(model_dir))
    return h


def run(handler, bodies, content_types, model_dir):
    ctx = MockContext(model_dir, [{"Content-Type": ct} for ct in content_types])
    out = handler.handle([{"body": b} for b in bodies], ctx)
    return [json.loads(o) for o in out], ctx.statuses


def test_json_and_plain_text_bodies_get_a_translation(handler, model_dir, smoke_params):
    text = "Jude, a servant of Jesus Christ."
    answers, statuses = run(handler, [{"text": text}, text.encode(), {"text": text, "beam_size": 1}],
                            ["application/json", "text/plain", "application/json"], model_dir)
    assert statuses == {}
    default_beam = smoke_params["c5w4_transformer_en_es"]["decode"]["beam"]
    assert [a["beam_size"] for a in answers] == [default_beam, default_beam, 1]
    for a in answers:
        assert set(a) == {"translation", "beam_size", "truncated"} and isinstance(a["translation"], str)
        assert a["truncated"] is False
    assert answers[0] == answers[1]  # the same text, labelled JSON or plain, the same answer
    long_text = " ".join(["Jude, a servant of Jesus Christ, and brother of James"] * 4)
    (long,), _ = run(handler, [{"text": long_text}], ["application/json"], model_dir)
    assert long["truncated"] is True  # more pieces than the model's max_tokens (32 here)


def test_client_mistakes_are_400_naming_the_field_and_batch_mates_are_answered(handler, model_dir):
    bodies = [{"text": ""}, {"text": "x" * 2001}, {"text": "Amen.", "beam_size": 9}, {"text": ["Amen."]},
              b"\xff\xfe", {"text": "Amen."}]
    answers, statuses = run(handler, bodies, ["application/json"] * 4 + ["text/plain", "application/json"],
                            model_dir)
    assert {i: s[0] for i, s in statuses.items()} == {0: 400, 1: 400, 2: 400, 3: 400, 4: 400}
    assert "'text' is empty" in answers[0]["error"]
    assert "limit is 2000" in answers[1]["error"]
    assert "'beam_size' must be an integer from 1 to 8" in answers[2]["error"]
    assert "'text' must be a string" in answers[3]["error"]
    assert "UTF-8" in answers[4]["error"]
    assert isinstance(answers[5]["translation"], str)
