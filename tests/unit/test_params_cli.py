"""Params merging/overrides, the registry, the CLI's errors and the scoreboard."""

import json

import pytest
from click.testing import CliRunner

from pipelines import registry
from pipelines.cli import cli
from pipelines.evaluation.scoreboard import write_scoreboard
from pipelines.params import deep_merge, load_params, parse_override
from tests.conftest import ROOT


def test_deep_merge_and_override():
    base = {"a": {"b": 1, "c": 2}, "d": 3}
    assert deep_merge(base, {"a": {"b": 5}}) == {"a": {"b": 5, "c": 2}, "d": 3}
    assert base["a"]["b"] == 1
    assert parse_override("x.y=[1, 2]") == {"x": {"y": [1, 2]}}
    with pytest.raises(ValueError):
        parse_override("novalue")


def test_smoke_profile_is_merged_explicitly():
    default = load_params(ROOT / "params.yaml")
    smoke = load_params(ROOT / "params.yaml", profile="smoke", overrides=["translation.train.lr=0.5"])
    assert smoke["data_translation"]["n_train"] < default["data_translation"]["n_train"]
    assert smoke["translation"]["train"]["lr"] == 0.5
    assert smoke["translation"]["model"]["tx"] == default["translation"]["model"]["tx"]
    with pytest.raises(FileNotFoundError, match="known"):
        load_params(ROOT / "params.yaml", profile="nope")


def test_every_registered_model_has_a_task_and_service_handler():
    from pipelines.tasks.base import Task

    for spec in registry.MODELS.values():
        cls = spec.task_class()
        assert issubclass(cls, Task)
        # a task class is named after its model, unless it backs several (the loop names each run's task)
        assert cls.name == spec.name or sum(s.task == spec.task for s in registry.MODELS.values()) > 1, spec.name
        if spec.service:
            assert (ROOT / "services" / f"{spec.service}.py").is_file()


def invoke(*args):
    return CliRunner().invoke(cli, ["--params", str(ROOT / "params.yaml"), *args])


def test_cli_list_and_errors(tmp_path):
    result = invoke("list")
    assert result.exit_code == 0 and "C5W3" in result.output and "translation" in result.output
    result = invoke("train", "no_such_model")
    assert result.exit_code != 0 and "unknown model 'no_such_model'" in result.output
    result = invoke("evaluate", "translation", "--model-file", str(tmp_path / "missing.pt"))
    assert result.exit_code != 0 and "missing.pt" in result.output
    result = invoke("data", "nope")
    assert result.exit_code != 0 and "unknown dataset" in result.output
    result = invoke("--set", "bad", "list")
    assert result.exit_code != 0 and "KEY=VALUE" in result.output
    # a data writer's complaint about its params is the message, without a traceback
    result = invoke("--set", "data_smiles.pose_spread=2", "data", "smiles", "--out", str(tmp_path / "smiles"))
    assert result.exit_code == 1 and "Error: data_smiles.pose_spread: 2" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "smiles").exists()


def test_cli_data_writes_tsv(tmp_path):
    result = invoke("--profile", "smoke", "data", "translation", "--seed", "5", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "unseen_formats.tsv").read_text().startswith("source\ttarget\tfamily\n")


def test_scoreboard_lists_models_with_or_without_metrics(tmp_path):
    (tmp_path / "reports" / "translation").mkdir(parents=True)
    (tmp_path / "reports" / "translation" / "metrics.json").write_text(json.dumps(
        {"test": {"exact_match": 0.995, "bleu": 99.9}, "unseen_formats": {"exact_match": 0.97},
         "not_dates": {"refusal_rate": 0.98}}))
    text = write_scoreboard(tmp_path / "sb.md", tmp_path / "reports")
    assert "| translation | C5W3 | test.exact_match |" in text
    assert "0.9950 (unseen_formats.exact_match 0.9700, test.bleu 99.9000, not_dates.refusal_rate 0.9800)" in text
    text = write_scoreboard(tmp_path / "sb.md", tmp_path / "none")
    assert "not evaluated" in text


def test_cli_data_backgrounds_option(tmp_path):
    import shutil

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("fruits.jpg", "apple.jpg", "baboon.jpg", "building.jpg", "board.jpg"):
        shutil.copy(f"/usr/share/doc/opencv-doc/examples/data/{name}", photos / name)
    out = tmp_path / "det"
    result = invoke("--set", "data_detection.n_train=4", "--set", "data_detection.n_dev=2", "--set",
                    "data_detection.n_test=2", "--set", "data_detection.n_new_scenes=2", "data", "detection",
                    "--backgrounds", str(photos), "--out", str(out))
    assert result.exit_code == 0, result.output
    used = {img["background"] for split in ("train", "dev", "test", "new_scenes")
            for img in json.loads((out / "annotations" / f"instances_{split}.json").read_text())["images"]}
    assert used <= {p.name for p in photos.iterdir()}
    bad = invoke("data", "detection", "--backgrounds", str(tmp_path / "nowhere"))
    assert bad.exit_code != 0 and "--backgrounds" in bad.output and "not a directory" in bad.output
    wrong = invoke("data", "translation", "--positives", str(photos))
    assert wrong.exit_code != 0 and "takes no --positives" in wrong.output
