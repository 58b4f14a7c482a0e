"""Integration fixtures: a smoke-profile copy of the project reproduced with the real DVC (and so
the real Ray), a real TorchServe serving its archive on free ports, and an S3-compatible endpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest
import yaml

from pipelines.params import load_params
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def project_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("RAY_ADDRESS", None)  # always a local Ray in tests
    return env


def sh(*cmd, cwd, timeout=900, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=project_env(), capture_output=True, text=True, timeout=timeout)
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


@pytest.fixture(scope="session")
def smoke_project(tmp_path_factory) -> Path:
    """A smoke copy of the project after a real `dvc repro` (data, Ray training, evaluation, package)."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    proc = sh("dvc", "repro", cwd=project)
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
