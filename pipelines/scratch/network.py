"""The course's fully connected networks in numpy: one code path for all three of Course 1's models.

    from pipelines.scratch import network as nn
    params = nn.initialize([2, 4, 1], "random", seed=2, scale=0.01)   # C1W3: 4 tanh units, small random
    AL, caches = nn.forward(params, X, hidden="tanh")
    cost = nn.cost(AL, Y)
    grads = nn.backward(AL, Y, caches)

Logistic regression is ``[n_x, 1]`` (no hidden layer), the one-hidden-layer network ``[n_x, n_h, 1]``
with ``tanh``, the L-layer network ``[n_x, ..., 1]`` with ``relu``. The output is ``sigmoid`` (binary
cross-entropy, ``Y`` of shape ``(1, m)``) or ``softmax`` (cross-entropy, one-hot ``Y`` of ``(C, m)``); for
both the output's ``dZ`` is ``AL - Y``. L2 adds ``lambd / (2 m) * sum ||W||^2`` to the cost and
``lambd / m * W`` to every ``dW``; inverted dropout keeps each hidden unit with ``keep_prob`` and divides
by it, with the masks drawn from ``rng`` and kept in the caches so the backward pass uses the same ones.
"""

from __future__ import annotations

import numpy as np

INITIALIZATIONS = ("zeros", "random", "he", "xavier")


def initialize(layer_dims: list[int], method: str = "he", seed: int = 0, scale: float = 1.0) -> dict:
    """``W1, b1, ..., WL, bL``: ``zeros`` (C2W1's symmetric failure), ``random`` (standard normal x
    ``scale``: C2W1's large ``10``, C1's small ``0.01``), ``he`` (x sqrt(2 / n_prev)), ``xavier`` (x sqrt(1 /
    n_prev)). Biases start at zero. The draws are the notebooks' own: ``np.random.seed(seed)``, then one
    ``randn`` per layer in order (``RandomState``), so the course's seeds give the course's weights."""
    if method not in INITIALIZATIONS:
        raise ValueError(f"initialization {method!r}; choose one of {', '.join(INITIALIZATIONS)}")
    rng = np.random.RandomState(seed)
    params = {}
    for layer in range(1, len(layer_dims)):
        n, n_prev = layer_dims[layer], layer_dims[layer - 1]
        if method == "zeros":
            w = np.zeros((n, n_prev))
        else:
            factor = {"random": scale, "he": np.sqrt(2.0 / n_prev), "xavier": np.sqrt(1.0 / n_prev)}[method]
            w = rng.standard_normal((n, n_prev)) * factor
        params[f"W{layer}"], params[f"b{layer}"] = w, np.zeros((n, 1))
    return params


def layers(params: dict) -> int:
    return len(params) // 2


def sigmoid(z):
    # split by sign so that exp never overflows
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


HIDDEN = {
    "relu": (lambda z: np.maximum(z, 0), lambda z, a: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a ** 2),
    "sigmoid": (sigmoid, lambda z, a: a * (1.0 - a)),
}


def forward(params: dict, X: np.ndarray, hidden: str = "relu", output: str = "sigmoid",
            keep_prob: float = 1.0, rng: np.random.Generator | None = None) -> tuple[np.ndarray, list]:
    """Output activations ``AL`` and per-layer caches ``(A_prev, Z, A, mask)``."""
    if hidden not in HIDDEN or output not in ("sigmoid", "softmax"):
        raise ValueError(f"hidden {hidden!r} / output {output!r}: hidden in {sorted(HIDDEN)}, output sigmoid|softmax")
    if keep_prob < 1.0 and rng is None:
        raise ValueError("dropout (keep_prob < 1) needs an rng")
    caches, A, L = [], X, layers(params)
    for layer in range(1, L + 1):
        Z = params[f"W{layer}"] @ A + params[f"b{layer}"]
        mask = None
        if layer < L:
            A_next = HIDDEN[hidden][0](Z)
            if keep_prob < 1.0:
                mask = rng.random(A_next.shape) < keep_prob
                A_next = A_next * mask / keep_prob
        else:
            A_next = sigmoid(Z) if output == "sigmoid" else softmax(Z)
        caches.append((A, Z, A_next, mask))
        A = A_next
    return A, caches


def cost(AL: np.ndarray, Y: np.ndarray, params: dict | None = None, lambd: float = 0.0) -> float:
    """Cross-entropy (binary for a ``(1, m)`` output, categorical for ``(C, m)``) plus the L2 term."""
    m = Y.shape[1]
    eps = 1e-12  # log(0) of a saturated unit would be -inf
    if AL.shape[0] == 1:
        ce = -np.sum(Y * np.log(AL + eps) + (1 - Y) * np.log(1 - AL + eps)) / m
    else:
        ce = -np.sum(Y * np.log(AL + eps)) / m
    if lambd and params is not None:
        ce += lambd / (2 * m) * sum(np.sum(params[f"W{i}"] ** 2) for i in range(1, layers(params) + 1))
    return float(ce)


def backward(AL: np.ndarray, Y: np.ndarray, caches: list, params: dict, hidden: str = "relu",
             lambd: float = 0.0, keep_prob: float = 1.0) -> dict:
    """``dW1, db1, ...`` of :func:`cost` (the output's ``dZ = AL - Y``)."""
    m, L = Y.shape[1], len(caches)
    grads = {}
    dZ = AL - Y
    for layer in range(L, 0, -1):
        A_prev = caches[layer - 1][0]
        W = params[f"W{layer}"]
        grads[f"dW{layer}"] = dZ @ A_prev.T / m + (lambd / m) * W
        grads[f"db{layer}"] = dZ.sum(axis=1, keepdims=True) / m
        if layer > 1:
            dA = W.T @ dZ
            _, Z_prev, A_prev_out, mask = caches[layer - 2]
            if mask is not None:
                dA = dA * mask / keep_prob
                A_prev_out = HIDDEN[hidden][0](Z_prev)  # the activation before dropout scaled it
            dZ = dA * HIDDEN[hidden][1](Z_prev, A_prev_out)
    return grads


def predict(params: dict, X: np.ndarray, hidden: str = "relu", output: str = "sigmoid") -> np.ndarray:
    """Class predictions: ``AL > 0.5`` as ``(1, m)`` for sigmoid, the argmax ``(m,)`` for softmax."""
    AL, _ = forward(params, X, hidden, output)
    return (AL > 0.5).astype(int) if output == "sigmoid" else AL.argmax(axis=0)
