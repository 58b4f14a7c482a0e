"""Object detection (C4W3, YOLO): COCO data -> letterboxed tensors, augmentation, YOLO loss, COCO mAP.

    dlzoo data detection && dlzoo train detection && dlzoo evaluate detection
    dlzoo evaluate detection --data /path/to/coco    # annotations/instances_<split>.json + images/<split>/

Training images are letterboxed once to the network's square input and kept in memory as uint8
(``train.cache_images``; 4,000 images at 256 px are 0.8 GB), so an epoch spends its time in the
network, not in JPEG decoding. Augmentation runs per image with ``torchvision.transforms.v2`` on
those tensors (boxes move with the pixels): random scale/translate, horizontal flip and colour
jitter. Anchors are k-means (1 - IoU) of the letterboxed training boxes and travel in the model.

:func:`detect` is the one inference path, used by evaluation and by the TorchServe handler alike:
any-size PIL images -> letterbox -> network -> decode + class-aware NMS -> boxes in the original
image's pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import Dataset
from torchvision.ops import batched_nms
from tqdm import tqdm

from pipelines.data.coco import DetectionRecord, load_coco, load_voc
from pipelines.data.detection import SPLITS
from pipelines.evaluation.detection import coco_metrics
from pipelines.models.yolo import (
    Letterbox,
    Yolo,
    YoloConfig,
    build_targets,
    decode,
    kmeans_anchors,
    letterbox,
    yolo_loss,
)
from pipelines.tasks.base import Task, held_out_splits

FILL = 114  # letterbox and augmentation padding grey (YOLO's)


# ---------------------------------------------------------------- data


def find_splits(data_dir: Path, held_out_only: bool = False) -> dict[str, list[DetectionRecord]]:
    """Every split of a COCO (``annotations/instances_<split>.json`` + ``images/<split>/`` or
    ``<split>/``) or Pascal VOC (``Annotations/`` + ``JPEGImages/``) dataset directory.

    With ``held_out_only``, the held-out splits only (``pipelines.tasks.base.held_out_splits``: evaluation).
    """
    data_dir = Path(data_dir)
    if (data_dir / "Annotations").is_dir():
        return {"voc": load_voc(data_dir)}
    files = sorted((data_dir / "annotations").glob("instances_*.json"))
    if not files:
        raise FileNotFoundError(f"detection data: no {data_dir}/annotations/instances_*.json (COCO) "
                                f"and no {data_dir}/Annotations/ (Pascal VOC)")
    splits = {}
    for path in files:
        split = path.stem[len("instances_"):]
        images = data_dir / "images" / split
        splits[split] = load_coco(images if images.is_dir() else data_dir / split, path)
    if held_out_only:
        splits = {k: splits[k] for k in held_out_splits(splits, SPLITS)}
    return splits


def relabel(records: list[DetectionRecord], categories: list[str]) -> list[DetectionRecord]:
    """Records with labels re-indexed into ``categories`` (the model's), matched by class name."""
    if not records:
        return records
    names = records[0]["categories"]
    unknown = sorted(set(names[i] for r in records for i in r["labels"]) - set(categories))
    if unknown:
        raise ValueError(f"detection: the data has classes the model does not know: {unknown}; "
                         f"the model's classes are {categories}")
    index = np.asarray([categories.index(n) if n in categories else -1 for n in names], dtype=np.int64)
    return [dict(r, labels=index[r["labels"]], categories=list(categories)) for r in records]


def open_image(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> uint8 ``(3, H, W)``."""
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)


class LetterboxedSet(Dataset):
    """``(image uint8 (3, S, S), boxes (n, 4) input px, labels (n,))`` of records, optionally augmented."""

    def __init__(self, records: list[DetectionRecord], size: int, transform=None, cache: bool = True):
        self.records, self.size, self.transform = records, size, transform
        self.cache = [self._load(i) for i in tqdm(range(len(records)), desc="letterbox", unit="img",
                                                  mininterval=5)] if cache else None

    def _load(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rec = self.records[i]
        image, box = letterbox(open_image(rec["file"]), self.size, (FILL,) * 3)
        keep = ~rec["ignore"]  # iscrowd / difficult objects are neither targets nor negatives
        boxes = torch.as_tensor(box.to_input(rec["boxes"][keep]), dtype=torch.float32).reshape(-1, 4)
        return to_tensor(image), boxes, torch.as_tensor(rec["labels"][keep], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        image, boxes, labels = self.cache[i] if self.cache is not None else self._load(i)
        if self.transform is not None:
            image, boxes, labels = self.transform(image, boxes, labels)
        return image, boxes, labels


class Augment:
    """The training augmentation (``detection.augment`` params), boxes moving with the pixels."""

    def __init__(self, cfg: dict, size: int):
        from torchvision import tv_tensors
        from torchvision.transforms import v2

        self.tv_tensors, self.size = tv_tensors, size
        self.transform = v2.Compose([
            v2.RandomApply([v2.RandomAffine(degrees=0, translate=(cfg["translate"],) * 2,
                                            scale=tuple(cfg["scale"]), fill=FILL)], p=cfg["p_affine"]),
            v2.RandomHorizontalFlip(cfg["flip"]),
            v2.ColorJitter(cfg["brightness"], cfg["contrast"], cfg["saturation"], cfg["hue"]),
            # Objects pushed (mostly) off the canvas lose their box rather than keep a sliver.
            v2.SanitizeBoundingBoxes(min_size=cfg["min_box_side"]),
        ])

    def __call__(self, image: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor):
        out = self.transform({
            "image": self.tv_tensors.Image(image),
            "boxes": self.tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(self.size, self.size)),
            "labels": labels,
        })
        return out["image"].as_subclass(torch.Tensor), out["boxes"].as_subclass(torch.Tensor), out["labels"]


def collate_detection(batch):
    images, boxes, labels = zip(*batch, strict=True)
    return {"images": torch.stack(images), "boxes": list(boxes), "labels": list(labels)}


def as_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, 3, S, S)`` -> the network's float input in [0, 1], channels-last (faster convs on CPU)."""
    return images.float().div_(255).contiguous(memory_format=torch.channels_last)


# ---------------------------------------------------------------- inference


MAX_INPUT_SIZES = 4


def check_input_size(cfg: YoloConfig, input_size: int | list[int] | None) -> list[int]:
    """The letterbox side(s) to run the network at: ``input_size`` (one side or a list of up to 4, whose
    detections are merged), or the training size when None/0.

    The network is fully convolutional. A larger letterbox than the training one helps small objects
    (a 480 px photo letterboxed to 256 px shrinks its 16 px objects to 8.5 px, under the 8 px cell)
    and hurts the largest; running two sizes and merging keeps both (the dev figures are beside
    ``detection.decode.input_size`` in params.yaml); ``python benchmarks/detection_input_size.py``
    repeats the sweep for any model.
    """
    if not input_size:
        return [cfg.input_size]
    sizes = list(input_size) if isinstance(input_size, (list, tuple)) else [input_size]
    coarsest = cfg.coarsest_stride
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < coarsest or size % coarsest or size > 4096:
            raise ValueError(f"detection.decode.input_size must be a multiple of {coarsest} (the model's coarsest "
                             f"stride) from {coarsest} to 4096, or a list of such sizes, got {input_size!r}")
    if not 1 <= len(sizes) <= MAX_INPUT_SIZES or len(set(sizes)) != len(sizes):
        raise ValueError(f"detection.decode.input_size: give 1 to {MAX_INPUT_SIZES} different sizes, "
                         f"got {input_size!r}")
    return sizes


@torch.no_grad()
def detect(model: Yolo, images: list[Image.Image], score_threshold: float | list[float] = 0.25,
           iou_threshold: float | list[float] = 0.45, max_detections: int | list[int] = 100,
           batch_size: int = 32, input_size: int | list[int] | None = None) -> list[dict[str, np.ndarray]]:
    """Any-size RGB images -> per image ``{"boxes" (n, 4) xyxy original px, "scores", "labels"}``.

    Images are letterboxed to ``input_size`` (default: the training size; see :func:`check_input_size`)
    and run ``batch_size`` at a time; boxes are mapped back to each image's own pixels (per-axis scale,
    clipped to the image). With several sizes, each image's detections at every size are pooled and
    suppressed again per class (same IoU threshold and cap). Each threshold is one value for all images
    or a list with one per image (a service's requests each bring their own).
    """
    def per_image(value):
        return list(value) if isinstance(value, (list, tuple)) else [value] * len(images)

    scores, ious, maxes = per_image(score_threshold), per_image(iou_threshold), per_image(max_detections)
    sizes = check_input_size(model.cfg, input_size)
    runs = [_detect_at(model, images, scores, ious, maxes, batch_size, size) for size in sizes]
    if len(runs) == 1:
        return runs[0]
    out = []
    for k, found in enumerate(zip(*runs, strict=True)):
        boxes = torch.from_numpy(np.concatenate([f["boxes"] for f in found]))
        conf = torch.from_numpy(np.concatenate([f["scores"] for f in found]))
        labels = torch.from_numpy(np.concatenate([f["labels"] for f in found]))
        keep = batched_nms(boxes.float(), conf, labels, ious[k])[:maxes[k]].numpy()
        out.append({"boxes": boxes.numpy()[keep], "scores": conf.numpy()[keep], "labels": labels.numpy()[keep]})
    return out


def _detect_at(model: Yolo, images: list[Image.Image], scores: list[float], ious: list[float], maxes: list[int],
               batch_size: int, size: int) -> list[dict[str, np.ndarray]]:
    """:func:`detect` at one letterbox side."""
    cfg = model.cfg
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(images), batch_size):
        fitted = [letterbox(im, size, (FILL,) * 3) for im in images[i:i + batch_size]]
        pred = model(as_input(torch.stack([to_tensor(im) for im, _ in fitted]).to(device)))
        same = len({(s, t, m) for s, t, m in zip(scores[i:i + batch_size], ious[i:i + batch_size],
                                                 maxes[i:i + batch_size], strict=True)}) == 1
        if same:  # one decode for the batch (evaluation); otherwise each image with its own settings
            decoded = decode(pred, model.anchors, cfg.stride, scores[i], ious[i], maxes[i],
                             neighbour_cells=cfg.neighbour_cells)
        else:
            decoded = [decode(pred[j:j + 1], model.anchors, cfg.stride, scores[i + j], ious[i + j], maxes[i + j],
                              neighbour_cells=cfg.neighbour_cells)[0] for j in range(len(fitted))]
        for (_, box), det in zip(fitted, decoded, strict=True):
            out.append({"boxes": box.to_original(det["boxes"].cpu().numpy().astype(np.float64)),
                        "scores": det["scores"].cpu().numpy(), "labels": det["labels"].cpu().numpy()})
    return out


# ---------------------------------------------------------------- the task


class DetectionTask(Task):
    name = "detection"

    def load(self, data_dir: Path) -> None:
        splits = find_splits(data_dir)
        for need in ("train", "dev"):
            if need not in splits:
                raise FileNotFoundError(f"detection: {data_dir} has no {need} split "
                                        f"(annotations/instances_{need}.json)")
        size = self.params["model"]["input_size"]
        if not self.meta:
            categories = splits["train"][0]["categories"] if splits["train"] else []
            self.meta = {"categories": list(categories), "anchors": self.anchors_for(splits["train"], size)}
        train = relabel(splits["train"], self.meta["categories"])
        dev = relabel(splits["dev"], self.meta["categories"])
        cache = bool(self.params["train"].get("cache_images", True))
        self.train_set = LetterboxedSet(train, size, Augment(self.params["augment"], size), cache)
        self.dev_set = LetterboxedSet(dev, size, None, cache)

    def anchors_for(self, records: list[DetectionRecord], size: int) -> list[list[float]]:
        """YOLOv2's k-means anchors of the training boxes, measured after letterboxing."""
        wh = [Letterbox.fit(r["width"], r["height"], size).to_input(r["boxes"][~r["ignore"]]) for r in records]
        wh = np.concatenate([b[:, 2:] - b[:, :2] for b in wh]) if wh else np.zeros((0, 2))
        anchors = kmeans_anchors(wh, self.params["model"]["num_anchors"], seed=self.params["model"]["anchor_seed"])
        return [[round(float(w), 2), round(float(h), 2)] for w, h in anchors]

    def datasets(self):
        return self.train_set, self.dev_set

    def collate(self, batch):
        return collate_detection(batch)

    def model_config(self) -> dict:
        m = self.params["model"]
        return YoloConfig(num_classes=len(self.meta["categories"]), anchors=self.meta["anchors"],
                          input_size=m["input_size"], stride=m["stride"], width=m["width"],
                          base_channels=m["base_channels"], depths=tuple(m["depths"]),
                          context_stages=m.get("context_stages", 1),
                          neighbour_cells=bool(m.get("neighbour_cells", False))).to_dict()

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return Yolo(YoloConfig(**config)).to(memory_format=torch.channels_last)

    def _loss_parts(self, model, batch, pred: torch.Tensor | None = None):
        """The YOLO loss and its parts; ``pred``, when given, is the network's output for this batch."""
        net = self.unwrap(model)
        cfg = net.cfg
        pred = model(as_input(batch["images"])) if pred is None else pred
        lp = self.params["loss"]
        targets = build_targets(batch["boxes"], batch["labels"], net.anchors, cfg.grid, cfg.stride,
                                lp.get("match_iou"), cfg.neighbour_cells)
        return yolo_loss(pred, targets, net.anchors, cfg.stride, coord=lp["coord"], noobj=lp["noobj"],
                         obj=lp["obj"], cls=lp["cls"], ignore_iou=lp["ignore_iou"], neighbour_cells=cfg.neighbour_cells,
                         box=lp.get("box", "mse"), obj_iou=lp.get("obj_iou", 0.0))

    def loss(self, model, batch):
        return self._loss_parts(model, batch)[0]

    @torch.no_grad()
    def validate(self, model, loader, device):
        """Dev loss and COCO mAP on the letterboxed dev images (boxes in input pixels)."""
        net = self.unwrap(model)
        net.eval()
        total, n, preds = 0.0, 0, []
        d = self.params["decode"]
        for batch in loader:
            batch = self.to_device(batch, device)
            pred = net(as_input(batch["images"]))  # one forward pass for both the loss and the mAP
            total += float(self._loss_parts(net, batch, pred)[0]) * len(batch["images"])
            n += len(batch["images"])
            out = decode(pred, net.anchors, net.cfg.stride, d["eval_score_threshold"],
                         d["iou_threshold"], d["max_detections"], neighbour_cells=net.cfg.neighbour_cells)
            preds += [{k: v.cpu().numpy() for k, v in p.items()} for p in out]
        size = net.cfg.input_size
        records = [{"width": size, "height": size, "boxes": b.numpy(), "labels": lab.numpy(),
                    "ignore": np.zeros(len(lab), dtype=bool)} for _, b, lab in
                   (self.dev_set[i] for i in range(len(self.dev_set)))]
        stats, _ = coco_metrics(records, preds, self.meta["categories"])
        net.train()
        return {"dev_loss": total / max(n, 1), "dev_map50": stats["map50"], "dev_map": stats["map"]}

    def score(self, model, records: list[DetectionRecord], split: str,
              input_size: int | list[int] | None = None) -> tuple[dict, dict]:
        """COCO stats and per-class AP of ``model`` on ``records`` (original images) with the decode
        params; ``input_size`` overrides ``decode.input_size``."""
        d = self.params["decode"]
        size, bs, preds = input_size or d.get("input_size"), d["batch_size"], []
        for i in tqdm(range(0, len(records), bs), desc=f"evaluate {split}", unit="batch"):
            images = [open_image(r["file"]) for r in records[i:i + bs]]
            preds += detect(model, images, d["eval_score_threshold"], d["iou_threshold"], d["max_detections"], bs,
                            size)
        return coco_metrics(records, preds, self.meta["categories"])

    def evaluate(self, model, data_dir: Path):
        """COCO mAP of every held-out split in ``data_dir`` (test, or a user's COCO/VOC data), on the
        original images: letterboxed for the network, boxes mapped back to their pixels."""
        model.eval()
        metrics, details = {}, {}
        for split, records in find_splits(Path(data_dir), held_out_only=True).items():
            records = relabel(records, self.meta["categories"])
            stats, per_class = self.score(model, records, split)
            metrics[split] = {**stats, "images": len(records),
                              "objects": int(sum(int((~r["ignore"]).sum()) for r in records))}
            details[split] = {"per_class": per_class,
                              "worst_classes": sorted(per_class, key=lambda c: per_class[c]["ap50"])[:3]}
        return metrics, details
