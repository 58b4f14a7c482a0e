"""The one per-worker training loop, for every model: a plain function that Ray only wraps.

``train_loop_per_worker(config)`` runs in each Ray Train worker (gloo/NCCL DDP across them) and also
runs alone with no Ray at all (``session=LocalSession(...)``), on CPU or CUDA. Every epoch it
reports metrics and a checkpoint {model, optimizer, scheduler, epoch, params, history}; when a
checkpoint exists (a retried worker group, or a rerun after a crash) it resumes from it.

The optimizer, its schedule, ``drop_last`` and gradient clipping are the model's ``train`` params
(``pipelines.training.recipe``). A task whose training is not mini-batch SGD of an ``nn.Module``
(optimising an image, closed-form or numpy reference code) sets ``custom_fit`` and implements
``fit(session, end_epoch)``; the loop hands over to it, and it reports the same checkpoints
(:func:`checkpoint_state`), so the driver writes the same artifacts.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from pipelines import registry
from pipelines.training.metrics_push import push_epoch_metrics
from pipelines.training.progress import BatchProgress, EpochClock
from pipelines.training.recipe import make_optimizer, make_scheduler
from pipelines.training.session import RaySession, Session


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def checkpoint_state(task, model, epoch: int, history: list[dict], optimizer=None, scheduler=None,
                     resumed: list[int] | None = None) -> dict:
    """What a checkpoint (and ``artifacts/<model>/model.pt``) holds, whoever trained the model."""
    return {
        "model": task.unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": epoch, "params": task.params, "history": history, "resumed_at": resumed or [],
        "model_name": task.name, "config": task.model_config(), "meta": task.meta,
    }


def end_epoch(session: Session, config: dict, metrics: dict, state: dict, clock: EpochClock) -> None:
    """Log one line (metrics, time per epoch, ETA), push to the Pushgateway (rank 0), report metrics and
    checkpoint."""
    session.log(f"epoch {metrics['epoch'] + 1}/{clock.epochs} " +
                " ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "epoch") +
                f" ({clock.summary(metrics['epoch'])})")
    if session.world_rank == 0 and config.get("pushgateway"):
        push_epoch_metrics(config["pushgateway"], config["model"], metrics)
    session.report(metrics, state if session.world_rank == 0 else None)


def train_step(task, model, batch, optimizer, scheduler, clip_grad: float | None = None) -> torch.Tensor:
    """One optimisation step on ``batch``: the task's loss, backward, optional gradient clipping, optimizer
    and scheduler steps. Returns the (detached) loss."""
    loss = task.loss(model, batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip_grad:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    optimizer.step()
    scheduler.step()
    return loss.detach()


def train_loop_per_worker(config: dict, session: Session | None = None) -> None:
    """Train ``config["model"]`` on ``config["data_dir"]`` with ``config["params"]`` (its params section).

    Args:
        config: {"model", "params", "data_dir", "threads", "pushgateway", "verbose"}; every path absolute.
        session: where metrics/checkpoints go; Ray's when None (inside a TorchTrainer worker).
    """
    session = session or RaySession(verbose=bool(config.get("verbose")))
    torch.set_num_threads(int(config.get("threads") or os.cpu_count() or 1))
    params, train_cfg = config["params"], config["params"]["train"]
    generator = seed_everything(train_cfg["seed"])

    task = registry.get(config["model"]).task_class()(params)
    task.name = config["model"]  # the registered name (one Task class may back several models)
    task.load(Path(config["data_dir"]))
    if task.custom_fit:
        clock = EpochClock(train_cfg["epochs"])
        task.fit(session, lambda metrics, state: end_epoch(session, config, metrics, state, clock))
        return
    train_ds, dev_ds = task.datasets()
    model = task.build_model(task.model_config())  # same init on every rank (same seed)

    sampler = DistributedSampler(train_ds, session.world_size, session.world_rank, shuffle=True,
                                 seed=train_cfg["seed"]) if session.world_size > 1 else None
    train_loader = DataLoader(train_ds, batch_size=train_cfg["batch_size"], shuffle=sampler is None,
                              sampler=sampler, collate_fn=task.collate, generator=generator,
                              drop_last=bool(train_cfg.get("drop_last", True)))
    dev_loader = DataLoader(dev_ds, batch_size=train_cfg.get("eval_batch_size", 512), collate_fn=task.collate)

    model = session.prepare_model(model)
    device = session.device
    optimizer = make_optimizer(model.parameters(), train_cfg)
    scheduler = make_scheduler(optimizer, train_cfg, len(train_loader))

    start_epoch, history, resumed = 0, [], []
    state = session.load_checkpoint()
    if state is not None:
        task.unwrap(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, history = state["epoch"] + 1, state["history"]
        resumed = state.get("resumed_at", []) + [start_epoch]
        session.log(f"resuming {config['model']} from the checkpoint of epoch {state['epoch']}")

    clock = EpochClock(train_cfg["epochs"], start_epoch)
    for epoch in range(start_epoch, train_cfg["epochs"]):
        if sampler is not None:
            sampler.set_epoch(epoch)
        model.train()
        t0, total, seen = time.perf_counter(), 0.0, 0
        progress = BatchProgress(session.log, epoch, train_cfg["epochs"], len(train_loader))
        for i, batch in enumerate(train_loader):
            batch = task.to_device(batch, device)
            loss = train_step(task, model, batch, optimizer, scheduler, train_cfg.get("clip_grad"))
            n = len(next(iter(batch.values()))) if isinstance(batch, dict) else len(batch[0])
            total, seen = total + loss.item() * n, seen + n
            progress.update(i + 1, total / seen)
        train_time = time.perf_counter() - t0
        metrics = {
            "epoch": epoch,
            "train_loss": total / max(seen, 1),
            "lr": scheduler.get_last_lr()[0],
            "workers": session.world_size,
            "epoch_seconds": train_time,
            # samples/s of the whole group: each rank saw 1/world_size of the data in the same time
            "samples_per_second": seen * session.world_size / train_time,
        }
        if session.world_rank == 0:  # only rank 0's metrics are kept: the others skip the dev pass
            metrics.update(task.validate(model, dev_loader, device))
        history.append(metrics)
        end_epoch(session, config, metrics,
                  checkpoint_state(task, model, epoch, history, optimizer, scheduler, resumed), clock)
