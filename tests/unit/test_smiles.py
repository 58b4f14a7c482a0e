"""C4W1's Happy House (pipelines/data/smiles.py, pipelines/models/happy.py, pipelines/tasks/smiles.py): the written
labelling rule and its left-out band, reproducible splits of different people, the notebook's network, and a
tiny training run through the driver's own loop.

    pytest tests/unit/test_smiles.py
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from pipelines.data import smiles
from pipelines.models.happy import happy_model
from pipelines.tasks.smiles import HappyTask
from tests.conftest import train_here


def test_the_label_follows_the_corner_lift_and_the_band_between_is_never_drawn(smoke_params):
    params = smoke_params["data_smiles"]
    (_, neutral_top), (smiling_bottom, _) = params["neutral_lift"], params["smiling_lift"]
    drawn = [smiles.draw(params, 0, split, k) for split in ("train", "test") for k in range(40)]
    assert [label for _, label, _ in drawn] == [k % 2 for _ in range(2) for k in range(40)]  # balanced
    for image, label, lift in drawn:
        assert (lift >= smiling_bottom) if label else (lift <= neutral_top)
        assert image.size == (params["size"], params["size"])


def test_bad_ranges_are_named(smoke_params, tmp_path):
    params = smoke_params["data_smiles"]
    with pytest.raises(ValueError, match="data_smiles: neutral_lift .* must lie below smiling_lift"):
        smiles.write_dataset({**params, "neutral_lift": [0.0, 0.12]}, tmp_path)
    with pytest.raises(ValueError, match="data_smiles.p_open_smiling"):
        smiles.write_dataset({**params, "p_open_smiling": 2}, tmp_path)
    with pytest.raises(ValueError, match="data_smiles.pose_spread"):
        smiles.write_dataset({**params, "pose_spread": -1}, tmp_path)


def test_the_splits_are_reproducible_and_hold_different_people(smoke_params, tmp_path):
    params = {**smoke_params["data_smiles"], "n_train": 6, "n_dev": 4, "n_test": 4}
    summary = smiles.write_dataset(params, tmp_path / "a")
    assert summary["test"] == {"not_smiling": 2, "smiling": 2}
    smiles.write_dataset({**params, "n_train": 2}, tmp_path / "b")  # another train size
    for split in ("dev", "test"):  # ... leaves dev and test byte for byte
        for path in sorted((tmp_path / "a" / split).rglob("*.png")):
            assert path.read_bytes() == (tmp_path / "b" / split / path.relative_to(tmp_path / "a" / split)).read_bytes()
    train = np.asarray(smiles.draw(params, 0, "train", 0)[0], float)
    test = np.asarray(smiles.draw(params, 0, "test", 0)[0], float)
    assert np.abs(train - test).mean() > 10  # image 0 of test is someone else, not a copy of train's


def test_the_notebooks_network_has_its_shape():
    torch.manual_seed(0)
    net = happy_model([3, 64, 64])
    assert net(torch.rand(5, 3, 64, 64)).shape == (5, 2)
    # conv 7x7x3x32 + 32, batch norm 2 x 32, dense 32 x 32 x 32 -> 2 (the notebook: 32,768 -> 1 sigmoid)
    assert sum(p.numel() for p in net.parameters()) == 7 * 7 * 3 * 32 + 32 + 64 + 32 * 32 * 32 * 2 + 2


def test_the_flip_augmentation_mirrors_about_half_of_a_training_batch(smoke_params):
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            seen.append(x)
            return torch.zeros(len(x), 2, requires_grad=True)

    x = torch.rand(200, 3, 8, 8)
    y = torch.zeros(200, dtype=torch.long)
    torch.manual_seed(0)
    HappyTask({**smoke_params["c4w1_happy"], "augment": {"flip": True}}).loss(Recorder(), (x, y))
    mirrored = torch.tensor([torch.equal(a, b.flip(-1)) for a, b in zip(seen[0], x, strict=True)])
    untouched = torch.tensor([torch.equal(a, b) for a, b in zip(seen[0], x, strict=True)])
    assert bool((mirrored | untouched).all()) and 70 < int(mirrored.sum()) < 130
    HappyTask({**smoke_params["c4w1_happy"], "augment": {"flip": False}}).loss(Recorder(), (x, y))
    assert torch.equal(seen[1], x)


def test_a_tiny_training_run_learns_and_evaluates(tmp_path, smoke_params):
    data = tmp_path / "smiles"
    smiles.write_dataset(smoke_params["data_smiles"], data)
    params = copy.deepcopy(smoke_params["c4w1_happy"])
    params["train"].update(epochs=3)
    state, model_file = train_here("c4w1_happy", params, data, tmp_path)
    assert state["history"][-1]["train_loss"] < state["history"][0]["train_loss"]

    from pipelines.training.artifacts import load_model

    model, bundle = load_model(model_file)
    metrics, details = HappyTask(params, bundle["meta"]).evaluate(model, data)
    n = smoke_params["data_smiles"]["n_test"]
    assert metrics["test"]["n"] == n and 0.0 <= metrics["test"]["accuracy"] <= 1.0
    assert set(details["test"]["per_class"]) == set(smiles.CLASSES)
    assert sum(map(sum, details["test"]["confusion"])) == n
