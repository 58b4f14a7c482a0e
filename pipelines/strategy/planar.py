"""The planar point sets in the strategy report: train-dev draws, views, misclassified points.

Train-dev is a fresh draw of each set's generator (never the notebooks' fixed points, which are the train
split itself), as many points as its train split unless ``strategy.train_dev.planar`` says otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines.data import planar
from pipelines.strategy.views import row_of, sample

SPLITS = planar.SPLITS


def view(folder: Path, split: str, out: Path, limit: int | None, seed: int, task) -> int:
    """``out/<set>_{train,dev,test}.npy``, each the chosen split (the numpy tasks evaluate every split)."""
    name = task.params["set"]
    points = np.load(Path(folder) / f"{name}_{split}.npy")
    points = points[sample(len(points), limit, seed)]
    for role in SPLITS:
        np.save(out / f"{name}_{role}.npy", points)
    return len(points)


def error_sample(task, model, view_dir: Path, details: dict, key: str, n: int, seed: int, data_params: dict):
    """Misclassified test points: counts per true class, the most confident mistakes as a table, and the
    decision regions with only the misclassified points drawn (``errors.png``)."""
    from pipelines.scratch.plot import boundaries_png

    net = task.nets(model)[row_of(key)]
    x, y = planar.read_split(view_dir, task.params["set"], "test")
    p = net.probabilities(x)
    wrong = np.flatnonzero((p > 0.5).astype(int) != y)
    lines = [f"{len(wrong)} of {len(y)} test points misclassified"
             + "".join(f"; true class {c}: {int((y[wrong] == c).sum())} of {int((y == c).sum())}" for c in (0, 1))
             + ".", "", "The most confident mistakes:", "", "| x1 | x2 | true class | P(class 1) |",
             "|---|---|---|---|"]
    for i in sorted(wrong, key=lambda i: -abs(p[i] - 0.5))[:n]:
        lines.append(f"| {x[i, 0]:.3f} | {x[i, 1]:.3f} | {y[i]} | {p[i]:.3f} |")
    files = {}
    if len(wrong):
        files["errors.png"] = boundaries_png(
            [(f"{len(wrong)} misclassified test points", lambda pts: (net.probabilities(pts) > 0.5).astype(int))],
            x[wrong], y[wrong], columns=1)
    return lines, files
