"""Every course model, registered once. ``dlzoo list`` prints this as the course map.

A spec names the task class (dotted path, imported lazily so ``dlzoo list`` stays instant) that
holds the model's data loading, builder, loss and evaluation.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    course: str  # course/week tag, e.g. "C5W3"
    title: str
    dataset: str  # the `dlzoo data <dataset>` that feeds it
    task: str  # "module:Class" of its Task
    headline: str  # the metric key the scoreboard shows, e.g. "test.exact_match"
    course_figure: str  # the course's own number for that metric, with its source
    service: str | None = None  # the TorchServe service it backs
    also: tuple[str, ...] = ()  # further metric keys the scoreboard lists beside the headline

    def task_class(self):
        module, cls = self.task.split(":")
        return getattr(importlib.import_module(module), cls)


MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} registered twice")
    MODELS[spec.name] = spec
    return spec


def get(name: str) -> ModelSpec:
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def services() -> dict[str, ModelSpec]:
    return {spec.service: spec for spec in MODELS.values() if spec.service}


register(ModelSpec(
    name="translation",
    course="C5W3",
    title="Neural machine translation with attention: human-readable dates -> ISO 8601",
    dataset="translation",
    task="pipelines.tasks.translation:TranslationTask",
    headline="test.exact_match",
    course_figure="n/a: the notebook loads pretrained weights and reports no held-out score",
    service="translation",
    also=("unseen_formats.exact_match", "test.bleu", "not_dates.refusal_rate"),
))
register(ModelSpec(
    name="detection",
    course="C4W3",
    title="YOLO object detection (k-means anchors, YOLO loss, NMS) of street objects on real photos",
    dataset="detection",
    task="pipelines.tasks.detection:DetectionTask",
    headline="test.map50",
    course_figure="n/a: the notebook runs pretrained YOLOv2 weights on a few images and reports no mAP",
    service="detection",
    also=("new_scenes.map50", "test.map"),
))
register(ModelSpec(
    name="face",
    course="C4W4",
    title="FaceNet-style face recognition: Inception CNN, triplet loss, verification and one-shot identification",
    dataset="face",
    task="pipelines.tasks.face:FaceTask",
    headline="test.verification_accuracy",
    course_figure="n/a: the notebook loads pretrained FaceNet weights and checks a handful of faces",
    service="face",
    also=("test.identification_top1", "test.tar_at_far_1e-3"),
))
register(ModelSpec(
    name="trigger_word",
    course="C5W3",
    title='Trigger word detection: "activate" in 10 s clips, Conv1D + GRU over torch.stft spectrograms',
    dataset="trigger_word",
    task="pipelines.tasks.trigger_word:TriggerWordTask",
    headline="test.recall",
    course_figure="n/a: the notebook trains on 32 clips and shows predictions on two recordings",
    service="trigger_word",
    also=("test.precision", "test.false_accepts_per_hour"),
))
