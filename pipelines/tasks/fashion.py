"""Courses 1-2's image classifiers on Fashion-MNIST (``pipelines/data/fashion.py``; the course's cat and SIGNS
photos are not available offline).

    dlzoo train c1w2_logistic            # logistic regression, numpy (FashionMLPTask)
    dlzoo train c1w4_deep                # the 2-layer and L-layer numpy networks side by side (FashionStudyTask)
    dlzoo train c2w3_softmax             # a softmax classifier with batch norm in torch, through Ray

C2W3's network is the course's LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SOFTMAX (25 and 12 units there),
with batch normalisation after each hidden linear layer as the week's lecture adds it (``model.batch_norm``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from pipelines.data import fashion
from pipelines.tasks.classification import ClassificationTask
from pipelines.tasks.scratch_mlp import ScratchMLPTask, ScratchStudyTask


class FashionMLPTask(ScratchMLPTask):
    name = "c1w2_logistic"
    source = fashion


class FashionStudyTask(ScratchStudyTask):
    name = "c1w4_deep"
    source = fashion


class FashionSoftmaxTask(ClassificationTask):
    name = "c2w3_softmax"
    held_out_splits = ("test",)
    class_names = fashion.CLASSES

    def read_split(self, data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = fashion.read_split(data_dir, self.params["set"], split)
        return torch.from_numpy(x).float(), torch.from_numpy(y)

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        layers, width = [], config["input_shape"][0]
        for units in config["hidden"]:
            layers += [nn.Linear(width, units, bias=not config.get("batch_norm")),
                       *([nn.BatchNorm1d(units)] if config.get("batch_norm") else []), nn.ReLU()]
            width = units
        return nn.Sequential(*layers, nn.Linear(width, config["classes"]))  # softmax: in the loss
