"""Word2vec skip-gram with negative sampling (Mikolov et al. 2013), the word vectors C5W2 teaches, trained here.

Each word has an input vector (``center``, the word vector) and an output vector (``context``). For a (center,
context) pair from a window and ``negatives`` words drawn from the unigram distribution to the power 0.75
(``noise``, a buffer so it travels with the model), the loss is
-log σ(u_o · v_c) - Σ_k log σ(-u_k · v_c).
"""

from __future__ import annotations

import torch
from torch import nn


class SkipGram(nn.Module):
    def __init__(self, vocabulary: int, dim: int, noise: torch.Tensor | None = None):
        super().__init__()
        self.center = nn.Embedding(vocabulary, dim)
        self.context = nn.Embedding(vocabulary, dim)
        nn.init.uniform_(self.center.weight, -0.5 / dim, 0.5 / dim)  # word2vec.c's initialisation
        nn.init.zeros_(self.context.weight)
        self.register_buffer("noise", noise if noise is not None else torch.ones(vocabulary))

    def forward(self, center: torch.Tensor, context: torch.Tensor, negatives: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """The mean negative-sampling loss of a batch of (center, context) index pairs."""
        v = self.center(center)  # (B, d)
        positive = nn.functional.logsigmoid((self.context(context) * v).sum(-1))
        drawn = torch.multinomial(self.noise.cpu(), len(center) * negatives, replacement=True,
                                  generator=generator).view(len(center), negatives).to(center.device)
        negative = nn.functional.logsigmoid(-(self.context(drawn) @ v.unsqueeze(-1)).squeeze(-1)).sum(-1)
        return -(positive + negative).mean()

    def vectors(self) -> torch.Tensor:
        return self.center.weight.detach()
