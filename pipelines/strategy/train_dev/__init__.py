"""Each dataset family's train-dev draw (``DatasetSpec.train_dev``: ``pipelines/strategy/train_dev/<family>.py``),
apart from the report so that a train-dev stage depends on its generator and not on the analysis, and a model's
strategy stage on the analysis and not on generator code it never runs.

    dlzoo train-dev translation        # data/translation_train_dev: new draws of the training distribution
"""

from __future__ import annotations

import importlib
from pathlib import Path

from pipelines import registry
from pipelines.params import section


def train_dev_dir(params: dict, dataset: registry.DatasetSpec) -> Path:
    """Where a dataset's train-dev split is written: beside the dataset, ``<out>_train_dev``."""
    return Path(str(section(params, dataset.params_section)["out"]).rstrip("/") + "_train_dev")


def write_train_dev(dataset_name: str, params: dict, out: Path | None = None) -> dict:
    """Write ``dataset_name``'s train-dev split (``strategy.train_dev.<dataset>`` examples, seeded by
    ``strategy.seed``); returns its summary."""
    dataset = registry.dataset(dataset_name)
    if not dataset.strategy:
        raise KeyError(f"dataset {dataset_name!r} declares no strategy module")
    cfg = params["strategy"]
    data_dir = Path(section(params, dataset.params_section)["out"])
    out = Path(out or train_dev_dir(params, dataset))
    return importlib.import_module(dataset.train_dev).write_train_dev(
        section(params, dataset.params_section), data_dir, out, cfg["train_dev"][dataset_name], int(cfg["seed"]))
