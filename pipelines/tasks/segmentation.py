"""Course 4 week 3's semantic segmentation: the notebook's U-Net on street objects over real photos, every pixel
labelled (``dlzoo data segmentation``), trained by the one Ray driver.

    dlzoo train c4w3_unet && dlzoo evaluate c4w3_unet     # reports/c4w3_unet/{metrics.json,overlays.png}
    dlzoo evaluate c4w3_unet --data my_coco/              # annotations/instances_<split>.json with segmentations

The loss is the notebook's: per-pixel softmax cross-entropy. Evaluation gives per held-out split the pixel accuracy,
each class's intersection over union (background included) and their mean (``mean_iou``, over the classes present
in the truth or the prediction), and ``object_mean_iou`` (the same without background, the figure that says whether
the objects are found). ``overlays.png`` shows photos of ``test`` and ``new_scenes`` with the truth and the
prediction painted over them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import TensorDataset

from pipelines.data import segmentation
from pipelines.models.unet import UNet
from pipelines.tasks.base import Task, held_out_splits

# a colour per class for the overlays (background transparent): the detection classes' usual colours
PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212]], dtype=np.uint8)
OVERLAYS = 6  # photos per held-out split in overlays.png


def rgb(x: torch.Tensor) -> torch.Tensor:
    """uint8 (n, h, w, 3) images as the network takes them: float (n, 3, h, w) in [0, 1]."""
    return x.permute(0, 3, 1, 2).float().div(255)


class SegmentationTask(Task):
    name = "c4w3_unet"

    def read(self, data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        size = tuple(self.meta["size"]) if "size" in self.meta else None
        images, maps, names = segmentation.read_split(Path(data_dir), split, size)
        if "class_names" in self.meta and ["background", *names] != self.meta["class_names"]:
            raise ValueError(f"segmentation: {data_dir} has the classes {names}; the model knows "
                             f"{self.meta['class_names'][1:]}")
        self.meta.setdefault("class_names", ["background", *names])
        self.meta.setdefault("size", list(images.shape[1:3]))
        return torch.from_numpy(images), torch.from_numpy(maps).long()

    def load(self, data_dir: Path) -> None:
        self.train_set = TensorDataset(*self.read(data_dir, "train"))
        self.dev_set = TensorDataset(*self.read(data_dir, "dev"))
        self.meta["classes"] = len(self.meta["class_names"])

    def datasets(self):
        return self.train_set, self.dev_set

    def model_config(self) -> dict:
        return {**self.params.get("model", {}), "classes": self.meta["classes"]}

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return UNet(config["classes"], config.get("filters", 32), config.get("dropout", 0.3))

    def loss(self, model, batch):
        x, y = batch
        return nn.functional.cross_entropy(model(rgb(x)), y)

    @torch.no_grad()
    def predict(self, model, x: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
        net = self.unwrap(model)
        net.eval()
        device = next(net.parameters()).device
        return torch.cat([net(rgb(x[i:i + batch_size]).to(device)).argmax(1).cpu()
                          for i in range(0, len(x), batch_size)])

    def validate(self, model, loader, device):
        confusion = torch.zeros(self.meta["classes"], self.meta["classes"], dtype=torch.long)
        losses, n = 0.0, 0
        net = self.unwrap(model)
        net.eval()
        with torch.no_grad():
            for x, y in loader:
                logits = net(rgb(x.to(device)))
                losses += float(nn.functional.cross_entropy(logits, y.to(device), reduction="sum")) / y[0].numel()
                n += len(y)
                confusion += confusion_matrix(logits.argmax(1).cpu(), y, self.meta["classes"])
        net.train()
        scores = scores_of(confusion, self.meta["class_names"])
        return {"dev_loss": losses / max(n, 1), "dev_pixel_accuracy": scores["pixel_accuracy"],
                "dev_mean_iou": scores["mean_iou"]}

    def evaluate(self, model, data_dir: Path):
        data_dir = Path(data_dir)
        found = [p.stem[len("instances_"):] for p in (data_dir / "annotations").glob("instances_*.json")]
        splits = held_out_splits(found, segmentation.SPLITS)
        if not splits:
            raise FileNotFoundError(f"segmentation: no held-out annotations/instances_<split>.json in {data_dir}")
        metrics, details = {}, {}
        for split in splits:
            x, y = self.read(data_dir, split)
            confusion = confusion_matrix(self.predict(model, x), y, self.meta["classes"])
            scores = scores_of(confusion, self.meta["class_names"])
            metrics[split] = {"images": len(x), "pixel_accuracy": scores["pixel_accuracy"],
                              "mean_iou": scores["mean_iou"], "object_mean_iou": scores["object_mean_iou"]}
            details[split] = {"iou": scores["iou"], "confusion": confusion.tolist()}
        return metrics, details

    def reports(self, model, data_dir: Path, metrics: dict) -> dict[str, bytes]:
        """``overlays.png``: per held-out split, ``OVERLAYS`` photos, each as photo | truth | prediction."""
        from pipelines.strategy.sheet import contact_sheet

        items = []
        for split in metrics:
            x, y = self.read(data_dir, split)
            pred = self.predict(model, x[:OVERLAYS])
            for i in range(min(OVERLAYS, len(x))):
                photo = x[i].numpy()
                items += [(Image.fromarray(photo), f"{split} {i}"),
                          (overlay(photo, y[i].numpy()), "truth"),
                          (overlay(photo, pred[i].numpy()), "U-Net")]
        return {"overlays.png": contact_sheet(items, columns=6, cell=192)}


def overlay(photo: np.ndarray, classes: np.ndarray, alpha: float = 0.6) -> Image.Image:
    """The photo with each labelled pixel tinted its class's colour."""
    colours = PALETTE[classes % len(PALETTE)].astype(np.float32)
    mixed = np.where((classes > 0)[..., None], (1 - alpha) * photo + alpha * colours, photo)
    return Image.fromarray(mixed.round().astype(np.uint8))


def confusion_matrix(pred: torch.Tensor, truth: torch.Tensor, classes: int) -> torch.Tensor:
    """Pixel counts, rows the truth, columns the prediction."""
    index = truth.flatten().long() * classes + pred.flatten().long()
    return torch.bincount(index, minlength=classes * classes).view(classes, classes)


def scores_of(confusion: torch.Tensor, names: list[str]) -> dict:
    """Pixel accuracy, per-class IoU (None where a class is in neither truth nor prediction), their mean, and the
    mean over the object classes (all but the first, background)."""
    c = confusion.double()
    tp, union = c.diag(), c.sum(0) + c.sum(1) - c.diag()
    iou = {name: (float(tp[k] / union[k]) if union[k] > 0 else None) for k, name in enumerate(names)}
    present = [v for v in iou.values() if v is not None]
    objects = [v for name, v in iou.items() if v is not None and name != names[0]]
    return {"pixel_accuracy": float(tp.sum() / c.sum().clamp(min=1)), "iou": iou,
            "mean_iou": sum(present) / len(present) if present else 0.0,
            "object_mean_iou": sum(objects) / len(objects) if objects else 0.0}
