"""The one per-worker training loop, for every model: a plain function that Ray only wraps.

``train_loop_per_worker(config)`` runs in each Ray Train worker (gloo/NCCL DDP across them) and also
runs alone with no Ray at all (``session=LocalSession(...)``), on CPU or CUDA. Every epoch it
reports metrics and a checkpoint {model, optimizer, scheduler, epoch, params, history}; when a
checkpoint exists (a retried worker group, or a rerun after a crash) it resumes from it.
"""

from __future__ import annotations

import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from pipelines import registry
from pipelines.training.metrics_push import push_epoch_metrics
from pipelines.training.session import RaySession, Session


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def make_scheduler(optimizer, train_cfg: dict, steps_per_epoch: int):
    """Linear warm-up then cosine decay to ``min_lr_ratio`` of the peak, stepped every batch."""
    total = max(1, train_cfg["epochs"] * steps_per_epoch)
    warmup = min(total - 1, int(train_cfg.get("warmup_epochs", 0) * steps_per_epoch))
    floor = train_cfg.get("min_lr_ratio", 0.05)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


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
        config: {"model", "params", "data_dir", "threads", "pushgateway"}; every path absolute.
        session: where metrics/checkpoints go; Ray's when None (inside a TorchTrainer worker).
    """
    session = session or RaySession()
    torch.set_num_threads(int(config.get("threads") or os.cpu_count() or 1))
    params, train_cfg = config["params"], config["params"]["train"]
    generator = seed_everything(train_cfg["seed"])

    task = registry.get(config["model"]).task_class()(params)
    task.load(Path(config["data_dir"]))
    train_ds, dev_ds = task.datasets()
    model = task.build_model(task.model_config())  # same init on every rank (same seed)

    sampler = DistributedSampler(train_ds, session.world_size, session.world_rank, shuffle=True,
                                 seed=train_cfg["seed"]) if session.world_size > 1 else None
    train_loader = DataLoader(train_ds, batch_size=train_cfg["batch_size"], shuffle=sampler is None,
                              sampler=sampler, collate_fn=task.collate, generator=generator, drop_last=True)
    dev_loader = DataLoader(dev_ds, batch_size=train_cfg.get("eval_batch_size", 512), collate_fn=task.collate)

    model = session.prepare_model(model)
    device = session.device
    optimizer = torch.optim.AdamW(model.parameters(), lr=train_cfg["lr"],
                                  weight_decay=train_cfg.get("weight_decay", 0.0))
    scheduler = make_scheduler(optimizer, train_cfg, len(train_loader))

    start_epoch, history, resumed = 0, [], []
    state = session.load_checkpoint()
    if state is not None:
        net = getattr(model, "module", model)
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, history = state["epoch"] + 1, state["history"]
        resumed = state.get("resumed_at", []) + [start_epoch]
        session.log(f"resuming {config['model']} from the checkpoint of epoch {state['epoch']}")

    for epoch in range(start_epoch, train_cfg["epochs"]):
        if sampler is not None:
            sampler.set_epoch(epoch)
        model.train()
        t0, total, seen = time.perf_counter(), 0.0, 0
        for batch in train_loader:
            batch = task.to_device(batch, device)
            loss = train_step(task, model, batch, optimizer, scheduler, train_cfg.get("clip_grad"))
            n = len(next(iter(batch.values()))) if isinstance(batch, dict) else len(batch[0])
            total, seen = total + loss.item() * n, seen + n
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
        net = getattr(model, "module", model)
        state = {
            "model": net.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "epoch": epoch, "params": params,
            "history": history, "resumed_at": resumed,
            "model_name": config["model"], "config": task.model_config(), "meta": task.meta,
        }
        session.log(f"epoch {epoch + 1}/{train_cfg['epochs']} " +
                    " ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "epoch"))
        if session.world_rank == 0 and config.get("pushgateway"):
            push_epoch_metrics(config["pushgateway"], config["model"], metrics)
        session.report(metrics, state if session.world_rank == 0 else None)
