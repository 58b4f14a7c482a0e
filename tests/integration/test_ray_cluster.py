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
import shutil
import signal
import subprocess
import tempfile
import time

import psutil
import pytest

from pipelines.serving.server import free_ports
from tests.integration.conftest import SNAPSHOT_FILE, project_env, snapshot_checkpoints

pytestmark = pytest.mark.integration

BUCKET = "dlzoo-ray"
PREFIX = "runs"
EPOCHS = 12


class TwoNodeCluster:
    """``ray start --head`` and ``ray start --address`` in their own temp dir, token auth on, stopped by
    killing exactly its own processes (``ray stop`` would stop every Ray on the machine)."""

    def __init__(self, env: dict):
        self.temp_dir = tempfile.mkdtemp(prefix="dlzoo-ray-", dir="/tmp")  # short: Ray's socket paths
        ports = free_ports(16 + 2 * 40)
        self.gcs_port, self.dashboard_port = ports[0], ports[1]
        self.node_ports = [ports[2:9], ports[9:16]]
        self.worker_ports = [ports[16:56], ports[56:96]]
        self.env = {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": os.urandom(16).hex(),
                    "RAY_USAGE_STATS_ENABLED": "0"}
        self.env.pop("RAY_ADDRESS", None)

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def ray(self, *args, timeout=120, check=True, env=None) -> subprocess.CompletedProcess:
        proc = subprocess.run(["ray", *args], env={**self.env, "RAY_ADDRESS": self.dashboard, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode:
            raise AssertionError(f"ray {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def _node_args(self, i: int) -> list[str]:
        manager, objects, agent, agent_grpc, metrics, runtime_env, client = self.node_ports[i]
        return ["--num-cpus", "1", "--object-store-memory", str(100 * 2**20), "--node-ip-address", "127.0.0.1",
                "--node-manager-port", str(manager), "--object-manager-port", str(objects),
                "--dashboard-agent-listen-port", str(agent), "--dashboard-agent-grpc-port", str(agent_grpc),
                "--metrics-export-port", str(metrics), "--runtime-env-agent-port", str(runtime_env),
                "--worker-port-list", ",".join(map(str, self.worker_ports[i])), "--disable-usage-stats"]

    def start(self) -> None:
        env = {k: v for k, v in self.env.items() if k != "RAY_ADDRESS"}
        head = ["ray", "start", "--head", "--port", str(self.gcs_port), "--temp-dir", self.temp_dir,
                "--dashboard-host", "127.0.0.1", "--dashboard-port", str(self.dashboard_port),
                "--ray-client-server-port", str(self.node_ports[0][6]), *self._node_args(0)]
        second = ["ray", "start", "--address", f"127.0.0.1:{self.gcs_port}", *self._node_args(1)]
        for cmd in (head, second):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
            assert proc.returncode == 0, f"{' '.join(cmd[:3])} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        deadline = time.monotonic() + 60
        while len(self.nodes()) < 2:
            assert time.monotonic() < deadline, "the second node never joined"
            time.sleep(1)

    def nodes(self) -> list[dict]:
        return self._listed("nodes", "--filter", "state=ALIVE")

    def train_workers(self) -> list[dict]:
        return self._listed("actors", "--detail", "--filter", "state=ALIVE", "--filter", "class_name=RayTrainWorker")

    def _listed(self, *args) -> list[dict]:
        """``ray list ... --format json``; empty while the state API has nothing (it prints a sentence)."""
        out = self.ray("list", *args, "--format", "json", check=False)
        try:
            return json.loads(out.stdout) if out.returncode == 0 else []
        except ValueError:
            return []

    def stop(self) -> None:
        """SIGKILL every process of this cluster: those started with its temp dir or its GCS address, and
        the workers their raylets forked."""
        marks = (self.temp_dir, f"127.0.0.1:{self.gcs_port}")
        mine = []
        for p in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(p.info["cmdline"] or [])
            if any(mark in cmdline for mark in marks) and p.pid != os.getpid():
                mine.append(p)
        for p in list(mine):
            try:
                mine += p.children(recursive=True)
            except psutil.NoSuchProcess:
                pass
        for p in mine:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(mine, timeout=20)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@pytest.fixture
def cluster(s3):
    env = {**project_env(), **s3.env}
    cluster = TwoNodeCluster(env)
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
