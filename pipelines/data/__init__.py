"""Datasets: one module per dataset, each generated from a seed or read from a package.

``DATASETS`` maps the name used by ``dlzoo data <name>`` to its params section and writer.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    params_section: str
    writer: str  # "module:function(params, out, seed) -> summary"
    description: str

    def write(self, params: dict, out: Path, seed: int | None = None):
        module, fn = self.writer.split(":")
        return getattr(importlib.import_module(module), fn)(params, Path(out), seed)


DATASETS = {
    "translation": DatasetSpec("translation", "data_translation", "pipelines.data.dates:write_dataset",
                               "human-readable dates -> ISO 8601, TSV pairs (faker/babel formats)"),
}
