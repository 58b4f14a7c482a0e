"""The optimisation recipe of the generic loop, read from a model's ``train`` params.

    optimizer: adamw        # adamw | adam | sgd | momentum | rmsprop          (default adamw)
    lr: 0.002
    weight_decay: 0.0       # decoupled for adamw, L2 in the gradient for the others
    betas: [0.9, 0.999]     # adam, adamw
    momentum: 0.9           # momentum (heavy ball), rmsprop
    schedule: warmup_cosine # warmup_cosine | constant | step | inverse_time      (default warmup_cosine)
    warmup_epochs: 0.3      # warmup_cosine: linear warm-up, then cosine decay to min_lr_ratio of the peak
    min_lr_ratio: 0.05
    step_epochs: 10         # step: lr x gamma every step_epochs
    gamma: 0.1
    decay_rate: 1.0         # inverse_time (Course 2 week 2): lr / (1 + decay_rate x floor(epoch / time_interval))
    time_interval: 1000
    drop_last: true         # drop the last, smaller batch of an epoch
    clip_grad: 1.0          # max gradient norm (null: no clipping)

Every key is optional except ``lr``; the defaults are what every model used before they were settings.
A wrong name fails with the key and the choices.
"""

from __future__ import annotations

import math

import torch

OPTIMIZERS = ("adamw", "adam", "sgd", "momentum", "rmsprop")
SCHEDULES = ("warmup_cosine", "constant", "step", "inverse_time")


def _choice(train_cfg: dict, key: str, default: str, choices: tuple[str, ...]) -> str:
    value = train_cfg.get(key, default)
    if value not in choices:
        raise ValueError(f"train.{key} is {value!r}; choose one of {', '.join(choices)}")
    return value


def make_optimizer(parameters, train_cfg: dict) -> torch.optim.Optimizer:
    """The optimizer ``train.optimizer`` names, with ``lr``, ``weight_decay`` and its own settings."""
    name = _choice(train_cfg, "optimizer", "adamw", OPTIMIZERS)
    lr, decay = train_cfg["lr"], train_cfg.get("weight_decay", 0.0)
    betas = tuple(train_cfg.get("betas", (0.9, 0.999)))
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=decay, betas=betas)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=decay, betas=betas)
    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr, weight_decay=decay, momentum=train_cfg.get("momentum", 0.0))
    momentum = train_cfg.get("momentum", 0.9) if name == "momentum" else 0.0
    return torch.optim.SGD(parameters, lr=lr, weight_decay=decay, momentum=momentum)


def make_scheduler(optimizer, train_cfg: dict, steps_per_epoch: int):
    """The learning-rate schedule ``train.schedule`` names, stepped after every batch."""
    name = _choice(train_cfg, "schedule", "warmup_cosine", SCHEDULES)
    steps_per_epoch = max(1, steps_per_epoch)
    if name == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    if name == "step":
        every, gamma = train_cfg.get("step_epochs", 10) * steps_per_epoch, train_cfg.get("gamma", 0.1)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: gamma ** (step // max(1, every)))
    if name == "inverse_time":
        rate, interval = train_cfg.get("decay_rate", 1.0), train_cfg.get("time_interval", 1000)
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 1.0 / (1.0 + rate * ((step // steps_per_epoch) // interval)))
    total = max(1, train_cfg["epochs"] * steps_per_epoch)
    warmup = min(total - 1, int(train_cfg.get("warmup_epochs", 0) * steps_per_epoch))
    floor = train_cfg.get("min_lr_ratio", 0.05)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
