"""The one training driver: ``dlzoo train <model>`` -> a Ray ``TorchTrainer`` over the per-worker loop.

    dlzoo train translation                        # local Ray, params.yaml
    dlzoo train translation --workers 2            # two DDP workers
    RAY_ADDRESS=http://head:8265 RAY_AUTH_MODE=token ray job submit --working-dir . -- dlzoo train translation

Locally it starts Ray with ``ray.init(address="local")`` (a stale cluster file never breaks it); with
``RAY_ADDRESS`` set it joins that cluster. The run name is a hash of the model's params, the Ray
scaling and the data's content: a rerun of the same run resumes from its last checkpoint (a crash),
while changed params or data start a fresh run.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pipelines import registry
from pipelines.params import fingerprint, section
from pipelines.training.artifacts import file_hash, write_artifacts
from pipelines.training.loop import train_loop_per_worker
from pipelines.training.session import LocalSession


def data_fingerprint(data_dir: Path) -> str:
    """Hash of every file under ``data_dir`` (name + content)."""
    files = sorted(p for p in Path(data_dir).rglob("*") if p.is_file())
    if not files:
        raise FileNotFoundError(f"no data in {data_dir}: run `dlzoo data ...` or `dvc repro` first")
    return fingerprint([(str(p.relative_to(data_dir)), file_hash(p)) for p in files])


PACKAGE_DIR = Path(__file__).resolve().parents[1]


def source_fingerprint(package: Path = PACKAGE_DIR) -> str:
    """Hash of the ``pipelines`` package's Python source: changed code is a new run, as DVC sees it."""
    files = sorted(package.rglob("*.py"))
    return fingerprint([(str(p.relative_to(package)), file_hash(p)) for p in files])


def run_name(model: str, model_params: dict, ray_cfg: dict, data_dir: Path) -> str:
    """``<model>-<hash>`` of the model's params, the scaling, the data's content and the code: a rerun
    of the same run resumes it (after a crash); any change starts a fresh run."""
    scaling = {k: ray_cfg.get(k) for k in ("num_workers", "use_gpu", "cpus_per_worker")}
    return f"{model}-{fingerprint([model_params, scaling, data_fingerprint(data_dir), source_fingerprint()])}"


def _loop_config(model: str, params: dict, data_dir: Path, threads: int) -> dict:
    return {"model": model, "params": section(params, model), "data_dir": str(Path(data_dir).resolve()),
            "threads": threads, "pushgateway": os.environ.get("DLZOO_PUSHGATEWAY"),
            "verbose": os.environ.get("DLZOO_VERBOSE") == "1"}


def train_with_ray(model: str, params: dict, data_dir: Path, out_dir: Path) -> dict:
    """Train ``model`` through Ray Train; write ``out_dir``'s artifacts; return its metrics.json."""
    import ray
    from ray.train import CheckpointConfig, FailureConfig, LoggingConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    ray_cfg = params["ray"]
    # Ray Train patches print() in its workers to go through its logger as well, which shows every line
    # of ours twice on the console; the logger's copy stays in Ray's log folder either way.
    os.environ.setdefault("RAY_TRAIN_ENABLE_PRINT_PATCH", "0")
    verbose = os.environ.get("DLZOO_VERBOSE") == "1"
    if not verbose:  # token auth stays on; only Ray's notice that it is on (a WARNING) leaves the console
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init()  # join the cluster the job was submitted to
        else:
            # One machine has no preemptible nodes: without Ray Train's preemption watcher the console is
            # also spared its actor's core_worker.cc error line. A cluster (RAY_ADDRESS) keeps the watcher.
            os.environ.setdefault("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "0")
            ray.init(address="local", num_cpus=os.cpu_count(), log_to_driver=True, configure_logging=False)
    workers = int(ray_cfg["num_workers"])
    cpus = ray_cfg.get("cpus_per_worker") or max(1, int(ray.cluster_resources().get("CPU", 1)) // workers)
    name = run_name(model, section(params, model), ray_cfg, data_dir)
    storage = str(Path(ray_cfg["storage_path"]).resolve()) if "://" not in ray_cfg["storage_path"] \
        else ray_cfg["storage_path"]
    print(f"[dlzoo] training {model}: run {name}, {workers} worker(s) x {cpus} CPU"
          f"{', GPU' if ray_cfg['use_gpu'] else ''}, storage {storage}", flush=True)
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config=_loop_config(model, params, data_dir, int(cpus)),
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=bool(ray_cfg["use_gpu"]),
                                     resources_per_worker={"CPU": cpus}),
        run_config=RunConfig(
            name=name, storage_path=storage,
            failure_config=FailureConfig(max_failures=int(ray_cfg["max_failures"])),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
            # Ray Train's own INFO lines (resources requested, worker group started, process group set up, a
            # TrainingReport per epoch) go to Ray's log folder only, unless `dlzoo train --verbose`.
            logging_config=LoggingConfig(log_level="INFO" if verbose else "WARNING"),
        ),
    )
    result = trainer.fit()
    if result.checkpoint is None:
        raise RuntimeError(f"run {name} finished without a checkpoint: {result.error}")
    import torch

    with result.checkpoint.as_directory() as ckpt:
        state = torch.load(Path(ckpt) / "checkpoint.pt", map_location="cpu", weights_only=False)
    return write_artifacts(out_dir, state, name)


def train_local(model: str, params: dict, data_dir: Path, out_dir: Path, device: str | None = None) -> dict:
    """The same loop in this process, without Ray (benchmarks, debugging, a GPU box without Ray)."""
    name = run_name(model, section(params, model), {"num_workers": 1, "use_gpu": device == "cuda"}, data_dir)
    session = LocalSession(Path(params["ray"]["storage_path"]) / "local" / name, device)
    train_loop_per_worker(_loop_config(model, params, data_dir, os.cpu_count() or 1), session)
    return write_artifacts(out_dir, session.load_checkpoint(), name)


def train(model: str, params: dict, data_dir: Path, out_dir: Path, use_ray: bool = True) -> dict:
    registry.get(model)  # a clear error for an unknown model before Ray starts
    return (train_with_ray if use_ray else train_local)(model, params, data_dir, out_dir)
