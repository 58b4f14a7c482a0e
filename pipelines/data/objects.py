"""Crops of the detection set's objects, one folder per class: the small labelled task of Course 4 week 2's
transfer learning (the course's alpaca / not-alpaca photos are not available offline).

    dlzoo data objects                # writes data/objects/ from data/detection/ (params: data_objects)

Every annotated object of ``data/detection`` (or any COCO dataset at ``source``: ``images/<split>/`` and
``annotations/instances_<split>.json``, as ``dlzoo data detection`` writes) whose box has a longer side of at
least ``min_side`` px is a candidate; its crop is the box's square, ``context`` wider on each side (so some of
the real photo around it shows), padded with grey where it leaves the image, resized to ``side`` px. Per split
``per_class[split]`` crops of each class are drawn with a generator seeded by ``(seed, split)``: the splits
stay balanced and a split with fewer candidates keeps all it has.

Writes ``<out>/<split>/<class>/<image>_<k>.png`` (the ImageFolder layout: bring your own photos in the same
shape) for the detection splits: train, dev, test (new photos of the training scenes) and ``new_scenes``
(photos of scenes the training split never shows). The crops of a split come only from that split's images,
so the detection set's scene split carries over.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from pipelines.data.coco import load_coco
from pipelines.data.detection import CLASSES, SPLITS
from pipelines.data.identity_folders import IMAGE_SUFFIXES, load_identity_folders

CATEGORY_NAMES = tuple(c.name for c in CLASSES)
MIRRORED = frozenset(c.name for c in CLASSES if c.mirror)  # classes that may be flipped left-right
PAD = (124, 116, 104)  # ImageNet's mean colour: where a crop leaves the photo


def check_params(params: dict) -> None:
    for key in ("seed", "source", "out", "side", "context", "min_side", "per_class"):
        if key not in params:
            raise ValueError(f"data_objects: missing key {key!r}")
    if not 16 <= int(params["side"]) <= 512:
        raise ValueError(f"data_objects: side must be in [16, 512] px, got {params['side']}")
    if not 0 <= float(params["context"]) <= 1:
        raise ValueError(f"data_objects: context must be in [0, 1] (a share of the box), got {params['context']}")
    unknown = set(params["per_class"]) - set(SPLITS)
    if unknown:
        raise ValueError(f"data_objects: per_class names unknown splits {sorted(unknown)}; splits: {list(SPLITS)}")


def square_crop(image: Image.Image, box: np.ndarray, context: float, side: int) -> Image.Image:
    """The square around ``box`` (x1 y1 x2 y2), its longer side plus ``context`` of it each way, ``side`` px."""
    x1, y1, x2, y2 = (float(v) for v in box)
    half = max(x2 - x1, y2 - y1) * (0.5 + context)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    x0, y0, x1, y1 = (round(v) for v in (cx - half, cy - half, cx + half, cy + half))
    canvas = Image.new("RGB", (x1 - x0, y1 - y0), PAD)
    canvas.paste(image, (-x0, -y0))  # the photo shifted under the window; what it does not cover stays grey
    return canvas.resize((side, side), Image.Resampling.BILINEAR)


def candidates(records: list, min_side: int, classes: tuple[str, ...]) -> dict[str, list[tuple[int, int]]]:
    """(record index, object index) of every object big enough, per class name."""
    found: dict[str, list[tuple[int, int]]] = {name: [] for name in classes}
    for i, record in enumerate(records):
        for k, (box, label, ignore) in enumerate(zip(record["boxes"], record["labels"], record["ignore"],
                                                     strict=True)):
            if not ignore and max(box[2] - box[0], box[3] - box[1]) >= min_side:
                found[record["categories"][label]].append((i, k))
    return found


def write_split(params: dict, source: Path, out: Path, split: str, seed: int) -> dict[str, int]:
    records = load_coco(source / "images" / split, source / "annotations" / f"instances_{split}.json")
    if not records:
        return {}
    classes = tuple(records[0]["categories"])
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    wanted = int(params["per_class"][split])
    chosen = []
    for name, objects in candidates(records, int(params["min_side"]), classes).items():
        picks = rng.permutation(len(objects))[:wanted]
        chosen += [(name, *objects[j]) for j in sorted(picks)]
    for name, i, k in tqdm(chosen, desc=f"objects {split}", unit="crop"):
        record = records[i]
        with Image.open(record["file"]) as image:
            crop = square_crop(image.convert("RGB"), record["boxes"][k], float(params["context"]),
                               int(params["side"]))
        folder = out / split / name
        folder.mkdir(parents=True, exist_ok=True)
        crop.save(folder / f"{record['file'].stem}_{k}.png")
    return {name: sum(1 for c in chosen if c[0] == name) for name in classes}


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict:
    """Write every split ``per_class`` names; returns the crops per split and class."""
    check_params(params)
    seed = params["seed"] if seed is None else seed
    source = Path(params["source"])
    if not (source / "annotations").is_dir():
        raise FileNotFoundError(f"data_objects: no annotations/ in {source} (run `dlzoo data detection`)")
    out = Path(out)
    summary = {}
    for split in params["per_class"]:
        if (source / "annotations" / f"instances_{split}.json").is_file():
            summary[split] = write_split(params, source, out, split, seed)
    return summary


def read_split(data_dir: Path, split: str, classes: tuple[str, ...] | None = None
               ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(uint8 images (n, side, side, 3), labels, class names) of ``data_dir/<split>/<class>/*.png``.

    ``classes`` (a trained model's) fixes the label order and must hold every folder found; by default the
    folders' sorted names. A missing split raises ``FileNotFoundError``; images of different sizes a
    ``ValueError`` naming one."""
    root = Path(data_dir) / split
    if not root.is_dir():
        raise FileNotFoundError(f"objects: no split {split!r} in {data_dir} (expected {root}/<class>/<image>"
                                f"{'|'.join(IMAGE_SUFFIXES)})")
    folders = load_identity_folders(root)
    classes = tuple(classes or sorted(folders))
    unknown = sorted(set(folders) - set(classes))
    if unknown:
        raise ValueError(f"objects: {root} has classes the model does not know: {unknown}; it knows {list(classes)}")
    images, labels, size = [], [], None
    for label, name in enumerate(classes):
        for path in folders.get(name, []):
            with Image.open(path) as im:
                pixels = np.asarray(im.convert("RGB"))
            if size is None:
                size = pixels.shape
            elif pixels.shape != size:
                raise ValueError(f"objects: {path} is {pixels.shape[1]} x {pixels.shape[0]} px, the others "
                                 f"{size[1]} x {size[0]}: resize a folder to one size first")
            images.append(pixels)
            labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64), classes
