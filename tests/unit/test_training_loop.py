"""The per-worker loop without Ray: reports, checkpoints, resume after a crash; run naming."""

import copy

import pytest
import torch

from pipelines.training.artifacts import load_model, write_artifacts
from pipelines.training.driver import run_name, source_fingerprint
from pipelines.training.loop import train_loop_per_worker
from pipelines.training.session import LocalSession


class CrashAfter(LocalSession):
    """A session whose process 'dies' right after the n-th checkpoint is written."""

    def __init__(self, run_dir, n):
        super().__init__(run_dir, "cpu")
        self.n, self.reports = n, 0

    def report(self, metrics, state):
        super().report(metrics, state)
        self.reports += 1
        if self.reports == self.n:
            raise SystemExit("simulated crash")


def config(smoke_params, data, epochs):
    params = copy.deepcopy(smoke_params["translation"])
    params["train"]["epochs"] = epochs
    return {"model": "translation", "params": params, "data_dir": str(data), "threads": 1}


def test_crash_then_rerun_resumes_from_the_last_checkpoint(smoke_params, smoke_data, tmp_path):
    cfg = config(smoke_params, smoke_data, epochs=3)
    with pytest.raises(SystemExit):
        train_loop_per_worker(cfg, CrashAfter(tmp_path, 2))
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["epoch"] == 1
    session = LocalSession(tmp_path, "cpu")
    train_loop_per_worker(cfg, session)
    state = session.load_checkpoint()
    assert [row["epoch"] for row in state["history"]] == [0, 1, 2]
    assert state["resumed_at"] == [2]
    assert set(state) >= {"model", "optimizer", "scheduler", "epoch", "params"}

    metrics = write_artifacts(tmp_path / "artifacts", state, "run-x")
    assert metrics["train"]["epochs"] == 3 and metrics["train"]["resumed_at_epochs"] == [2]
    assert (tmp_path / "artifacts" / "history.csv").read_text().count("\n") == 4
    model, bundle = load_model(tmp_path / "artifacts" / "model.pt")
    assert bundle["run"] == "run-x" and not model.training


def test_same_seed_same_weights(smoke_params, smoke_data, tmp_path):
    cfg = config(smoke_params, smoke_data, epochs=1)
    states = []
    for name in ("a", "b"):
        session = LocalSession(tmp_path / name, "cpu")
        train_loop_per_worker(cfg, session)
        states.append(session.load_checkpoint()["model"])
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key


def test_run_name_changes_with_params_and_data(smoke_params, smoke_data, tmp_path):
    params, ray_cfg = smoke_params["translation"], smoke_params["ray"]
    base = run_name("translation", params, ray_cfg, smoke_data)
    assert base == run_name("translation", copy.deepcopy(params), ray_cfg, smoke_data)
    changed = copy.deepcopy(params)
    changed["train"]["lr"] *= 2
    assert run_name("translation", changed, ray_cfg, smoke_data) != base
    assert run_name("translation", params, dict(ray_cfg, num_workers=2), smoke_data) != base
    other = tmp_path / "data"
    other.mkdir()
    for f in smoke_data.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    assert run_name("translation", params, ray_cfg, other) == base
    (other / "train.tsv").write_text((other / "train.tsv").read_text() + "1 may 1990\t1990-05-01\tx\n")
    assert run_name("translation", params, ray_cfg, other) != base


def test_source_fingerprint_follows_the_code(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "notes.txt").write_text("not code")
    before = source_fingerprint(pkg)
    (pkg / "notes.txt").write_text("still not code")
    assert source_fingerprint(pkg) == before
    (pkg / "a.py").write_text("x = 2\n")
    assert source_fingerprint(pkg) != before
