"""Face recognition in the strategy report: train-dev photos, views, the pairs the model gets wrong.

Train-dev: new photos of training identities. An identity's photos are one seeded stream and its first ones
do not depend on how many follow (``faces.identity_images``), so photos ``train_images_per_id ..`` of a
training identity are ones training never saw, of people it did: the course's train-dev exactly. Dev and test
are people never seen, so data mismatch here is the step from known to unknown faces.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.strategy.sheet import contact_sheet
from pipelines.strategy.views import sample

UNIT = "pairs"


def scored(metrics: dict) -> int:
    """The decisions a split's error is a share of: its pairs."""
    return int(metrics["pairs"])


def view(folder: Path, split: str, out: Path, limit: int | None, seed: int, task) -> int:
    """``out/test/<identity>`` links for a sample of ``limit`` identities (and an empty ``dev/``, so evaluation
    reads the folder as a dataset's splits rather than as one user's identity folders)."""
    identities = sorted(p for p in (Path(folder) / split).iterdir() if p.is_dir())
    keep = [identities[i] for i in sample(len(identities), limit, seed)]
    (out / "test").mkdir()
    (out / "dev").mkdir()
    for path in keep:
        os.symlink(path.resolve(), out / "test" / path.name)
    return len(keep)


def error_sample(task, model, view_dir: Path, details: dict, key: str, n: int, seed: int, data_params: dict):
    """Verification pairs on the wrong side of the threshold chosen on dev (as evaluation draws them): the
    identities in most of them, and the ``n`` worst pairs side by side (``errors.png``)."""
    from pipelines.data.identity_folders import load_identity_folders
    from pipelines.evaluation import face as face_metrics
    from pipelines.tasks.face import IdentitySet, embed_set

    net = task.unwrap(model)
    folders = load_identity_folders(view_dir / "test")
    paths = [(name, p) for name, ps in folders.items() for p in ps]
    emb, labels = embed_set(net, IdentitySet(folders, net.cfg.input_size))
    i, j, same = face_metrics.balanced_pairs(labels, task.params["train"]["seed"])
    dist = face_metrics.distances(emb, i, j)
    threshold = float(task.meta["threshold"])
    rejected = np.flatnonzero(same & (dist > threshold))
    accepted = np.flatnonzero(~same & (dist <= threshold))
    # the worst first: how far past the threshold each pair lies
    worst = sorted([*rejected, *accepted], key=lambda k: -abs(dist[k] - threshold))
    blame: dict[str, int] = {}
    for k in worst:
        for side in (i[k], j[k]):
            blame[paths[side][0]] = blame.get(paths[side][0], 0) + 1
    lines = [f"Threshold {threshold:.3f} (chosen on dev): of {int(same.sum())} same-person pairs "
             f"{len(rejected)} rejected, of {int((~same).sum())} different-person pairs {len(accepted)} accepted.",
             "", "The identities in the most wrong pairs:", "", "| identity | wrong pairs |", "|---|---|"]
    lines += [f"| {name} | {count} |" for name, count in sorted(blame.items(), key=lambda kv: -kv[1])[:8]]
    items = []
    for k in worst[:n]:
        left, right = Image.open(paths[i[k]][1]).convert("RGB"), Image.open(paths[j[k]][1]).convert("RGB")
        pair = Image.new("RGB", (left.width + right.width + 4, max(left.height, right.height)), "white")
        pair.paste(left, (0, 0))
        pair.paste(right, (left.width + 4, 0))
        verdict = "same, rejected" if same[k] else "different, accepted"
        items.append((pair, f"{verdict}\ndistance {dist[k]:.3f}"))
    lines += ["", f"The {len(items)} pairs furthest on the wrong side of the threshold: `strategy/errors.png`."]
    return lines, ({"errors.png": contact_sheet(items, columns=4, cell=200)} if items else {})
