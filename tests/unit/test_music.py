"""C5W1's music generation: the chorale tokens (melody, transposition, whole tunes held out), reading tokens back
as notes, the Markov reference, MIDI out, and the LSTM trained by the driver's loop (in-process) with its
evaluation and `dlzoo generate music`."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.data import music
from pipelines.tasks.music import SCALE, Markov, MusicTask, build_vocab, read_notes, shape, to_midi
from pipelines.training.artifacts import load_model
from tests.conftest import train_here

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chorales(tmp_path_factory, smoke_params) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("music") / "data"
    params = {**smoke_params["data_music"], "max_pieces": 40}
    music.write_dataset(params, out)
    return out, params


def test_pieces_are_well_formed_melodies_in_c_or_a_and_no_tune_is_in_two_splits(chorales, tmp_path):
    data, params = chorales
    splits = {split: music.read_split(data, split) for split in music.SPLITS}
    assert all(splits.values()) and sum(map(len, splits.values())) > 25
    tunes = {split: {music.tune(tokens, params["tune_prefix"]) for _, tokens in pieces}
             for split, pieces in splits.items()}
    assert not tunes["train"] & tunes["test"] and not tunes["train"] & tunes["dev"] and not tunes["dev"] & tunes["test"]
    for pieces in splits.values():
        for name, tokens in pieces:
            mode, notes, stray = read_notes(tokens)
            assert mode in SCALE and stray == 0 and len(notes) > 10, name
            sung = [n["pitch"] for n in notes if n["pitch"] is not None]
            # moved to C major / A minor: nearly every note is on that scale, and it stays in a singer's range
            assert sum(p % 12 in SCALE[mode] for p in sung) / len(sung) > 0.9, name
            assert 55 <= min(sung) and max(sung) <= 86, name
    music.write_dataset(params, tmp_path / "again")
    assert all((tmp_path / "again" / f"{s}.txt").read_bytes() == (data / f"{s}.txt").read_bytes() for s in music.SPLITS)
    with pytest.raises(FileNotFoundError, match="dlzoo data music"):
        music.read_split(tmp_path, "train")
    with pytest.raises(ValueError, match="data_music.composer"):
        music.write_dataset({**params, "composer": "nobody-at-all"}, tmp_path / "none")


def test_reading_tokens_counts_what_does_not_fit_and_shares_measure_bars_and_scale():
    mode, notes, stray = read_notes(["mode:major", "|", "p:60", "d:1", "fermata", "p:rest", "d:3", "|", "p:61", "d:4"])
    assert (mode, stray) == ("major", 0)
    assert [(n["pitch"], n["quarters"], n["fermata"], n["bar"]) for n in notes] == [
        (60, 1.0, True, 1), (None, 3.0, False, 1), (61, 4.0, False, 2)]
    # no mode, a second fermata, a duration alone, a bad pitch, a pitch without its duration
    _, notes, stray = read_notes(["p:60", "d:1", "fermata", "fermata", "d:2", "|", "p:x", "d:1", "p:62"])
    assert len(notes) == 1 and stray == 6
    assert read_notes(["fermata", "d:1", "p:60"]) == (None, [], 4)  # nothing to hold: no mode, three strays
    bar = ["|", "p:60", "d:2", "p:62", "d:2"]
    full = ["mode:major", "|", "p:67", "d:1", *bar, *bar, "|", "p:60", "d:3", "fermata"]
    short = ["mode:major", "|", "p:67", "d:1", *bar, "|", "p:61", "d:1", *bar, "|", "p:60", "d:3"]
    shares = shape([full, short])
    assert shares["well_formed"] == 1.0 and shares["ends_on_fermata"] == 0.5
    assert shares["full_bars"] == pytest.approx(4 / 5)  # inner bars only: the pickup and the last are not counted
    assert shares["in_scale"] == pytest.approx(12 / 13)  # C sharp is off C major's scale


def test_the_markov_reference_is_a_distribution_and_learns_repetition():
    pieces = [[2, 3, 2, 3, 2, 3]] * 5
    chain = Markov(pieces, order=1, k=0.1, vocab=4)
    for history in [(-1,), (2,), (3,)]:
        total = sum((chain.counts[history, t] + chain.k) / (chain.totals[history] + chain.k * 4) for t in range(4))
        assert total == pytest.approx(1.0)
    assert chain.loss_per_token(pieces) < Markov(pieces, order=1, k=0.1, vocab=4).loss_per_token([[3, 3, 2, 2]])
    assert build_vocab([["a", "b", "b"]], min_count=2) == ["<end>", "<unk>", "b"]


def test_midi_out_holds_the_notes(tmp_path):
    from music21 import converter

    tokens = ["mode:minor", "|", "p:69", "d:1", "p:rest", "d:1", "p:71", "d:2", "fermata", "|", "p:72", "d:4"]
    data = to_midi(tokens)
    assert data[:4] == b"MThd" and to_midi(tokens) == data
    (tmp_path / "x.mid").write_bytes(data)
    back = converter.parse(tmp_path / "x.mid").flatten().notesAndRests
    assert [n.pitch.midi for n in back if n.isNote] == [69, 71, 72]
    assert math.isclose(sum(float(n.quarterLength) for n in back), 8.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, chorales, smoke_params):
    tmp = tmp_path_factory.mktemp("music_model")
    params = copy.deepcopy(smoke_params["c5w1_music_lstm"])
    params["train"]["epochs"] = 6
    state, model_file = train_here("c5w1_music_lstm", params, chorales[0], tmp)
    return tmp, params, state, model_file


def test_training_lowers_the_held_out_loss_and_evaluation_scores_against_the_markov_chain(trained, chorales):
    tmp, params, state, model_file = trained
    history = state["history"]
    assert history[-1]["dev_loss_per_token"] < history[0]["dev_loss_per_token"]
    model, bundle = load_model(model_file)
    task = MusicTask(params, bundle["meta"])
    assert history[0]["dev_loss_per_token"] < math.log(len(bundle["meta"]["vocab"]))  # better than uniform
    metrics, details = task.evaluate(model, chorales[0])
    test = metrics["test"]
    assert test["n"] == len(music.read_split(chorales[0], "test"))
    assert test["perplexity"] == pytest.approx(math.exp(test["loss_per_token"]), rel=1e-6)
    assert test["loss_per_note"] > test["loss_per_token"] and test["markov_loss_per_token"] > 0
    assert details["markov"]["order"] in (1, 2, 3, 4)
    samples = metrics["samples"]
    assert samples["n"] == params["evaluate"]["samples"] and samples["well_formed_reference"] == 1.0
    assert all(0.0 <= samples[k] <= 1.0 for k in ("well_formed", "full_bars", "in_scale", "ends_on_fermata"))
    files = task.reports(model, chorales[0], metrics)
    assert sorted(files) == [f"sample{i}.mid" for i in range(1, params["evaluate"]["midi_samples"] + 1)]
    assert all(data[:4] == b"MThd" for data in files.values())
    with pytest.raises(FileNotFoundError, match="no held-out pieces"):
        task.evaluate(model, tmp / "run")


def test_generate_music_writes_midi_and_names_what_is_missing(trained, tmp_path):
    model_file = str(trained[3])
    base = ["--params", str(ROOT / "params.yaml"), "generate", "music", "--model-file", model_file]
    result = CliRunner().invoke(cli, [*base, "--n", "2", "--seed", "3", "--out", str(tmp_path / "x.mid")])
    assert result.exit_code == 0, result.output
    assert [Path(item["out"]).name for item in json.loads(result.stdout)] == ["x-1.mid", "x-2.mid"]
    assert (tmp_path / "x-1.mid").read_bytes()[:4] == b"MThd"
    again = CliRunner().invoke(cli, [*base, "--n", "2", "--seed", "3", "--out", str(tmp_path / "y.mid")])
    assert (tmp_path / "y-2.mid").read_bytes() == (tmp_path / "x-2.mid").read_bytes()  # seeded
    assert again.exit_code == 0
    missing = CliRunner().invoke(cli, base)
    assert missing.exit_code != 0 and "needs --out" in missing.output
    other = CliRunner().invoke(cli, ["--params", str(ROOT / "params.yaml"), "generate", "charlm",
                                     "--model-file", model_file])
    assert other.exit_code != 0 and "not one of the charlm models" in other.output
