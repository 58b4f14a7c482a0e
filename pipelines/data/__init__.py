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
    "detection": DatasetSpec("detection", "data_detection", "pipelines.data.detection:write_dataset",
                             "street objects drawn on real photos (opencv-doc), COCO JSON + JPEG"),
    "face": DatasetSpec("face", "data_face", "pipelines.data.faces:write_dataset",
                        "synthetic face identities, one folder per identity; dev/test identities unseen"),
    "trigger_word": DatasetSpec("trigger_word", "data_trigger_word", "pipelines.data.trigger_word:write_dataset",
                                "10 s clips with 'activate' (espeak-ng/flite/Festival voices) over noise, WAV + JSON"),
}
