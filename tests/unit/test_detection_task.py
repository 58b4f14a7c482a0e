"""Detection task pieces: COCO metrics, dataset discovery and relabelling, augmentation that moves
boxes with the pixels, and ``detect`` mapping boxes back to any image size."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from pipelines.evaluation.detection import coco_metrics
from pipelines.models.yolo import YoloConfig
from pipelines.tasks.detection import Augment, LetterboxedSet, check_input_size, detect, find_splits, relabel

CLASSES = ["car", "sign"]


def record(boxes, labels, width=200, height=100, ignore=None):
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return {"width": width, "height": height, "boxes": boxes, "labels": np.asarray(labels, dtype=np.int64),
            "ignore": np.zeros(len(boxes), bool) if ignore is None else np.asarray(ignore), "categories": CLASSES}


def pred(boxes, scores, labels):
    return {"boxes": np.asarray(boxes, dtype=np.float64).reshape(-1, 4), "scores": np.asarray(scores),
            "labels": np.asarray(labels)}


GT = [record([[10, 10, 50, 40], [100, 20, 180, 90]], [0, 1]), record([[5, 5, 40, 60]], [0])]


def test_perfect_detections_score_one_and_none_score_zero():
    perfect = [pred(r["boxes"], [0.9] * len(r["boxes"]), r["labels"]) for r in GT]
    stats, per_class = coco_metrics(GT, perfect)
    assert stats["map"] == pytest.approx(1.0) and stats["map50"] == pytest.approx(1.0)
    assert per_class["car"] == {"ap": pytest.approx(1.0), "ap50": pytest.approx(1.0), "n_objects": 2}
    empty = [pred([], [], []) for _ in GT]
    stats, per_class = coco_metrics(GT, empty)
    assert stats["map50"] == 0.0 and per_class["sign"]["ap"] == 0.0


def test_a_loose_box_counts_at_iou_05_but_not_at_strict_thresholds():
    # The car box shifted by 10 px: IoU = 30*30 / (2*40*30 - 30*30) = 0.6.
    loose = [pred([[20, 10, 60, 40], [100, 20, 180, 90]], [0.9, 0.9], [0, 1]), pred([[5, 5, 40, 60]], [0.9], [0])]
    stats, per_class = coco_metrics(GT, loose)
    assert stats["map50"] == pytest.approx(1.0)
    assert stats["map"] < 0.95 and per_class["car"]["ap"] < per_class["sign"]["ap"] == pytest.approx(1.0)


def test_wrong_class_and_false_positives_cost_precision():
    wrong = [pred([[10, 10, 50, 40], [100, 20, 180, 90]], [0.9, 0.9], [1, 1]), pred([[5, 5, 40, 60]], [0.9], [0])]
    stats, per_class = coco_metrics(GT, wrong)
    assert per_class["car"]["ap50"] == pytest.approx(0.5, abs=0.02)  # one of two cars found
    assert per_class["sign"]["ap50"] < 1.0  # its best-scored detection is a false positive
    assert stats["map50"] < 0.8


def test_ignored_objects_are_neither_rewarded_nor_penalised():
    gt = [record([[10, 10, 50, 40], [100, 20, 180, 90]], [0, 0], ignore=[False, True])]
    found_both = [pred([[10, 10, 50, 40], [100, 20, 180, 90]], [0.9, 0.8], [0, 0])]
    missed_ignored = [pred([[10, 10, 50, 40]], [0.9], [0])]
    assert coco_metrics(gt, found_both)[0]["map50"] == pytest.approx(1.0)
    assert coco_metrics(gt, missed_ignored)[0]["map50"] == pytest.approx(1.0)


def write_coco(root, split, categories, boxes):
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (90, 120, 150)).save(root / "images" / split / "a.png")
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
            "annotations": [{"id": k + 1, "image_id": 1, "category_id": c, "bbox": b, "iscrowd": 0}
                            for k, (c, b) in enumerate(boxes)],
            "categories": [{"id": i, "name": n} for i, n in categories]}
    (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(coco))


def test_find_splits_and_relabel_by_name(tmp_path):
    for split in ("train", "dev", "test"):
        write_coco(tmp_path, split, [(3, "sign"), (7, "car")], [(7, [1, 2, 10, 10]), (3, [20, 5, 8, 8])])
    assert set(find_splits(tmp_path)) == {"train", "dev", "test"}
    held_out = find_splits(tmp_path, held_out_only=True)
    assert list(held_out) == ["test"]
    records = held_out["test"]
    assert records[0]["categories"] == ["sign", "car"] and records[0]["labels"].tolist() == [1, 0]
    model_order = relabel(records, ["car", "sign", "truck"])
    assert model_order[0]["labels"].tolist() == [0, 1]
    with pytest.raises(ValueError, match="does not know"):
        relabel(records, ["car"])


def test_a_directory_without_annotations_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="instances_"):
        find_splits(tmp_path)


def test_augmentation_moves_boxes_with_the_pixels():
    torch.manual_seed(3)
    size = 128
    cfg = {"p_affine": 1.0, "scale": [0.7, 1.3], "translate": 0.15, "flip": 0.5, "brightness": 0.0,
           "contrast": 0.0, "saturation": 0.0, "hue": 0.0, "min_box_side": 3}
    augment = Augment(cfg, size)
    image = torch.zeros(3, size, size, dtype=torch.uint8)
    image[:, 30:60, 20:90] = 255  # a white object exactly inside its box
    boxes, labels = torch.tensor([[20.0, 30.0, 90.0, 60.0]]), torch.tensor([1])
    for _ in range(20):
        out, new_boxes, new_labels = augment(image, boxes, labels)
        assert out.shape == image.shape and out.dtype == torch.uint8
        assert new_labels.tolist() == [1]
        x1, y1, x2, y2 = new_boxes[0].round().int().tolist()
        inside = out[0, y1 + 2:y2 - 2, x1 + 2:x2 - 2].float().mean()
        white = out[0] > 200  # the padding is grey (114), the background black
        outside = int(white.sum()) - int(white[y1:y2, x1:x2].sum())
        assert inside > 200 and outside <= 0.05 * (y2 - y1) * (x2 - x1)


def test_letterboxed_set_maps_boxes_into_the_input(tmp_path):
    Image.new("RGB", (200, 100), (0, 0, 0)).save(tmp_path / "a.png")
    rec = dict(record([[0, 0, 200, 100]], [1]), file=tmp_path / "a.png")
    image, boxes, labels = LetterboxedSet([rec], 64, cache=False)[0]
    assert image.shape == (3, 64, 64)
    assert boxes.tolist() == [[0.0, 16.0, 64.0, 48.0]] and labels.tolist() == [1]


class GridModel(nn.Module):
    """A stand-in network whose 'prediction' is one confident anchor-sized box in a chosen cell."""

    def __init__(self, cell, anchor, label):
        super().__init__()
        self.cfg = YoloConfig(num_classes=3, anchors=[(32, 32), (64, 48)], input_size=256, stride=16)
        self.register_buffer("anchors", torch.tensor(self.cfg.anchors))
        self.cell, self.anchor, self.label = cell, anchor, label
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        self.seen = x.shape
        grid = x.size(-1) // 16
        out = torch.full((x.size(0), 2, grid, grid, 8), -10.0)
        out[..., 0:4] = 0.0  # centred in the cell, anchor-sized
        gx, gy = self.cell
        out[:, self.anchor, gy, gx, 4] = 10.0
        out[:, self.anchor, gy, gx, 5 + self.label] = 10.0
        return out


@pytest.mark.parametrize("size", [None, 320])
@pytest.mark.parametrize("width,height", [(400, 200), (150, 300), (256, 256)])
def test_detect_maps_boxes_back_to_each_images_pixels(width, height, size):
    model = GridModel(cell=(8, 7), anchor=0, label=2)
    images = [Image.new("RGB", (width, height)), Image.new("RGB", (64, 32))]
    results = detect(model, images, score_threshold=0.5, input_size=size)
    side = size or 256  # None: the training size
    assert tuple(model.seen[-2:]) == (side, side)
    # Input box: centre ((8, 7) + 0.5) * 16 = (136, 120), size 32 -> [120, 104, 152, 136].
    scale = side / max(width, height)
    new_w, new_h = round(width * scale), round(height * scale)
    pad_x, pad_y = (side - new_w) // 2, (side - new_h) // 2
    expected = [(120 - pad_x) * width / new_w, (104 - pad_y) * height / new_h,
                (152 - pad_x) * width / new_w, (136 - pad_y) * height / new_h]
    assert results[0]["labels"].tolist() == [2]
    assert results[0]["boxes"][0] == pytest.approx(expected, abs=1e-3)
    assert math.isclose(results[0]["scores"][0], 1 / (1 + math.exp(-10)) * 0.99995, rel_tol=1e-3)
    # The small image's box is clipped to its own bounds.
    assert (results[1]["boxes"][:, 0::2] <= 64).all() and (results[1]["boxes"][:, 1::2] <= 32).all()


@pytest.mark.parametrize("size", [300, 8, 8192, True, 320.0, [256, 300]])
def test_an_input_size_the_network_cannot_take_is_rejected_by_name(size):
    cfg = YoloConfig(num_classes=3, input_size=256, stride=8, context_stages=2, depths=(1, 1, 1, 1))
    with pytest.raises(ValueError, match="decode.input_size must be a multiple of 32"):
        check_input_size(cfg, size)
    assert check_input_size(cfg, None) == check_input_size(cfg, 0) == [256]
    assert check_input_size(cfg, 352) == [352] and check_input_size(cfg, [256, 384]) == [256, 384]
    for sizes in ([256, 256], [32, 64, 96, 128, 160]):
        with pytest.raises(ValueError, match="1 to 4 different sizes"):
            check_input_size(cfg, sizes)


def test_several_sizes_pool_their_detections_and_suppress_duplicates():
    model = GridModel(cell=(8, 7), anchor=0, label=2)
    image = [Image.new("RGB", (256, 256))]
    one = detect(model, image, score_threshold=0.5, input_size=256)[0]
    pooled = detect(model, image, score_threshold=0.5, input_size=[256, 320])[0]
    assert len(one["boxes"]) == 1
    # At 320 the input box [120, 104, 152, 136] maps back to 1/1.25 of it: a second, disjoint box.
    assert sorted(map(tuple, pooled["boxes"].round(1).tolist())) == [(96.0, 83.2, 121.6, 108.8),
                                                                      (120.0, 104.0, 152.0, 136.0)]
    capped = detect(model, image, score_threshold=0.5, input_size=[256, 320], max_detections=1)[0]
    assert len(capped["boxes"]) == 1


def test_detect_applies_each_images_own_thresholds():
    model = GridModel(cell=(3, 3), anchor=1, label=0)
    images = [Image.new("RGB", (100, 100))] * 2
    results = detect(model, images, score_threshold=[0.5, 0.9999999], iou_threshold=[0.5, 0.5],
                     max_detections=[5, 5])
    assert len(results[0]["boxes"]) == 1 and len(results[1]["boxes"]) == 0
