"""The trigger-word network of Course 5 Week 3 ("Trigger word detection"), in PyTorch.

    spectrogram (B, T, F) -> Conv1D(196, kernel 15, stride 4) -> BN -> ReLU -> dropout
                          -> GRU(128) -> dropout -> BN -> GRU(128) -> dropout -> BN -> dropout
                          -> time-distributed dense + sigmoid -> (B, T') probabilities

The convolution turns 100 spectrogram frames per second into 25 output steps per second (the course's
5,511 -> 1,375 steps per 10 s has the same stride); the unidirectional GRUs make it streamable: step
``t`` only sees audio up to its own time. Output step ``k`` is centred at spectrogram frame
``k * stride + (kernel - 1) / 2`` (:meth:`TriggerWordNet.step_times`).

    times, conf = detect_events(probs, step_times, threshold)      # when the model "rings the chime"

:func:`detect_events` turns the probabilities into events, for the service and for evaluation alike. A
detection is a run of steps with probability >= threshold; it is reported at the run's first step
(where the course rings its chime, right after the word ends) with the run's peak probability as its
confidence, and runs closer than ``min_gap_s`` merge into one (a dip inside one word's run; two
"activate"s spoken back to back end ~0.6-1 s apart, and their runs ~0.3 s apart must stay two).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

# Runs of steps closer than this are one detection (the default of ``decode.min_gap_s``)
MIN_GAP_S = 0.3


@dataclass
class TriggerWordConfig:
    n_freq: int = 201          # spectrogram bins (pipelines.data.audio.n_bins)
    conv_filters: int = 196
    kernel: int = 15
    stride: int = 4
    gru: int = 128
    dropout: float = 0.5       # the course's Keras Dropout(0.8) drops 80%; half trains faster here
    frame_period_s: float = 0.01  # spectrogram hop / sample rate

    def to_dict(self) -> dict:
        return asdict(self)


class UniformDropout(nn.Module):
    """Inverted dropout (as ``nn.Dropout``) with its mask drawn by ``uniform_`` instead of ``bernoulli_``.

    The same distribution, but on this CPU ``bernoulli_`` took 13 % of a training step of this network
    (4 masks of 32 x 250 x 196 values, ~22 ms each, against ~6 ms for ``uniform_``).
    """

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"trigger_word.model.dropout must be in [0, 1), got {p!r}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty_like(x).uniform_() >= self.p
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))


class TriggerWordNet(nn.Module):
    """Spectrogram ``(B, T, n_freq)`` -> logits ``(B, T')`` with ``T' = (T - kernel) // stride + 1``."""

    def __init__(self, cfg: TriggerWordConfig):
        super().__init__()
        self.cfg = cfg
        self.conv = nn.Conv1d(cfg.n_freq, cfg.conv_filters, cfg.kernel, cfg.stride)
        self.bn0 = nn.BatchNorm1d(cfg.conv_filters)
        self.gru1 = nn.GRU(cfg.conv_filters, cfg.gru, batch_first=True)
        self.bn1 = nn.BatchNorm1d(cfg.gru)
        self.gru2 = nn.GRU(cfg.gru, cfg.gru, batch_first=True)
        self.bn2 = nn.BatchNorm1d(cfg.gru)
        self.drop = UniformDropout(cfg.dropout)
        self.dense = nn.Linear(cfg.gru, 1)

    @staticmethod
    def _bn(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
        return bn(x.transpose(1, 2)).transpose(1, 2)  # BatchNorm1d wants (B, C, T)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        x = self.drop(torch.relu(self.bn0(self.conv(spec.transpose(1, 2))))).transpose(1, 2)  # (B, T', C)
        x, _ = self.gru1(x)
        x = self._bn(self.bn1, self.drop(x))
        x, _ = self.gru2(x)
        x = self.drop(self._bn(self.bn2, self.drop(x)))
        return self.dense(x).squeeze(-1)

    def n_steps(self, n_frames: int) -> int:
        return max(0, (n_frames - self.cfg.kernel) // self.cfg.stride + 1)

    def step_times(self, n_steps: int) -> np.ndarray:
        """Centre time (s) of each output step."""
        c = self.cfg
        return (np.arange(n_steps) * c.stride + (c.kernel - 1) / 2) * c.frame_period_s


def detect_events(probs: np.ndarray, times: np.ndarray, threshold: float, min_gap_s: float = MIN_GAP_S
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(detection times in s, confidences) of one clip's per-step probabilities."""
    above = np.asarray(probs) >= threshold
    if not above.any():
        return np.zeros(0), np.zeros(0)
    edges = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out_t: list[float] = []
    out_c: list[float] = []
    last_end = -np.inf
    for s, e in zip(starts, ends, strict=True):
        peak = float(np.max(probs[s:e]))
        if times[s] - last_end < min_gap_s:  # a dip inside one word: the same detection
            out_c[-1] = max(out_c[-1], peak)
        else:
            out_t.append(float(times[s]))
            out_c.append(peak)
        last_end = times[e - 1]
    return np.asarray(out_t), np.asarray(out_c)
