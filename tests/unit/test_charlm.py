"""C5W1's character-level language model: the names data, the course's inputs (x<1> = 0), the loss, seeded
temperature sampling, the held-out evaluation and `dlzoo generate charlm` (trained through the driver's loop on
a few names, in-process)."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.data import names
from pipelines.models.charlm import ALPHABET, END, START, CharLM, decode, encode
from pipelines.tasks.charlm import IGNORE, CharLMTask, collate_names, trigrams
from pipelines.training.artifacts import load_model
from tests.conftest import train_here

ROOT = Path(__file__).resolve().parents[2]


def test_the_splits_are_disjoint_lower_case_and_the_same_seed_gives_the_same_files(smoke_params, tmp_path):
    params = {**smoke_params["data_names"], "parts": ["first_names", "last_names"]}
    counts = names.write_dataset(params, tmp_path / "a")
    splits = {split: names.read_split(tmp_path / "a", split) for split in names.SPLITS}
    assert {k: len(v) for k, v in splits.items()} == counts and counts["test"] == round(0.1 * sum(counts.values()))
    assert not set(splits["train"]) & set(splits["test"]) and not set(splits["train"]) & set(splits["dev"])
    assert sum(counts.values()) == len(names.source_names(["en_US"], ["first_names", "last_names"])) > 1500
    names.write_dataset(params, tmp_path / "b")
    assert (tmp_path / "a/test.txt").read_bytes() == (tmp_path / "b/test.txt").read_bytes()
    names.write_dataset(params, tmp_path / "c", seed=9)
    assert (tmp_path / "a/test.txt").read_bytes() != (tmp_path / "c/test.txt").read_bytes()
    with pytest.raises(ValueError, match="no person provider 'xx_YY'"):
        names.source_names(["xx_YY"], ["first_names"])
    (tmp_path / "a/dev.txt").write_text("anna\nO'Brien\n")
    with pytest.raises(ValueError, match="dev.txt: names must be lower-case a-z"):
        names.read_split(tmp_path / "a", "dev")


def test_inputs_start_from_the_zero_vector_and_targets_end_with_newline():
    assert decode(encode("zoe")) == "zoe" and ALPHABET[END] == "\n"
    x, y = collate_names([encode("al"), encode("bea")])
    assert x.tolist() == [[START, 1, 12, END], [START, 2, 5, 1]]
    assert y.tolist() == [[1, 12, END, IGNORE], [2, 5, 1, END]]
    model = CharLM("rnn", 8)
    with torch.no_grad():  # START's one-hot is zeros: the first step sees only the biases, as the notebook's x<1> = 0
        h0 = torch.tanh(model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0)
        expected = model.out(h0)
        assert torch.allclose(model(torch.tensor([[START]]))[0][0, 0], expected, atol=1e-6)


def test_sampling_is_seeded_and_temperature_sharpens(tmp_path):
    torch.manual_seed(0)
    model = CharLM("lstm", 16)
    with torch.no_grad():  # "a" one logit ahead of every other character, whatever the state
        model.out.weight.mul_(0.1)
        model.out.bias.zero_()
        model.out.bias[ALPHABET.index("a")] = 1.0
    draw = lambda t, seed: model.sample(200, t, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    assert draw(1.0, 3) == draw(1.0, 3) and draw(1.0, 3) != draw(1.0, 4)
    assert all(set(name) <= set(ALPHABET[1:]) and len(name) <= 50 for name in draw(1.0, 3))
    # a cold softmax keeps to the most likely first letter; a hot one spreads out
    top_share = lambda drawn: Counter(name[:1] for name in drawn).most_common(1)[0][1] / len(drawn)  # noqa: E731
    assert top_share(draw(0.01, 1)) > 0.95 and top_share(draw(3.0, 1)) < 0.2
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.sample(1, 0.0)
    assert trigrams("al") == {"^^a", "^al", "al$"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, smoke_params):
    """The LSTM trained for a few epochs by the driver's loop on the smoke profile's names."""
    tmp = tmp_path_factory.mktemp("charlm")
    names.write_dataset(smoke_params["data_names"], tmp / "data")
    params = copy.deepcopy(smoke_params["c5w1_charlm_lstm"])
    params["train"]["epochs"] = 8
    state, _ = train_here("c5w1_charlm_lstm", params, tmp / "data", tmp)
    return tmp, params, state


def test_training_lowers_the_held_out_loss_and_evaluation_scores_samples(trained):
    tmp, params, state = trained
    history = state["history"]
    assert history[-1]["dev_loss_per_char"] < history[0]["dev_loss_per_char"] < 3.3  # log(27) = 3.30: uniform
    model, bundle = load_model(tmp / "artifacts/model.pt")
    metrics, details = CharLMTask(params, bundle["meta"]).evaluate(model, tmp / "data")
    test = metrics["test"]
    assert test["n"] == len(names.read_split(tmp / "data", "test"))
    assert test["perplexity"] == pytest.approx(torch.tensor(test["loss_per_char"]).exp().item(), rel=1e-6)
    assert test["loss_per_name"] > test["loss_per_char"]
    samples = metrics["samples"]
    assert samples["n"] == len(details["samples"]) == params["evaluate"]["samples"]
    assert 0 <= samples["plausible"] <= 1 and 0 < samples["plausible_reference"] <= 1 and samples["new"] > 0
    with pytest.raises(FileNotFoundError, match="no held-out names"):
        CharLMTask(params, bundle["meta"]).evaluate(model, tmp / "run")


def test_generate_prints_names_and_names_what_is_wrong(trained):
    tmp, _, _ = trained
    model_file = str(tmp / "artifacts/model.pt")
    base = ["--params", str(ROOT / "params.yaml"), "generate", "charlm", "--model-file", model_file]
    result = CliRunner().invoke(cli, [*base, "--n", "7", "--temperature", "0.8", "--seed", "2"])
    assert result.exit_code == 0, result.output
    drawn = result.stdout.splitlines()
    assert len(drawn) == 7 and all(set(name) <= set(ALPHABET[1:]) for name in drawn)
    assert CliRunner().invoke(cli, [*base, "--n", "7", "--seed", "2"]).stdout.splitlines() == drawn
    bad = CliRunner().invoke(cli, [*base, "--temperature", "0"])
    assert bad.exit_code == 2 and "--temperature" in bad.output
    bad = CliRunner().invoke(cli, [*base, "--model", "c4w3_unet"])
    assert bad.exit_code == 1 and "c4w3_unet is not one of the charlm models" in bad.output
    bad = CliRunner().invoke(cli, [*base[:-1], str(tmp / "missing.pt")])
    assert bad.exit_code == 1 and "missing.pt does not exist" in bad.output
