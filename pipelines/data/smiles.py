"""Course 4 week 1's "Happy House" (is the person smiling?) drawn by the face generator (``pipelines/data/faces.py``).

    dlzoo data smiles                      # writes data/smiles/{train,dev,test}/{not_smiling,smiling}/<k>.png

The course's set is 600 training and 150 test photos of people at the door, 64 x 64, labelled by hand. Here each
image is a new person (``faces.sample_identity``) under the face set's photo conditions (``faces.sample_nuisance``:
pose, light, exposure, noise, blur, glasses, background), with the expression drawn for its label by a written
rule on the generator's own expression parameters:

* the mouth's **corner lift** is ``identity.resting_smile + nuisance.smile`` (in face units, as the generator
  draws it);
* **smiling**: a lift in ``smiling_lift`` (default 0.10-0.22), the mouth open, teeth showing, with probability
  ``p_open_smiling``;
* **not smiling**: a lift in ``neutral_lift`` (default -0.06-0.03), the mouth open as often as the face set's
  (a third of the time: talking is not smiling);
* lifts between the two ranges are never drawn: that band would be a matter of opinion, not a label.

The face set's native expressions (lifts spread over -0.06 to 0.14, no gap) are too faint to label: the course's
network stayed at chance on them (docs/course4.md). The Happy House is a camera at a door that people face:
``pose_spread`` scales the face set's pose and framing (roll, yaw, pitch, scale, shift; 0: frontal and centred,
1: the face set's), and occluders are off. Light, exposure, colour, noise, blur, glasses and backgrounds stay
the face set's.
Labels alternate, so every split is balanced; image ``k`` of a split has its own generator seeded by
``(seed, split, k)``, so dev and test people are never training people and a split's bytes do not depend on the
others' sizes. A user's own photos in the same layout (``<split>/<class>/*.png``) train and evaluate the same way.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipelines.data import faces

SPLITS = ("train", "dev", "test")
CLASSES = ("not_smiling", "smiling")  # label 0, 1: the folders' sorted order


def check_params(params: dict) -> None:
    (low_n, high_n), (low_s, high_s) = params["neutral_lift"], params["smiling_lift"]
    if not (low_n <= high_n < low_s <= high_s):
        raise ValueError(f"data_smiles: neutral_lift {params['neutral_lift']} must lie below smiling_lift "
                         f"{params['smiling_lift']}, each [low, high], with a gap between them")
    if not 0.0 <= float(params["p_open_smiling"]) <= 1.0:
        raise ValueError(f"data_smiles.p_open_smiling: {params['p_open_smiling']} is not a probability")
    if not 0.0 <= float(params["pose_spread"]) <= 1.0:
        raise ValueError(f"data_smiles.pose_spread: {params['pose_spread']} (0: frontal, 1: the face set's poses)")
    for split in SPLITS:
        if int(params[f"n_{split}"]) < 2:
            raise ValueError(f"data_smiles.n_{split}: {params[f'n_{split}']} (at least 2: one of each class)")


def draw(params: dict, seed: int, split: str, k: int):
    """(image, label, corner lift) of image ``k`` of ``split``."""
    rng = np.random.default_rng([seed, SPLITS.index(split), k])
    label = k % 2
    identity, nuisance = faces.sample_identity(rng), faces.sample_nuisance(rng)
    lift = float(rng.uniform(*params["smiling_lift" if label else "neutral_lift"]))
    mouth_open = float(rng.uniform(0.03, 0.09)) if rng.random() < float(params["p_open_smiling"]) else 0.0
    spread = float(params["pose_spread"])  # the face set's pose and framing, shrunk toward a door camera's
    nuisance = dataclasses.replace(
        nuisance, smile=lift - identity.resting_smile, occluder="none",
        roll=nuisance.roll * spread, yaw=nuisance.yaw * spread, pitch=nuisance.pitch * spread,
        scale=1.0 + (nuisance.scale - 1.0) * spread, shift=(nuisance.shift[0] * spread, nuisance.shift[1] * spread),
        **({"mouth_open": mouth_open} if label else {}))
    return faces.render_face(identity, nuisance, int(params["size"]), rng), label, lift


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, dict[str, int]]:
    """Write every split; returns the images per split and class."""
    check_params(params)
    seed = int(params["seed"] if seed is None else seed)
    out = Path(out)
    summary = {}
    for split in SPLITS:
        counts = dict.fromkeys(CLASSES, 0)
        shutil.rmtree(out / split, ignore_errors=True)  # a smaller rerun leaves no images of the last one
        for name in CLASSES:
            (out / split / name).mkdir(parents=True, exist_ok=True)
        for k in tqdm(range(int(params[f"n_{split}"])), desc=f"smiles {split}", unit="face", leave=False):
            image, label, _ = draw(params, seed, split, k)
            image.save(out / split / CLASSES[label] / f"{k:05d}.png")
            counts[CLASSES[label]] += 1
        summary[split] = counts
    return summary
