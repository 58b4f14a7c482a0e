"""Integration fixtures: a smoke-profile copy of the project reproduced with the real DVC (and so
the real Ray), a real TorchServe serving its archive on free ports, and an S3-compatible endpoint."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import psutil
import pytest
import yaml

from pipelines.params import load_params
from pipelines.serving.server import free_ports
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def project_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("RAY_ADDRESS", None)  # always a local Ray in tests
    return env


def sh(*cmd, cwd, timeout=900, check=True, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env or project_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def copy_project(dest: Path, profile: str = "smoke") -> Path:
    """The project's files (tracked and new, not ignored) in ``dest``, with ``profile`` merged into
    params.yaml, as a fresh git repository: what a user's clone looks like."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    params = load_params(ROOT / "params.yaml", profile=profile)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True)
    return dest


class RayCluster:
    """A Ray cluster of ``nodes`` ``ray start`` processes on this machine (a head, then nodes joining it),
    ``cpus`` CPUs each, in its own temp dir, token auth on; stopped by killing exactly its own processes
    (``ray stop`` would stop every Ray on the machine). ``env`` plus ``driver_env`` is what a driver needs
    to join it with ``ray.init()``, as ``dlzoo train`` does when ``RAY_ADDRESS`` is set."""

    def __init__(self, env: dict, nodes: int = 1, cpus: int = 1, object_store_mb: int = 100):
        self.temp_dir = tempfile.mkdtemp(prefix="dlzoo-ray-", dir="/tmp")  # short: Ray's socket paths
        self.nodes_wanted, self.cpus, self.object_store_mb = nodes, cpus, object_store_mb
        ports = free_ports(2 + nodes * (7 + 40))
        self.gcs_port, self.dashboard_port = ports[0], ports[1]
        self.node_ports = [ports[2 + 7 * i:9 + 7 * i] for i in range(nodes)]
        rest = ports[2 + 7 * nodes:]
        self.worker_ports = [rest[40 * i:40 * (i + 1)] for i in range(nodes)]
        self.env = {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": os.urandom(16).hex(),
                    "RAY_USAGE_STATS_ENABLED": "0"}
        self.env.pop("RAY_ADDRESS", None)

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def driver_env(self) -> dict:
        """The environment of a driver that joins this cluster (the GCS address, as inside a Ray job)."""
        return {**self.env, "RAY_ADDRESS": f"127.0.0.1:{self.gcs_port}"}

    def ray(self, *args, timeout=120, check=True, env=None) -> subprocess.CompletedProcess:
        proc = subprocess.run(["ray", *args], env={**self.env, "RAY_ADDRESS": self.dashboard, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode:
            raise AssertionError(f"ray {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def _node_args(self, i: int) -> list[str]:
        manager, objects, agent, agent_grpc, metrics, runtime_env, client = self.node_ports[i]
        return ["--num-cpus", str(self.cpus), "--object-store-memory", str(self.object_store_mb * 2**20),
                "--node-ip-address", "127.0.0.1",
                "--node-manager-port", str(manager), "--object-manager-port", str(objects),
                "--dashboard-agent-listen-port", str(agent), "--dashboard-agent-grpc-port", str(agent_grpc),
                "--metrics-export-port", str(metrics), "--runtime-env-agent-port", str(runtime_env),
                "--worker-port-list", ",".join(map(str, self.worker_ports[i])), "--disable-usage-stats"]

    def start(self) -> None:
        head = ["ray", "start", "--head", "--port", str(self.gcs_port), "--temp-dir", self.temp_dir,
                "--dashboard-host", "127.0.0.1", "--dashboard-port", str(self.dashboard_port),
                "--ray-client-server-port", str(self.node_ports[0][6]), *self._node_args(0)]
        joining = [["ray", "start", "--address", f"127.0.0.1:{self.gcs_port}", *self._node_args(i)]
                   for i in range(1, self.nodes_wanted)]
        for cmd in (head, *joining):
            proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=180)
            assert proc.returncode == 0, f"{' '.join(cmd[:3])} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        deadline = time.monotonic() + 60
        while len(self.nodes()) < self.nodes_wanted:
            assert time.monotonic() < deadline, "not every node joined"
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


@pytest.fixture(scope="session")
def smoke_project(tmp_path_factory) -> Path:
    """A smoke copy of the project after a real `dvc repro` (data, Ray training, evaluation, package)."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    # One Ray for all its training stages, joined through RAY_ADDRESS as on a cluster (the path `ray job submit`
    # and a user's own head take); it spares each trained model a Ray start of its own (a few seconds each).
    # One machine has no preemptible nodes: no preemption watcher, as the driver decides for a local Ray (the
    # nodes' environment, where Ray Train's controller runs, and the driver's).
    env = {**project_env(), "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0"}
    cluster = RayCluster(env, nodes=1, cpus=os.cpu_count() or 1, object_store_mb=512)
    try:
        cluster.start()
        proc = sh("dvc", "repro", cwd=project, env=cluster.driver_env, timeout=2400)
    finally:
        cluster.stop()
    (project / "repro.log").write_text(proc.stdout + proc.stderr)
    return project


@pytest.fixture(scope="session")
def served(smoke_project, tmp_path_factory):
    """TorchServe (token auth on) + the latency exporter serving the smoke archive on free ports."""
    from pipelines.serving.server import on_free_ports

    params = load_params(smoke_project / "params.yaml")
    server = on_free_ports(params, smoke_project / "model-store", tmp_path_factory.mktemp("serve"))
    server.config_template = ROOT / "deploy" / "torchserve" / "config.properties"
    server.start()
    yield server
    server.stop()


SNAPSHOT_FILE = "checkpoint_manager_snapshot.json"


def snapshot_checkpoints(texts) -> list:
    """Checkpoints listed in Ray Train controller snapshots (``SNAPSHOT_FILE`` contents). A checkpoint folder
    exists before the controller has registered the report that names it; only a listed one is resumed from.
    A snapshot being written (not valid JSON yet) lists nothing."""
    found = []
    for text in texts:
        try:
            found += json.loads(text).get("checkpoint_results", [])
        except ValueError:
            pass
    return found


@dataclass
class S3Endpoint:
    """An S3-compatible server (moto's server mode, as DVC's own tests use) with buckets ``buckets``.

    ``env`` is what every client needs, Ray's workers and DVC included: credentials and
    ``AWS_ENDPOINT_URL``, which botocore (DVC's s3fs) and pyarrow (Ray's storage) both read."""

    url: str
    env: dict
    buckets: tuple[str, ...]

    @cached_property
    def client(self):  # one client: tests poll the bucket in loops
        import boto3

        return boto3.client("s3", endpoint_url=self.url, **_credentials(self.env))

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def read(self, bucket: str, key: str) -> bytes:
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()


def _credentials(env: dict) -> dict:
    return {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
            "region_name": env["AWS_DEFAULT_REGION"]}


@pytest.fixture(scope="session")
def s3():
    import time

    import requests

    from pipelines.serving.server import free_port, tool

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"AWS_ACCESS_KEY_ID": "dlzoo-test", "AWS_SECRET_ACCESS_KEY": "dlzoo-test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": url}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url, timeout=2)
                break
            except requests.RequestException:
                assert proc.poll() is None and time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.2)
        endpoint = S3Endpoint(url, env, ("dlzoo-ray", "dlzoo-dvc"))
        for bucket in endpoint.buckets:
            endpoint.client.create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(20)
