"""``dlzoo package <service>`` -> ``model-store/<service>.mar`` (torch-model-archiver).

The archive holds the handler, the trained ``model.pt``, ``service.json`` (the model's task class,
decode and input limits), ``model_config.yaml`` (dynamic batching, workers) and the project files the handler needs:
the import closure of the handler and of its model's task (``pipelines.imports``), so TorchServe runs
the very model code training used, and a change to another model's code leaves this archive alone.
The archive version is the hash of the weights.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from pipelines import registry
from pipelines.imports import closure
from pipelines.serving.server import tool
from pipelines.training.artifacts import file_hash

ROOT = Path(__file__).resolve().parents[2]


def archive_entries(spec: registry.ModelSpec) -> list[str]:
    """The modules a service's ``.mar`` must carry: its handler and its model's task (loaded by name)."""
    return [f"services.{spec.service}", spec.task_module]


def archive_files(spec: registry.ModelSpec) -> list[str]:
    """Project files (relative to the root) copied into the service's ``.mar``."""
    return closure(archive_entries(spec))


# serve.services.<name> keys that go to TorchServe (model_config.yaml); the rest go to the handler.
TORCHSERVE_KEYS = ("workers", "batch_size", "max_batch_delay_ms", "timeout_s")


def service_config(service: str, params: dict) -> dict:
    """The handler's ``service.json``: its input limits and threads, plus the model's decode settings."""
    spec = registry.services()[service]
    model = spec.name
    svc = params["serve"]["services"][service]
    return {"service": service, "task": spec.task, **{k: v for k, v in svc.items() if k not in TORCHSERVE_KEYS},
            **({"decode": params[model]["decode"]} if "decode" in params[model] else {})}


def model_config(svc: dict) -> dict:
    """TorchServe's per-model config (read from the .mar at start)."""
    return {
        "minWorkers": svc["workers"], "maxWorkers": svc["workers"],
        "batchSize": svc["batch_size"], "maxBatchDelay": svc["max_batch_delay_ms"],
        "responseTimeout": svc["timeout_s"],
    }


def package(service: str, params: dict, model_file: Path | None, store: Path) -> Path:
    """Build ``store/<service>.mar``; returns its path."""
    services = registry.services()
    if service not in services:
        raise KeyError(f"unknown service {service!r}; services: {', '.join(sorted(services))}")
    spec = services[service]
    model_file = Path(model_file or f"artifacts/{spec.name}/model.pt")
    if not model_file.is_file():
        raise FileNotFoundError(f"{model_file} does not exist: train {spec.name} first (dvc repro)")
    svc = params["serve"]["services"][service]
    store.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "extra"
        stage.mkdir()
        for rel in archive_files(spec):
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, stage / rel)
        backends = Path("artifacts") / spec.name / "backends"  # pretrained backends' calibrations (registry)
        if spec.backends:
            if not backends.is_dir():
                raise FileNotFoundError(f"{backends} does not exist: run dlzoo backends {spec.name} first (dvc repro)")
            shutil.copytree(backends, stage / "artifacts" / spec.name / "backends")
        (Path(tmp) / "service.json").write_text(json.dumps(service_config(service, params), indent=2))
        (Path(tmp) / "model_config.yaml").write_text(yaml.safe_dump(model_config(svc)))
        cmd = [
            tool("torch-model-archiver"), "--model-name", service, "--version", file_hash(model_file),
            "--handler", str(ROOT / "services" / f"{service}.py"), "--serialized-file", str(model_file),
            "--extra-files", f"{stage},{Path(tmp) / 'service.json'}",
            "--config-file", str(Path(tmp) / "model_config.yaml"),
            "--export-path", str(store), "--force",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"torch-model-archiver failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return store / f"{service}.mar"
