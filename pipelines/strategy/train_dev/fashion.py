"""The fashion family's train-dev draw, as ``pipelines/strategy/fashion.py`` describes it.

    dlzoo train-dev fashion
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines.data import fashion
from pipelines.strategy.fashion import task_classes

SPLITS = fashion.SPLITS


def write_train_dev(params: dict, data_dir: Path, out: Path, n: int, seed: int) -> dict:
    x_all, y_all = fashion.load_source(params["source"])["train"]
    flat = x_all.reshape(len(x_all), -1)
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, spec in params["tasks"].items():
        used = set()
        for split in ("train", "dev"):
            images = np.load(Path(data_dir) / f"{name}_{split}_x.npy")
            used |= {row.tobytes() for row in images.reshape(len(images), -1)}
        exclude = np.array([i for i, row in enumerate(flat) if row.tobytes() in used], dtype=np.int64)
        classes = task_classes(spec)
        idx = fashion._draw(np.random.default_rng([seed, len(name)]), y_all, classes, int(n), exclude=exclude)
        relabel = np.full(len(fashion.CLASSES), -1)
        relabel[classes] = [1, 0] if len(classes) == 2 else list(range(len(classes)))
        np.save(out / f"{name}_train_dev_x.npy", x_all[idx])
        np.save(out / f"{name}_train_dev_y.npy", relabel[y_all[idx]].astype(np.int64))
        sizes[name] = len(idx)
    return sizes
