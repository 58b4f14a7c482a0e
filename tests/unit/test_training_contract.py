"""The training contract Courses 1-5 live in: the recipe as params, a task's own fit, a plain classifier."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from pipelines import registry
from pipelines.tasks.classification import ClassificationTask, classification_report
from pipelines.training.artifacts import load_model, write_artifacts
from pipelines.training.loop import checkpoint_state, train_loop_per_worker
from pipelines.training.recipe import OPTIMIZERS, make_optimizer, make_scheduler
from pipelines.training.session import LocalSession


def lrs(train_cfg, steps_per_epoch, steps):
    opt = make_optimizer([nn.Parameter(torch.zeros(1))], train_cfg)
    sched = make_scheduler(opt, train_cfg, steps_per_epoch)
    out = []
    for _ in range(steps):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return out


def test_every_optimizer_builds_from_params():
    for name in OPTIMIZERS:
        opt = make_optimizer([nn.Parameter(torch.zeros(2))], {"optimizer": name, "lr": 0.1, "momentum": 0.8})
        assert opt.param_groups[0]["lr"] == 0.1
    heavy_ball = make_optimizer([nn.Parameter(torch.zeros(1))], {"optimizer": "momentum", "lr": 1})
    assert heavy_ball.defaults["momentum"] == 0.9
    assert isinstance(make_optimizer([nn.Parameter(torch.zeros(1))], {"lr": 1}), torch.optim.AdamW)  # the default
    with pytest.raises(ValueError, match=r"train\.optimizer is 'adagrad'; choose one of adamw"):
        make_optimizer([nn.Parameter(torch.zeros(1))], {"optimizer": "adagrad", "lr": 1})
    with pytest.raises(ValueError, match=r"train\.schedule"):
        lrs({"lr": 1, "schedule": "cyclic"}, 1, 1)


def test_schedules():
    assert lrs({"lr": 1.0, "schedule": "constant", "epochs": 3}, 4, 12) == [1.0] * 12
    assert lrs({"lr": 1.0, "schedule": "step", "step_epochs": 1, "gamma": 0.5}, 2, 6) == [1, 1, .5, .5, .25, .25]
    # Course 2 week 2: lr0 / (1 + decay_rate * floor(epoch / time_interval)), one step per epoch here
    got = lrs({"lr": 1.0, "schedule": "inverse_time", "decay_rate": 1.0, "time_interval": 2}, 1, 6)
    assert got == pytest.approx([1 / (1 + (e // 2)) for e in range(6)])
    cosine = lrs({"lr": 1.0, "epochs": 2, "warmup_epochs": 0.5, "min_lr_ratio": 0.1}, 4, 8)
    assert cosine[:2] == pytest.approx([0.5, 1.0])  # linear warm-up over 2 steps
    assert cosine[-1] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 5 / 6)))


class Blobs(ClassificationTask):
    """Three Gaussian blobs in 2-D, written by the test as .pt splits."""

    name = "blobs"
    held_out_splits = ("test", "other")
    class_names = ("a", "b", "c")

    def read_split(self, data_dir, split):
        path = Path(data_dir) / f"{split}.pt"
        if not path.is_file():
            raise FileNotFoundError(path)
        return torch.load(path)

    @classmethod
    def build_model(cls, config):
        return nn.Sequential(nn.Linear(config["input_shape"][0], config["hidden"]), nn.ReLU(),
                             nn.Linear(config["hidden"], config["classes"]))


def blobs(path: Path, n: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.tensor([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    torch.save((centres[y] + torch.randn(n, 2, generator=g), y), path)


@pytest.fixture
def blob_model(monkeypatch, tmp_path):
    spec = registry.ModelSpec("blobs", "C0W0", "test blobs", "none", "tests.unit.test_training_contract:Blobs",
                              "test.accuracy", "n/a")
    monkeypatch.setitem(registry.MODELS, "blobs", spec)
    data = tmp_path / "data"
    data.mkdir()
    for split, n, seed in (("train", 600, 0), ("dev", 150, 1), ("test", 300, 2)):
        blobs(data / f"{split}.pt", n, seed)
    return data


def test_a_classifier_is_a_few_lines_and_trains_through_the_loop(blob_model, tmp_path):
    params = {"model": {"hidden": 16}, "train": {"seed": 0, "epochs": 3, "batch_size": 64, "lr": 0.1,
                                                 "optimizer": "momentum", "schedule": "constant",
                                                 "drop_last": False}}
    session = LocalSession(tmp_path / "run", "cpu")
    train_loop_per_worker({"model": "blobs", "params": params, "data_dir": str(blob_model), "threads": 1}, session)
    state = session.load_checkpoint()
    assert state["history"][-1]["dev_accuracy"] > 0.95
    write_artifacts(tmp_path / "artifacts", state, "run")
    model, bundle = load_model(tmp_path / "artifacts" / "model.pt")
    metrics, details = Blobs(params, bundle["meta"]).evaluate(model, blob_model)
    assert set(metrics) == {"test"} and metrics["test"]["n"] == 300 and metrics["test"]["accuracy"] > 0.95
    assert sum(map(sum, details["test"]["confusion"])) == 300 and set(details["test"]["per_class"]) == {"a", "b", "c"}


def test_classification_report_by_hand():
    metrics, details = classification_report(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
    assert metrics == {"n": 4, "accuracy": 0.75}
    assert details["confusion"] == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert details["per_class"]["1"] == {"precision": 0.5, "recall": 1.0, "support": 1}
    assert details["per_class"]["2"] == {"precision": 1.0, "recall": 0.5, "support": 2}


class ClosedForm(Blobs):
    """Least squares on one-hot targets, solved in closed form: no mini-batches, its own fit."""

    custom_fit = True

    @classmethod
    def build_model(cls, config):
        return nn.Linear(config["input_shape"][0], config["classes"])

    def fit(self, session, end_epoch):
        x, y = self.train_set.tensors
        ones = torch.cat([x, torch.ones(len(x), 1)], 1)
        solution = torch.linalg.lstsq(ones, nn.functional.one_hot(y, 3).float()).solution
        model = self.build_model(self.model_config())
        with torch.no_grad():
            model.weight.copy_(solution[:-1].T)
            model.bias.copy_(solution[-1])
        metrics = {"epoch": 0, "train_loss": float(self.loss(model, (x, y)).detach()), "epoch_seconds": 0.0,
                   **self.validate(model, [self.dev_set.tensors], torch.device("cpu"))}
        end_epoch(metrics, checkpoint_state(self, model, 0, [metrics]))


def test_a_task_with_its_own_fit_writes_the_same_artifacts(blob_model, monkeypatch, tmp_path):
    monkeypatch.setitem(registry.MODELS, "blobs", registry.ModelSpec(
        "blobs", "C0W0", "closed form", "none", "tests.unit.test_training_contract:ClosedForm", "test.accuracy", "n/a"))
    params = {"model": {}, "train": {"seed": 0, "epochs": 1}}
    session = LocalSession(tmp_path / "run", "cpu")
    train_loop_per_worker({"model": "blobs", "params": params, "data_dir": str(blob_model), "threads": 1}, session)
    metrics = write_artifacts(tmp_path / "artifacts", session.load_checkpoint(), "run")
    assert metrics["dev"]["accuracy"] > 0.9 and metrics["train"]["epochs"] == 1
    model, _ = load_model(tmp_path / "artifacts" / "model.pt")
    assert isinstance(model, nn.Linear)


def test_one_rule_picks_the_held_out_splits_of_every_dataset():
    from pipelines.tasks.base import held_out_splits

    declared = ("train", "dev", "test", "new_scenes")
    assert held_out_splits({"new_scenes", "dev", "test", "train"}, declared) == ["test", "new_scenes"]
    assert held_out_splits({"train", "dev", "test"}, declared) == ["test"]
    # a user's folder with none of the declared names: all but train and dev, sorted
    assert held_out_splits({"val", "train", "night"}, declared) == ["night", "val"]
    assert held_out_splits({"train", "dev"}, declared) == []
