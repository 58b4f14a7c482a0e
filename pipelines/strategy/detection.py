"""Object detection in the strategy report: train-dev images, views, the worst classes and the images with
the most mistakes.

Train-dev: images ``n_train ..`` of the train split's own generator (each image is a function of (seed,
split, index), so these are the next images training would have seen), on the training scenes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from PIL import ImageDraw
from torchvision.ops import box_iou

from pipelines.strategy.sheet import contact_sheet
from pipelines.strategy.views import sample

UNIT = "objects"


def scored(metrics: dict) -> int:
    """The decisions a split's error is a share of: its objects."""
    return int(metrics["objects"])


def view(folder: Path, split: str, out: Path, limit: int | None, seed: int, task) -> int:
    coco = json.loads((Path(folder) / "annotations" / f"instances_{split}.json").read_text())
    keep = [coco["images"][i] for i in sample(len(coco["images"]), limit, seed)]
    ids = {im["id"] for im in keep}
    coco = {**coco, "images": keep, "annotations": [a for a in coco["annotations"] if a["image_id"] in ids]}
    (out / "annotations").mkdir()
    (out / "annotations" / "instances_test.json").write_text(json.dumps(coco))
    (out / "images").mkdir()
    os.symlink((Path(folder) / "images" / split).resolve(), out / "images" / "test")
    return len(keep)


def mistakes(record: dict, found: dict, iou: float = 0.5) -> tuple[list[int], list[int]]:
    """(missed ground-truth boxes, false detections) of one image at IoU ``iou``, same class, greedy by score."""
    truth = [k for k in range(len(record["labels"])) if not record["ignore"][k]]
    order = np.argsort(-found["scores"])
    overlaps = box_iou(torch.from_numpy(found["boxes"][order]).float(),
                       torch.from_numpy(record["boxes"][truth]).float()).numpy() if len(truth) and len(order) else None
    matched, false = set(), []
    for row, d in enumerate(order):
        best, best_iou = None, iou
        for col, t in enumerate(truth):
            if t not in matched and record["labels"][t] == found["labels"][d] and overlaps[row, col] >= best_iou:
                best, best_iou = t, overlaps[row, col]
        if best is None:
            false.append(int(d))
        else:
            matched.add(best)
    return [t for t in truth if t not in matched], false


def error_sample(task, model, view_dir: Path, details: dict, key: str, n: int, seed: int, data_params: dict,
                 look_at: int = 200):
    """Per-class AP50 (worst first), then the ``n`` images with the most mistakes among ``look_at`` test images,
    at the service's score threshold: missed objects boxed red, false detections orange, found ones green."""
    from pipelines.tasks.detection import detect, find_splits, open_image, relabel

    per_class = details.get("per_class", {})
    lines = ["AP at IoU 0.5 per class on test, worst first:", "", "| class | objects | AP50 |", "|---|---|---|"]
    lines += [f"| {c} | {v['n_objects']} | {v['ap50']:.3f} |"
              for c, v in sorted(per_class.items(), key=lambda kv: kv[1]["ap50"])]
    records = relabel(find_splits(view_dir)["test"], task.meta["categories"])
    records = [records[i] for i in sample(len(records), look_at, seed)]
    d = task.params["decode"]
    images = [open_image(r["file"]) for r in records]
    found = detect(task.unwrap(model).eval(), images, d["score_threshold"], d["iou_threshold"],
                   d["max_detections"], d["batch_size"], d.get("input_size"))
    scored = []
    for k, (record, f) in enumerate(zip(records, found, strict=True)):
        missed, false = mistakes(record, f)
        scored.append((len(missed) + len(false), k, missed, false))
    scored.sort(key=lambda s: (-s[0], s[1]))
    total_missed = sum(len(s[2]) for s in scored)
    total_false = sum(len(s[3]) for s in scored)
    lines += ["", f"At the service's score threshold {d['score_threshold']}, in {len(records)} test images: "
              f"{total_missed} objects missed, {total_false} false detections. The {min(n, len(scored))} images "
              "with the most mistakes: `strategy/errors.png` (red: missed, orange: false, green: found)."]
    names = task.meta["categories"]
    items = []
    for count, k, missed, false in scored[:n]:
        if not count:
            break
        image = images[k].convert("RGB")
        draw = ImageDraw.Draw(image)
        record, f = records[k], found[k]
        for t in range(len(record["labels"])):
            draw.rectangle(record["boxes"][t].tolist(), outline="red" if t in missed else "lime", width=2)
        for j in false:
            draw.rectangle(f["boxes"][j].tolist(), outline="orange", width=2)
        what = sorted({names[record["labels"][t]] for t in missed})
        items.append((image, f"{Path(record['file']).name}: {len(missed)} missed, {len(false)} false\n"
                             + (f"missed {', '.join(what)}" if what else "")))
    return lines, ({"errors.png": contact_sheet(items, columns=4, cell=220)} if items else {})
