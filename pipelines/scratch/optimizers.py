"""Course 2 week 2's optimizers in numpy, on a ``params`` dict of ``W1, b1, ...`` and its ``grads``.

    opt = Adam(params, lr=0.0007)        # beta1 0.9, beta2 0.999, epsilon 1e-8: the course's defaults
    opt.update(params, grads)            # in place; t counts the updates (Adam's bias correction)

``GradientDescent``: ``W -= lr dW``. ``Momentum``: ``v = beta v + (1 - beta) dW; W -= lr v`` (v starts at
zero). ``RMSprop``: ``s = beta2 s + (1 - beta2) dW^2; W -= lr dW / (sqrt(s) + epsilon)``. ``Adam``: both,
each divided by ``1 - beta^t``. Learning-rate decay (``lr`` of epoch ``epoch``): ``inverse_time`` is
``lr0 / (1 + decay_rate * epoch)``, and with ``time_interval`` the course's scheduled decay
``lr0 / (1 + decay_rate * floor(epoch / time_interval))``.
"""

from __future__ import annotations

import math

import numpy as np


class GradientDescent:
    def __init__(self, params: dict, lr: float):
        self.lr, self.t = lr, 0

    def step(self, key: str, grad: np.ndarray) -> np.ndarray:
        return grad

    def update(self, params: dict, grads: dict) -> None:
        self.t += 1
        for key in params:
            params[key] -= self.lr * self.step(key, grads[f"d{key}"])


class Momentum(GradientDescent):
    def __init__(self, params: dict, lr: float, beta: float = 0.9):
        super().__init__(params, lr)
        self.beta = beta
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, key, grad):
        self.v[key] = self.beta * self.v[key] + (1 - self.beta) * grad
        return self.v[key]


class RMSprop(GradientDescent):
    def __init__(self, params: dict, lr: float, beta2: float = 0.999, epsilon: float = 1e-8):
        super().__init__(params, lr)
        self.beta2, self.epsilon = beta2, epsilon
        self.s = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, key, grad):
        self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * grad ** 2
        return grad / (np.sqrt(self.s[key]) + self.epsilon)


class Adam(GradientDescent):
    def __init__(self, params: dict, lr: float, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8):
        super().__init__(params, lr)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.s = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, key, grad):
        self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * grad
        self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * grad ** 2
        v_hat = self.v[key] / (1 - self.beta1 ** self.t)
        s_hat = self.s[key] / (1 - self.beta2 ** self.t)
        return v_hat / (np.sqrt(s_hat) + self.epsilon)


OPTIMIZERS = {"gd": GradientDescent, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam}


def make(name: str, params: dict, lr: float, **settings) -> GradientDescent:
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, lr, **settings)


def decayed_lr(lr0: float, epoch: int, decay_rate: float = 0.0, time_interval: int | None = None) -> float:
    """Inverse-time decay; with ``time_interval``, the course's scheduled (stepwise) version."""
    steps = epoch if not time_interval else math.floor(epoch / time_interval)
    return lr0 / (1 + decay_rate * steps)
