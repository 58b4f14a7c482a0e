"""Course 4 week 2's case studies: LeNet-5, AlexNet-, VGG-16-style nets, ResNet-50, an Inception (GoogLeNet) net
and MobileNetV2, each trained through the one Ray driver on the same ten Fashion-MNIST classes
(``data_fashion.tasks.cnn``) and compared in ``reports/compare/case_studies.md`` (``dlzoo compare case_studies``).

    dlzoo train c4w2_resnet50 && dlzoo evaluate c4w2_resnet50

The networks are in ``pipelines/models/case_studies.py``; ``model.arch`` picks one, ``model.input_size`` is
the side the 28 x 28 image is resized to; ``augment`` sets the training-time mirror and shift (:func:`augment`).
The training images' mean and std travel in ``meta``; images stay flat (784 values) as the data module stores
them, and the network's first layer makes them square.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from pipelines.models.case_studies import build
from pipelines.tasks.fashion import FashionSoftmaxTask


class CaseStudyTask(FashionSoftmaxTask):
    """C2W3's data and evaluation (flat images, the networks reshape them), Course 4's networks."""

    name = "c4w2_case_study"

    def load(self, data_dir: Path) -> None:
        super().load(data_dir)
        if "mean" not in self.meta:
            x = self.train_set.tensors[0]
            self.meta.update(mean=float(x.mean()), std=float(x.std()))

    def model_config(self) -> dict:
        return {**super().model_config(), "mean": self.meta["mean"], "std": self.meta["std"]}

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return build(config)

    def loss(self, model, batch):
        x, y = batch
        return nn.functional.cross_entropy(model(augment(x, self.params.get("augment") or {})), y)


def augment(x: torch.Tensor, settings: dict) -> torch.Tensor:
    """Training-time augmentation of flat square images, each image on its own (the global torch stream, seeded
    by the driver): a mirror image with probability ``flip``, and a shift of up to ``shift`` pixels each way
    (zero padding: Fashion-MNIST's background is black)."""
    n, side = len(x), math.isqrt(x.shape[1])
    images = x.view(n, side, side)
    flip = float(settings.get("flip", 0.0))
    if flip:
        mirrored = torch.rand(n, device=x.device) < flip
        images = torch.where(mirrored[:, None, None], images.flip(-1), images)
    shift = int(settings.get("shift", 0))
    if shift:
        padded = nn.functional.pad(images, (shift, shift, shift, shift))
        dy, dx = (torch.randint(0, 2 * shift + 1, (2, n), device=x.device))
        grid = torch.arange(side, device=x.device)
        rows, cols = (dy[:, None] + grid)[:, :, None], (dx[:, None] + grid)[:, None, :]
        images = padded[torch.arange(n, device=x.device)[:, None, None], rows, cols]
    return images.reshape(n, -1)
