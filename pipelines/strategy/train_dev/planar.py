"""The planar family's train-dev draw, as ``pipelines/strategy/planar.py`` describes it.

    dlzoo train-dev planar
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from pipelines.data import planar

SPLITS = planar.SPLITS


def write_train_dev(params: dict, data_dir: Path, out: Path, n: int | None, seed: int) -> dict:
    drawn_params = copy.deepcopy(params)
    for sizes in drawn_params["sets"].values():
        sizes["course_draw"] = False
        sizes["train"] = int(n or sizes["train"])
    drawn = planar.generate(drawn_params, seed=[int(params["seed"]), seed, 1])  # a seed of its own
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name in params["sets"]:
        x, y = drawn[f"{name}_train"]
        np.save(out / f"{name}_train_dev.npy", np.c_[x, y.astype(np.float64)])
        sizes[name] = len(y)
    return sizes
