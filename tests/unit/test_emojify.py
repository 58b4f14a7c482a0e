"""C5W2's Emojify: the generated training sentences never include a hand-written dev or test sentence, the
tokens GloVe reads, v1's average and v2's packed LSTMs, the held-out evaluation and `dlzoo predict emojify`
(trained by the driver's loop on the smoke profile's sentences, in-process)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.data import emojify
from pipelines.features import glove
from pipelines.tasks.emojify import EmojifyTask, SequenceClassifier
from pipelines.training.artifacts import load_model
from tests.conftest import train_here

ROOT = Path(__file__).resolve().parents[2]


def test_written_sentences_are_never_generated_and_the_same_seed_gives_the_same_files(smoke_params, tmp_path):
    params = {**smoke_params["data_emojify"], "n_train": 2000, "n_train_dev": 300}
    counts = emojify.write_dataset(params, tmp_path / "a")
    read = {split: emojify.read_split(tmp_path / "a", split) for split in emojify.SPLITS}
    assert counts == {split: len(read[split][0]) for split in emojify.SPLITS}
    written = {s.lower() for split in ("dev", "test") for s in read[split][0]}
    generated = [s.lower() for split in ("train", "train_dev") for s in read[split][0]]
    assert not written & set(generated) and len(set(generated)) == len(generated)
    assert not {s.lower() for s in read["dev"][0]} & {s.lower() for s in read["test"][0]}
    for split in emojify.SPLITS:  # every class in every split, none more than twice another
        per_class = Counter(read[split][1])
        assert len(per_class) == 5 and max(per_class.values()) <= 2 * min(per_class.values()), split
    emojify.write_dataset(params, tmp_path / "b")
    assert (tmp_path / "a/train.tsv").read_bytes() == (tmp_path / "b/train.tsv").read_bytes()
    (tmp_path / "a/test.tsv").write_text("fine\t0\nno label here\n")
    with pytest.raises(ValueError, match=r"test.tsv:2: expected 'sentence<TAB>label'"):
        emojify.read_split(tmp_path / "a", "test")
    with pytest.raises(FileNotFoundError, match="dlzoo data emojify"):
        emojify.read_split(tmp_path / "missing", "test")


def test_tokens_are_spelled_as_glove_spells_them():
    vectors = glove.load()
    assert emojify.tokens("I don't like Mondays!") == ["i", "do", "n't", "like", "mondays"]
    assert all(word in vectors for word in emojify.tokens("I don't like Mondays!"))


def test_v1_is_the_average_and_unknown_words_are_zero_vectors():
    vectors = glove.load()
    task = EmojifyTask({"model": {"kind": "average"}})
    x, oov = task.features(["I love you", "zzqx love"])
    assert np.allclose(x[0].numpy(), np.mean([vectors[w] for w in ("i", "love", "you")], 0), atol=1e-6)
    assert np.allclose(x[1].numpy(), vectors["love"], atol=1e-6) and oov == pytest.approx(1 / 5)
    seq = EmojifyTask({"model": {"kind": "sequence", "max_len": 4}}).features(["a b c d e f", "love"])[0]
    assert seq.shape == (2, 4, 50) and float(seq[1, 1:].abs().sum()) == 0


def test_v2_reads_each_sentence_to_its_own_end():
    torch.manual_seed(0)
    net = SequenceClassifier(50, 5, hidden=8).eval()
    x = torch.randn(3, 4, 50)
    x[1, 2:] = 0  # a two-word sentence
    padded = torch.cat([x, torch.zeros(3, 6, 50)], 1)
    assert torch.allclose(net(x), net(padded), atol=1e-6)  # trailing zero steps change nothing
    assert torch.allclose(net(x[1:2, :2]), net(x)[1:2], atol=1e-6)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, smoke_params):
    tmp = tmp_path_factory.mktemp("emojify")
    emojify.write_dataset(smoke_params["data_emojify"], tmp / "data")
    out = {}
    for name in ("c5w2_emojify_v1", "c5w2_emojify_v2"):
        params = copy.deepcopy(smoke_params[name])
        params["train"]["epochs"] = 10
        state, model_file = train_here(name, params, tmp / "data", tmp / name)
        out[name] = (params, state, model_file)
    return tmp, out


def test_both_versions_learn_and_are_scored_on_written_sentences(trained):
    tmp, out = trained
    for name, (params, state, model_file) in out.items():
        assert state["history"][-1]["train_loss"] < state["history"][0]["train_loss"], name
        model, bundle = load_model(model_file)
        metrics, details = EmojifyTask(params, bundle["meta"]).evaluate(model, tmp / "data")
        assert set(metrics) == {"test", "train_dev"}
        assert metrics["test"]["n"] == len(emojify.read_tsv(emojify.WRITTEN["test"])[0])
        assert len(details["test"]["errors"]) == round(metrics["test"]["n"] * (1 - metrics["test"]["accuracy"]))
        assert metrics["test"]["accuracy"] > 0.2, name  # above chance after 10 epochs on 100 sentences
        assert 0 <= metrics["test"]["oov_share"] < 0.05


def test_predict_emojify_prints_the_emoji_and_names_what_is_wrong(trained):
    _, out = trained
    model_file = str(out["c5w2_emojify_v1"][2])
    base = ["--params", str(ROOT / "params.yaml"), "predict", "emojify", "--model-file", model_file]
    result = CliRunner().invoke(cli, [*base, "I love you", "zzqx"])
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)
    assert first["text"] == "I love you" and first["emoji"] == emojify.EMOJI[first["label"]]
    assert sum(first["probabilities"].values()) == pytest.approx(1, abs=1e-3) and first["unknown_words"] == []
    assert second["unknown_words"] == ["zzqx"]
    bad = CliRunner().invoke(cli, [*base, " "])
    assert bad.exit_code == 1 and "empty sentence" in bad.output
    bad = CliRunner().invoke(cli, [*base, "hi", "--model", "c5w1_charlm_rnn"])
    assert bad.exit_code == 1 and "c5w1_charlm_rnn is not one of the emojify models" in bad.output
    bad = CliRunner().invoke(cli, [*base[:-1], str(out["c5w2_emojify_v2"][2]) + ".missing", "hi"])
    assert bad.exit_code == 1 and "does not exist" in bad.output
