"""The contract every model family implements for the one training driver (pipelines/training)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

TRAINING_SPLITS = ("train", "dev")


def held_out_splits(found: Iterable[str], splits: Iterable[str]) -> list[str]:
    """The splits ``evaluate`` reads, one rule for every task: of ``found`` (the splits a data folder holds),
    the held-out ones its dataset declares (``splits``, a data module's ``SPLITS``: train, dev, then the
    held-out splits), in that order; in a user's folder holding none of them, every split but train and dev,
    sorted. Empty when there is nothing held out to read (the task then names the folder in its error)."""
    found = set(found)
    declared = [s for s in splits if s in found and s not in TRAINING_SPLITS]
    return declared or sorted(s for s in found if s not in TRAINING_SPLITS)


class Task(ABC):
    """Data, model, loss and metrics of one registered model.

    ``params`` is the model's own params section (e.g. ``params["translation"]``); ``meta`` is what the
    data teaches the model (vocabularies, anchors, ...) and travels inside ``model.pt``.
    """

    name: str
    # True: training is not the generic mini-batch loop; the loop calls ``fit`` instead (see below).
    custom_fit: bool = False

    def __init__(self, params: dict, meta: dict | None = None):
        self.params = params
        self.meta = meta or {}

    # -- data ---------------------------------------------------------------------------------
    @abstractmethod
    def load(self, data_dir: Path) -> None:
        """Read the training data from ``data_dir`` and fill ``self.meta`` from the train split."""

    @abstractmethod
    def datasets(self) -> tuple[Dataset, Dataset]:
        """(train, dev) datasets, available after :meth:`load`."""

    def collate(self, batch: list):
        return torch.utils.data.default_collate(batch)

    # -- model --------------------------------------------------------------------------------
    @abstractmethod
    def model_config(self) -> dict:
        """The exact config that rebuilds the model (params plus sizes learned from the data)."""

    @classmethod
    @abstractmethod
    def build_model(cls, config: dict) -> nn.Module:
        """Build the network from :meth:`model_config`'s output (also used by serving)."""

    @abstractmethod
    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        """Mean training loss of one batch (``batch`` is already on the model's device)."""

    @abstractmethod
    def validate(self, model: nn.Module, loader, device: torch.device) -> dict[str, float]:
        """Cheap dev metrics reported every epoch (prefix keys with ``dev_``)."""

    def fit(self, session, end_epoch) -> None:
        """Train without the generic loop (only when ``custom_fit``): optimise an image, run closed-form or
        numpy reference code. After each epoch call ``end_epoch(metrics, state)`` with ``metrics`` holding
        at least ``epoch``, ``train_loss`` and ``epoch_seconds``, and ``state`` from
        ``pipelines.training.loop.checkpoint_state``; ``session.load_checkpoint()`` gives the state to
        resume from after a crash. ``self.params["train"]`` holds the model's train params."""
        raise NotImplementedError(f"{type(self).__name__} sets custom_fit but has no fit()")

    # -- evaluation ---------------------------------------------------------------------------
    @abstractmethod
    def evaluate(self, model: nn.Module, data_dir: Path) -> tuple[dict[str, dict[str, float]], dict]:
        """Evaluate every held-out split found in ``data_dir``.

        Returns (metrics per split, e.g. ``{"test": {"exact_match": ...}}``, for metrics.json;
        details for a human, e.g. per-class scores and example errors, for details.json).
        """

    @staticmethod
    def unwrap(model: nn.Module) -> nn.Module:
        """The network itself: DDP (several Ray Train workers) wraps it in ``.module``."""
        return getattr(model, "module", model)

    @staticmethod
    def to_device(batch, device: torch.device):
        if isinstance(batch, dict):
            return {k: Task.to_device(v, device) for k, v in batch.items()}
        if isinstance(batch, (list, tuple)):
            return type(batch)(Task.to_device(v, device) for v in batch)
        return batch.to(device, non_blocking=True) if isinstance(batch, torch.Tensor) else batch
