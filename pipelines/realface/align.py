"""A photograph -> the faces in it: box, detector score and an aligned chip, ready for either backend.

    from pipelines.realface.align import find_faces, as_is
    faces = find_faces(picture.image, picture.size)   # [Face(box=(x0, y0, x1, y1), score=1.9, chip=...)]
    faces[0].chip                                      # (200, 200, 3) uint8, aligned: eyes level, nose centred
    as_is(crop)                                        # a face crop taken whole (no detection): the synthetic set

Detection runs dlib's HOG detector on the photo shrunk so that its longer side is at most ``max_side``
pixels (1280 by default: a 12 MP photo costs what a 1.2 MP one does), upsampled ``upsample`` times inside the
detector, so the smallest face found is about 80 / 2**upsample px at that scale (40 px at 1280: a face
taking 1/32 of the photo's longer side). Boxes are given in the pixels of the client's file (``size``).

Alignment: dlib's 5-point landmarks (eye corners, nose base) place the face by a similarity transform
(``dlib.get_face_chip``) into a ``CHIP_SIZE`` square with ``CHIP_PADDING``: the face's landmark template
fills the central ``CHIP_SIZE / (1 + 2 CHIP_PADDING)`` = 100 px. A backend wanting less padding takes a
centred square of the chip (:func:`crop`): dlib's recognizer wants padding 0.25 at 150 px, exactly the
central 150 px of the 200 px chip, so it gets dlib's own alignment, pixel for pixel, without resampling.
The chip is also what the gallery keeps, so that ``dlzoo face reenroll`` can embed it again with another
backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from pipelines.realface import models

CHIP_SIZE = 200
CHIP_PADDING = 0.5


@dataclass(frozen=True)
class Face:
    """One face: ``box`` (x0, y0, x1, y1) in the photo's pixels, the detector's ``score`` (None: taken as it
    is), and ``chip``: (CHIP_SIZE, CHIP_SIZE, 3) uint8 aligned when ``aligned``, else the whole crop (any size)."""

    box: tuple[int, int, int, int]
    score: float | None
    chip: np.ndarray
    aligned: bool = True


def shrink(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` with its longer side at most ``max_side`` (never enlarged)."""
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def find_faces(image: Image.Image, size: tuple[int, int] | None = None, max_side: int = 1280,
               upsample: int = 1, min_score: float = 0.0, max_faces: int = 32) -> list[Face]:
    """Every face dlib's detector finds in ``image`` (RGB), largest first (then left to right).

    ``size``: the client's file's size when ``image`` is a reduced decode of it (boxes are scaled to it).
    ``min_score``: the detector's SVM margin to keep a box (0: dlib's own default). At most ``max_faces``
    (the largest) are aligned: each costs a landmark fit and, later, an embedding."""
    size = size or image.size
    small = shrink(image.convert("RGB"), max_side)
    pixels = np.asarray(small)
    rects, scores, _ = models.detector().run(pixels, upsample, min_score)
    sx, sy = size[0] / small.width, size[1] / small.height
    found = []
    for rect, score in zip(rects, scores, strict=True):
        box = (max(0, round(rect.left() * sx)), max(0, round(rect.top() * sy)),
               min(size[0], round((rect.right() + 1) * sx)), min(size[1], round((rect.bottom() + 1) * sy)))
        found.append((rect, float(score), box))
    found.sort(key=lambda f: (-(f[2][2] - f[2][0]) * (f[2][3] - f[2][1]), f[2][0], f[2][1]))
    faces = []
    for rect, score, box in found[:max_faces]:
        shape = models.landmarks()(pixels, rect)
        chip = models._dlib().get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        faces.append(Face(box, round(score, 4), np.ascontiguousarray(chip)))
    return faces


def as_is(image: Image.Image) -> Face:
    """A face crop taken whole, as the synthetic test set and the service's ``"face": "as_is"`` do. Its pixels are
    kept at their size, so a backend resizes them once, from the original (as the course's own evaluation does:
    a 96 px synthetic face reaches the 96 px network untouched)."""
    image = image.convert("RGB")
    return Face((0, 0, image.width, image.height), None, np.asarray(image), aligned=False)


def keepsake(face: Face) -> np.ndarray:
    """What a gallery keeps of a face, to embed it again later: the aligned chip, or the crop at CHIP_SIZE."""
    if face.aligned or face.chip.shape[:2] == (CHIP_SIZE, CHIP_SIZE):
        return face.chip
    return np.asarray(Image.fromarray(face.chip).resize((CHIP_SIZE, CHIP_SIZE), Image.Resampling.BILINEAR))


def crop(face: Face, padding: float, size: int) -> np.ndarray:
    """The backend's input, (size, size, 3) uint8: an aligned chip's centred square with ``padding`` around the
    landmark template (dlib's convention), resized to ``size``; an as-is face's pixels, resized."""
    chip = face.chip
    if face.aligned:
        if not 0 <= padding <= CHIP_PADDING:
            raise ValueError(f"padding must be within [0, {CHIP_PADDING}], got {padding}")
        side = CHIP_SIZE * (1 + 2 * padding) / (1 + 2 * CHIP_PADDING)
        lo = round((CHIP_SIZE - side) / 2)
        chip = chip[lo:CHIP_SIZE - lo, lo:CHIP_SIZE - lo]
    if chip.shape[:2] != (size, size):
        chip = np.asarray(Image.fromarray(chip).resize((size, size), Image.Resampling.BILINEAR))
    return np.ascontiguousarray(chip)
