"""COCO detection metrics through pycocotools: mAP@[.5:.95], mAP@0.5, by object size and per class.

    metrics, per_class = coco_metrics(records, predictions)

``records`` are :mod:`pipelines.data.coco` records (ground truth, ``ignore`` = iscrowd/difficult) and
``predictions`` one ``{"boxes" (n, 4) xyxy px, "scores" (n,), "labels" (n,)}`` per record. Both are
converted to COCO's in-memory format and scored by the reference implementation, so the numbers are
the ones any COCO paper would report for the same boxes.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

STAT_NAMES = ("map", "map50", "map75", "map_small", "map_medium", "map_large",
              "mar1", "mar10", "mar100", "mar_small", "mar_medium", "mar_large")


def _xywh(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def to_coco(records: list[dict], categories: list[str]) -> dict:
    """Ground-truth records -> a COCO dataset dict (image ids 1.., category ids 1..)."""
    images, annotations = [], []
    for i, rec in enumerate(records, start=1):
        images.append({"id": i, "width": int(rec["width"]), "height": int(rec["height"])})
        for box, label, ignore in zip(_xywh(rec["boxes"]), rec["labels"], rec["ignore"], strict=True):
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": int(label) + 1,
                                "bbox": box.tolist(), "area": float(box[2] * box[3]), "iscrowd": int(ignore)})
    return {"images": images, "annotations": annotations,
            "categories": [{"id": k + 1, "name": name} for k, name in enumerate(categories)]}


def coco_metrics(records: list[dict], predictions: list[dict], categories: list[str] | None = None
                 ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(the 12 COCO summary numbers by name, ``{class: {"ap", "ap50", "n_objects"}}``)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(records) != len(predictions):
        raise ValueError(f"coco_metrics: {len(records)} images but {len(predictions)} predictions")
    categories = list(categories or (records[0]["categories"] if records else []))
    gt = COCO()
    gt.dataset = to_coco(records, categories)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt.createIndex()
    detections = []
    for i, pred in enumerate(predictions, start=1):
        for box, score, label in zip(_xywh(pred["boxes"]), np.asarray(pred["scores"]).reshape(-1),
                                     np.asarray(pred["labels"]).reshape(-1), strict=True):
            detections.append({"image_id": i, "category_id": int(label) + 1, "bbox": box.tolist(),
                               "score": float(score)})
    n_objects = {name: 0 for name in categories}
    for ann in gt.dataset["annotations"]:
        if not ann["iscrowd"]:
            n_objects[categories[ann["category_id"] - 1]] += 1
    if not detections or not any(n_objects.values()):
        # pycocotools cannot load an empty result list; no detections (or nothing to find) scores 0.
        return {name: 0.0 for name in STAT_NAMES}, {c: {"ap": 0.0, "ap50": 0.0, "n_objects": n_objects[c]}
                                                     for c in categories}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(detections)
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    # -1 marks "no ground truth in this size range": reported as 0 rather than a negative score.
    stats = {name: max(float(v), 0.0) for name, v in zip(STAT_NAMES, ev.stats, strict=True)}
    precision = ev.eval["precision"]  # (iou thresholds, recall points, classes, areas, max dets)
    per_class = {}
    for k, name in enumerate(categories):
        p = precision[:, :, k, 0, -1]
        valid = p > -1
        ap = float(p[valid].mean()) if valid.any() else 0.0
        p50 = p[0][p[0] > -1]
        per_class[name] = {"ap": ap, "ap50": float(p50.mean()) if len(p50) else 0.0, "n_objects": n_objects[name]}
    return stats, per_class
