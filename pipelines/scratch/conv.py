"""Convolution and pooling step by step in numpy (C4W1): forward and backward, padding and stride.

    from pipelines.scratch import conv
    Z, cache = conv.conv_forward(A_prev, W, b, stride=2, pad=1)     # A_prev (m, n_H, n_W, n_C), W (f, f, C, C')
    dA_prev, dW, db = conv.conv_backward(dZ, cache)
    A, cache = conv.pool_forward(A_prev, f=2, stride=2, mode="max")  # or "average"
    dA_prev = conv.pool_backward(dA, cache)

The course's layout: channels last (``m, n_H, n_W, n_C``), filters ``(f, f, n_C_prev, n_C)``, biases
``(1, 1, 1, n_C)``; a convolution is the course's cross-correlation (no kernel flip), as in every framework.
Output size: ``floor((n + 2 pad - f) / stride) + 1`` (:func:`output_size`). The loops run over output
positions only, each one a vectorised slice over the batch and the channels, so the code reads like the
notebook and stays fast enough for its tests; tests/unit/test_conv_scratch.py checks values and gradients
against ``torch.nn.functional.conv2d`` / ``max_pool2d`` / ``avg_pool2d`` and autograd.
"""

from __future__ import annotations

import numpy as np

POOL_MODES = ("max", "average")


def output_size(n: int, f: int, stride: int = 1, pad: int = 0) -> int:
    """``floor((n + 2 pad - f) / stride) + 1``; an error when the window does not fit."""
    if f < 1 or stride < 1 or pad < 0:
        raise ValueError(f"f={f}, stride={stride}, pad={pad}: f and stride must be >= 1, pad >= 0")
    if n + 2 * pad < f:
        raise ValueError(f"a {f} x {f} window does not fit in {n} + 2 x {pad} pixels")
    return (n + 2 * pad - f) // stride + 1


def zero_pad(X: np.ndarray, pad: int) -> np.ndarray:
    """Zeros around the height and width of ``X`` (m, n_H, n_W, n_C)."""
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


def conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0):
    """``Z`` (m, n_H, n_W, n_C) and the cache for :func:`conv_backward`."""
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f2, c_in, n_C = W.shape
    if f != f2 or c_in != n_C_prev:
        raise ValueError(f"filters {W.shape} do not fit inputs {A_prev.shape}: (f, f, {n_C_prev}, n_C) expected")
    n_H, n_W = output_size(n_H_prev, f, stride, pad), output_size(n_W_prev, f, stride, pad)
    A_pad = zero_pad(A_prev, pad)
    Z = np.zeros((m, n_H, n_W, n_C), dtype=np.result_type(A_prev, W))
    for h in range(n_H):
        for w in range(n_W):
            window = A_pad[:, h * stride:h * stride + f, w * stride:w * stride + f, :]  # (m, f, f, C_prev)
            Z[:, h, w, :] = np.tensordot(window, W, axes=([1, 2, 3], [0, 1, 2]))
    Z += b.reshape(1, 1, 1, n_C)
    return Z, (A_prev, W, b, stride, pad)


def conv_backward(dZ: np.ndarray, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dA_prev``, ``dW``, ``db`` from ``dZ`` = dJ/dZ."""
    A_prev, W, b, stride, pad = cache
    f = W.shape[0]
    _, n_H, n_W, _ = dZ.shape
    A_pad = zero_pad(A_prev, pad)
    dA_pad = np.zeros_like(A_pad, dtype=np.result_type(dZ, W))
    dW = np.zeros_like(W, dtype=np.result_type(dZ, A_prev))
    for h in range(n_H):
        for w in range(n_W):
            rows, cols = slice(h * stride, h * stride + f), slice(w * stride, w * stride + f)
            dz = dZ[:, h, w, :]  # (m, n_C)
            dA_pad[:, rows, cols, :] += np.tensordot(dz, W, axes=([1], [3]))      # (m, f, f, C_prev)
            dW += np.tensordot(A_pad[:, rows, cols, :], dz, axes=([0], [0]))      # (f, f, C_prev, n_C)
    db = dZ.sum(axis=(0, 1, 2)).reshape(b.shape)
    dA_prev = dA_pad[:, pad:pad + A_prev.shape[1], pad:pad + A_prev.shape[2], :]
    return dA_prev, dW, db


def pool_forward(A_prev: np.ndarray, f: int, stride: int, mode: str = "max"):
    """``A`` (m, n_H, n_W, n_C): the max or the average of each ``f`` x ``f`` window (no padding, as the course)."""
    if mode not in POOL_MODES:
        raise ValueError(f"pooling mode {mode!r}: one of {', '.join(POOL_MODES)}")
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H, n_W = output_size(n_H_prev, f, stride), output_size(n_W_prev, f, stride)
    A = np.zeros((m, n_H, n_W, n_C), dtype=A_prev.dtype)
    reduce = np.max if mode == "max" else np.mean
    for h in range(n_H):
        for w in range(n_W):
            A[:, h, w, :] = reduce(A_prev[:, h * stride:h * stride + f, w * stride:w * stride + f, :], axis=(1, 2))
    return A, (A_prev, f, stride, mode)


def pool_backward(dA: np.ndarray, cache) -> np.ndarray:
    """``dA_prev``: max pooling routes each gradient to its window's maximum (the first one, as torch does, when
    several tie), average pooling spreads it evenly."""
    A_prev, f, stride, mode = cache
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros_like(A_prev, dtype=np.result_type(dA, A_prev))
    for h in range(n_H):
        for w in range(n_W):
            rows, cols = slice(h * stride, h * stride + f), slice(w * stride, w * stride + f)
            grad = dA[:, h, w, :]  # (m, n_C)
            if mode == "average":
                dA_prev[:, rows, cols, :] += grad[:, None, None, :] / (f * f)
                continue
            window = A_prev[:, rows, cols, :].reshape(m, f * f, n_C)
            first = window.argmax(axis=1)  # (m, n_C): the first maximum in row-major order
            mask = np.zeros_like(window, dtype=bool)
            np.put_along_axis(mask, first[:, None, :], True, axis=1)
            dA_prev[:, rows, cols, :] += mask.reshape(m, f, f, n_C) * grad[:, None, None, :]
    return dA_prev
