"""`dvc repro` of the smoke profile in a fresh copy: every stage runs, a second repro is a no-op,
metrics/plots/push/pull work with the default local remote."""

import json
import shutil

import pytest

from tests.integration.conftest import sh

pytestmark = pytest.mark.integration


def test_repro_builds_every_output(smoke_project):
    for rel in ("data/translation/train.tsv", "data/translation/unseen_formats.tsv",
                "artifacts/translation/model.pt", "artifacts/translation/history.csv",
                "reports/translation/metrics.json", "model-store/translation.mar", "reports/scoreboard.md",
                "data/detection/annotations/instances_test.json", "artifacts/detection/model.pt",
                "reports/detection/metrics.json", "model-store/detection.mar"):
        assert (smoke_project / rel).is_file(), rel
    log = (smoke_project / "repro.log").read_text()
    assert "Running stage 'train_translation'" in log and "[dlzoo] training translation" in log
    assert "[dlzoo] training detection" in log
    scoreboard = (smoke_project / "reports/scoreboard.md").read_text()
    assert "| translation | C5W3 |" in scoreboard and "| detection | C4W3 |" in scoreboard


def test_second_repro_is_a_noop(smoke_project):
    proc = sh("dvc", "repro", cwd=smoke_project)
    assert "Running stage" not in proc.stdout
    assert "Data and pipelines are up to date" in proc.stdout + proc.stderr


def test_metrics_and_plots(smoke_project, tmp_path):
    metrics = json.loads(sh("dvc", "metrics", "show", "--json", cwd=smoke_project).stdout)
    data = json.dumps(metrics)
    for key in ("exact_match", "unseen_formats", "bleu", "char_accuracy"):
        assert key in data
    report = json.loads((smoke_project / "reports/translation/metrics.json").read_text())
    assert set(report) == {"test", "unseen_formats"}
    assert 0.0 <= report["test"]["exact_match"] <= 1.0
    detection = json.loads((smoke_project / "reports/detection/metrics.json").read_text())
    assert set(detection) == {"test", "new_scenes"}  # new_scenes: photos never used in training
    assert all(0.0 <= split["map50"] <= 1.0 and split["images"] == 10 for split in detection.values())
    sh("dvc", "plots", "show", "-o", str(tmp_path / "plots"), cwd=smoke_project)
    assert (tmp_path / "plots" / "index.html").is_file()


def test_push_then_pull_restores_outputs(smoke_project):
    sh("dvc", "push", cwd=smoke_project)
    model = smoke_project / "artifacts/translation/model.pt"
    original = model.read_bytes()
    model.unlink()
    shutil.rmtree(smoke_project / ".dvc" / "cache")
    sh("dvc", "pull", cwd=smoke_project)
    assert model.read_bytes() == original
