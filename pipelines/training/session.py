"""Where the training loop's rank, device, checkpoints and reports come from: Ray Train, or nothing.

``RaySession`` is the only Ray-specific code the loop touches; ``LocalSession`` runs the same loop in
one plain process (benchmarks, debugging, the GPU smoke run on a machine without Ray).
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

import torch

CHECKPOINT_FILE = "checkpoint.pt"


class Session(ABC):
    world_rank: int = 0
    world_size: int = 1
    device: torch.device

    @abstractmethod
    def prepare_model(self, model: torch.nn.Module) -> torch.nn.Module: ...

    @abstractmethod
    def load_checkpoint(self) -> dict | None: ...

    @abstractmethod
    def report(self, metrics: dict, state: dict | None) -> None: ...

    def log(self, message: str) -> None:
        if self.world_rank == 0:
            print(f"[dlzoo] {message}", flush=True)


class LocalSession(Session):
    """One process; checkpoints in ``run_dir/checkpoint.pt`` so a rerun resumes."""

    def __init__(self, run_dir: Path, device: str | None = None):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.last_metrics: dict = {}

    def prepare_model(self, model):
        return model.to(self.device)

    def load_checkpoint(self):
        path = self.run_dir / CHECKPOINT_FILE
        return torch.load(path, map_location="cpu", weights_only=False) if path.is_file() else None

    def report(self, metrics, state):
        self.last_metrics = metrics
        if state is not None:
            tmp = self.run_dir / (CHECKPOINT_FILE + ".tmp")
            torch.save(state, tmp)
            tmp.replace(self.run_dir / CHECKPOINT_FILE)  # atomic: a crash never leaves half a file


class RaySession(Session):
    """Inside a Ray Train worker (``TorchTrainer``). Unless ``verbose``, Ray Train's own INFO lines (a
    ``TrainingReport(...)`` dump and a checkpoint path per epoch) stay in Ray's log folder, so the console
    shows one line per epoch."""

    def __init__(self, verbose: bool = False):
        import logging

        import ray.train
        import ray.train.torch

        if not verbose:
            logging.getLogger("ray.train").setLevel(logging.WARNING)
            try:  # Ray 2.60 names the logger of its per-report line after the file, outside "ray.train"
                from ray.train.v2._internal.execution import context as train_context

                logging.getLogger(train_context.__file__).setLevel(logging.WARNING)
            except ImportError:
                pass

        self._train = ray.train
        self._torch = ray.train.torch
        ctx = ray.train.get_context()
        self.world_rank, self.world_size = ctx.get_world_rank(), ctx.get_world_size()
        self.device = ray.train.torch.get_device()

    def prepare_model(self, model):
        return self._torch.prepare_model(model)  # moves to the device, wraps in DDP when world > 1

    def load_checkpoint(self):
        checkpoint = self._train.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as path:
            return torch.load(Path(path) / CHECKPOINT_FILE, map_location="cpu", weights_only=False)

    def report(self, metrics, state):
        if state is None:
            self._train.report(metrics)
            return
        with tempfile.TemporaryDirectory() as tmp:
            torch.save(state, Path(tmp) / CHECKPOINT_FILE)
            self._train.report(metrics, checkpoint=self._train.Checkpoint.from_directory(tmp))
