"""`dlzoo train` through real Ray Train: 2-worker DDP, a killed worker resumed from its last
checkpoint, and a fresh run after a params change."""

import csv
import json
import subprocess
import time

import psutil
import pytest

from tests.integration.conftest import SNAPSHOT_FILE, project_env, sh, snapshot_checkpoints

pytestmark = pytest.mark.integration


def history(out):
    with (out / "history.csv").open() as f:
        return list(csv.DictReader(f))


def test_two_workers_train_with_ddp(smoke_project, tmp_path):
    out = tmp_path / "art"
    proc = sh("dlzoo", "train", "translation", "--workers", "2", "--out", str(out), cwd=smoke_project)
    assert "2 worker(s) x 1 CPU" in proc.stdout
    rows = history(out)
    assert rows and {row["workers"] for row in rows} == {"2"}
    assert (out / "model.pt").is_file()


def ray_train_workers(driver_pid):
    """The Ray Train worker processes started by this driver (its local Ray's raylet forks them)."""
    children = psutil.Process(driver_pid).children(recursive=True)
    return [p for p in children if " ".join(p.cmdline()).startswith("ray::RayTrainWorker")]


def registered_checkpoints(storage):
    """Checkpoints the Ray Train controller has registered (its snapshot file), for any run in storage."""
    return snapshot_checkpoints(snapshot.read_text() for snapshot in storage.glob(f"*/{SNAPSHOT_FILE}"))


def test_killed_worker_resumes_and_params_change_starts_fresh(smoke_project, tmp_path):
    out = tmp_path / "art"
    storage = tmp_path / "ray"
    args = ["dlzoo", "--set", f"ray.storage_path={storage}", "--set", "ray.max_failures=2",
            "train", "translation", "--epochs", "12", "--out", str(out)]
    proc = subprocess.Popen(args, cwd=smoke_project, env=project_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        # A checkpoint folder exists before the controller has collected the report that names it:
        # wait until the controller's snapshot lists one, so a restarted group must resume from it.
        while not registered_checkpoints(storage):
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint was registered"
            time.sleep(0.1)
        workers = ray_train_workers(proc.pid)
        assert workers, "no Ray Train worker process found"
        for w in workers:
            w.kill()  # SIGKILL mid-run, after at least one checkpoint
        output, _ = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output[-4000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train"]["resumed_at_epochs"], f"the retried worker group did not resume:\n{output[-3000:]}"
    assert metrics["train"]["resumed_at_epochs"][0] >= 1
    assert [int(r["epoch"]) for r in history(out)] == list(range(12))
    assert "resuming translation from the checkpoint of epoch" in output
    first_run = metrics["run"]

    # Changed params: a new run name, trained from scratch (no resume).
    out2 = tmp_path / "art2"
    proc = sh("dlzoo", "--set", f"ray.storage_path={storage}", "--set", "translation.train.lr=0.002",
              "train", "translation", "--epochs", "12", "--out", str(out2), cwd=smoke_project)
    metrics2 = json.loads((out2 / "metrics.json").read_text())
    assert metrics2["run"] != first_run and metrics2["train"]["resumed_at_epochs"] == []
    assert "resuming" not in proc.stdout
    assert [int(r["epoch"]) for r in history(out2)] == list(range(12))
