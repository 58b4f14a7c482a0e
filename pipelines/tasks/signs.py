"""Course 4's SIGNS (0-5 fingers held up, ``dlzoo data signs``): week 1's ConvNet (``pipelines/models/signs.py``)
and week 2's ResNet-50 (torchvision's, as the case studies build it), trained from scratch through the one Ray
driver.

    dlzoo data signs && dlzoo train c4w1_signs_convnet && dlzoo evaluate c4w1_signs_convnet
    dlzoo train c4w2_signs_resnet50 && dlzoo evaluate c4w2_signs_resnet50

``model.arch``: ``convnet`` (the notebook's) or a case-study architecture (``pipelines.models.case_studies.ARCHS``,
at ``model.input_size``, standardised by the training images' mean and std). Images are read and mirrored as the
Happy House's (``augment.flip``: a left hand shows the same count as a right one). Evaluation: accuracy,
per-class precision and recall and the confusion matrix on ``test`` (new hands) and ``new_scenes`` (new hands
before photos of scenes never seen in training).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from pipelines.data import signs
from pipelines.models import case_studies
from pipelines.models.signs import signs_convnet
from pipelines.tasks.smiles import HappyTask


class SignsTask(HappyTask):
    name = "c4w1_signs_convnet"
    class_names = signs.CLASSES
    held_out_splits = ("test", "new_scenes")

    def load(self, data_dir: Path) -> None:
        super().load(data_dir)
        if "mean" not in self.meta:
            x = self.train_set.tensors[0]
            self.meta.update(mean=float(x.mean()), std=float(x.std()))

    def model_config(self) -> dict:
        return {**super().model_config(), "mean": self.meta["mean"], "std": self.meta["std"]}

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        if config.get("arch", "convnet") == "convnet":
            return signs_convnet(config["input_shape"], config["classes"])
        return case_studies.build(config)
