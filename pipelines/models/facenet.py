"""A compact FaceNet (Course 4 Week 4, "Face recognition"): Inception blocks -> L2-normalised embedding.

The course's network is Szegedy et al.'s Inception (NN4) as used by FaceNet: a convolutional stem,
then Inception blocks whose parallel 1x1, 3x3, 5x5 and pooling branches are concatenated, stride-2
"reduction" blocks between them, average pooling, a dense layer to 128 numbers and L2
normalisation, so that distances between faces live in [0, 2]. This is the same design at a size
a CPU trains in minutes (the 5x5 branch is two 3x3 convolutions, as Inception-v2 does).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class FaceNetConfig:
    input_size: int = 96
    embedding_dim: int = 128
    width: float = 1.0     # channel multiplier
    dropout: float = 0.2
    # "pool": the stem's second 3x3 convolution runs at half the input size and is max-pooled (the course's
    # conv -> pool stem); "stride": that convolution strides instead, a third of the stem's cost.
    stem: str = "pool"
    # Zooms at which ``pipelines.tasks.face.embed`` sees each face (each view with its mirror image) before
    # averaging: test-time augmentation, so every inference (dev pass, evaluation, service) uses it alike.
    embed_scales: tuple[float, ...] = (1.0,)
    # Training identities of the auxiliary classifier (CosFace) beside the triplet loss; 0 = none.
    # Only training uses it: embeddings never depend on it.
    train_identities: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Inception(nn.Module):
    """Parallel 1x1 | 1x1->3x3 | 1x1->3x3->3x3 | pool->1x1 branches, concatenated.

    With ``stride=2`` it is a reduction block: the 1x1 branch is dropped and the pool branch is a
    plain stride-2 max pool, as in the course's ``inception_block_3a``-style reductions.
    """

    def __init__(self, c_in: int, b1: int, b3: tuple[int, int], b5: tuple[int, int], pool: int, stride: int = 1):
        super().__init__()
        self.stride = stride
        self.branch1 = conv_bn(c_in, b1, 1) if stride == 1 else None
        self.branch3 = nn.Sequential(conv_bn(c_in, b3[0], 1), conv_bn(b3[0], b3[1], 3, stride))
        self.branch5 = nn.Sequential(conv_bn(c_in, b5[0], 1), conv_bn(b5[0], b5[1], 3),
                                     conv_bn(b5[1], b5[1], 3, stride))
        self.pool = conv_bn(c_in, pool, 1) if stride == 1 else None
        self.out_channels = (b1 if stride == 1 else 0) + b3[1] + b5[1] + (pool if stride == 1 else c_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [self.branch3(x), self.branch5(x)]
        if self.stride == 1:
            parts = [self.branch1(x), *parts, self.pool(F.max_pool2d(x, 3, 1, 1))]
        else:
            parts.append(F.max_pool2d(x, 3, 2, 1))
        return torch.cat(parts, 1)


class FaceNet(nn.Module):
    """Images ``(B, 3, S, S)`` in [0, 1] -> embeddings ``(B, D)`` with unit L2 norm."""

    def __init__(self, cfg: FaceNetConfig):
        super().__init__()
        self.cfg = cfg

        def c(n: int) -> int:
            return max(8, round(n * cfg.width / 8) * 8)

        if cfg.stem == "pool":
            self.stem = nn.Sequential(conv_bn(3, c(32), 3, 2), conv_bn(c(32), c(48), 3), nn.MaxPool2d(3, 2, 1))
        elif cfg.stem == "stride":
            self.stem = nn.Sequential(conv_bn(3, c(32), 3, 2), conv_bn(c(32), c(48), 3, 2))
        else:
            raise ValueError(f"face.model.stem must be 'pool' or 'stride', got {cfg.stem!r}")
        blocks = []
        channels = c(48)
        # (b1, b3, b5, pool, stride): 24x24 -> 12x12 -> 6x6 -> 3x3 at a 96 px input
        for b1, b3, b5, pool, stride in (
            (32, (32, 48), (8, 16), 16, 1),
            (0, (48, 64), (16, 32), 0, 2),
            (64, (48, 96), (16, 32), 32, 1),
            (0, (64, 96), (24, 48), 0, 2),
            (96, (64, 128), (24, 48), 48, 1),
            (0, (96, 128), (32, 64), 0, 2),
            (128, (96, 160), (32, 64), 64, 1),
        ):
            block = Inception(channels, c(b1) if b1 else 0, (c(b3[0]), c(b3[1])), (c(b5[0]), c(b5[1])),
                              c(pool) if pool else 0, stride)
            blocks.append(block)
            channels = block.out_channels
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(cfg.dropout)
        self.embed = nn.Linear(channels, cfg.embedding_dim)
        # Batch norm before the L2 normalisation ("BNNeck"): a fresh network maps every face to nearly one
        # direction, and the triplet loss then collapses; centred embeddings start spread over the sphere.
        self.neck = nn.BatchNorm1d(cfg.embedding_dim)
        self.classifier = (nn.Parameter(torch.randn(cfg.train_identities, cfg.embedding_dim) * 0.01)
                           if cfg.train_identities else None)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(images))
        x = self.dropout(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
        return F.normalize(self.neck(self.embed(x)), dim=1)

    def identity_logits(self, emb: torch.Tensor) -> torch.Tensor:
        """Cosine of each embedding with each training identity's centre ``(B, train_identities)``."""
        if self.classifier is None:
            raise ValueError("FaceNet: identity_logits needs a model built with train_identities > 0")
        return emb @ F.normalize(self.classifier, dim=1).T


# ---------------------------------------------------------------- losses


def cosface_loss(cosine: torch.Tensor, labels: torch.Tensor, scale: float = 30.0, margin: float = 0.35) -> torch.Tensor:
    """CosFace (large-margin cosine) softmax: cross-entropy of ``scale * (cos - margin at the true class)``.

    Classifying the training identities on the unit sphere gives every batch a signal from all of
    them, not only the few triplets mined inside it; the margin makes classes compact, which is what
    verification of unseen identities needs.
    """
    logits = scale * (cosine - margin * F.one_hot(labels, cosine.size(1)).to(cosine))
    return F.cross_entropy(logits, labels)


def pairwise_sq_distances(emb: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances ``(B, B)`` of unit-norm embeddings: ``2 - 2 cos``, clamped at 0."""
    return (2 - 2 * emb @ emb.T).clamp(min=0)


def triplet_loss(emb: torch.Tensor, labels: torch.Tensor, margin: float = 0.2, mining: str = "batch_hard"
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """FaceNet's ``max(d(a, p) - d(a, n) + margin, 0)`` on squared distances, mined inside a P x K batch.

    ``batch_hard`` (Hermans et al.): each anchor's farthest positive against its closest negative.
    ``semi_hard`` (FaceNet): every (anchor, positive) pair with the closest negative that is still
    farther than the positive (``d(a, n) > d(a, p)``); pairs without one use the farthest negative.
    Returns the mean loss and the fraction of active triplets.
    """
    d = pairwise_sq_distances(emb)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
    positive, negative = same & ~eye, ~same
    if not positive.any() or not negative.any():
        raise ValueError("triplet_loss: a batch needs at least two images of one identity and two identities")
    big = torch.finfo(d.dtype).max / 4
    if mining == "batch_hard":
        has = positive.any(1) & negative.any(1)
        d_ap = d.masked_fill(~positive, -1).max(1).values
        d_an = d.masked_fill(~negative, big).min(1).values
        losses = F.relu(d_ap - d_an + margin)[has]
    elif mining == "semi_hard":
        a, p = positive.nonzero(as_tuple=True)
        d_ap = d[a, p]
        d_neg = d[a].masked_fill(~negative[a], big)                        # (pairs, B)
        semi = d_neg.masked_fill(d_neg <= d_ap[:, None], big).min(1).values  # closest negative beyond the positive
        hardest_fallback = d[a].masked_fill(~negative[a], -1).max(1).values
        d_an = torch.where(semi < big, semi, hardest_fallback)
        losses = F.relu(d_ap - d_an + margin)
    else:
        raise ValueError(f"triplet_loss: mining must be batch_hard or semi_hard, got {mining!r}")
    return losses.mean(), {"active": float((losses > 0).float().mean())}
