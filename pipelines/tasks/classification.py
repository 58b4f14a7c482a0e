"""A plain classifier as a Task: (x, y) tensors, cross-entropy, accuracy, per-class report, confusion matrix.

A subclass says where its arrays come from and which network to build; the rest is here::

    class SignsTask(ClassificationTask):
        name = "signs"

        def read_split(self, data_dir, split):            # -> (x float tensor, y long tensor)
            arrays = np.load(data_dir / f"{split}.npz")
            return torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"])

        @classmethod
        def build_model(cls, config):
            return nn.Sequential(nn.Flatten(), nn.Linear(config["inputs"], config["classes"]))

``meta`` gets the class count and the input shape from the train split; ``model_config`` hands them
to ``build_model`` together with the params' ``model`` section. Held-out splits are every split in
``held_out_splits`` that ``read_split`` finds (``FileNotFoundError``: absent).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

from pipelines.tasks.base import Task


class ClassificationTask(Task):
    held_out_splits: tuple[str, ...] = ("test",)
    class_names: tuple[str, ...] | None = None  # names for the report (default: the class index)

    def read_split(self, data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, integer labels) of one split; ``FileNotFoundError`` when the split is absent."""
        raise NotImplementedError

    def load(self, data_dir: Path) -> None:
        self.train_set = TensorDataset(*self.read_split(Path(data_dir), "train"))
        self.dev_set = TensorDataset(*self.read_split(Path(data_dir), "dev"))
        if not self.meta:
            x, y = self.train_set.tensors
            self.meta = {"classes": int(y.max()) + 1, "input_shape": list(x.shape[1:])}

    def datasets(self):
        return self.train_set, self.dev_set

    def model_config(self) -> dict:
        return {**self.params.get("model", {}), "classes": self.meta["classes"],
                "input_shape": self.meta["input_shape"]}

    def loss(self, model, batch):
        x, y = batch
        return nn.functional.cross_entropy(model(x), y)

    @torch.no_grad()
    def predict(self, model, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        net = self.unwrap(model)
        device = next(net.parameters()).device
        return torch.cat([net(x[i:i + batch_size].to(device)).argmax(-1).cpu() for i in range(0, len(x), batch_size)])

    def validate(self, model, loader, device):
        self.unwrap(model).eval()
        losses, hits, n = 0.0, 0, 0
        with torch.no_grad():
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                logits = self.unwrap(model)(x)
                losses += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
                hits += int((logits.argmax(-1) == y).sum())
                n += len(y)
        self.unwrap(model).train()
        return {"dev_loss": losses / max(n, 1), "dev_accuracy": hits / max(n, 1)}

    def evaluate(self, model, data_dir: Path):
        metrics, details = {}, {}
        for split in self.held_out_splits:
            try:
                x, y = self.read_split(Path(data_dir), split)
            except FileNotFoundError:
                continue
            metrics[split], details[split] = classification_report(self.predict(model, x), y, self.meta["classes"],
                                                                   self.class_names)
        if not metrics:
            raise FileNotFoundError(f"{self.name}: none of the splits {self.held_out_splits} in {data_dir}")
        return metrics, details


def classification_report(pred: torch.Tensor, truth: torch.Tensor, classes: int,
                          names: tuple[str, ...] | None = None) -> tuple[dict, dict]:
    """(metrics: n, accuracy; details: per-class precision/recall/support and the confusion matrix, rows =
    truth, columns = prediction)."""
    confusion = torch.zeros(classes, classes, dtype=torch.long)
    confusion.index_put_((truth.long(), pred.long()), torch.ones(len(truth), dtype=torch.long), accumulate=True)
    names = names or tuple(str(i) for i in range(classes))
    per_class = {}
    for i, name in enumerate(names):
        tp, predicted, support = int(confusion[i, i]), int(confusion[:, i].sum()), int(confusion[i].sum())
        per_class[name] = {"precision": tp / predicted if predicted else 0.0,
                           "recall": tp / support if support else 0.0, "support": support}
    n = len(truth)
    return ({"n": n, "accuracy": int(confusion.diag().sum()) / max(n, 1)},
            {"per_class": per_class, "confusion": confusion.tolist()})
