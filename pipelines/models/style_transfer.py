"""Course 4 week 4's neural style transfer (Gatys et al. 2015) as the course writes it: a content cost, Gram
matrices, a per-layer weighted style cost, and the generated image itself optimised with Adam.

    from pipelines.models.style_transfer import Stylizer
    stylizer = Stylizer(features, content, style, {"alpha": 10, "beta": 40, ...})
    for step in range(steps):
        costs = stylizer.step()              # {"total", "content", "style"}
    stylizer.image                           # (1, 3, H, W) in [0, 1]

``features`` maps an RGB batch in [0, 1] to ``{layer: activation}``; :func:`feature_network` gives the
pretrained EfficientNet-Lite0's (``pipelines/features/efficientnet_lite.py``) or a case-study network trained
here (``artifacts/c4w2_*/model.pt``: grey, the image's luminance).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

Features = Callable[[torch.Tensor], dict]


def content_cost(a_c: torch.Tensor, a_g: torch.Tensor) -> torch.Tensor:
    """J_content = sum((a_C - a_G)^2) / (4 n_H n_W n_C), the course's ``compute_content_cost``."""
    _, n_c, n_h, n_w = a_g.shape
    return ((a_c - a_g) ** 2).sum() / (4 * n_h * n_w * n_c)


def gram_matrix(a: torch.Tensor) -> torch.Tensor:
    """G = A A^T of the activations unrolled to (n_C, n_H n_W), the course's ``gram_matrix``."""
    n_c = a.shape[1]
    unrolled = a.reshape(n_c, -1)
    return unrolled @ unrolled.T


def layer_style_cost(a_s: torch.Tensor, a_g: torch.Tensor) -> torch.Tensor:
    """sum((G_S - G_G)^2) / (4 n_C^2 (n_H n_W)^2), the course's ``compute_layer_style_cost``."""
    _, n_c, n_h, n_w = a_g.shape
    return ((gram_matrix(a_s) - gram_matrix(a_g)) ** 2).sum() / (4 * n_c ** 2 * (n_h * n_w) ** 2)


def style_cost(style: dict, generated: dict, weights: dict) -> torch.Tensor:
    """sum over layers of weight x layer style cost (the course: five layers, 0.2 each)."""
    return sum(w * layer_style_cost(style[layer], generated[layer]) for layer, w in weights.items())


def layer_key(name):
    return name if name == "stem" else int(name)


def feature_network(name: str) -> tuple[Features, str]:
    """``(features, description)`` for ``model.features``: ``efficientnet_lite0`` or the path of a case-study
    network's ``model.pt`` (its convolution blocks' outputs: ``block<i>`` for the i-th ReLU)."""
    if name == "efficientnet_lite0":
        from pipelines.features import efficientnet_lite

        net = efficientnet_lite.lite0()

        def lite(rgb: torch.Tensor, keep: set) -> dict:
            return efficientnet_lite.block_outputs(net, efficientnet_lite.normalize(rgb), keep)

        return lite, "EfficientNet-Lite0, ImageNet-pretrained (pinned wheel)"
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"model.features is {name!r}: neither efficientnet_lite0 nor a model.pt "
                                "(train a case study first: dlzoo train c4w2_vgg16)")
    from pipelines.training.artifacts import load_model

    model, bundle = load_model(path)
    prepare, body = model[0], model[1]
    if not isinstance(body, nn.Sequential):
        raise ValueError(f"{path}: {bundle['model_name']} is not a plain sequence of layers; use a VGG-style or "
                         "LeNet-style case study")
    for p in model.parameters():
        p.requires_grad_(False)
    luminance = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)

    def trained(rgb: torch.Tensor, keep: set) -> dict:
        x = ((rgb * luminance).sum(1, keepdim=True) - prepare.mean) / prepare.std
        out, relu = {}, 0
        for layer in body:
            if isinstance(layer, nn.Flatten):
                break
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                if relu in keep:
                    out[relu] = x
                relu += 1
        return out

    return trained, f"{bundle['model_name']} trained here on Fashion-MNIST (grey: the image's luminance)"


class Stylizer:
    """One generated image, optimised by Adam on J = alpha J_content + beta J_style.

    ``settings``: ``alpha``, ``beta``, ``lr``, ``noise`` (the course starts from the content image plus uniform
    noise in [-noise, noise], clipped to [0, 1]), ``content_layer``, ``style_layers`` ({layer: weight}),
    ``seed`` (the noise)."""

    def __init__(self, features: Features, content: torch.Tensor, style: torch.Tensor, settings: dict):
        self.features, self.settings = features, settings
        self.content_layer = layer_key(settings["content_layer"])
        self.weights = {layer_key(k): float(v) for k, v in settings["style_layers"].items()}
        self.keep = {self.content_layer, *self.weights}
        with torch.no_grad():
            self.a_c = features(content, self.keep)[self.content_layer]
            self.a_s = features(style, self.keep)
        g = torch.Generator().manual_seed(int(settings["seed"]))
        noise = (torch.rand(content.shape, generator=g) * 2 - 1) * float(settings["noise"])
        self.image = nn.Parameter((content + noise).clamp(0, 1))
        self.optimizer = torch.optim.Adam([self.image], lr=float(settings["lr"]))

    def costs(self) -> dict[str, torch.Tensor]:
        a_g = self.features(self.image, self.keep)
        j_content = content_cost(self.a_c, a_g[self.content_layer])
        j_style = style_cost(self.a_s, a_g, self.weights)
        total = float(self.settings["alpha"]) * j_content + float(self.settings["beta"]) * j_style
        return {"total": total, "content": j_content, "style": j_style}

    def step(self) -> dict[str, float]:
        """One Adam step on the image, then the course's clip to [0, 1]; the costs before the step."""
        costs = self.costs()
        self.optimizer.zero_grad()
        costs["total"].backward()
        self.optimizer.step()
        with torch.no_grad():
            self.image.clamp_(0, 1)
        return {k: float(v.detach()) for k, v in costs.items()}
