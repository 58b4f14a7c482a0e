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
    # a key of its params section naming a folder the writer keeps between runs (the trigger word's synthesized
    # words): a DVC output with ``persist: true``, so a rerun reuses it and ``dvc push``/``pull`` carry it
    cache: str | None = None
    # its family module for Course 3's strategy report (pipelines/strategy): how to show one split to a task's
    # evaluate and sample errors for a person; its train-dev draw is pipelines/strategy/train_dev/<same name>.py
    # ("module:write_train_dev", the train_dev property). None for feature caches.
    strategy: str | None = None

    @property
    def module(self) -> str:
        return self.writer.split(":")[0]

    @property
    def train_dev(self) -> str | None:
        """The module of its train-dev draw (``write_train_dev(params, data_dir, out, n, seed)``)."""
        if not self.strategy:
            return None
        package, family = self.strategy.rsplit(".", 1)
        return f"{package}.train_dev.{family}"

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
    reports: tuple[str, ...] = ()  # files its task's ``reports()`` writes beside reports/<model>/metrics.json
    # False: work with no use for a worker group (numpy code, a picture optimised in place); the driver runs the loop
    # in-process
    ray: bool = True
    # True: a Ray Tune random search over its params' ``search`` space runs first (``dlzoo search``), and its
    # best trial's settings are what ``dlzoo train`` trains with (pipelines/training/search.py)
    search: bool = False
    # Pretrained alternatives scored beside the trained network: the module whose ``run(params, data_dir)`` writes
    # artifacts/<model>/backends/ (calibrations the service's archive carries) and reports/<model>/backends.json,
    # run by ``dlzoo backends <model>`` (a ``backends_<model>`` stage); their rows join the scoreboard.
    backends: str | None = None
    # Course 3's strategy report (pipelines/strategy/report.py): the error is 1 - strategy_metric, a key of
    # evaluate()'s metrics per split (default: the headline's); the human-level proxy is the model's params
    # ``human_level`` (a params dep of its strategy stage)
    strategy_metric: str | None = None
    # A comparison table it joins with the other models naming it (``dlzoo compare <table>``, a derived
    # ``compare_<table>`` stage): their headline, parameters, FLOPs, training minutes, inference speed
    compare: str | None = None
    # True: it joins its compare table's labelled-examples curve (``dlzoo curve <table>``, a derived ``curve_<table>``
    # stage): trained again on the first n training examples for each n of its params' ``curve.sizes``
    curve: bool = False
    # registered models whose model.pt its training and evaluation read (a feature network trained here): deps of
    # its train and evaluate stages
    uses: tuple[str, ...] = ()

    @property
    def task_module(self) -> str:
        return self.task.split(":")[0]

    @property
    def strategy_key(self) -> str:
        return self.strategy_metric or self.headline.split(".", 1)[1]

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
                             "human-readable dates -> ISO 8601, TSV pairs (faker/babel formats), and non-dates",
                             strategy="pipelines.strategy.translation"))
register_dataset(DatasetSpec("detection", "data_detection", "pipelines.data.detection:write_dataset",
                             "street objects drawn on real photos (opencv-doc), COCO JSON + JPEG",
                             strategy="pipelines.strategy.detection"))
register_dataset(DatasetSpec("face", "data_face", "pipelines.data.faces:write_dataset",
                             "synthetic face identities, one folder per identity; dev/test identities unseen",
                             strategy="pipelines.strategy.face"))
register_dataset(DatasetSpec("trigger_word", "data_trigger_word", "pipelines.data.trigger_word.dataset:write_dataset",
                             "10 s clips with 'activate' (espeak-ng/flite/Festival/Kokoro voices) over noise, "
                             "WAV + JSON", cache="cache_dir",
                             strategy="pipelines.strategy.trigger_word"))
register_dataset(DatasetSpec("planar", "data_planar", "pipelines.data.planar:write_dataset",
                             "Courses 1-2's 2-D point sets: the planar flower, circles, moons (train/dev/test draws)",
                             strategy="pipelines.strategy.planar"))
register_dataset(DatasetSpec("fashion", "data_fashion", "pipelines.data.fashion:write_dataset",
                             "Fashion-MNIST (Debian): a binary pair for Course 1, ten classes for Course 2 week 3",
                             strategy="pipelines.strategy.fashion"))
register_dataset(DatasetSpec("style", "data_style", "pipelines.data.style:write_dataset",
                             "content photos and style pictures from opencv-doc (The Starry Night), PNG"))
register_dataset(DatasetSpec("objects", "data_objects", "pipelines.data.objects:write_dataset",
                             "crops of the detection set's objects on real photos, one folder per class (PNG)",
                             source="detection"))
register_dataset(DatasetSpec("segmentation", "data_segmentation", "pipelines.data.segmentation:write_dataset",
                             "street objects drawn on real photos, every pixel labelled: COCO with RLE segmentations "
                             "+ PNG"))
register_dataset(DatasetSpec("smiles", "data_smiles", "pipelines.data.smiles:write_dataset",
                             "the face generator's people, smiling or not by a written rule on its expression "
                             "parameters, 64 x 64, one folder per class (PNG); dev/test people unseen"))
register_dataset(DatasetSpec("signs", "data_signs", "pipelines.data.signs:write_dataset",
                             "drawn hands holding up 0-5 fingers (the course's SIGNS), 64 x 64, one folder per class "
                             "(PNG); held-out hands, and new_scenes before photos never used in training"))
register_dataset(DatasetSpec("names", "data_names", "pipelines.data.names:write_dataset",
                             "people's names from faker's en_US lists (a-z), one per line; test names never trained "
                             "on"))
register_dataset(DatasetSpec("music", "data_music", "pipelines.data.music:write_dataset",
                             "Bach chorale melodies from music21's corpus as note tokens in C major / A minor, whole "
                             "tunes held out"))
register_dataset(DatasetSpec("emojify", "data_emojify", "pipelines.data.emojify:write_dataset",
                             "sentences labelled with five emoji: train/dev from templates, test written by hand "
                             "apart from them (TSV)"))
register_dataset(DatasetSpec("bible", "data_bible", "pipelines.data.bible:write_dataset",
                             "verse-aligned World English Bible / Reina-Valera 1909 (Debian sword-text-*), whole "
                             "books held out, TSV"))
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
    backends="pipelines.realface.report",
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

# Course 1: the numpy networks, trained by the course's own gradient descent (pipelines/scratch)
register(ModelSpec(
    name="planar_logistic",
    course="C1W3",
    title="Logistic regression on the planar flower (numpy, gradient descent): the baseline a hidden layer beats",
    dataset="planar",
    task="pipelines.tasks.planar:PlanarMLPTask",
    headline="test.accuracy",
    course_figure="47 % (training accuracy of scikit-learn's LogisticRegressionCV on the 400 flower points)",
    also=("train.accuracy",),
    train_params=("set", "model", "train"),
    plots=("train_loss", "train_accuracy", "dev_accuracy"),
    ray=False,
))
register(ModelSpec(
    name="planar_shallow",
    course="C1W3",
    title="One hidden layer of 4 tanh units on the planar flower, numpy from scratch (forward, backward, GD)",
    dataset="planar",
    task="pipelines.tasks.planar:PlanarMLPTask",
    headline="test.accuracy",
    course_figure="90 % (training accuracy, n_h = 4, 10,000 iterations at learning rate 1.2)",
    also=("train.accuracy",),
    train_params=("set", "model", "train"),
    plots=("train_loss", "train_accuracy", "dev_accuracy"),
    ray=False,
))
register(ModelSpec(
    name="c1w3_hidden_units",
    course="C1W3",
    title="Hidden-layer size on the planar flower: n_h = 1, 2, 3, 4, 5, 20, 50 (numpy, 5,000 GD steps each)",
    dataset="planar",
    task="pipelines.tasks.planar:PlanarStudyTask",
    headline="train.n_h_5_accuracy",
    course_figure="train 67.5 / 67.25 / 90.75 / 90.5 / 91.25 / 90.0 / 90.25 % for n_h 1 / 2 / 3 / 4 / 5 / 20 / 50",
    also=("test.n_h_5_accuracy", "test.n_h_50_accuracy"),
    train_params=("set", "model", "train", "rows"),
    plots=("n_h_1_train_loss", "n_h_4_train_loss", "n_h_50_train_loss"),
    reports=("table.md", "boundaries.png"),
    ray=False,
))
register(ModelSpec(
    name="c2w1_initialization",
    course="C2W1",
    title="Initialization on circles: zeros / large random (x 10) / He, a [2, 10, 5, 1] ReLU network (numpy)",
    dataset="planar",
    task="pipelines.tasks.planar:PlanarStudyTask",
    headline="test.he_accuracy",
    course_figure="test 50 / 86 / 96 % (zeros / large random / He)",
    also=("test.zeros_accuracy", "test.large_random_accuracy"),
    train_params=("set", "model", "train", "rows"),
    plots=("zeros_train_loss", "large_random_train_loss", "he_train_loss"),
    reports=("table.md", "boundaries.png"),
    ray=False,
))
register(ModelSpec(
    name="c2w1_regularization",
    course="C2W1",
    title="Regularization: none / L2 (lambda 0.7) / inverted dropout (keep 0.86), a [2, 20, 3, 1] ReLU network "
          "(numpy) on 2-D points of the course's shape",
    dataset="planar",
    task="pipelines.tasks.planar:PlanarStudyTask",
    headline="test.dropout_accuracy",
    course_figure="test 91.5 / 93 / 95 % (none / L2 / dropout; on the course's data.mat, not available here)",
    also=("test.none_accuracy", "test.l2_accuracy", "train.none_accuracy"),
    train_params=("set", "model", "train", "rows"),
    plots=("none_train_loss", "l2_train_loss", "dropout_train_loss"),
    reports=("table.md", "boundaries.png"),
    ray=False,
))
register(ModelSpec(
    name="c2w2_optimization",
    course="C2W2",
    title="Mini-batch GD / momentum / Adam on moons, [2, 5, 2, 1], without and with scheduled learning-rate decay "
          "(numpy)",
    dataset="planar",
    task="pipelines.tasks.planar:PlanarStudyTask",
    headline="train.adam_accuracy",
    course_figure="train 79.7 / 79.7 / 94 % (GD / momentum / Adam); with scheduled decay 94.7 / 94.3 / 94 %",
    also=("train.gd_decay_accuracy", "train.momentum_decay_accuracy", "train.adam_decay_accuracy",
          "test.adam_accuracy"),
    train_params=("set", "model", "train", "rows"),
    plots=("gd_train_loss", "momentum_train_loss", "adam_train_loss"),
    reports=("table.md", "boundaries.png"),
    ray=False,
))
register(ModelSpec(
    name="c1w2_logistic",
    course="C1W2",
    title="Logistic regression as a neural network, numpy (zeros init, 2,000 GD steps at 0.005) on shirt vs T-shirt",
    dataset="fashion",
    task="pipelines.tasks.fashion:FashionMLPTask",
    headline="test.accuracy",
    course_figure="test 70 % on cat / non-cat (209 / 50 photos, not available here: ours is Fashion-MNIST shirt vs "
                  "T-shirt/top)",
    also=("train.accuracy",),
    train_params=("set", "model", "train"),
    plots=("train_loss", "train_accuracy", "dev_accuracy"),
    ray=False,
))
register(ModelSpec(
    name="c1w4_deep",
    course="C1W4",
    title="The 2-layer [n, 7, 1] and L-layer [n, 20, 7, 5, 1] numpy networks, step by step, on shirt vs T-shirt",
    dataset="fashion",
    task="pipelines.tasks.fashion:FashionStudyTask",
    headline="test.l_layer_accuracy",
    course_figure="test 72 % (2-layer) / 80 % (L-layer) on cat / non-cat (not available here)",
    also=("test.two_layer_accuracy", "train.l_layer_accuracy"),
    train_params=("set", "model", "train", "rows"),
    plots=("two_layer_train_loss", "l_layer_train_loss"),
    reports=("table.md",),
    ray=False,
))
register(ModelSpec(
    name="c2w3_softmax",
    course="C2W3",
    title="Softmax classifier with batch norm, LINEAR-RELU-LINEAR-RELU-LINEAR, torch through Ray, ten "
          "Fashion-MNIST classes",
    dataset="fashion",
    task="pipelines.tasks.fashion:FashionSoftmaxTask",
    headline="test.accuracy",
    course_figure="test 71.7 % on SIGNS (six hand signs, 1,080 training photos; not available here)",
    train_params=("set", "model", "train"),
    plots=("train_loss", "dev_loss", "dev_accuracy"),
    search=True,
))


# Course 4 week 2's case studies: six architectures through the one driver on the same ten classes, one table
_IMAGENET = "ImageNet, 1,000 classes at 224 x 224, not comparable with ours: "
for _arch, _title, _figure in (
        ("lenet5", "LeNet-5 (conv 5x5 x 6, pool, conv 5x5 x 16, pool, 120, 84) on 32 x 32",
         "about 60 thousand parameters (the lecture's table, digits at 32 x 32)"),
        ("alexnet", "AlexNet-style: AlexNet's five convolutions, overlapping max pools and two dropout dense layers, "
                    "narrow",
         _IMAGENET + "about 60 M parameters, top-5 error 15.3 % (ILSVRC-2012)"),
        ("vgg16", "VGG-16-style: configuration D's 13 3x3 convolutions in five pooled blocks and three dense layers, "
                  "narrow, batch norm",
         _IMAGENET + "about 138 M parameters, top-5 error 7.3 % (ILSVRC-2014)"),
        ("resnet50", "ResNet-50 (torchvision: bottleneck identity and convolutional blocks, 3-4-6-3)",
         _IMAGENET + "25.6 M parameters"),
        ("inception", "Inception network (torchvision's GoogLeNet: nine Inception blocks, no auxiliary heads)",
         _IMAGENET + "about 6.8 M parameters, top-5 error 6.67 % (ILSVRC-2014)"),
        ("mobilenet_v2", "MobileNetV2 (torchvision: inverted residuals, depthwise separable convolutions)",
         _IMAGENET + "3.4 M parameters, top-1 accuracy 72.0 % (Sandler et al. 2018)")):
    register(ModelSpec(
        name=f"c4w2_{_arch}",
        course="C4W2",
        title=f"Case study, {_title}: ten Fashion-MNIST classes",
        dataset="fashion",
        task="pipelines.tasks.case_studies:CaseStudyTask",
        headline="test.accuracy",
        course_figure=_figure,
        train_params=("set", "model", "augment", "train"),
        plots=("train_loss", "dev_loss", "dev_accuracy"),
        compare="case_studies",
    ))

# Course 4 week 1's "Happy House": the notebook's small Keras model on smiling and not-smiling faces
register(ModelSpec(
    name="c4w1_happy",
    course="C4W1",
    title="Happy House: the notebook's HappyModel (7x7 convolution, batch norm, max pool, one dense layer) telling "
          "smiling people from not smiling ones, test people never seen",
    dataset="smiles",
    task="pipelines.tasks.smiles:HappyTask",
    headline="test.accuracy",
    course_figure="test 0.94 (600 training / 150 test photos, 64 x 64; not available here)",
    train_params=("model", "augment", "train"),
    plots=("train_loss", "dev_loss", "dev_accuracy"),
))

# Course 4's SIGNS: week 1's ConvNet, then week 2's ResNet-50 on the same hands
register(ModelSpec(
    name="c4w1_signs_convnet",
    course="C4W1",
    title="SIGNS with the notebook's ConvNet (conv 4x4 x 8, max pool 8, conv 2x2 x 16, max pool 4, dense 6): how "
          "many fingers a drawn hand holds up, test hands never seen",
    dataset="signs",
    task="pipelines.tasks.signs:SignsTask",
    headline="test.accuracy",
    course_figure="test about 0.78 on SIGNS photos (1,080 training / 120 test, 64 x 64; not available here)",
    also=("new_scenes.accuracy",),
    train_params=("model", "augment", "train"),
    plots=("train_loss", "dev_loss", "dev_accuracy"),
))
register(ModelSpec(
    name="c4w2_signs_resnet50",
    course="C4W2",
    title="SIGNS with ResNet-50 (torchvision's: bottleneck identity and convolutional blocks, 3-4-6-3) from "
          "scratch: the same hands",
    dataset="signs",
    task="pipelines.tasks.signs:SignsTask",
    headline="test.accuracy",
    course_figure="test above 0.80 after 10 epochs from scratch, 0.95 pretrained (SIGNS photos; not available here)",
    also=("new_scenes.accuracy",),
    train_params=("model", "augment", "train"),
    plots=("train_loss", "dev_loss", "dev_accuracy"),
))

register(ModelSpec(
    name="c4w3_unet",
    course="C4W3",
    title="U-Net semantic segmentation (the notebook's contracting and expanding paths, skip connections) of street "
          "objects on real photos, every pixel",
    dataset="segmentation",
    task="pipelines.tasks.segmentation:SegmentationTask",
    headline="test.mean_iou",
    course_figure="train pixel accuracy 0.975 (CARLA frames, 23 classes, 40 epochs; not available here)",
    also=("new_scenes.mean_iou", "test.pixel_accuracy", "test.object_mean_iou", "new_scenes.object_mean_iou"),
    train_params=("model", "train"),
    plots=("train_loss", "dev_loss", "dev_pixel_accuracy", "dev_mean_iou"),
    reports=("overlays.png",),
))


# Course 4 week 4's neural style transfer: the course's costs, the image optimised by Adam in the task's own fit;
# the second row runs the same over the VGG case study trained here (its model.pt a dep), for comparison
for _name, _title, _uses in (
        ("c4w4_style_transfer", "Neural style transfer: content and Gram style costs over the frozen ImageNet "
                                "EfficientNet-Lite0, the image optimised by Adam", ()),
        ("c4w4_style_transfer_vgg16", "Neural style transfer over a network trained here (the c4w2_vgg16 case "
                                      "study, grey Fashion-MNIST): the comparison", ("c4w2_vgg16",))):
    register(ModelSpec(
        name=_name,
        course="C4W4",
        title=_title,
        dataset="style",
        task="pipelines.tasks.style_transfer:StyleTransferTask",
        headline="stylized.style_ratio",
        course_figure="costs only (the notebook prints J, J_content and J_style every 250 of 2,500 Adam steps, on "
                      "VGG-19)",
        also=("stylized.content_ratio", "stylized.style_cost", "stylized.content_cost"),
        train_params=("features", "model", "train"),
        evaluate_params=("features", "model", "train"),
        plots=("train_loss", "content_cost", "style_cost"),
        reports=("stylized.png", "costs.csv"),
        uses=_uses,
        ray=False,  # one picture per pair optimised by Adam: no batches to share among workers
    ))


# Course 4 week 2's transfer learning: a few hundred labelled crops, three ways to train on them, one table and a
# labelled-images curve
for _row, _title in (
        ("scratch", "a small CNN trained from scratch (four conv blocks, batch norm, global pooling)"),
        ("frozen", "the ImageNet EfficientNet-Lite0 frozen, a new head (global pooling, dropout, dense) trained"),
        ("finetune", "the same, then its top blocks fine-tuned at a tenth of the learning rate (the course's two "
                     "phases)")):
    register(ModelSpec(
        name=f"c4w2_transfer_{_row}",
        course="C4W2",
        title=f"Transfer learning, {_title}: eight kinds of street object cropped from real photos",
        dataset="objects",
        task="pipelines.tasks.transfer:TransferTask",
        headline="test.accuracy",
        course_figure="validation 0.97 after fine-tuning MobileNetV2 (alpaca / not alpaca, 327 photos; not available "
                      "here)",
        also=("new_scenes.accuracy",),
        train_params=("model", "augment", "train"),
        plots=("train_loss", "dev_loss", "dev_accuracy"),
        compare="transfer",
        curve=True,
    ))


# Course 5 week 1's character-level language model: the notebook's RNN and an LSTM beside it, on people's names
for _cell, _title in (("rnn", "the notebook's tanh RNN, 50 units"), ("lstm", "an LSTM of 32 units, beside the "
                                                                                "notebook's RNN")):
    register(ModelSpec(
        name=f"c5w1_charlm_{_cell}",
        course="C5W1",
        title=f"Character-level language model ({_title}), gradient clipping and temperature sampling, on people's "
              "names",
        dataset="names",
        task="pipelines.tasks.charlm:CharLMTask",
        headline="test.loss_per_name",
        course_figure="loss 22.7 after 22,000 iterations (the dinosaur names, longer than these, not available "
                      "here: a training loss)",
        also=("test.loss_per_char", "samples.new", "samples.plausible", "samples.plausible_reference"),
        train_params=("model", "train"),
        evaluate_params=("evaluate",),
        plots=("train_loss", "dev_loss_per_char"),
    ))


# Course 5 week 1's music generation: the course's LSTM over note tokens (jazz is not available: Bach's chorales)
register(ModelSpec(
    name="c5w1_music_lstm",
    course="C5W1",
    title="Music generation: the course's LSTM of 64 units over note tokens, on Bach's chorale melodies; MIDI out",
    dataset="music",
    task="pipelines.tasks.music:MusicTask",
    headline="test.loss_per_token",
    course_figure="loss only, and generated jazz (the course's 60 jazz training sequences are not available here)",
    also=("test.markov_loss_per_token", "samples.full_bars", "samples.in_scale", "samples.in_scale_reference"),
    train_params=("model", "train"),
    evaluate_params=("evaluate",),
    plots=("train_loss", "dev_loss_per_token"),
    reports=("sample1.mid", "sample2.mid", "sample3.mid"),
))


# Course 5 week 2's Emojify: v1 averages the sentence's GloVe vectors, v2 reads them in order through two LSTMs
for _version, _kind, _title, _figure in (
        ("v1", "average", "the average of the sentence's GloVe vectors, softmax", "test 0.857"),
        ("v2", "sequence", "the sentence's GloVe vectors in order (frozen) through two LSTMs of 128, dropout 0.5",
         "test 0.82-0.84")):
    register(ModelSpec(
        name=f"c5w2_emojify_{_version}",
        course="C5W2",
        title=f"Emojify {_version}: {_title}; five emoji, tested on sentences written apart from the training "
              "templates",
        dataset="emojify",
        task="pipelines.tasks.emojify:EmojifyTask",
        headline="test.accuracy",
        course_figure=f"{_figure} (the course's 56 test sentences, not available here)",
        also=("train_dev.accuracy", "test.oov_share"),
        train_params=("model", "train"),
        plots=("train_loss", "dev_loss", "dev_accuracy"),
    ))


# Course 5 week 2's word vectors trained here: word2vec on the Bible's English, scored beside GloVe
register(ModelSpec(
    name="c5w2_word2vec",
    course="C5W2",
    title="Word2vec skip-gram with negative sampling trained on the World English Bible, against GloVe 6B 50d on "
          "the same analogy and related-word questions",
    dataset="bible",
    task="pipelines.tasks.word2vec:Word2VecTask",
    headline="word2vec.analogy_accuracy",
    course_figure="n/a: the course loads GloVe (cos(father, mother) 0.891; its analogies are in the course row of "
                  "reports/c5w2_word2vec/comparison.md)",
    also=("glove.analogy_accuracy", "glove_full.analogy_accuracy", "word2vec.neighbour_recall_at_10",
          "glove.neighbour_recall_at_10"),
    train_params=("model", "train"),
    plots=("train_loss", "dev_loss"),
    reports=("comparison.md",),
))


# Course 5 week 4's Transformer trained here: English -> Spanish on the Bible's verses, whole books held out
register(ModelSpec(
    name="c5w4_transformer_en_es",
    course="C5W4",
    title="Transformer (the course's encoder-decoder) translating the World English Bible into the Reina-Valera "
          "1909, SentencePiece subwords, beam search; books never trained on",
    dataset="bible",
    task="pipelines.tasks.bible_translation:BibleTranslationTask",
    service="translation_en_es",
    headline="test.bleu",
    course_figure="n/a: the course's notebook checks the parts with unit tests and trains nothing",
    also=("test.chrf", "dev.bleu"),
    train_params=("model", "train"),
    evaluate_params=("decode", "evaluate"),
    plots=("train_loss", "dev_loss"),
))

# ... and Course 5 week 3's attention RNN as its baseline: the same verses, subwords, held-out books and metrics
register(ModelSpec(
    name="c5w3_attention_rnn_en_es",
    course="C5W3",
    title="The course's attention RNN (bidirectional LSTM encoder, one-step attention, post-attention LSTM) as the "
          "Transformer's baseline: the same Bible verses, SentencePiece subwords and held-out books",
    dataset="bible",
    task="pipelines.tasks.bible_translation:BibleTranslationTask",
    headline="test.bleu",
    course_figure="n/a: the course trains this network on dates (its row: translation); the Transformer's row "
                  "(c5w4_transformer_en_es) is the comparison",
    also=("test.chrf", "dev.bleu"),
    train_params=("model", "train"),
    evaluate_params=("decode", "evaluate"),
    plots=("train_loss", "dev_loss"),
))
