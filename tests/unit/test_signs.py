"""Course 4's SIGNS (pipelines/data/signs.py, pipelines/models/signs.py, pipelines/tasks/signs.py): the label is the
count of raised fingers, reproducible splits of different hands, new_scenes photos never used in training, the
notebook's ConvNet, and a tiny training run of each row through the driver's own loop.

    pytest tests/unit/test_signs.py
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.data import detection, signs
from pipelines.models.signs import signs_convnet
from pipelines.tasks.signs import SignsTask
from tests.conftest import train_here


def test_the_label_is_the_count_of_raised_fingers_shown_more_than_one_way(smoke_params):
    params = {**smoke_params["data_signs"], "p_other_fingers": 0.5}
    drawn = [signs.draw(params, 0, "train", k) for k in range(120)]
    assert [label for _, label, _ in drawn] == [k % 6 for k in range(120)]  # balanced
    assert all(len(fingers) == label for _, label, fingers in drawn)
    assert all(image.size == (params["size"], params["size"]) for image, _, _ in drawn)
    threes = {fingers for _, label, fingers in drawn if label == 3}
    assert threes == {("index", "middle", "ring"), ("thumb", "index", "middle")}
    assert {fingers for _, label, fingers in drawn if label == 5} == {signs.FINGERS}


def test_bad_params_are_named(smoke_params, tmp_path):
    params = smoke_params["data_signs"]
    with pytest.raises(ValueError, match="data_signs.p_other_fingers"):
        signs.write_dataset({**params, "p_other_fingers": 1.5}, tmp_path)
    with pytest.raises(ValueError, match="data_signs.max_rotation"):
        signs.write_dataset({**params, "max_rotation": 120}, tmp_path)
    with pytest.raises(ValueError, match="data_signs.n_train"):
        signs.write_dataset({**params, "n_train": 3}, tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        signs.write_dataset({**params, "backgrounds": str(tmp_path / "absent")}, tmp_path)


def test_the_splits_are_reproducible_and_hold_different_hands(smoke_params, tmp_path):
    params = {**smoke_params["data_signs"], "n_train": 12, "n_dev": 6, "n_test": 6, "n_new_scenes": 6}
    summary = signs.write_dataset(params, tmp_path / "a")
    assert summary["test"] == dict.fromkeys(signs.CLASSES, 1) and summary["new_scenes"] == summary["test"]
    signs.write_dataset({**params, "n_train": 6}, tmp_path / "b")  # another train size
    for split in ("dev", "test", "new_scenes"):  # ... leaves the other splits byte for byte
        for path in sorted((tmp_path / "a" / split).rglob("*.png")):
            assert path.read_bytes() == (tmp_path / "b" / split / path.relative_to(tmp_path / "a" / split)).read_bytes()
    train = np.asarray(signs.draw(params, 0, "train", 0)[0], float)
    test = np.asarray(signs.draw(params, 0, "test", 0)[0], float)
    assert np.abs(train - test).mean() > 10  # image 0 of test is another hand, not a copy of train's


def test_new_scenes_photos_are_never_training_backgrounds(smoke_params):
    scenes = detection.split_backgrounds(detection.find_backgrounds(Path(smoke_params["data_signs"]["backgrounds"])))
    seen = {path for scene in scenes["train"] for path in scene}
    new = {path for scene in scenes["new_scenes"] for path in scene}
    assert new and seen and not seen & new
    assert scenes["dev"] == scenes["test"] == scenes["train"]


def test_the_notebooks_convnet_has_its_shape():
    net = signs_convnet([3, 64, 64])
    assert net(torch.rand(5, 3, 64, 64)).shape == (5, 6)
    # conv 4x4x3x8 + 8, conv 2x2x8x16 + 16, dense (2 x 2 x 16) -> 6: the notebook's summary
    assert sum(p.numel() for p in net.parameters()) == 4 * 4 * 3 * 8 + 8 + 2 * 2 * 8 * 16 + 16 + 64 * 6 + 6
    assert signs_convnet([3, 60, 60])(torch.rand(2, 3, 60, 60)).shape == (2, 6)  # "same" pools round up


@pytest.mark.parametrize("model", ["c4w1_signs_convnet", "c4w2_signs_resnet50"])
def test_a_tiny_training_run_evaluates_test_and_new_scenes(model, tmp_path, smoke_params):
    data = tmp_path / "signs"
    signs.write_dataset(smoke_params["data_signs"], data)
    params = copy.deepcopy(smoke_params[model])
    params["train"].update(epochs=2)
    state, model_file = train_here(model, params, data, tmp_path)
    assert len(state["history"]) == 2 and np.isfinite(state["history"][-1]["train_loss"])

    from pipelines.training.artifacts import load_model

    net, bundle = load_model(model_file)
    metrics, details = SignsTask(params, bundle["meta"]).evaluate(net, data)
    assert set(metrics) == {"test", "new_scenes"}
    for split in metrics:
        n = smoke_params["data_signs"][f"n_{split}"]
        assert metrics[split]["n"] == n and 0.0 <= metrics[split]["accuracy"] <= 1.0
        assert set(details[split]["per_class"]) == set(signs.CLASSES)
        assert sum(map(sum, details[split]["confusion"])) == n
