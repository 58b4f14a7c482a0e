"""Fashion-MNIST in the strategy report: train-dev images, views, misclassified images.

Train-dev: for each task, a balanced seeded draw of its classes from the 60,000 training images that are in
neither its train nor its dev split (compared by pixels, so a duplicate of a training image is left out too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pipelines.data import fashion
from pipelines.strategy.sheet import contact_sheet
from pipelines.strategy.views import row_of, sample

SPLITS = fashion.SPLITS


def task_classes(spec: dict) -> list[int]:
    """Fashion-MNIST's class indices of a task, in its label order (as ``fashion.generate`` relabels)."""
    return [fashion.CLASSES.index(c) for c in spec["classes"]] if spec.get("classes") else \
        list(range(len(fashion.CLASSES)))


def class_names(spec: dict) -> list[str]:
    """Names of a task's labels 0, 1, ...: a pair labels its first class 1."""
    names = [fashion.CLASSES[c] for c in task_classes(spec)]
    return [names[1], names[0]] if len(names) == 2 else names


def view(folder: Path, split: str, out: Path, limit: int | None, seed: int, task) -> int:
    """``out/<task>_{train,dev,test}_{x,y}.npy``, each the chosen split (the numpy tasks evaluate every split)."""
    name = task.params["set"]
    x = np.load(Path(folder) / f"{name}_{split}_x.npy")
    y = np.load(Path(folder) / f"{name}_{split}_y.npy")
    keep = sample(len(y), limit, seed)
    for role in SPLITS:
        np.save(out / f"{name}_{role}_x.npy", x[keep])
        np.save(out / f"{name}_{role}_y.npy", y[keep])
    return len(keep)


def predictions(task, model, x: np.ndarray, key: str) -> np.ndarray:
    """Predicted labels of ``x`` ((n, 784) in [0, 1]) by the numpy network a key names, or the torch classifier."""
    if hasattr(task, "nets"):
        return (task.nets(model)[row_of(key)].probabilities(x) > 0.5).astype(np.int64)
    return task.predict(model, torch.from_numpy(x).float()).numpy()


def error_sample(task, model, view_dir: Path, details: dict, key: str, n: int, seed: int, data_params: dict):
    """The largest confusions (true -> predicted, share of the true class) and a contact sheet of ``n``
    misclassified test images (``errors.png``), a seeded sample of the mistakes."""
    name = task.params["set"]
    names = class_names(data_params["tasks"][name])
    x, y = fashion.read_split(view_dir, name, "test")
    pred = predictions(task, model, x, key)
    wrong = np.flatnonzero(pred != y)
    pairs: dict[tuple[int, int], int] = {}
    for i in wrong:
        pairs[int(y[i]), int(pred[i])] = pairs.get((int(y[i]), int(pred[i])), 0) + 1
    lines = [f"{len(wrong)} of {len(y)} test images misclassified. The largest confusions:", "",
             "| true | predicted | images | share of the true class |", "|---|---|---|---|"]
    for (t, p), count in sorted(pairs.items(), key=lambda kv: -kv[1])[:8]:
        lines.append(f"| {names[t]} | {names[p]} | {count} | {count / max(int((y == t).sum()), 1):.1%} |")
    shown = wrong[sample(len(wrong), n, seed)]
    items = [(Image.fromarray(np.rint(x[i].reshape(28, 28) * 255).astype(np.uint8)),
              f"true {names[y[i]]}\nsaid {names[pred[i]]}") for i in shown]
    lines += ["", f"A seeded sample of {len(shown)} misclassified test images, with what the model said: "
              "`strategy/errors.png`."]
    return lines, ({"errors.png": contact_sheet(items)} if items else {})
