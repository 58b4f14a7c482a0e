"""Course 4 week 2's transfer learning on a few hundred labelled crops (``dlzoo data objects``): three rows on the
same images, trained through the one Ray driver.

    dlzoo train c4w2_transfer_scratch  && dlzoo evaluate c4w2_transfer_scratch    # a small CNN from scratch
    dlzoo train c4w2_transfer_frozen   && dlzoo evaluate c4w2_transfer_frozen     # frozen ImageNet backbone
    dlzoo train c4w2_transfer_finetune && dlzoo evaluate c4w2_transfer_finetune   # ... then its top blocks
    dlzoo curve transfer              # how many labelled images each needs (reports/compare/transfer_curve.md)

The course's two phases are ``train.fine_tune``: the first ``after`` share of the epochs trains the new head
on the frozen backbone; then the last ``top_blocks`` stages learn too, at ``lr_ratio`` times the learning rate
(a fresh optimizer and schedule per phase, as Keras' second ``compile``). ``train.labelled`` keeps the first n
images of a class-balanced, seeded order of the train split (nested: the 40 are among the 80), for the
curve; they are repeated to the split's size, so that every n trains for as many steps. Augmentation as the
course's ``data_augmenter`` (random flip, rotation; here a zoom too), on the fly: ``augment.flip`` (only for
classes that may be mirrored: not the sign with text), ``rotate`` (degrees), ``zoom`` (share).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from pipelines.data import objects
from pipelines.models.transfer import LiteClassifier, build
from pipelines.tasks.base import held_out_splits
from pipelines.tasks.classification import ClassificationTask


class TransferTask(ClassificationTask):
    name = "c4w2_transfer"
    custom_fit = True  # two phases, each with its own optimizer
    held_out_splits = ("test", "new_scenes")

    @property
    def class_names(self) -> tuple[str, ...] | None:
        return tuple(self.meta["class_names"]) if "class_names" in self.meta else None

    def read_split(self, data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels, names = objects.read_split(Path(data_dir), split, self.class_names)
        self.meta.setdefault("class_names", list(names))
        return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255), torch.from_numpy(labels)

    def load(self, data_dir: Path) -> None:
        x, y = self.read_split(data_dir, "train")
        keep = labelled_subset(y, self.params["train"].get("labelled"), int(self.params["train"]["seed"]))
        # a smaller labelled set is repeated to the split's size: every n gets as many steps per epoch
        repeats = -(-len(y) // len(keep))
        self.train_set = TensorDataset(x[keep].repeat(repeats, 1, 1, 1), y[keep].repeat(repeats))
        self.dev_set = TensorDataset(*self.read_split(data_dir, "dev"))
        names = self.meta["class_names"]
        self.meta.update(classes=len(names), input_shape=list(x.shape[1:]), train_images=len(keep),
                         mirrored=[name in objects.MIRRORED for name in names])

    def model_config(self) -> dict:
        return {**super().model_config(), "input_size": self.meta["input_shape"][-1]}

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return build(config)

    def loss(self, model, batch):
        x, y = batch
        mirrored = torch.tensor(self.meta["mirrored"], device=y.device)[y]
        return nn.functional.cross_entropy(model(augment(x, mirrored, self.params.get("augment") or {})), y)

    def evaluate(self, model, data_dir: Path):
        """Every held-out split of ``data_dir`` by the one rule (``held_out_splits``): a user's ImageFolder tree with
        ``val/<class>/`` is scored on ``val``."""
        found = [p.name for p in Path(data_dir).iterdir() if p.is_dir()] if Path(data_dir).is_dir() else []
        self.held_out_splits = tuple(held_out_splits(found, objects.SPLITS)) or type(self).held_out_splits
        return super().evaluate(model, data_dir)

    def phases(self) -> list[tuple[int, int, int | None, float]]:
        """(first epoch, end epoch, trainable top stages (None: all), learning rate) of each phase."""
        train, model = self.params["train"], self.params.get("model", {})
        epochs, lr = int(train["epochs"]), float(train["lr"])
        if model.get("backbone", "efficientnet_lite0") != "efficientnet_lite0":
            return [(0, epochs, None, lr)]
        tune = train.get("fine_tune")
        if not tune:
            return [(0, epochs, 0, lr)]
        switch = min(epochs - 1, max(1, round(epochs * float(tune["after"]))))
        return [(0, switch, 0, lr), (switch, epochs, int(tune["top_blocks"]), lr * float(tune["lr_ratio"]))]

    def fit(self, session, end_epoch) -> None:
        from pipelines.training.loop import checkpoint_state, train_step
        from pipelines.training.recipe import make_optimizer, make_scheduler

        train = self.params["train"]
        net = self.build_model(self.model_config())
        batch = min(int(train["batch_size"]), len(self.train_set))
        sampler = DistributedSampler(self.train_set, session.world_size, session.world_rank, shuffle=True,
                                     seed=int(train["seed"])) if session.world_size > 1 else None
        loader = DataLoader(self.train_set, batch_size=batch, shuffle=sampler is None, sampler=sampler, drop_last=True,
                            generator=torch.Generator().manual_seed(int(train["seed"])))
        dev_loader = DataLoader(self.dev_set, batch_size=int(train.get("eval_batch_size", 256)))
        start, history, resumed = 0, [], []
        state = session.load_checkpoint()
        if state is not None:
            net.load_state_dict(state["model"])
            start, history = state["epoch"] + 1, state["history"]
            resumed = state.get("resumed_at", []) + [start]
            session.log(f"resuming {self.name} from the checkpoint of epoch {state['epoch']}")
        current = None
        for epoch in range(start, int(train["epochs"])):
            phase = next(i for i, (first, end, _, _) in enumerate(self.phases()) if first <= epoch < end)
            if phase != current:  # a new phase: what learns, a fresh optimizer and schedule
                first, end, top_blocks, lr = self.phases()[phase]
                if isinstance(net, LiteClassifier):
                    net.set_trainable(top_blocks)
                model = session.prepare_model(net)
                learning = [p for p in net.parameters() if p.requires_grad]
                optimizer = make_optimizer(learning, {**train, "lr": lr})
                scheduler = make_scheduler(optimizer, {**train, "epochs": end - first}, len(loader))
                if state is not None and state.get("phase") == phase and current is None:
                    optimizer.load_state_dict(state["optimizer"])
                    scheduler.load_state_dict(state["scheduler"])
                current = phase
                session.log(f"{self.name}: phase {phase + 1}, epochs {first}-{end - 1}, "
                            f"{sum(p.numel() for p in learning):,} parameters learn at lr {lr:g}")
            if sampler is not None:
                sampler.set_epoch(epoch)
            model.train()
            t0, total, seen = time.perf_counter(), 0.0, 0
            for x, y in loader:
                x, y = x.to(session.device), y.to(session.device)
                loss = train_step(self, model, (x, y), optimizer, scheduler, train.get("clip_grad"))
                total, seen = total + float(loss) * len(y), seen + len(y)
            seconds = time.perf_counter() - t0
            metrics = {"epoch": epoch, "phase": phase + 1, "train_loss": total / max(seen, 1),
                       "lr": scheduler.get_last_lr()[0], "workers": session.world_size, "epoch_seconds": seconds,
                       "samples_per_second": seen * session.world_size / seconds}
            if session.world_rank == 0:
                metrics.update(self.validate(model, dev_loader, session.device))
            history.append(metrics)
            state_now = checkpoint_state(self, model, epoch, history, optimizer, scheduler, resumed)
            end_epoch(metrics, {**state_now, "phase": phase})


def labelled_subset(labels: torch.Tensor, n: int | None, seed: int) -> torch.Tensor:
    """Indices of the first ``n`` images of a class-balanced order: each class's images in a seeded random order,
    the classes taking turns. Nested: a smaller ``n`` keeps a subset of a larger one's images. None: all."""
    if n is None:
        return torch.arange(len(labels))
    if not 0 < int(n) <= len(labels):
        raise ValueError(f"train.labelled is {n}; the train split has {len(labels)} images")
    generator = torch.Generator().manual_seed(seed)
    queues = [idx[torch.randperm(len(idx), generator=generator)].tolist()
              for idx in (torch.nonzero(labels == c).flatten() for c in labels.unique(sorted=True))]
    order = [q[r] for r in range(max(map(len, queues))) for q in queues if r < len(q)]
    return torch.tensor(sorted(order[:int(n)]))


def augment(x: torch.Tensor, mirrored: torch.Tensor, settings: dict) -> torch.Tensor:
    """Each image on its own (the global torch stream, seeded by the driver): a left-right flip with probability
    ``flip`` where ``mirrored`` allows it, a rotation of up to ``rotate`` degrees and a zoom of up to ``zoom``
    either way, the border's pixels repeated where the turned image leaves the frame."""
    n = len(x)
    flip = float(settings.get("flip", 0.0))
    if flip:
        turn = (torch.rand(n, device=x.device) < flip) & mirrored
        x = torch.where(turn[:, None, None, None], x.flip(-1), x)
    rotate, zoom = math.radians(float(settings.get("rotate", 0.0))), float(settings.get("zoom", 0.0))
    if rotate or zoom:
        angle = (torch.rand(n, device=x.device) * 2 - 1) * rotate
        scale = 1 + (torch.rand(n, device=x.device) * 2 - 1) * zoom
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        zero = torch.zeros_like(cos)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
        grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
        x = nn.functional.grid_sample(x, grid, padding_mode="border", align_corners=False)
    return x
