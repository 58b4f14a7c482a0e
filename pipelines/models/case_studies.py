"""Course 4 week 2's case studies, side by side on one 10-class image task (``pipelines/tasks/case_studies.py``).

    from pipelines.models.case_studies import build
    net = build({"arch": "resnet50", "input_size": 32, "classes": 10, "mean": 0.29, "std": 0.35})

Where ``torchvision.models`` defines the network (ResNet-50 with its bottleneck identity and convolutional
blocks, GoogLeNet built of Inception blocks, MobileNetV2's inverted residuals with depthwise separable
convolutions) it is used as torchvision defines it, unchanged; a grey image is repeated over the three input
channels those networks expect. LeNet-5 has no torchvision definition; AlexNet and VGG-16 do, but at ImageNet
size (their 4,096-unit classifiers alone hold 55 M and 120 M parameters), so the ``*_style`` nets here keep
their layer pattern at a width a 28 x 28 image and this machine's two cores can train (``width``).
"""

from __future__ import annotations

import math

import torch
import torchvision
from torch import nn
from torch.nn import functional as F

ARCHS = ("lenet5", "alexnet_style", "vgg16_style", "resnet50", "inception", "mobilenet_v2")
# VGG-16's configuration "D": 13 3x3 convolutions in five blocks (numbers: channels / base width), "M": max pool
VGG16 = (1, 1, "M", 2, 2, "M", 4, 4, 4, "M", 8, 8, 8, "M", 8, 8, 8, "M")


class Prepare(nn.Module):
    """Square flat images, standardise with the training images' mean and std, resize to the network's input
    size (bilinear), and repeat a grey channel ``channels`` times."""

    def __init__(self, size: int, mean: float, std: float, channels: int = 1):
        super().__init__()
        self.size, self.mean, self.std, self.channels = int(size), float(mean), float(std), int(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # flat square images, as pipelines/data/fashion.py reads them
            side = math.isqrt(x.shape[1])
            x = x.view(len(x), 1, side, side)
        x = (x - self.mean) / self.std
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return x.expand(-1, self.channels, -1, -1) if self.channels != x.shape[1] else x


def lenet5(classes: int) -> nn.Sequential:
    """LeNet-5 (LeCun et al. 1998) as the lecture draws it: 32 x 32 -> conv 5x5 x 6 -> pool -> conv 5x5 x 16 ->
    pool -> 120 -> 84 -> classes (ReLU and max pooling, as the lecture's modern variant)."""
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes))


def alexnet_style(classes: int, size: int, width: int) -> nn.Sequential:
    """AlexNet's pattern (Krizhevsky et al. 2012): a large-kernel convolution, a 5x5 one, three 3x3 ones, three
    overlapping 3/2 max pools, two dropout-regularised dense layers; channels 96-256-384-384-256 and 4,096
    units there, ``width`` x (6-16-24-24-16) and 64 x ``width`` here."""
    w = width
    features = nn.Sequential(
        nn.Conv2d(1, 6 * w, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(6 * w, 16 * w, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(16 * w, 24 * w, 3, padding=1), nn.ReLU(),
        nn.Conv2d(24 * w, 24 * w, 3, padding=1), nn.ReLU(),
        nn.Conv2d(24 * w, 16 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))
    side = features(torch.zeros(1, 1, size, size)).shape[-1]
    return nn.Sequential(features, nn.Flatten(), nn.Dropout(0.5), nn.Linear(16 * w * side * side, 64 * w), nn.ReLU(),
                         nn.Dropout(0.5), nn.Linear(64 * w, 64 * w), nn.ReLU(), nn.Linear(64 * w, classes))


def vgg16_style(classes: int, size: int, width: int) -> nn.Sequential:
    """VGG-16 (Simonyan and Zisserman 2014): configuration D's 13 3x3 convolutions in five blocks, each block
    ended by a 2x2 max pool, then three dense layers; channels 64..512 and 4,096 units there, ``width`` x
    (1..8) and 16 x ``width`` here, with batch normalisation after each convolution (torchvision's vgg16_bn)."""
    layers, channels = [], 1
    for v in VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(channels, v * width, 3, padding=1), nn.BatchNorm2d(v * width), nn.ReLU()]
            channels = v * width
    side = size // 32
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * side * side, 16 * width), nn.ReLU(),
                         nn.Dropout(0.5), nn.Linear(16 * width, 16 * width), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(16 * width, classes))


def build(config: dict) -> nn.Sequential:
    """The network ``config["arch"]`` names, behind its input preparation."""
    arch, classes, size = config["arch"], int(config["classes"]), int(config["input_size"])
    if arch not in ARCHS:
        raise ValueError(f"model.arch is {arch!r}; choose one of {', '.join(ARCHS)}")
    if (arch == "lenet5" and size != 32) or (arch == "vgg16_style" and size % 32):
        raise ValueError(f"model.input_size is {size}; {arch} takes {'32' if arch == 'lenet5' else 'a multiple of 32'}")
    channels = 1
    if arch == "lenet5":
        net = lenet5(classes)
    elif arch == "alexnet_style":
        net = alexnet_style(classes, size, int(config.get("width", 4)))
    elif arch == "vgg16_style":
        net = vgg16_style(classes, size, int(config.get("width", 16)))
    else:
        channels = 3
        net = {"resnet50": lambda: torchvision.models.resnet50(num_classes=classes),
               "inception": lambda: torchvision.models.googlenet(num_classes=classes, aux_logits=False,
                                                                 transform_input=False, init_weights=True),
               "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(num_classes=classes)}[arch]()
    return nn.Sequential(Prepare(size, config["mean"], config["std"], channels), net)
