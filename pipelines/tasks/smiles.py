"""Course 4 week 1's "Happy House": the notebook's ``HappyModel`` (``pipelines/models/happy.py``) on the face
generator's smiling and not-smiling people (``dlzoo data smiles``), trained through the one Ray driver.

    dlzoo data smiles && dlzoo train c4w1_happy && dlzoo evaluate c4w1_happy

Training as the notebook's (Adam, batches of 16), plus ``augment.flip``: half of each training batch mirrored
left to right, since a mirrored smile is a smile. Evaluation: accuracy, per-class precision and recall and the
confusion matrix (``ClassificationTask``) on ``test``, 150 people never seen in training, as the course's 150 test
photos.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from pipelines.data import objects, smiles
from pipelines.models.happy import happy_model
from pipelines.tasks.classification import ClassificationTask


class HappyTask(ClassificationTask):
    name = "c4w1_happy"
    class_names = smiles.CLASSES

    def read_split(self, data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        # any <split>/<class>/*.png folder tree: the generator's or a user's own photos of one size
        images, labels, _ = objects.read_split(Path(data_dir), split, self.class_names)
        return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255), torch.from_numpy(labels)

    def loss(self, model, batch):
        x, y = batch
        if self.params.get("augment", {}).get("flip"):  # a mirrored smile is a smile
            flip = torch.rand(len(x), device=x.device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return nn.functional.cross_entropy(model(x), y)

    def model_config(self) -> dict:
        return {**super().model_config(), "classes": len(self.class_names)}

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return happy_model(config["input_shape"], config["classes"], int(config.get("filters", 32)),
                           int(config.get("kernel", 7)))
