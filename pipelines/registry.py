"""Every course model and dataset, declared once. ``dlzoo list`` prints the course map from it, and
``dlzoo pipeline`` derives ``dvc.yaml`` from it (``pipelines/pipeline.py``).

A spec names the task class (dotted path, imported lazily so ``dlzoo list`` stays instant) that
holds the model's data loading, builder, loss and evaluation, the params keys each stage reads, and
the training curves to plot. Adding a model: its dataset (if new), its spec, its params section.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path


def resolve(target: str):
    """The object a ``"module:name"`` string names, imported when asked for (so registering stays instant)."""
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _add(table: dict, spec, kind: str):
    if spec.name in table:
        raise ValueError(f"{kind} {spec.name!r} registered twice")
    table[spec.name] = spec
    return spec


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    params_section: str  # its section of params.yaml (``out`` there is where it is written)
    writer: str  # "module:function(params, out, seed) -> summary"
    description: str
    # the dataset it is computed from (a feature cache): its folder is a dep of this data stage and reaches
    # the writer as params["source"]
    source: str | None = None

    @property
    def module(self) -> str:
        return self.writer.split(":")[0]

    def write(self, params: dict, out: Path, seed: int | None = None):
        return resolve(self.writer)(params, Path(out), seed)


DATASETS: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    return _add(DATASETS, spec, "dataset")


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
    train_params: tuple[str, ...] = ("model", "train")  # keys of its params section that training reads
    evaluate_params: tuple[str, ...] = ()  # ... and evaluation
    plots: tuple[str, ...] = ("train_loss",)  # history.csv columns of its training curves
    features: tuple[str, ...] = ()  # datasets computed from its dataset (caches) that training and evaluation read

    @property
    def task_module(self) -> str:
        return self.task.split(":")[0]

    def task_class(self):
        return resolve(self.task)


MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    return _add(MODELS, spec, "model")


def get(name: str) -> ModelSpec:
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def services() -> dict[str, ModelSpec]:
    return {spec.service: spec for spec in MODELS.values() if spec.service}


def dataset(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


register_dataset(DatasetSpec("translation", "data_translation", "pipelines.data.dates:write_dataset",
                             "human-readable dates -> ISO 8601, TSV pairs (faker/babel formats), and non-dates"))
register_dataset(DatasetSpec("detection", "data_detection", "pipelines.data.detection:write_dataset",
                             "street objects drawn on real photos (opencv-doc), COCO JSON + JPEG"))
register_dataset(DatasetSpec("face", "data_face", "pipelines.data.faces:write_dataset",
                             "synthetic face identities, one folder per identity; dev/test identities unseen"))
register_dataset(DatasetSpec("trigger_word", "data_trigger_word", "pipelines.data.trigger_word.dataset:write_dataset",
                             "10 s clips with 'activate' (espeak-ng/flite/Festival/Kokoro voices) over noise, "
                             "WAV + JSON"))
register_dataset(DatasetSpec("trigger_word_embeddings", "data_trigger_word_embeddings",
                             "pipelines.features.clip_embeddings:write_dataset",
                             "openWakeWord speech embeddings (96-d per 80 ms) of every trigger_word clip, "
                             "float16 .npy + index JSON", source="trigger_word"))


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
    train_params=("model", "train", "decode"),  # the refusal threshold is chosen on dev in training
    evaluate_params=("decode",),
    plots=("train_loss", "dev_loss", "dev_exact_match"),
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
    train_params=("model", "loss", "augment", "train", "decode.iou_threshold", "decode.max_detections",
                  "decode.eval_score_threshold"),
    evaluate_params=("decode",),
    plots=("train_loss", "dev_loss", "dev_map50", "dev_map"),
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
    train_params=("model", "augment", "train"),
    plots=("train_loss", "dev_verification_accuracy", "dev_identification_top1"),
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
    also=("test.precision", "test.false_accepts_per_hour", "real_negatives.false_accepts_per_hour"),
    train_params=("features", "model", "augment", "train", "decode"),
    evaluate_params=("decode",),
    plots=("train_loss", "dev_loss", "dev_f1", "dev_recall"),
))
register(ModelSpec(
    name="wake_word",
    course="C5W3",
    title='Wake word "activate", production stage 1: the course\'s Conv1D + GRU head over Google\'s frozen speech '
          "embedding (openWakeWord's front end, trained on real speech)",
    dataset="trigger_word",
    task="pipelines.tasks.wake_word:WakeWordTask",
    headline="test.recall",
    course_figure="n/a: beyond the course; compare with the trigger_word row, same test clips",
    also=("test.precision", "test.false_accepts_per_hour", "real_negatives.false_accepts_per_hour"),
    train_params=("embeddings", "model", "augment", "train", "decode"),
    evaluate_params=("embeddings", "decode"),
    plots=("train_loss", "dev_loss", "dev_f1", "dev_recall"),
    features=("trigger_word_embeddings",),
))
