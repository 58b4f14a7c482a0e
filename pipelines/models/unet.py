"""Course 4 week 3's U-Net, as the notebook builds it, in torch.

    from pipelines.models.unet import UNet
    net = UNet(classes=9, filters=32)      # the notebook's n_filters=32 (8 here on CPU: params.yaml)
    logits = net(rgb)                      # rgb (n, 3, 96, 128) in [0, 1] -> (n, 9, 96, 128)

Contracting path: four ``conv_block``s (two 3x3 ReLU convolutions with He-normal weights, dropout 0.3 in the fourth,
2x2 max pooling), filters x 1, 2, 4, 8, then a fifth block of x 16 with dropout and no pooling. Expanding path: four
``upsampling_block``s (a 3x3 transposed convolution of stride 2, the contracting block's output concatenated, two 3x3
ReLU convolutions), then a 3x3 convolution and a 1x1 one to the classes. Height and width must be multiples of 16.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 3, padding=1)
    nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")  # the notebook's he_normal
    nn.init.zeros_(conv.bias)
    return conv


class ConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int, dropout: float = 0.0, pool: bool = True):
        super().__init__()
        self.convs = nn.Sequential(_conv(cin, cout), nn.ReLU(inplace=True), _conv(cout, cout), nn.ReLU(inplace=True),
                                   nn.Dropout(dropout) if dropout else nn.Identity())
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the next block's input, the skip connection)."""
        skip = self.convs(x)
        return self.pool(skip), skip


class UpsamplingBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)  # Keras' "same"
        self.convs = nn.Sequential(_conv(cout + cskip, cout), nn.ReLU(inplace=True), _conv(cout, cout),
                                   nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([self.up(x), skip], 1))


class UNet(nn.Module):
    def __init__(self, classes: int, filters: int = 32, dropout: float = 0.3):
        super().__init__()
        f = filters
        self.down = nn.ModuleList([ConvBlock(3, f), ConvBlock(f, 2 * f), ConvBlock(2 * f, 4 * f),
                                   ConvBlock(4 * f, 8 * f, dropout), ConvBlock(8 * f, 16 * f, dropout, pool=False)])
        self.up = nn.ModuleList([UpsamplingBlock(16 * f, 8 * f, 8 * f), UpsamplingBlock(8 * f, 4 * f, 4 * f),
                                 UpsamplingBlock(4 * f, 2 * f, 2 * f), UpsamplingBlock(2 * f, f, f)])
        self.head = nn.Sequential(_conv(f, f), nn.ReLU(inplace=True), nn.Conv2d(f, classes, 1))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        if rgb.shape[-1] % 16 or rgb.shape[-2] % 16:
            raise ValueError(f"U-Net input must be a multiple of 16 px each way, got {tuple(rgb.shape[-2:])}")
        x, skips = rgb, []
        for block in self.down:
            x, skip = block(x)
            skips.append(skip)
        x = skips.pop()  # the bottom block does not pool: its output is the path's turn
        for block in self.up:
            x = block(x, skips.pop())
        return self.head(x)
