"""C5W4's English -> Spanish Transformer on the Bible (pipelines/tasks/bible_translation.py): the subword model, the
loss, the decoders (cached steps, greedy, beam search) and a tiny training run through the driver's own loop; and
C5W3's attention RNN as its baseline on the same data (``model.arch: attention_rnn``).

    pytest tests/unit/test_bible_translation.py
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import torch

from pipelines.data import bible
from pipelines.models.transformer import Transformer
from pipelines.tasks import bible_translation as bt
from tests.conftest import ROOT, train_here

MODEL = "c5w4_transformer_en_es"
BASELINE = "c5w3_attention_rnn_en_es"


@pytest.fixture(scope="module")
def tiny_bible(tmp_path_factory, smoke_params) -> Path:
    """The smoke books (train: Genesis and Mark; dev: Jude; test: Ruth), cut to 400 / 25 / 25 verses."""
    out = tmp_path_factory.mktemp("bible")
    bible.write_dataset(smoke_params["data_bible"], out)
    for split, n in (("train", 400), ("dev", 25), ("test", 25)):
        path = out / f"{split}.tsv"
        path.write_text("".join(path.read_text().splitlines(keepends=True)[:n]))
    return out


@pytest.fixture(scope="module")
def tiny_params(smoke_params) -> dict:
    params = copy.deepcopy(smoke_params[MODEL])
    params["train"].update(epochs=3, seed=0)
    return params


def test_the_smoke_profile_keeps_the_model_tiny(smoke_params):
    full = smoke_params[MODEL]
    assert full["model"]["d_model"] <= 64 and full["train"]["epochs"] == 1


def test_the_subword_model_is_deterministic_and_round_trips(tiny_bible):
    rows = bible.read_split(tiny_bible, "train")
    sentences = [text for _, en, es in rows for text in (en, es)]
    first, second = (bt.train_tokenizer(sentences, 300, "unigram", seed=0) for _ in range(2))
    assert first == second  # byte-identical protos
    sp = bt.load_tokenizer({"spm": first})
    assert sp.get_piece_size() == 300
    assert (sp.pad_id(), sp.unk_id(), sp.bos_id(), sp.eos_id()) == (bt.PAD, bt.UNK, bt.BOS, bt.EOS)
    for _, en, es in bible.read_split(tiny_bible, "test")[:10]:  # unseen verses, accents and punctuation
        for text in (en, es):
            ids = sp.encode(text)
            assert bt.UNK not in ids and sp.decode(ids) == text


def tiny_transformer(vocab: int = 40) -> Transformer:
    torch.manual_seed(0)
    return Transformer(num_layers=2, d_model=32, num_heads=4, dff=64, input_vocab=vocab, target_vocab=vocab,
                       max_positions=64, pad_id=bt.PAD).eval()


def test_the_loss_ignores_padding():
    task = bt.BibleTranslationTask({"train": {"label_smoothing": 0.1}})
    model = tiny_transformer()
    pairs = [([5, 6, 7, 8], [9, 10, 11]), ([12, 13], [14, 15, 16, 17, 18])]
    batch = bt.collate_batches([pairs])
    padded = tuple(torch.nn.functional.pad(x, (0, 6), value=bt.PAD) for x in batch)  # six more pad columns
    assert torch.allclose(task.loss(model, batch), task.loss(model, padded), atol=1e-6)
    # the end mark counts, padding does not: the mean is over 4 + 6 target positions
    total, _ = task.token_losses(model, batch, 0.1)
    assert task.loss(model, batch).item() == pytest.approx(total.item() / 10, rel=1e-6)


def test_a_cached_decode_step_equals_the_full_decoder():
    model = tiny_transformer()
    source = torch.tensor([[5, 6, 7, 8, 0], [9, 10, 11, 12, 13]])
    target = torch.tensor([[bt.BOS, 20, 21, 22], [bt.BOS, 23, 24, 25]])
    full, _ = model(source, target)
    cache = model.start_cache(*model.encode(source))
    steps = torch.stack([model.decode_step(target[:, i], cache) for i in range(target.shape[1])], 1)
    assert torch.allclose(steps, full, atol=1e-5)


@torch.no_grad()
def sequence_logp(model, source: torch.Tensor, tokens: list[int]) -> float:
    """log p(tokens then the end mark | source) under ``model``, teacher-forced."""
    target_in = torch.tensor([[bt.BOS, *tokens]])
    logp = torch.log_softmax(model(source[None], target_in)[0][0], -1)
    return sum(float(logp[i, t]) for i, t in enumerate([*tokens, bt.EOS]))


def test_beam_one_is_greedy_and_a_wider_beam_scores_at_least_as_high():
    model = tiny_transformer()
    with torch.no_grad():
        model.out.bias[bt.EOS] += 1.0  # an untrained model rarely ends; make ends likely enough to matter
    source = torch.randint(4, 40, (6, 7), generator=torch.Generator().manual_seed(1))
    greedy, greedy_scores = model.greedy(source, bt.BOS, bt.EOS, max_len=12)
    one, _ = model.beam_search(source, bt.BOS, bt.EOS, beam=1, length_penalty=0.6, max_len=12)
    assert one == greedy
    wide, wide_scores = model.beam_search(source, bt.BOS, bt.EOS, beam=4, length_penalty=0.0, max_len=12)
    for i in range(len(source)):
        ended = len(greedy[i]) < 12 and len(wide[i]) < 12  # both ended: scores are log p of the whole output
        if ended:
            assert greedy_scores[i] == pytest.approx(sequence_logp(model, source[i], greedy[i]), abs=1e-4)
            assert wide_scores[i] == pytest.approx(sequence_logp(model, source[i], wide[i]), abs=1e-4)
        assert wide_scores[i] >= greedy_scores[i] - 1e-5
    assert any(w != g for w, g in zip(wide, greedy, strict=True))  # the beam found something greedy did not


def test_a_tiny_training_run_lowers_dev_loss_and_evaluates(tmp_path, tiny_bible, tiny_params):
    state, model_file = train_here(MODEL, tiny_params, tiny_bible, tmp_path)
    dev_losses = [row["dev_loss"] for row in state["history"]]
    assert dev_losses[-1] < dev_losses[0]
    assert isinstance(state["meta"]["spm"], str)  # the subword model travels in model.pt

    from pipelines.training.artifacts import load_model

    model, bundle = load_model(model_file)
    task = bt.BibleTranslationTask(tiny_params, bundle["meta"])
    metrics, details = task.evaluate(model, tiny_bible)
    for split in ("dev", "test"):
        assert metrics[split]["n"] == 25
        assert math.isfinite(metrics[split]["bleu"]) and math.isfinite(metrics[split]["chrf"])
        assert math.isfinite(metrics[split]["loss"]) and metrics[split]["loss"] < math.log(400)
        assert details[split] and {"verse", "source", "reference", "hypothesis"} <= set(details[split][0])
    out = bt.translate(bundle["meta"], model, ["In the beginning, God created the heavens and the earth.",
                                               "and " * 80])
    assert len(out) == 2 and all(isinstance(spanish, str) for spanish, _ in out)
    assert [cut for _, cut in out] == [False, True]  # 80 "and"s are over the smoke profile's 64 pieces
    with pytest.raises(ValueError, match="text 1 is empty"):
        bt.translate(task, model, ["God said.", "  "])
    # the same decoding from the command line, in-process
    from click.testing import CliRunner

    from pipelines.cli import cli

    base = ["--params", str(ROOT / "params.yaml"), "predict", "en-es", "--model-file", str(model_file)]
    result = CliRunner().invoke(cli, [*base, "God said.", "Amen."])
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)
    assert [a["text"] for a in answers] == ["God said.", "Amen."] and all(isinstance(a["translation"], str)
                                                                           for a in answers)
    assert [a["truncated"] for a in answers] == [False, False]
    assert CliRunner().invoke(cli, [*base, " "]).exit_code != 0


def test_the_registry_and_params_know_the_model():
    from pipelines import registry
    from pipelines.params import load_params

    spec = registry.get(MODEL)
    assert spec.task_class() is bt.BibleTranslationTask and spec.dataset == "bible"
    params = load_params(ROOT / "params.yaml")[MODEL]
    assert {"seed", "epochs", "batch_size", "lr", "batch_tokens", "max_tokens"} <= set(params["train"])


def test_the_attention_rnn_baseline_uses_the_subword_specials_and_ends_its_outputs(smoke_params, tiny_bible):
    from pipelines.models.seq2seq_attention import Seq2SeqAttention

    sentences = [text for _, en, es in bible.read_split(tiny_bible, "train") for text in (en, es)]
    meta = {"spm": bt.train_tokenizer(sentences, 100), "max_tokens": 64}
    task = bt.BibleTranslationTask(smoke_params[BASELINE], meta)
    config = task.model_config()
    assert config["arch"] == "attention_rnn" and (config["bos"], config["eos"]) == (bt.BOS, bt.EOS)
    torch.manual_seed(0)
    model = bt.BibleTranslationTask.build_model(config).eval()
    assert isinstance(model, Seq2SeqAttention)
    batch = bt.collate_batches([[([5, 6, 7], [8, 9]), ([10, 11], [12, 13, 14, 15])]])
    assert torch.isfinite(task.loss(model, batch))
    with torch.no_grad():
        model.out.bias[bt.EOS] += 50.0  # ends at once: the end mark is not part of the answer
    assert bt.decode(model, batch[0], beam=3, length_penalty=0.7, max_len=10) == [[], []]
    with torch.no_grad():
        model.out.bias[bt.EOS] -= 100.0  # never ends: cut at max_len
    assert [len(ids) for ids in bt.decode(model, batch[0], beam=1, length_penalty=0.7, max_len=7)] == [7, 7]
    with pytest.raises(ValueError, match="model.arch 'lstm' is not one of transformer, attention_rnn"):
        bt.BibleTranslationTask({**smoke_params[BASELINE], "model": {"arch": "lstm"}}, task.meta).model_config()


def test_the_attention_rnn_baseline_trains_and_evaluates_like_the_transformer(tmp_path, tiny_bible, smoke_params):
    params = copy.deepcopy(smoke_params[BASELINE])
    params["train"].update(epochs=2, seed=0)
    state, model_file = train_here(BASELINE, params, tiny_bible, tmp_path)
    assert state["history"][-1]["dev_loss"] < state["history"][0]["dev_loss"]

    from pipelines.training.artifacts import load_model

    model, bundle = load_model(model_file)
    metrics, details = bt.BibleTranslationTask(params, bundle["meta"]).evaluate(model, tiny_bible)
    assert metrics["length_penalty"] == 0.7 and metrics["test"]["n"] == 25
    assert math.isfinite(metrics["test"]["bleu"]) and metrics["test"]["loss"] < math.log(300)
    assert len(details["test"]) == 5
