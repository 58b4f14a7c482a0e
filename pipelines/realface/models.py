"""dlib's face models, read out of the pinned ``face-recognition-models==0.3.0`` package, run by ``dlib-bin``.

    from pipelines.realface.models import detector, landmarks, recognizer
    boxes = detector()(rgb_uint8, 1)          # dlib's HOG + linear SVM frontal face detector (inside dlib itself)
    shape = landmarks()(rgb_uint8, box)       # 5 points: the two corners of each eye and the base of the nose
    vector = recognizer().compute_face_descriptor(chip_150)   # 128-d, from an aligned 150 x 150 chip

Origins and licences (the package's README and LICENSE; dlib-models' README for what each was trained on):

* ``dlib_face_recognition_resnet_model_v1.dat``: a 29-layer ResNet trained by Davis King on about 3 million real
  faces of 7,485 people (face scrub, VGG-Face and scraped images); 99.38 % on LFW as published. CC0 1.0.
* ``shape_predictor_5_face_landmarks.dat``: trained on dlib's own 7,198 hand-labelled faces. CC0 1.0.
* ``mmod_human_face_detector.dat``: a CNN detector (not used by the service: about 10 x slower than the
  HOG detector on one core). CC0 1.0.
* The 68-point predictor in the same package is not used: it was trained on iBUG 300-W, whose licence
  excludes commercial use.

The package is installed with ``pip install --no-deps`` and never imported: its ``__init__`` needs
``pkg_resources``, which current setuptools no longer ships. :class:`WheelFile` finds each file through
the distribution's metadata and checks its recorded sha256.
"""

from __future__ import annotations

from functools import cache

from pipelines.features.wheels import WheelFile

PACKAGE, VERSION = "face-recognition-models", "0.3.0"
_DIR = "face_recognition_models/models/"
RECOGNIZER_FILE = WheelFile(PACKAGE, VERSION, _DIR + "dlib_face_recognition_resnet_model_v1.dat",
                            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30")
LANDMARKS_FILE = WheelFile(PACKAGE, VERSION, _DIR + "shape_predictor_5_face_landmarks.dat",
                           "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888")
CNN_DETECTOR_FILE = WheelFile(PACKAGE, VERSION, _DIR + "mmod_human_face_detector.dat",
                              "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6")


def _dlib():
    try:
        import dlib
    except ImportError as err:  # a clear message instead of a bare ModuleNotFoundError deep in a worker
        raise ImportError("dlib is not installed: pip install dlib-bin==20.0.1.post1 (or bash scripts/setup.sh)") \
            from err
    return dlib


@cache
def detector():
    """dlib's HOG frontal face detector (built into dlib: no model file)."""
    return _dlib().get_frontal_face_detector()


@cache
def landmarks():
    return _dlib().shape_predictor(str(LANDMARKS_FILE.path()))


@cache
def recognizer():
    return _dlib().face_recognition_model_v1(str(RECOGNIZER_FILE.path()))


@cache
def cnn_detector():
    return _dlib().cnn_face_detection_model_v1(str(CNN_DETECTOR_FILE.path()))
