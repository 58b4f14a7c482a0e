"""Course 4 week 4's neural style transfer as a registered model: training optimises one image per (content,
style) pair of ``data/style`` through the task's own ``fit`` (Adam on the pixels, the course's costs:
``pipelines/models/style_transfer.py``); ``model.pt`` holds the images and their cost curves.

    dlzoo train c4w4_style_transfer && dlzoo evaluate c4w4_style_transfer   # dvc repro does the same
    dlzoo stylize --content me.jpg --style starry_night.jpg --out me_starry.png   # a user's own pictures

Params (the model's section)::

    features: efficientnet_lite0      # the frozen feature network, or a case study's model.pt
    model: {content_layer: 10, style_layers: {stem: 0.2, 2: 0.2, 4: 0.2, 7: 0.2, 10: 0.2}}
    train: {seed: 0, epochs: 5, steps: 500, lr: 0.02, alpha: 10, beta: 40, noise: 0.25}

Evaluation reports each pair's final costs and two ratios a person can read: the generated image's style cost
over the content photo's own (how far the style moved towards the painting's; lower is more style) and its
content cost against the style picture's (how much of the photo survives; lower keeps more).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from pipelines.data import style as style_data
from pipelines.models.style_transfer import Stylizer, content_cost, feature_network, layer_key, style_cost
from pipelines.strategy.sheet import contact_sheet
from pipelines.tasks.base import Task

COSTS = ("total", "content", "style")


def settings(params: dict) -> dict:
    """The :class:`Stylizer` settings of a model's params section."""
    model, train = params["model"], params["train"]
    return {"content_layer": model["content_layer"], "style_layers": model["style_layers"],
            **{k: train[k] for k in ("alpha", "beta", "lr", "noise", "seed")}}


def resize_like(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style picture at the content's shape (the course resizes both to one shape)."""
    return nn.functional.interpolate(style, size=content.shape[-2:], mode="bilinear", antialias=True,
                                     align_corners=False)


class StylizedImages(nn.Module):
    """The generated images (``image_<i>``, pair i of ``config["pairs"]``) and their cost curves (``costs``:
    steps x pairs x (total, content, style)) as buffers, so model.pt carries them like any weights."""

    def __init__(self, config: dict):
        super().__init__()
        self.pairs = [tuple(p) for p in config["pairs"]]
        for i, shape in enumerate(config["shapes"]):
            self.register_buffer(f"image_{i}", torch.zeros(1, *shape))
        self.register_buffer("costs", torch.zeros(int(config["steps"]), len(self.pairs), len(COSTS)))

    def image(self, i: int) -> torch.Tensor:
        return getattr(self, f"image_{i}")

    def forward(self, i: int) -> torch.Tensor:
        return self.image(i)


class StyleTransferTask(Task):
    name = "c4w4_style_transfer"
    custom_fit = True

    def load(self, data_dir: Path) -> None:
        self.pictures = style_data.read(data_dir)
        if not self.meta:
            pairs = [(c, s) for c in self.pictures["content"] for s in self.pictures["style"]]
            self.meta = {"pairs": pairs, "shapes": [list(self.pictures["content"][c].shape[1:]) for c, _ in pairs]}

    def datasets(self):
        return (), ()

    def model_config(self) -> dict:
        return {"pairs": self.meta["pairs"], "shapes": self.meta["shapes"], "steps": int(self.params["train"]["steps"])}

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return StylizedImages(config)

    def loss(self, model, batch):
        raise NotImplementedError("style transfer optimises images in fit(), not mini-batches")

    def validate(self, model, loader, device):
        return {}

    def stylizers(self, features) -> list[Stylizer]:
        return [Stylizer(features, self.pictures["content"][c],
                         resize_like(self.pictures["style"][s], self.pictures["content"][c]), settings(self.params))
                for c, s in self.meta["pairs"]]

    def fit(self, session, end_epoch) -> None:
        from pipelines.training.loop import checkpoint_state

        train = self.params["train"]
        epochs, steps = int(train["epochs"]), int(train["steps"])
        features, _ = feature_network(self.params["features"])
        runs = self.stylizers(features)
        model = self.build_model(self.model_config())
        start, history, resumed = 0, [], []
        state = session.load_checkpoint()
        if state is not None:
            model.load_state_dict(state["model"])
            for run, i, opt in zip(runs, range(len(runs)), state["optimizer"], strict=True):
                run.image.data.copy_(model.image(i))
                run.optimizer.load_state_dict(opt)
            start, history = state["epoch"] + 1, state["history"]
            resumed = state.get("resumed_at", []) + [start]
            session.log(f"resuming {self.name} from the checkpoint of epoch {state['epoch']}")
        for epoch in range(start, epochs):
            t0 = time.perf_counter()
            first, last = steps * epoch // epochs, steps * (epoch + 1) // epochs
            for i, run in enumerate(runs):
                for step in range(first, last):
                    costs = run.step()
                    model.costs[step, i] = torch.tensor([costs[k] for k in COSTS])
                model.image(i).copy_(run.image.detach())
            seconds = time.perf_counter() - t0
            final = model.costs[last - 1]
            metrics = {"epoch": epoch, "train_loss": float(final[:, 0].mean()), "lr": float(train["lr"]),
                       "workers": session.world_size, "epoch_seconds": seconds,
                       "samples_per_second": (last - first) * len(runs) / seconds,  # optimiser steps per second
                       "content_cost": float(final[:, 1].mean()), "style_cost": float(final[:, 2].mean())}
            history.append(metrics)
            state = checkpoint_state(self, model, epoch, history, resumed=resumed)
            state["optimizer"] = [run.optimizer.state_dict() for run in runs]
            end_epoch(metrics, state)

    @torch.no_grad()
    def evaluate(self, model, data_dir: Path):
        """Each pair's final costs, recomputed from the saved image, and the two ratios (module docstring)."""
        features, description = feature_network(self.params["features"])
        config = settings(self.params)
        content_layer = layer_key(config["content_layer"])
        weights = {layer_key(k): float(v) for k, v in config["style_layers"].items()}
        keep = {content_layer, *weights}
        pictures = style_data.read(data_dir)
        per_pair, totals = {}, {"content_cost": [], "style_cost": [], "style_ratio": [], "content_ratio": []}
        for i, (c, s) in enumerate(model.pairs):
            content = pictures["content"][c]
            style = resize_like(pictures["style"][s], content)
            a_c, a_s, a_g = features(content, keep), features(style, keep), features(model.image(i), keep)
            row = {"content_cost": float(content_cost(a_c[content_layer], a_g[content_layer])),
                   "style_cost": float(style_cost(a_s, a_g, weights)),
                   # the same costs of the two starting points: the photo itself (no style) and the painting
                   "style_cost_of_content": float(style_cost(a_s, a_c, weights)),
                   "content_cost_of_style": float(content_cost(a_c[content_layer], a_s[content_layer]))}
            row["style_ratio"] = row["style_cost"] / row["style_cost_of_content"]
            row["content_ratio"] = row["content_cost"] / row["content_cost_of_style"]
            per_pair[f"{c}+{s}"] = row
            for key in totals:
                totals[key].append(row[key])
        metrics = {"stylized": {k: sum(v) / len(v) for k, v in totals.items()}}
        metrics["stylized"]["total_cost"] = (config["alpha"] * metrics["stylized"]["content_cost"]
                                             + config["beta"] * metrics["stylized"]["style_cost"])
        return metrics, {"features": description, "pairs": per_pair}

    def reports(self, model, data_dir: Path, metrics: dict) -> dict[str, bytes]:
        """``stylized.png``: a row per pair, content | style | generated; ``costs.csv``: every Adam step's costs
        per pair (``dvc plots`` draws the per-epoch curve from history.csv)."""
        pictures = style_data.read(data_dir)
        items, lines = [], ["step,pair," + ",".join(COSTS)]
        for i, (c, s) in enumerate(model.pairs):
            content = pictures["content"][c]
            items += [(style_data.to_image(content), f"content: {c}"),
                      (style_data.to_image(resize_like(pictures["style"][s], content)), f"style: {s}"),
                      (style_data.to_image(model.image(i)), f"generated: {c} + {s}")]
            lines += [f"{step},{c}+{s}," + ",".join(f"{v:.6g}" for v in row.tolist())
                      for step, row in enumerate(model.costs[:, i])]
        return {"stylized.png": contact_sheet(items, columns=3, cell=256),
                "costs.csv": ("\n".join(lines) + "\n").encode()}


def stylize_file(content: Path, style: Path, out: Path, params: dict, size: int, style_size: int, steps: int,
                 progress=None) -> dict[str, float]:
    """``dlzoo stylize``: a user's content picture in a user's style, with a model's settings (``params``: its
    params section); ``progress(costs)`` after each step. Returns the last step's costs."""
    content_t = style_data.to_tensor(style_data.load_image(content, size))
    style_t = resize_like(style_data.to_tensor(style_data.load_image(style, style_size)), content_t)
    out = Path(out)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        raise ValueError(f"--out {out}: name a .png or .jpg file")
    features, _ = feature_network(params["features"])
    stylizer = Stylizer(features, content_t, style_t, settings(params))
    costs = {}
    for _ in range(steps):
        costs = stylizer.step()
        if progress:
            progress(costs)
    out.parent.mkdir(parents=True, exist_ok=True)
    style_data.to_image(stylizer.image).save(out)
    return costs
