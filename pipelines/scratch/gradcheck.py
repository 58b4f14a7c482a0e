"""Gradient checking (C2W1): two-sided differences over every parameter, and the course's relative difference.

    difference = gradient_check(lambda p: nn.cost(nn.forward(p, X)[0], Y), params, grads)
    assert difference < 1e-7

``cost_fn(params) -> float`` must be deterministic (dropout: draw the same masks every call, e.g. a fresh
``np.random.default_rng(seed)`` inside ``cost_fn``).
"""

from __future__ import annotations

import numpy as np


def numerical_gradients(cost_fn, params: dict, epsilon: float = 1e-7) -> dict:
    """``d<key>`` for every parameter: ``(J(theta + eps) - J(theta - eps)) / (2 eps)``, one entry at a time."""
    approx = {}
    for key, value in params.items():
        grad = np.zeros_like(value, dtype=float)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + epsilon
            plus = cost_fn(params)
            value[index] = original - epsilon
            minus = cost_fn(params)
            value[index] = original
            grad[index] = (plus - minus) / (2 * epsilon)
        approx[f"d{key}"] = grad
    return approx


def relative_difference(grads: dict, approx: dict) -> float:
    """``||grad - approx|| / (||grad|| + ||approx||)`` over all parameters as one vector."""
    keys = sorted(approx)
    g = np.concatenate([np.ravel(grads[k]) for k in keys])
    a = np.concatenate([np.ravel(approx[k]) for k in keys])
    denominator = np.linalg.norm(g) + np.linalg.norm(a)
    return float(np.linalg.norm(g - a) / denominator) if denominator else 0.0


def gradient_check(cost_fn, params: dict, grads: dict, epsilon: float = 1e-7) -> float:
    return relative_difference(grads, numerical_gradients(cost_fn, params, epsilon))
