"""Course 4 week 3's U-Net: the per-pixel street data (COCO RLE segmentations), its reader, the network's shapes,
and the IoU arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pycocotools import mask as coco_mask

from pipelines.data import segmentation
from pipelines.models.unet import UNet
from pipelines.tasks.segmentation import confusion_matrix, scores_of

BACKGROUNDS = Path("/usr/share/doc/opencv-doc/examples/data")
PARAMS = {"seed": 3, "backgrounds": str(BACKGROUNDS), "width": 64, "height": 48, "n_train": 6, "n_dev": 2,
          "n_test": 2, "n_new_scenes": 3, "min_size": 16, "max_size": 40, "max_objects": 4}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    assert BACKGROUNDS.is_dir(), f"{BACKGROUNDS} is missing: install Debian opencv-doc (bash scripts/setup.sh)"
    out = tmp_path_factory.mktemp("segmentation")
    segmentation.write_dataset(PARAMS, out)
    return out


def test_rle_is_cocos_own():
    rng = np.random.default_rng(0)
    for _ in range(100):
        h, w = (int(v) for v in rng.integers(1, 12, 2))
        mask = rng.random((h, w)) < rng.random()
        if mask.any():
            decoded = coco_mask.decode(coco_mask.frPyObjects(segmentation.rle(mask), h, w)).astype(bool)
            assert np.array_equal(decoded, mask)


def test_written_masks_read_back_as_class_maps_and_the_same_seed_gives_the_same_bytes(dataset, tmp_path):
    images, maps, names = segmentation.read_split(dataset, "train")
    assert images.shape == (6, 48, 64, 3) and maps.shape == (6, 48, 64)
    assert names == list(segmentation.CATEGORY_NAMES) and maps.max() <= len(names) and (maps > 0).any()
    coco = json.loads((dataset / "annotations/instances_train.json").read_text())
    for ann in coco["annotations"]:  # each region's box is the tight box of its pixels
        region = maps[ann["image_id"] - 1] == ann["category_id"]
        rows, cols = np.flatnonzero(region.any(1)), np.flatnonzero(region.any(0))
        assert ann["bbox"] == [cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1]
        assert ann["area"] == region.sum()
    segmentation.write_dataset({**PARAMS, "n_dev": 0, "n_test": 0, "n_new_scenes": 0}, tmp_path)
    assert (tmp_path / "annotations/instances_train.json").read_bytes() == \
        (dataset / "annotations/instances_train.json").read_bytes()
    assert (tmp_path / "images/train/000005.png").read_bytes() == (dataset / "images/train/000005.png").read_bytes()


def test_new_scenes_use_photos_no_other_split_shows(dataset):
    seen = {image["background"] for split in ("train", "dev", "test")
            for image in json.loads((dataset / f"annotations/instances_{split}.json").read_text())["images"]}
    new = {image["background"] for image in
           json.loads((dataset / "annotations/instances_new_scenes.json").read_text())["images"]}
    assert new and not (new & seen)


def test_a_users_coco_with_polygons_is_read_and_resized(tmp_path):
    (tmp_path / "images/val").mkdir(parents=True)
    Image.new("RGB", (40, 20), (10, 20, 30)).save(tmp_path / "images/val/a.jpg")
    coco = {"images": [{"id": 7, "file_name": "a.jpg", "width": 40, "height": 20}],
            "categories": [{"id": 5, "name": "cat"}, {"id": 2, "name": "dog"}],
            "annotations": [{"id": 1, "image_id": 7, "category_id": 5, "bbox": [0, 0, 20, 20],
                             "segmentation": [[0, 0, 20, 0, 20, 20, 0, 20]]}]}
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations/instances_val.json").write_text(json.dumps(coco))
    images, maps, names = segmentation.read_split(tmp_path, "val", size=(32, 64))
    assert names == ["dog", "cat"] and images.shape == (1, 32, 64, 3)
    assert maps[0, 16, 10] == 2 and maps[0, 16, 50] == 0  # cat (the 2nd category by id), left half only
    with pytest.raises(FileNotFoundError, match="no split 'test'"):
        segmentation.read_split(tmp_path, "test")
    del coco["annotations"][0]["segmentation"]
    (tmp_path / "annotations/instances_val.json").write_text(json.dumps(coco))
    with pytest.raises(ValueError, match="annotation 1 has no segmentation"):
        segmentation.read_split(tmp_path, "val")


def test_bad_params_are_named():
    with pytest.raises(ValueError, match="multiples of 16"):
        segmentation.check_params({**PARAMS, "width": 60})
    with pytest.raises(ValueError, match="missing key 'n_test'"):
        segmentation.check_params({k: v for k, v in PARAMS.items() if k != "n_test"})


def test_the_unet_keeps_the_size_and_its_skips():
    net = UNet(classes=9, filters=4)
    assert net(torch.rand(2, 3, 48, 64)).shape == (2, 9, 48, 64)
    with pytest.raises(ValueError, match="multiple of 16"):
        net(torch.rand(1, 3, 50, 64))
    # the notebook's widths: 32, 64, 128, 256, 512 down, back to 32; 1x1 to the classes
    big = UNet(classes=23, filters=32)
    assert [b.convs[0].out_channels for b in big.down] == [32, 64, 128, 256, 512]
    assert [b.up.out_channels for b in big.up] == [256, 128, 64, 32]


def test_iou_by_hand():
    truth = torch.tensor([[0, 0, 1, 1], [0, 2, 2, 1]])
    pred = torch.tensor([[0, 1, 1, 1], [0, 2, 0, 1]])
    confusion = confusion_matrix(pred, truth, 4)
    scores = scores_of(confusion, ["background", "a", "b", "c"])
    assert scores["pixel_accuracy"] == pytest.approx(6 / 8)
    # background: 2 hit, 3 true + 3 predicted - 2 = 4; a: 3 hit, union 4; b: 1 hit, union 2; c: in neither
    assert scores["iou"] == {"background": pytest.approx(2 / 4), "a": pytest.approx(3 / 4), "b": pytest.approx(1 / 2),
                             "c": None}
    assert scores["mean_iou"] == pytest.approx((2 / 4 + 3 / 4 + 1 / 2) / 3)
    assert scores["object_mean_iou"] == pytest.approx((3 / 4 + 1 / 2) / 2)
