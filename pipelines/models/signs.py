"""Course 4 week 1's ConvNet for SIGNS (``convolutional_model`` of the notebook), in torch.

    Conv2D(8, 4x4, same) -> ReLU -> MaxPool2D(8, stride 8, same) -> Conv2D(16, 2x2, same) -> ReLU
        -> MaxPool2D(4, stride 4, same) -> Flatten -> Dense(6)

The notebook ends in a six-way softmax; here the Dense layer gives the logits and the task's cross-entropy applies
the softmax. "same" pads as TensorFlow does, the extra row and column after the image (a 4x4 kernel: 1 before, 2
after); "same" max pools pad only when the side is not a multiple of the pool (64 x 64: never).
"""

from __future__ import annotations

import math

from torch import nn


def signs_convnet(input_shape: list[int], classes: int = 6, filters: tuple[int, int] = (8, 16)) -> nn.Sequential:
    channels, height, width = input_shape
    first, second = filters
    side_h, side_w = math.ceil(math.ceil(height / 8) / 4), math.ceil(math.ceil(width / 8) / 4)
    return nn.Sequential(
        nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(channels, first, 4), nn.ReLU(), nn.MaxPool2d(8, 8, ceil_mode=True),
        nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(first, second, 2), nn.ReLU(), nn.MaxPool2d(4, 4, ceil_mode=True),
        nn.Flatten(), nn.Linear(second * side_h * side_w, classes))
