"""Face embedding backends: a face (aligned chip or crop taken as is) -> a vector; near vectors, one person.

    from pipelines.realface.backends import load_backend
    backend = load_backend("dlib")                      # or "course", model_file="artifacts/face/model.pt"
    inputs = [backend.prepare(face) for face in faces]  # small uint8 arrays: what a request keeps
    vectors = backend.embed(inputs)                     # (N, D) float32, one pass
    backend.model_id                                     # "dlib:55533b28a958" | "course:<model.pt sha256[:12]>"

* ``course``: the FaceNet-style network trained here on synthetic identities (``pipelines.tasks.face``),
  its threshold chosen on their dev identities (in ``model.pt``); unit-norm embeddings. It sees the whole 200 px chip
  (padding 0.5) resized to its 96 px input: the synthetic faces fill their frame about as loosely.
* ``dlib``: dlib's ResNet trained on about 3 million real photographs (``pipelines.realface.models``), fed
  dlib's own 150 px alignment; its 128-d descriptors are used as dlib makes them (not unit-norm). Its
  service threshold is dlib's published one, 0.6 on LFW (``face.backends.dlib.threshold``): no real identity
  data exists offline to calibrate it on. ``dlzoo backends face`` stores it in
  ``artifacts/face/backends/dlib.json`` beside the threshold the synthetic dev identities give (which the
  synthetic protocol uses, as the course network's does); the archive carries that file.

Each embedding records the backend's ``model_id`` in the gallery: a vector is only comparable with vectors
of the same model, so the service refuses to mix them (``dlzoo face reenroll`` re-embeds a gallery).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipelines.features.wheels import file_sha256
from pipelines.realface import align, models

BACKENDS = ("course", "dlib")
DLIB_CALIBRATION = Path("artifacts/face/backends/dlib.json")


class Backend:
    name: str
    padding: float   # around dlib's landmark template, in units of its size (dlib's convention)
    size: int        # input side, px
    threshold: float
    model_id: str

    def prepare(self, face: align.Face) -> np.ndarray:
        """The face as this backend's input: (size, size, 3) uint8."""
        return align.crop(face, self.padding, self.size)

    def embed(self, inputs: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError


class CourseBackend(Backend):
    name, padding = "course", align.CHIP_PADDING

    def __init__(self, model, threshold: float, model_id: str):
        self.model, self.threshold, self.model_id = model, float(threshold), model_id
        self.size = int(model.cfg.input_size)

    def embed(self, inputs: list[np.ndarray]) -> np.ndarray:
        import torch

        from pipelines.tasks.face import embed

        if not inputs:
            return np.zeros((0, self.model.cfg.embedding_dim), np.float32)
        batch = torch.from_numpy(np.stack(inputs)).permute(0, 3, 1, 2).contiguous()  # uint8 (N, 3, S, S)
        return np.asarray(embed(self.model, batch), dtype=np.float32)


class DlibBackend(Backend):
    name, padding, size = "dlib", 0.25, 150

    def __init__(self, threshold: float):
        self.threshold = float(threshold)
        self.model_id = f"dlib:{file_sha256(models.RECOGNIZER_FILE.path())[:12]}"

    def warm(self) -> None:
        """Read dlib's detector, landmark and recognition models now (a worker starting), not on a first request."""
        models.detector(), models.landmarks(), models.recognizer()

    def embed(self, inputs: list[np.ndarray]) -> np.ndarray:
        if not inputs:
            return np.zeros((0, 128), np.float32)
        # As dlib makes them, not normalised (their norm is about 1.4): dlib's published threshold, 0.6 on LFW,
        # is a distance between these vectors (normalising shrank Obama-Biden from 0.84 to 0.60 here).
        return np.asarray(models.recognizer().compute_face_descriptor(list(inputs)), dtype=np.float32)


def dlib_threshold(calibration: Path = DLIB_CALIBRATION) -> float:
    """The calibrated dlib threshold, or an error naming the command that makes it."""
    try:
        record = json.loads(Path(calibration).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{calibration} does not exist: score the face backends first "
                                f"(dlzoo backends face, or dvc repro backends_face)") from None
    return float(record["threshold"])


def course_model_id(model_file: Path) -> str:
    """``course:<sha256[:12]>`` of ``model.pt``: the archive's version, the gallery's model record."""
    return f"course:{file_sha256(Path(model_file))[:12]}"


def load_backend(name: str, model_file: Path | str = "artifacts/face/model.pt", threshold: float | None = None,
                 calibration: Path = DLIB_CALIBRATION) -> Backend:
    """Backend ``name``: the course's network from ``model_file`` (its threshold from the file's meta) or dlib's
    (``threshold``, else the calibrated one)."""
    if name == "course":
        import torch

        from pipelines.tasks.face import FaceTask  # not the registry: the service's archive carries no registry

        path = Path(model_file)
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: train the face model first (dvc repro train_face)")
        bundle = torch.load(path, map_location="cpu", weights_only=False)
        model = FaceTask.build_model(bundle["config"])
        model.load_state_dict(bundle["state_dict"])
        return CourseBackend(model.eval(), bundle["meta"]["threshold"] if threshold is None else threshold,
                             course_model_id(path))
    if name == "dlib":
        return DlibBackend(dlib_threshold(calibration) if threshold is None else threshold)
    raise ValueError(f"unknown face backend {name!r}: one of {', '.join(BACKENDS)}")
