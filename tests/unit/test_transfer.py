"""Course 4 week 2's transfer learning: the objects crops, the class-balanced labelled subsets, augmentation, what
each row trains, and the labelled-examples curve's settings and table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pipelines import registry
from pipelines.data import detection, objects
from pipelines.evaluation import curve
from pipelines.features import efficientnet_lite
from pipelines.models.transfer import LiteClassifier, build
from pipelines.tasks.transfer import TransferTask, augment, labelled_subset

BACKGROUNDS = Path("/usr/share/doc/opencv-doc/examples/data")
DETECTION = {"seed": 5, "n_train": 16, "n_dev": 4, "n_test": 6, "n_new_scenes": 6, "min_size": 40, "max_size": 120,
             "max_objects": 6, "backgrounds": str(BACKGROUNDS)}


@pytest.fixture(scope="module")
def crops(tmp_path_factory) -> tuple[Path, dict, dict]:
    assert BACKGROUNDS.is_dir(), f"{BACKGROUNDS} is missing: install Debian opencv-doc (bash scripts/setup.sh)"
    source = tmp_path_factory.mktemp("detection")
    detection.write_dataset(DETECTION, source)
    out = tmp_path_factory.mktemp("objects")
    params = {"seed": 1, "source": str(source), "out": str(out), "side": 48, "context": 0.15, "min_side": 24,
              "per_class": {"train": 3, "dev": 1, "test": 2, "new_scenes": 2}}
    return out, objects.write_dataset(params, out), params


def test_crops_are_balanced_imagefolders_and_the_same_seed_writes_the_same_pixels(crops, tmp_path):
    out, summary, params = crops
    assert set(summary) == {"train", "dev", "test", "new_scenes"}
    assert all(0 < n <= 3 for n in summary["train"].values()) and sum(summary["train"].values()) >= 16
    x, y, names = objects.read_split(out, "train")
    assert x.shape[1:] == (48, 48, 3) and x.dtype == np.uint8 and len(x) == sum(summary["train"].values())
    assert set(names) <= set(objects.CATEGORY_NAMES)
    # the same seed gives the same crops
    objects.write_dataset({**params, "per_class": {"train": 3}}, tmp_path)
    again, _, _ = objects.read_split(tmp_path, "train")
    assert np.array_equal(again, x)
    # a split's crops come from that split's images only (<image>_<object>.png): the scene split carries over
    source = Path(params["source"]) / "images"
    for split in ("train", "new_scenes"):
        images = {p.stem for p in (source / split).iterdir()}
        assert {p.stem.split("_")[0] for p in (out / split).rglob("*.png")} <= images


def test_a_crop_past_the_border_is_padded_grey_and_square():
    photo = Image.new("RGB", (100, 60), (255, 0, 0))
    crop = objects.square_crop(photo, np.array([80, 40, 100, 60]), context=0.5, side=32)
    pixels = np.asarray(crop)
    assert crop.size == (32, 32)
    assert tuple(pixels[2, 2]) == (255, 0, 0) and tuple(pixels[-2, -2]) == objects.PAD


def test_reading_names_the_problem(crops, tmp_path):
    out, _, _ = crops
    with pytest.raises(FileNotFoundError, match="no split 'val'"):
        objects.read_split(out, "val")
    with pytest.raises(ValueError, match="classes the model does not know"):
        objects.read_split(out, "train", classes=("car",))
    (tmp_path / "test" / "car").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "test/car/a.png")
    Image.new("RGB", (9, 8)).save(tmp_path / "test/car/b.png")
    with pytest.raises(ValueError, match="b.png is 9 x 8 px"):
        objects.read_split(tmp_path, "test")
    with pytest.raises(ValueError, match="unknown splits"):
        objects.check_params({"seed": 0, "source": ".", "out": ".", "side": 32, "context": 0.1, "min_side": 8,
                              "per_class": {"val": 3}})


def test_labelled_subsets_are_balanced_nested_and_seeded():
    labels = torch.tensor([0] * 10 + [1] * 10 + [2] * 4)
    small, large = labelled_subset(labels, 6, 3), labelled_subset(labels, 15, 3)
    assert torch.bincount(labels[small]).tolist() == [2, 2, 2]
    assert set(small.tolist()) <= set(large.tolist())
    assert torch.bincount(labels[large]).tolist() == [6, 5, 4]  # the small class runs out: the others fill in
    assert torch.equal(labelled_subset(labels, 6, 3), small) and not torch.equal(labelled_subset(labels, 6, 4), small)
    assert len(labelled_subset(labels, None, 0)) == 24
    with pytest.raises(ValueError, match="train.labelled is 25"):
        labelled_subset(labels, 25, 0)


def test_augmentation_flips_only_classes_that_may_be_mirrored():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 16, 16)
    out = augment(x, torch.tensor([True, False, True, False]), {"flip": 1.0})
    assert torch.equal(out[0], x[0].flip(-1)) and torch.equal(out[1], x[1]) and torch.equal(out[3], x[3])
    assert torch.equal(augment(x, torch.ones(4, dtype=torch.bool), {}), x)
    turned = augment(x, torch.ones(4, dtype=torch.bool), {"rotate": 20, "zoom": 0.2})
    assert turned.shape == x.shape and not torch.allclose(turned, x)


def test_the_frozen_row_trains_the_head_and_fine_tuning_the_top_blocks_too():
    net = build({"backbone": "efficientnet_lite0", "classes": 8, "dropout": 0.2})
    assert isinstance(net, LiteClassifier)
    head = sum(p.numel() for p in net.head.parameters())
    net.set_trainable(0)
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == head == 1280 * 8 + 8
    net.set_trainable(4)
    top = sum(p.numel() for stage in net.stages()[-4:] for p in stage.parameters())
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == head + top
    net.train()
    assert net.head.training and not net.backbone.training and not any(m.training for m in net.backbone.modules())
    # the pretrained weights (a copy: the shared frozen network is untouched by set_trainable)
    shared = efficientnet_lite.lite0()
    assert torch.equal(net.backbone._blocks[15]._project_conv.weight, shared._blocks[15]._project_conv.weight)
    assert not any(p.requires_grad for p in shared.parameters())
    assert net(torch.rand(2, 3, 64, 64)).shape == (2, 8)
    with pytest.raises(ValueError, match="model.backbone is 'vgg'"):
        build({"backbone": "vgg", "classes": 2})


@pytest.mark.parametrize("model, expected", [
    ({"backbone": "small_cnn"}, [(0, 10, None, 0.01)]),
    ({"backbone": "efficientnet_lite0"}, [(0, 10, 0, 0.01)]),
])
def test_phases_of_the_one_phase_rows(model, expected):
    task = TransferTask({"model": model, "train": {"epochs": 10, "lr": 0.01}})
    assert task.phases() == expected


def test_fine_tuning_is_two_phases_at_a_lower_rate():
    task = TransferTask({"model": {"backbone": "efficientnet_lite0"},
                         "train": {"epochs": 10, "lr": 0.01, "fine_tune": {"after": 0.4, "top_blocks": 3,
                                                                           "lr_ratio": 0.1}}})
    (first, switch, frozen, lr1), (start, end, top, lr2) = task.phases()
    assert (first, switch, frozen, start, end, top) == (0, 4, 0, 4, 10, 3)
    assert lr1 == 0.01 and lr2 == pytest.approx(0.001)


def test_the_curve_settings_are_checked_and_the_table_names_the_fewest_examples():
    spec = registry.get("c4w2_transfer_frozen")
    assert curve.settings({"c4w2_transfer_frozen": {"curve": {"sizes": [10, 20]}}}, spec) == {
        "sizes": [10, 20], "target": 0.9, "metric": "test.accuracy"}
    for sizes in ([20, 10], [0, 10], []):
        with pytest.raises(ValueError, match="curve.sizes"):
            curve.settings({"c4w2_transfer_frozen": {"curve": {"sizes": sizes}}}, spec)
    rows = [{"model": "a", "metric": "test.accuracy", "target": 0.9, "sizes": [10], "reaches_target_at": 40,
             "points": [{"n": 10, "metrics": {"test": {"accuracy": 0.5}, "new_scenes": {"accuracy": 0.4}}},
                        {"n": 40, "metrics": {"test": {"accuracy": 0.95}, "new_scenes": {"accuracy": 0.9}}}]},
            {"model": "b", "metric": "test.accuracy", "target": 0.9, "sizes": [10], "reaches_target_at": None,
             "points": [{"n": 10, "metrics": {"test": {"accuracy": 0.6}}},
                        {"n": 40, "metrics": {"test": {"accuracy": 0.8}}}]}]
    text = curve.render("transfer", rows)
    assert "| a | 0.500 | 0.950 | 40 (>= 0.90) |" in text
    assert "| b | 0.600 | 0.800 | not within 40 (target 0.90) |" in text
    assert text.index("## test.accuracy") < text.index("## new_scenes.accuracy")
    assert "| b | - | - |  |" in text  # b has no new_scenes scores


def test_the_transfer_rows_are_one_table_with_a_curve():
    names = [s.name for s in registry.MODELS.values() if s.compare == "transfer"]
    assert names == ["c4w2_transfer_scratch", "c4w2_transfer_frozen", "c4w2_transfer_finetune"]
    assert all(registry.get(n).curve for n in names)
