"""What the families share: a seeded sample of a split's items, the numpy study row a metric names."""

from __future__ import annotations

import numpy as np


def sample(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Indices of a seeded sample of ``limit`` of ``n`` items, in order (all of them when ``limit`` is None or
    at least ``n``): the train error is measured on such a sample, the same one on every run."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def row_of(key: str) -> str:
    """The numpy study row a metric key names (``he_accuracy`` -> ``he``; ``accuracy`` -> the one network)."""
    return key[:-len("_accuracy")] if key.endswith("_accuracy") and key != "accuracy" else ""
