"""Courses 1-2's numpy networks as registered models, trained by the course's own gradient descent
(``pipelines.scratch``) through the one driver: a ``custom_fit`` (the loop hands over; checkpoints, resume
and artifacts are every model's). Numpy needs no Ray worker group: the registry runs them in-process.
The data each reads is its subclass's ``source`` (``pipelines/tasks/planar.py``, ``pipelines/tasks/fashion.py``).

    dlzoo train planar_shallow           # params.yaml's planar_shallow section; dvc repro does the same

``ScratchMLPTask``: one network. Params (the model's section)::

    set: flower                 # which planar set (pipelines/data/planar.py)
    model: {hidden: [4], activation: tanh, init: random, init_scale: 0.01}   # hidden: [] is logistic regression
    train: {seed: 3, epochs: 10, passes: 10000, lr: 1.2, optimizer: gd, batch_size: null,
            lambd: 0.0, keep_prob: 1.0, decay_rate: 0.0, time_interval: null}

``passes`` are passes over the training set (one update each when ``batch_size`` is null, else one per
shuffled mini-batch, as the course's ``random_mini_batches``, pass p shuffled by ``shuffle_seed + p + 1``),
reported in ``epochs`` equal chunks; the learning rate decays per pass (``decay_rate``, ``time_interval``: the
course's ``schedule_lr_decay``). Dropout masks come from a stream seeded by ``seed``.

``ScratchStudyTask``: a Course 2 comparison table, one network per row, all on the same data. ``rows`` maps a
row's name to the ``model``/``train`` keys it changes; the rows train side by side, each with its own seed
stream, and evaluation writes ``table.md`` and ``boundaries.png`` (a decision-boundary panel per row).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from pipelines.params import deep_merge
from pipelines.scratch import network, optimizers
from pipelines.tasks.base import Task


class ScratchMLP(nn.Module):
    """The numpy network's parameters as float64 buffers, so model.pt and ``load_model`` work as for every
    model; ``forward`` runs the numpy code and returns P(class 1) per row of ``x``."""

    def __init__(self, layer_dims: list[int], hidden: str):
        super().__init__()
        self.hidden = hidden
        for layer in range(1, len(layer_dims)):
            self.register_buffer(f"W{layer}", torch.zeros(layer_dims[layer], layer_dims[layer - 1],
                                                          dtype=torch.float64))
            self.register_buffer(f"b{layer}", torch.zeros(layer_dims[layer], 1, dtype=torch.float64))

    def numpy_params(self) -> dict[str, np.ndarray]:
        return {name: buf.detach().cpu().numpy().copy() for name, buf in self.named_buffers()}

    def set_numpy_params(self, params: dict[str, np.ndarray]) -> None:
        for name, value in params.items():
            getattr(self, name).copy_(torch.from_numpy(value))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return network.forward(self.numpy_params(), np.asarray(x, dtype=np.float64).T, self.hidden)[0][0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.probabilities(x.detach().cpu().numpy()))


def scores(net: ScratchMLP, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    p = net.probabilities(x)
    return {"loss": network.cost(p[None, :], y[None, :].astype(float)), "accuracy": float(((p > 0.5) == y).mean())}


class Run:
    """One network in training: its numpy parameters, optimizer and random stream (mini-batches, dropout)."""

    def __init__(self, model_cfg: dict, train: dict, layer_dims: list[int]):
        self.train, self.hidden = train, model_cfg["activation"]
        self.params = network.initialize(layer_dims, model_cfg["init"], seed=train["seed"],
                                         scale=model_cfg.get("init_scale", 1.0))
        settings = {k: train[k] for k in ("beta", "beta1", "beta2", "epsilon") if k in train}
        self.opt = optimizers.make(train.get("optimizer", "gd"), self.params, train["lr"], **settings)
        self.rng = np.random.default_rng(train["seed"])

    def state(self) -> dict:
        return {"optimizer": dict(vars(self.opt)), "rng": self.rng.bit_generator.state}

    def restore(self, weights: dict, state: dict) -> None:
        self.params = {k: v.numpy().copy() for k, v in weights.items()}
        vars(self.opt).update(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]

    def chunk(self, X: np.ndarray, Y: np.ndarray, epoch: int, epochs: int) -> dict:
        """The passes of reporting epoch ``epoch``: train loss (mean over updates), seconds, updates."""
        t0, costs = time.perf_counter(), []
        passes, m = int(self.train["passes"]), X.shape[1]
        batch = self.train.get("batch_size") or m
        lambd, keep = float(self.train.get("lambd", 0.0)), float(self.train.get("keep_prob", 1.0))
        first, last = passes * epoch // epochs, passes * (epoch + 1) // epochs
        for done in range(first, last):
            self.opt.lr = optimizers.decayed_lr(self.train["lr"], done, self.train.get("decay_rate", 0.0),
                                                self.train.get("time_interval"))
            # the course's random_mini_batches: pass p shuffles with np.random.seed(shuffle_seed + p + 1)
            shuffle_seed = int(self.train.get("shuffle_seed", self.train["seed"]))
            order = np.random.RandomState(shuffle_seed + done + 1).permutation(m) if batch < m else np.arange(m)
            for i in range(0, m, batch):
                cols = order[i:i + batch]
                AL, caches = network.forward(self.params, X[:, cols], self.hidden, keep_prob=keep, rng=self.rng)
                costs.append(network.cost(AL, Y[:, cols], self.params, lambd))
                self.opt.update(self.params, network.backward(AL, Y[:, cols], caches, self.params, self.hidden,
                                                              lambd, keep))
        return {"loss": float(np.mean(costs)), "seconds": time.perf_counter() - t0, "updates": len(costs)}


class ScratchMLPTask(Task):
    """One numpy network on a binary task of ``source`` (a data module: ``SPLITS`` and
    ``read_split(data_dir, set, split) -> (x (m, n_x), y (m,))``); subclasses name the source."""

    name = "scratch_mlp"
    custom_fit = True
    source = None

    def load(self, data_dir: Path) -> None:
        self.train_xy = self.source.read_split(data_dir, self.params["set"], "train")
        self.dev_xy = self.source.read_split(data_dir, self.params["set"], "dev")
        self.meta = self.meta or {"inputs": int(self.train_xy[0].shape[1]), "set": self.params["set"]}

    def datasets(self):
        return tuple(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)) for x, y in (self.train_xy, self.dev_xy))

    def rows(self) -> dict[str, tuple[dict, dict]]:
        """``{row: (model params, train params)}``: one row, the section itself."""
        return {"": (self.params["model"], self.params["train"])}

    def layer_dims(self, model_cfg: dict) -> list[int]:
        return [self.meta["inputs"], *model_cfg["hidden"], 1]

    def model_config(self) -> dict:
        model = self.params["model"]
        return {"layer_dims": self.layer_dims(model), "hidden": model["activation"]}

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return ScratchMLP(config["layer_dims"], config["hidden"])

    def nets(self, model) -> dict[str, ScratchMLP]:
        return {"": self.unwrap(model)}

    def loss(self, model, batch):
        x, y = batch
        return nn.functional.binary_cross_entropy(model(x), y.double())

    def validate(self, model, loader, device):
        out = {}
        for row, net in self.nets(model).items():
            prefix = f"dev_{row}_" if row else "dev_"
            out.update({prefix + k: v for k, v in scores(net, *self.dev_xy).items()})
        return out

    def fit(self, session, end_epoch) -> None:
        from pipelines.training.loop import checkpoint_state

        epochs = int(self.params["train"]["epochs"])
        runs = {row: Run(model_cfg, train, self.layer_dims(model_cfg))
                for row, (model_cfg, train) in self.rows().items()}
        model = self.build_model(self.model_config())
        start, history, resumed = 0, [], []
        state = session.load_checkpoint()
        if state is not None:
            for row, run in runs.items():
                prefix = f"{row}." if row else ""
                run.restore({k[len(prefix):]: v for k, v in state["model"].items() if k.startswith(prefix)},
                            state["optimizer"][row])
            start, history = state["epoch"] + 1, state["history"]
            resumed = state.get("resumed_at", []) + [start]
            session.log(f"resuming {self.name} from the checkpoint of epoch {state['epoch']}")
        X, Y = self.train_xy[0].T, self.train_xy[1][None, :].astype(float)
        for epoch in range(start, epochs):
            done = {row: run.chunk(X, Y, epoch, epochs) for row, run in runs.items()}
            nets = self.nets(model)
            for row, run in runs.items():
                nets[row].set_numpy_params(run.params)
            seconds = sum(d["seconds"] for d in done.values())
            last = list(done)[-1]
            metrics = {"epoch": epoch, "train_loss": done[last]["loss"], "lr": runs[last].opt.lr,
                       "workers": session.world_size, "epoch_seconds": seconds,
                       "samples_per_second": sum(d["updates"] for d in done.values()) * len(Y[0]) / seconds}
            for row, net in nets.items():
                prefix = f"{row}_" if row else ""
                if row:
                    metrics[f"{prefix}train_loss"] = done[row]["loss"]
                metrics[f"{prefix}train_accuracy"] = scores(net, *self.train_xy)["accuracy"]
            metrics.update(self.validate(model, None, None))
            history.append(metrics)
            state = checkpoint_state(self, model, epoch, history, resumed=resumed)
            state["optimizer"] = {row: run.state() for row, run in runs.items()}
            end_epoch(metrics, state)

    def evaluate(self, model, data_dir: Path):
        """Accuracy and cross-entropy of every row on every split (the course reports training accuracy)."""
        metrics, details = {}, {"set": self.meta["set"]}
        for split in self.source.SPLITS:
            x, y = self.source.read_split(data_dir, self.meta["set"], split)
            metrics[split] = {}
            for row, net in self.nets(model).items():
                prefix = f"{row}_" if row else ""
                metrics[split].update({prefix + k: v for k, v in scores(net, x, y).items()})
        return metrics, details


class ScratchStudyTask(ScratchMLPTask):
    """A comparison table: one network per row of ``params["rows"]`` (see the module docstring)."""

    name = "scratch_study"

    def rows(self) -> dict[str, tuple[dict, dict]]:
        base = {"model": self.params["model"], "train": self.params["train"]}
        out = {}
        for row, changes in self.params["rows"].items():
            merged = deep_merge(base, changes or {})
            out[row] = (merged["model"], merged["train"])
        return out

    def model_config(self) -> dict:
        return {"rows": {row: {"layer_dims": self.layer_dims(m), "hidden": m["activation"]}
                         for row, (m, _) in self.rows().items()}}

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return nn.ModuleDict({row: ScratchMLP(c["layer_dims"], c["hidden"]) for row, c in config["rows"].items()})

    def nets(self, model) -> dict[str, ScratchMLP]:
        return dict(self.unwrap(model).items())

    def reports(self, model, data_dir: Path, metrics: dict) -> dict[str, bytes]:
        """``table.md`` (train/dev/test accuracy per row) and, for 2-D points, ``boundaries.png`` (a panel per
        row over the test points)."""
        splits = self.source.SPLITS
        header = " | ".join(f"{split} accuracy" for split in splits)
        lines = [f"| row | {header} |", "|---|" + "---|" * len(splits)]
        for row in self.nets(model):
            cells = " | ".join(f"{metrics[split][f'{row}_accuracy']:.3f}" for split in splits)
            lines.append(f"| {row} | {cells} |")
        files = {"table.md": ("\n".join(lines) + "\n").encode()}
        if self.meta["inputs"] == 2:
            from pipelines.scratch.plot import boundaries_png

            x, y = self.source.read_split(data_dir, self.meta["set"], "test")
            panels = [(f"{row}: test {metrics['test'][f'{row}_accuracy']:.3f}",
                       lambda points, net=net: (net.probabilities(points) > 0.5).astype(int))
                      for row, net in self.nets(model).items()]
            files["boundaries.png"] = boundaries_png(panels, x, y)
        return files
