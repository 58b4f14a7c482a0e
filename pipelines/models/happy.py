"""Course 4 week 1's ``HappyModel`` ("Happy House"), the Keras Sequential model of the notebook in torch.

    ZeroPadding2D(3) -> Conv2D(32, 7x7, stride 1) -> BatchNormalization -> ReLU -> MaxPool2D(2) -> Flatten -> Dense

The notebook's last layer is one sigmoid unit; here it is two logits under softmax cross-entropy, the same model
(a softmax over two logits is a sigmoid of their difference), so the project's one classification task and
report serve it. Inputs are RGB in [0, 1], as the notebook's ``X / 255``.
"""

from __future__ import annotations

from torch import nn


def happy_model(input_shape: list[int], classes: int = 2, filters: int = 32, kernel: int = 7) -> nn.Sequential:
    channels, height, width = input_shape
    pad = kernel // 2  # ZeroPadding2D(3) before the 7x7: "same" size
    return nn.Sequential(
        nn.ZeroPad2d(pad), nn.Conv2d(channels, filters, kernel), nn.BatchNorm2d(filters), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(filters * (height // 2) * (width // 2), classes))
