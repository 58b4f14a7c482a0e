"""A real two-node Ray cluster with its run storage on S3: ``dlzoo train`` submitted with ``ray job submit``
(token auth on), one worker per node, one node's worker SIGKILLed mid-run, the run resumed from the
checkpoint in S3.

Both nodes are ``ray start`` processes on this machine (a head and a second node joining it, one CPU each,
so the two 1-CPU training workers must land on different nodes); S3 is moto's server. What a real
cluster adds is separate machines: the same commands with the head's address, and the data on a path
every node sees (README, "Training on Ray").
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time

import pytest

from tests.integration.conftest import SNAPSHOT_FILE, RayCluster, project_env, snapshot_checkpoints

pytestmark = pytest.mark.integration

BUCKET = "dlzoo-ray"
PREFIX = "runs"
EPOCHS = 12


@pytest.fixture
def cluster(s3):
    env = {**project_env(), **s3.env}
    cluster = RayCluster(env, nodes=2, cpus=1)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def registered_checkpoints(s3, run_prefix: str) -> list:
    """Checkpoints the Ray Train controller has registered in S3."""
    return snapshot_checkpoints(s3.read(BUCKET, key) for key in s3.keys(BUCKET, run_prefix)
                                if key.endswith(SNAPSHOT_FILE))


def test_two_node_training_on_s3_storage_resumes_after_a_node_loses_its_worker(cluster, s3, smoke_project,
                                                                               tmp_path):
    # token auth is on: a client with another token is refused
    refused = cluster.ray("job", "list", check=False, env={"RAY_AUTH_TOKEN": "not-the-token"})
    assert refused.returncode != 0

    out = tmp_path / "art"
    storage = f"s3://{BUCKET}/{PREFIX}"
    entrypoint = (f"dlzoo --params {smoke_project / 'params.yaml'} --set ray.storage_path={storage} "
                  f"--set ray.num_workers=2 --set ray.cpus_per_worker=1 --set ray.max_failures=2 "
                  f"train translation --epochs {EPOCHS} --data {smoke_project / 'data/translation'} --out {out}")
    job = subprocess.Popen(["ray", "job", "submit", "--", *entrypoint.split()],
                           env={**cluster.env, "RAY_ADDRESS": cluster.dashboard},
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        workers = []
        while len(workers) < 2:
            assert job.poll() is None and time.monotonic() < deadline, "the job never had 2 training workers"
            workers = cluster.train_workers()
            time.sleep(1)
        assert len({w["node_id"] for w in workers}) == 2, f"both workers on one node: {workers}"

        while not registered_checkpoints(s3, PREFIX):
            assert job.poll() is None and time.monotonic() < deadline, "no checkpoint was registered in S3"
            time.sleep(0.5)
        head = next(n["node_id"] for n in cluster.nodes() if n["is_head_node"])
        victim = next(w for w in cluster.train_workers() if w["node_id"] != head)
        os.kill(int(victim["pid"]), signal.SIGKILL)  # the second node's worker, mid-run

        output, _ = job.communicate(timeout=500)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, output[-5000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train"]["resumed_at_epochs"], f"the retried worker group did not resume:\n{output[-4000:]}"
    assert "resuming translation from the checkpoint of epoch" in output
    with (out / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == list(range(EPOCHS))
    assert {row["workers"] for row in rows} == {"2"}
    # the run's checkpoints live in S3, nowhere on local disk
    run = metrics["run"]
    assert any("/checkpoint_" in key for key in s3.keys(BUCKET, f"{PREFIX}/{run}/"))
