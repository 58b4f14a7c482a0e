"""The production wake-word detector's first stage: the course's Conv1D + GRU head over a frozen speech embedding.

    embeddings (B, T, 96) -> LayerNorm -> Conv1D(conv_filters, kernel, stride 1, causal) -> ReLU -> dropout
                          -> GRU(gru) -> dropout -> dense -> (B, T - kernel + 1) logits

The input is Google's speech embedding (openWakeWord's front end, :mod:`pipelines.features.speech_embedding`):
one 96-d vector per 80 ms, each reading the last 0.782 s of audio, trained by Google on real speech. The
head is the course's trigger-word network (a convolution over time, then a unidirectional GRU, a score per
step) made small, because its input already says much about the sounds: output step ``k`` reads embedding
steps ``k .. k + kernel - 1`` and is reported when the last of them ends (:meth:`WakeWordNet.step_times`),
so a score never waits for audio after its own time and the detector streams.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from pipelines.features.speech_embedding import CONTEXT, DIM, RATE, STEP


@dataclass
class WakeWordConfig:
    n_in: int = DIM              # embedding size
    conv_filters: int = 128
    kernel: int = 4              # embedding steps one output reads (4 x 80 ms past the first window)
    gru: int = 64
    dropout: float = 0.3
    input_dropout: float = 0.1   # share of embedding values dropped in training
    step_s: float = STEP / RATE          # 0.08 s between embedding steps
    first_end_s: float = CONTEXT / RATE  # 0.782 s: when the first embedding step's window ends

    def to_dict(self) -> dict:
        return asdict(self)


class WakeWordNet(nn.Module):
    """Embeddings ``(B, T, 96)`` -> logits ``(B, T - kernel + 1)``."""

    def __init__(self, cfg: WakeWordConfig):
        super().__init__()
        if not 0.0 <= cfg.dropout < 1.0 or not 0.0 <= cfg.input_dropout < 1.0:
            raise ValueError(f"wake_word.model dropouts must be in [0, 1), got {cfg.dropout!r}, "
                             f"{cfg.input_dropout!r}")
        self.cfg = cfg
        # LayerNorm per step, not over the clip: the stream has no future to normalise with
        self.norm = nn.LayerNorm(cfg.n_in)
        self.in_drop = nn.Dropout(cfg.input_dropout)
        self.conv = nn.Conv1d(cfg.n_in, cfg.conv_filters, cfg.kernel)
        self.gru = nn.GRU(cfg.conv_filters, cfg.gru, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.dense = nn.Linear(cfg.gru, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.in_drop(self.norm(x))
        x = self.drop(torch.relu(self.conv(x.transpose(1, 2)))).transpose(1, 2)  # (B, T', C)
        x, _ = self.gru(x)
        return self.dense(self.drop(x)).squeeze(-1)

    def n_steps(self, n_in: int) -> int:
        """Output steps for ``n_in`` embedding steps."""
        return max(0, n_in - self.cfg.kernel + 1)

    def step_times(self, n_steps: int) -> np.ndarray:
        """When each output step's audio ends (s): the end of the last embedding window it reads."""
        c = self.cfg
        return c.first_end_s + (np.arange(n_steps) + c.kernel - 1) * c.step_s
