"""Synthetic face identities for face verification / recognition (Course 4 Week 4, FaceNet triplet loss).

    dlzoo data face                              # writes data/faces/{train,dev,test}/<identity>/<k>.png
    dlzoo data face --seed 7 --out /tmp/faces

No face data set can be downloaded here, so people are generated. An *identity* is a fixed set of face
parameters drawn from a seed: face shape, skin tone, eyes (shape, size, spacing, tilt, iris colour),
brows, nose, mouth and lips, ears, hair (colour, style, hairline), facial hair and marks (moles,
freckles, a scar). Every *image* of an identity renders those parameters under fresh nuisance:
pose (in-plane roll, yaw as a cylinder projection of the features, a little pitch), scale and
translation, lighting direction and strength, colour temperature, exposure and contrast, expression
(smile, open mouth, eye openness, raised brows), clothing, glasses, occluders (a bar or a hand),
background (flat, gradient, blotchy texture or blocks), blur and sensor noise.

The layout is the one of LFW / VGGFace2, one folder per identity::

    <out>/train/train_00000/000.png ...
    <out>/dev/dev_00000/000.png ...
    <out>/test/test_00000/000.png ...

dev and test identities are drawn from their own seed streams, so they never occur in train (and do not
change when the number of train identities does). Every identity gets its own generator seeded by
``(seed, split, index)``, which makes the bytes independent of how many worker processes render them.
Faces are drawn at twice the requested ``size`` and downsampled (anti-aliasing).

Real faces: ``pipelines/data/identity_folders.py`` reads any one-folder-per-identity directory (png/jpg/jpeg).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from tqdm import tqdm

SPLITS = ("train", "dev", "test")

# Anchor colours (RGB) that identity colours are interpolated between or jittered around.
SKIN_DARK = np.array([82.0, 52.0, 36.0])
SKIN_LIGHT = np.array([246.0, 218.0, 196.0])
# An occluding bar's half length and half thickness, as fractions of the image side (uniform in each range);
# training's occlusion augmentation (pipelines.tasks.face.occlude) paints bars of the same sizes.
BAR_HALF_LENGTH = (0.3, 0.6)
BAR_HALF_THICKNESS = (0.05, 0.12)
HAIR_COLOURS = np.array([
    [24, 20, 18], [52, 34, 24], [98, 64, 40], [128, 56, 30], [196, 160, 96],
    [226, 202, 150], [148, 146, 142], [222, 220, 212], [160, 62, 36],
], dtype=float)
IRIS_COLOURS = np.array([
    [58, 34, 20], [98, 60, 30], [118, 98, 50], [68, 118, 70], [70, 108, 170], [118, 128, 140],
], dtype=float)
HAIR_STYLES = ("bald", "buzz", "short", "fringe", "side_part", "receding", "long", "curly")
FACIAL_HAIR = ("none", "none", "none", "stubble", "moustache", "goatee", "beard")


@dataclass(frozen=True)
class Identity:
    """Everything that makes one synthetic person recognisable; lengths are in face units (half face height)."""

    face_width: float          # half width of the face ellipse
    face_height: float         # half height
    jaw: float                 # lower-face width relative to the cheeks (1 = oval, < 1 = tapered)
    chin: float                # where the taper starts: small = V-shaped, large = square jaw
    skin: tuple[float, float, float]
    eye_y: float
    eye_dx: float              # half the distance between the eye centres
    eye_w: float
    eye_aspect: float          # eye height / eye width
    eye_tilt: float            # radians, outer corners up when positive
    iris: tuple[float, float, float]
    brow_gap: float            # brow height above the eye centre
    brow_len: float
    brow_thick: float
    brow_angle: float          # radians, outer ends up when positive
    brow_arch: float
    nose_len: float            # nose tip below the eye line
    nose_w: float
    mouth_y: float
    mouth_w: float             # half width
    lip_upper: float
    lip_lower: float
    lip: tuple[float, float, float]
    resting_smile: float       # corner lift of the neutral mouth
    ear_size: float
    ear_y: float
    hair: tuple[float, float, float]
    hair_style: str
    hairline: float            # y of the hairline at the centre of the forehead
    hair_volume: float
    part_side: float           # -1 / +1: which side a side parting sweeps to
    facial_hair: str
    moles: tuple[tuple[float, float, float], ...]      # (x, y, radius)
    freckles: tuple[tuple[float, float], ...]
    scar: tuple[float, float, float, float] | None     # (x0, y0, x1, y1)


@dataclass(frozen=True)
class Nuisance:
    """What changes from one photo of a person to the next."""

    roll: float                # in-plane rotation, radians
    yaw: float                 # radians; features move on a cylinder, the far ear hides
    pitch: float               # radians; features shift up/down against the outline
    scale: float
    shift: tuple[float, float]  # translation as a fraction of the image size
    light_angle: float
    light_strength: float      # relative brightness change across one face unit
    exposure: float
    contrast: float
    temperature: float         # > 0 warmer (more red, less blue)
    smile: float
    mouth_open: float
    eye_open: float
    brow_raise: float
    clothes: tuple[float, float, float]
    glasses: str               # "none", "clear" or "tinted"
    glasses_colour: tuple[float, float, float]
    occluder: str              # "none", "bar" or "hand"
    background: str            # "flat", "gradient", "texture" or "blocks"
    blur: float                # Gaussian radius in output pixels
    noise: float               # sensor noise std in grey levels


def _colour(rng: np.random.Generator, base: np.ndarray, jitter: float) -> tuple[float, float, float]:
    """``base`` with Gaussian jitter per channel."""
    r, g, b = np.clip(base + rng.normal(0.0, jitter, 3), 0, 255).tolist()
    return (r, g, b)


def _random_colour(rng: np.random.Generator, low: float, high: float) -> tuple[float, float, float]:
    r, g, b = rng.uniform(low, high, 3).tolist()
    return (r, g, b)


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw one person. The ranges are wide so that people differ more than photos of one person do."""
    face_width = rng.uniform(0.62, 0.80)
    skin = SKIN_DARK + (SKIN_LIGHT - SKIN_DARK) * rng.uniform(0.0, 1.0)
    n_moles = int(rng.choice([0, 0, 1, 1, 2, 3]))
    moles = tuple((float(rng.uniform(-0.45, 0.45) * face_width / 0.7), float(rng.uniform(-0.5, 0.7)),
                   float(rng.uniform(0.025, 0.045))) for _ in range(n_moles))
    freckles: tuple[tuple[float, float], ...] = ()
    if rng.random() < 0.2:
        # Scattered over the nose bridge and both cheeks, the way freckles usually sit.
        freckles = tuple((float(rng.normal(0.0, 0.22)), float(rng.normal(0.12, 0.07)))
                         for _ in range(int(rng.integers(15, 35))))
    scar = None
    if rng.random() < 0.12:
        x0, y0 = rng.uniform(-0.45, 0.45), rng.uniform(-0.6, 0.6)
        angle, length = rng.uniform(0, math.pi), rng.uniform(0.15, 0.3)
        scar = (float(x0), float(y0), float(x0 + length * math.cos(angle)), float(y0 + length * math.sin(angle)))
    lip_base = np.array(skin) * 0.75 + np.array([150.0, 40.0, 50.0]) * 0.25
    return Identity(
        face_width=float(face_width),
        face_height=float(rng.uniform(0.92, 1.06)),
        jaw=float(rng.uniform(0.55, 0.95)),
        chin=float(rng.uniform(0.6, 2.5)),
        skin=_colour(rng, skin, 6.0),
        eye_y=float(rng.uniform(-0.18, -0.02)),
        eye_dx=float(rng.uniform(0.24, 0.36)),
        eye_w=float(rng.uniform(0.10, 0.16)),
        eye_aspect=float(rng.uniform(0.38, 0.68)),
        eye_tilt=float(rng.uniform(-0.18, 0.18)),
        iris=_colour(rng, IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))], 10.0),
        brow_gap=float(rng.uniform(0.13, 0.22)),
        brow_len=float(rng.uniform(0.17, 0.27)),
        brow_thick=float(rng.uniform(0.025, 0.065)),
        brow_angle=float(rng.uniform(-0.3, 0.3)),
        brow_arch=float(rng.uniform(0.0, 0.07)),
        nose_len=float(rng.uniform(0.22, 0.38)),
        nose_w=float(rng.uniform(0.07, 0.15)),
        mouth_y=float(rng.uniform(0.40, 0.58)),
        mouth_w=float(rng.uniform(0.16, 0.28)),
        lip_upper=float(rng.uniform(0.018, 0.05)),
        lip_lower=float(rng.uniform(0.025, 0.065)),
        lip=_colour(rng, lip_base, 8.0),
        resting_smile=float(rng.uniform(-0.03, 0.04)),
        ear_size=float(rng.uniform(0.12, 0.2)),
        ear_y=float(rng.uniform(-0.1, 0.1)),
        hair=_colour(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], 12.0),
        hair_style=str(rng.choice(HAIR_STYLES)),
        hairline=float(rng.uniform(-0.75, -0.5)),
        hair_volume=float(rng.uniform(1.04, 1.2)),
        part_side=float(rng.choice([-1.0, 1.0])),
        facial_hair=str(rng.choice(FACIAL_HAIR)),
        moles=moles,
        freckles=freckles,
        scar=scar,
    )


def sample_nuisance(rng: np.random.Generator) -> Nuisance:
    """Draw the conditions of one photo; strong enough that raw pixels do not identify a person."""
    glasses = str(rng.choice(["none", "clear", "tinted"], p=[0.78, 0.14, 0.08]))
    return Nuisance(
        roll=float(np.clip(rng.normal(0.0, 0.16), -0.45, 0.45)),
        yaw=float(rng.uniform(-0.55, 0.55)),
        pitch=float(rng.uniform(-0.12, 0.12)),
        scale=float(rng.uniform(0.85, 1.12)),
        shift=(float(rng.uniform(-0.07, 0.07)), float(rng.uniform(-0.06, 0.06))),
        light_angle=float(rng.uniform(0, 2 * math.pi)),
        light_strength=float(rng.uniform(0.0, 0.35)),
        exposure=float(rng.uniform(0.72, 1.2)),
        contrast=float(rng.uniform(0.75, 1.15)),
        temperature=float(rng.uniform(-0.12, 0.12)),
        smile=float(rng.uniform(-0.03, 0.1)),
        mouth_open=float(rng.uniform(0.01, 0.09)) if rng.random() < 0.35 else 0.0,
        eye_open=float(rng.uniform(0.05, 0.3)) if rng.random() < 0.06 else float(rng.uniform(0.6, 1.1)),
        brow_raise=float(rng.uniform(-0.02, 0.05)),
        clothes=_random_colour(rng, 0, 255),
        glasses=glasses,
        glasses_colour=_random_colour(rng, 0, 120),
        occluder=str(rng.choice(["none", "bar", "hand"], p=[0.84, 0.08, 0.08])),
        background=str(rng.choice(["flat", "gradient", "texture", "blocks"])),
        blur=float(rng.uniform(0.0, 1.1)) if rng.random() < 0.5 else 0.0,
        noise=float(rng.uniform(0.0, 9.0)),
    )


class _View:
    """Face units -> pixels of the 2x canvas, with yaw and pitch but before the in-plane roll.

    Surface points sit on a vertical cylinder around the face (depth grows toward the middle), so yaw slides
    the nose and eyes sideways more than the cheeks and squeezes the side turning away; ``depth`` lifts a
    point off that surface (the nose tip) or sinks it (the ears). The silhouette is not on the surface: it
    only narrows a little (:meth:`outline`).
    """

    def __init__(self, canvas: int, identity: Identity, nuisance: Nuisance) -> None:
        self.unit = 0.32 * canvas
        self.cx, self.cy = canvas / 2, 0.48 * canvas
        self.half_width = identity.face_width
        self.yaw, self.pitch = nuisance.yaw, nuisance.pitch

    def surface(self, points: np.ndarray, depth: float | np.ndarray = 0.0) -> list[tuple[float, float]]:
        x, y = points[:, 0], points[:, 1]
        # 0.8: the face is flatter than a full cylinder, which would push the nose off the face at 30 degrees.
        z = 0.8 * np.sqrt(np.maximum(self.half_width**2 - x**2, 0.0)) + depth
        px = x * math.cos(self.yaw) + z * math.sin(self.yaw)
        py = y * math.cos(self.pitch) + z * math.sin(self.pitch)
        return self._pixels(px, py)

    def outline(self, points: np.ndarray) -> list[tuple[float, float]]:
        narrowing = 1.0 - 0.07 * abs(math.sin(self.yaw))
        return self._pixels(points[:, 0] * narrowing, points[:, 1])

    def _pixels(self, x: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
        return list(zip((self.cx + self.unit * x).tolist(), (self.cy + self.unit * y).tolist(), strict=True))


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 24) -> np.ndarray:
    """``n`` points around an axis-aligned ellipse, as a polygon to project point by point."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _face_outline(identity: Identity, n: int = 48) -> np.ndarray:
    """Closed face contour: an ellipse whose lower half narrows toward the chin."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    lower = np.maximum(np.sin(t), 0.0) ** identity.chin
    x = identity.face_width * np.cos(t) * (1 - (1 - identity.jaw) * lower)
    y = identity.face_height * np.sin(t)
    return np.stack([x, y], axis=1)


def _rgba(colour: Iterable[float], alpha: int = 255, shade: float = 1.0) -> tuple[int, int, int, int]:
    """A PIL fill: ``colour`` darkened (``shade`` < 1) or lightened, clipped to bytes."""
    r, g, b = (min(255, max(0, int(v * shade))) for v in colour)
    return (r, g, b, alpha)


def _hairline(identity: Identity, u: np.ndarray, side_bottom: float) -> np.ndarray:
    """y of the hairline at horizontal position ``u`` in [-1, 1] (fraction of the face half width)."""
    hl, a = identity.hairline, np.abs(u)
    temples = (side_bottom - hl) * a**6   # every style comes down in front of the ears
    style = identity.hair_style
    if style == "fringe":
        return hl + 0.28 + (side_bottom - hl - 0.28) * a**8
    if style == "side_part":
        return hl + 0.14 * (1 + identity.part_side * u) / 2 + temples
    if style == "receding":
        return hl - 0.2 * np.exp(-(((a - 0.55) / 0.2) ** 2)) + temples
    return hl + temples


def _draw_hair_back(draw: ImageDraw.ImageDraw, identity: Identity, view: _View) -> None:
    """Long hair behind the head and shoulders."""
    w = identity.face_width * identity.hair_volume * 1.15
    top = -identity.face_height * identity.hair_volume
    shape = np.array([[-w, 0.1], [-w * 0.95, top * 0.6], [0, top], [w * 0.95, top * 0.6], [w, 0.1],
                      [w * 1.05, 1.35], [-w * 1.05, 1.35]])
    draw.polygon(view.outline(shape), fill=_rgba(identity.hair, shade=0.85))


def _draw_hair_front(draw: ImageDraw.ImageDraw, identity: Identity, view: _View) -> None:
    """The hair cap between the head silhouette (outside) and the hairline (on the face surface)."""
    side_bottom = identity.ear_y - 0.05
    vx, vy = identity.face_width * identity.hair_volume, identity.face_height * identity.hair_volume
    start = math.asin(min(max(-side_bottom / vy, -1.0), 1.0))
    t = np.linspace(start, math.pi - start, 25)
    outer = np.stack([vx * np.cos(t), -vy * np.sin(t) - 0.04], axis=1)
    u = np.linspace(-0.98, 0.98, 25)
    inner = np.stack([u * identity.face_width, _hairline(identity, u, side_bottom)], axis=1)
    alpha = 150 if identity.hair_style == "buzz" else 255   # scalp shows through a buzz cut
    draw.polygon(view.outline(outer) + view.surface(inner), fill=_rgba(identity.hair, alpha))
    if identity.hair_style == "curly":
        radius = 0.09 * view.unit
        for x, y in view.outline(outer[::2]):
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=_rgba(identity.hair))


def _draw_eye(draw: ImageDraw.ImageDraw, identity: Identity, nuisance: Nuisance, view: _View, side: float) -> None:
    """Almond sclera, iris and pupil limited by the lids, and a dark upper lid line; ``side`` is -1 or +1."""
    cx, cy = side * identity.eye_dx, identity.eye_y
    w, h = identity.eye_w, identity.eye_w * identity.eye_aspect * nuisance.eye_open
    s = np.linspace(-1, 1, 13)
    bulge = np.sqrt(1 - s**2)
    upper = np.stack([s * w, -h * bulge], axis=1)
    lower = np.stack([s[::-1] * w, 0.6 * h * bulge[::-1]], axis=1)
    tilt = -side * identity.eye_tilt   # outer corners go up for both eyes
    rot = np.array([[math.cos(tilt), math.sin(tilt)], [-math.sin(tilt), math.cos(tilt)]])
    upper, lower = upper @ rot + [cx, cy], lower @ rot + [cx, cy]
    if h > 0.012:
        draw.polygon(view.surface(np.concatenate([upper, lower])), fill=(236, 232, 226, 255))
        ir = min(0.55 * w, 0.8 * h)
        draw.polygon(view.surface(_ellipse(cx, cy - 0.2 * h, ir, min(ir, 0.8 * h), n=16)), fill=_rgba(identity.iris))
        pr = 0.45 * ir
        draw.polygon(view.surface(_ellipse(cx, cy - 0.2 * h, pr, pr, n=12)), fill=(14, 10, 10, 255))
    lid = max(2, round(0.022 * view.unit))
    draw.line(view.surface(upper), fill=_rgba(identity.skin, shade=0.35), width=lid, joint="curve")


def _draw_brow(draw: ImageDraw.ImageDraw, identity: Identity, nuisance: Nuisance, view: _View, side: float) -> None:
    """A tapering, arched, angled band above one eye, raised a little by the expression."""
    s = np.linspace(-1, 1, 9)
    inner_x = identity.eye_dx - 0.55 * identity.brow_len
    x = inner_x + (s + 1) / 2 * identity.brow_len
    base = identity.eye_y - identity.brow_gap - nuisance.brow_raise
    mid = base - (s + 1) / 2 * identity.brow_len * math.tan(identity.brow_angle) - identity.brow_arch * (1 - s**2)
    half = identity.brow_thick * (0.65 + 0.35 * (1 - s) / 2)   # thick at the inner end, thin at the tail
    outline = np.concatenate([np.stack([x, mid - half], 1), np.stack([x[::-1], (mid + half)[::-1]], 1)])
    outline[:, 0] *= side
    draw.polygon(view.surface(outline), fill=_rgba(identity.hair, shade=0.8))


def _draw_nose(draw: ImageDraw.ImageDraw, identity: Identity, view: _View) -> None:
    """A shaded bridge widening to the tip, and two nostrils."""
    top, tip, w = identity.eye_y + 0.06, identity.eye_y + identity.nose_len, identity.nose_w
    bridge = np.array([[-0.03, top], [0.03, top], [w, tip], [0.0, tip + 0.035], [-w, tip]])
    depth = np.array([0.05, 0.05, 0.12, 0.22, 0.12])   # the tip stands out, so yaw moves it furthest
    draw.polygon(view.surface(bridge, depth), fill=_rgba(identity.skin, shade=0.9))
    for side in (-1.0, 1.0):
        nostril = _ellipse(side * 0.55 * w, tip + 0.005, 0.28 * w, 0.13 * w, n=10)
        draw.polygon(view.surface(nostril, 0.14), fill=_rgba(identity.skin, shade=0.45))


def _draw_mouth(draw: ImageDraw.ImageDraw, identity: Identity, nuisance: Nuisance, view: _View) -> None:
    """Lips around a centre line whose corners lift with the smile; an open mouth shows its inside and teeth."""
    w, my = identity.mouth_w * (1 + 0.8 * max(nuisance.smile, 0.0)), identity.mouth_y
    s = np.linspace(-1, 1, 15)
    bulge = np.sqrt(1 - s**2)
    centre = my - (identity.resting_smile + nuisance.smile) * s**2
    gap = nuisance.mouth_open * bulge / 2
    top = np.stack([s * w, centre - gap - identity.lip_upper * bulge], 1)
    bottom = np.stack([s * w, centre + gap + identity.lip_lower * bulge], 1)
    draw.polygon(view.surface(np.concatenate([top, bottom[::-1]])), fill=_rgba(identity.lip))
    if nuisance.mouth_open > 0.02:
        opening = np.concatenate([np.stack([s * w, centre - gap], 1), np.stack([s * w, centre + gap], 1)[::-1]])
        draw.polygon(view.surface(opening), fill=(58, 18, 22, 255))
        teeth = np.concatenate([np.stack([s * w * 0.7, centre - gap], 1),
                                np.stack([s * w * 0.7, centre - gap * 0.3], 1)[::-1]])
        draw.polygon(view.surface(teeth), fill=(232, 228, 214, 255))
    else:
        line = np.stack([s * w, centre], 1)
        draw.line(view.surface(line), fill=_rgba(identity.lip, shade=0.55), width=max(1, round(0.015 * view.unit)))


def _draw_facial_hair(draw: ImageDraw.ImageDraw, identity: Identity, view: _View) -> None:
    """Stubble or a beard over the jaw (translucent / opaque), a moustache or a goatee, in the hair colour."""
    kind, colour = identity.facial_hair, identity.hair
    my, mw = identity.mouth_y, identity.mouth_w
    if kind in ("stubble", "beard"):
        contour = _face_outline(identity)
        below = contour[contour[:, 1] > identity.mouth_y - 0.22]
        below = below[np.argsort(np.arctan2(below[:, 1], below[:, 0]))]
        # Close the jaw band along a line under the nose; the mouth is drawn over it afterwards.
        upper = np.array([[-0.5 * mw, my - 0.12], [0.5 * mw, my - 0.12]])
        alpha = 90 if kind == "stubble" else 235
        draw.polygon(view.outline(below) + view.surface(upper), fill=_rgba(colour, alpha, shade=0.85))
    if kind == "moustache":
        shape = np.array([[-mw * 1.05, my + 0.01], [-mw * 0.6, my - 0.09], [mw * 0.6, my - 0.09],
                          [mw * 1.05, my + 0.01], [0.0, my - 0.035]])
        draw.polygon(view.surface(shape), fill=_rgba(colour, shade=0.85))
    if kind == "goatee":
        chin = identity.face_height
        shape = _ellipse(0.0, (my + chin) / 2 + 0.03, 0.6 * mw, (chin - my) / 2 + 0.02, n=16)
        draw.polygon(view.surface(shape), fill=_rgba(colour, 220, shade=0.85))


def _draw_marks(draw: ImageDraw.ImageDraw, identity: Identity, view: _View) -> None:
    """Moles, freckles and a scar: small, but fixed per identity, like the marks people are told apart by."""
    for x, y, r in identity.moles:
        draw.polygon(view.surface(_ellipse(x, y, r, r, n=10)), fill=_rgba(identity.skin, shade=0.4))
    for x, y in identity.freckles:
        draw.polygon(view.surface(_ellipse(x, y, 0.018, 0.018, n=6)), fill=_rgba(identity.skin, shade=0.72))
    if identity.scar is not None:
        x0, y0, x1, y1 = identity.scar
        draw.line(view.surface(np.array([[x0, y0], [x1, y1]])), fill=_rgba(identity.skin, shade=1.18),
                  width=max(2, round(0.03 * view.unit)))


def _draw_glasses(draw: ImageDraw.ImageDraw, identity: Identity, nuisance: Nuisance, view: _View) -> None:
    """Frames around both eyes with a bridge and temples; tinted lenses hide most of the eyes."""
    r = identity.eye_w * 1.45
    width = max(2, round(0.025 * view.unit))
    frame = _rgba(nuisance.glasses_colour)
    for side in (-1.0, 1.0):
        lens = view.surface(_ellipse(side * identity.eye_dx, identity.eye_y, r, r * 0.75, n=20))
        if nuisance.glasses == "tinted":
            draw.polygon(lens, fill=(20, 20, 24, 200))
        draw.line([*lens, lens[0]], fill=frame, width=width, joint="curve")
        temple = np.array([[side * (identity.eye_dx + r), identity.eye_y],
                           [side * identity.face_width * 1.02, identity.eye_y + 0.02]])
        draw.line(view.surface(temple), fill=frame, width=width)
    bridge = np.array([[-identity.eye_dx + r, identity.eye_y - 0.02], [identity.eye_dx - r, identity.eye_y - 0.02]])
    draw.line(view.surface(bridge, 0.06), fill=frame, width=width)


def _draw_head(canvas: int, identity: Identity, nuisance: Nuisance) -> Image.Image:
    """The upright head and shoulders on a transparent layer, back to front."""
    layer = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer, "RGBA")   # "RGBA" blends translucent fills (stubble, tinted lenses)
    view = _View(canvas, identity, nuisance)
    if identity.hair_style == "long":
        _draw_hair_back(draw, identity, view)
    neck_w = identity.face_width * 0.55
    neck = np.array([[-neck_w, 0.4], [neck_w, 0.4], [neck_w * 1.1, 1.5], [-neck_w * 1.1, 1.5]])
    draw.polygon(view.outline(neck), fill=_rgba(identity.skin, shade=0.82))
    draw.polygon(view.outline(_ellipse(0.0, 1.85, 1.7, 0.62, n=32)), fill=_rgba(nuisance.clothes))
    for side in (-1.0, 1.0):
        ear = _ellipse(side * (identity.face_width + 0.02), identity.ear_y, 0.45 * identity.ear_size,
                       identity.ear_size, n=16)
        draw.polygon(view.surface(ear, -0.3), fill=_rgba(identity.skin, shade=0.9))
    draw.polygon(view.outline(_face_outline(identity)), fill=_rgba(identity.skin))
    _draw_marks(draw, identity, view)
    if identity.facial_hair != "none":
        _draw_facial_hair(draw, identity, view)
    _draw_nose(draw, identity, view)
    _draw_mouth(draw, identity, nuisance, view)
    for side in (-1.0, 1.0):
        _draw_eye(draw, identity, nuisance, view, side)
        _draw_brow(draw, identity, nuisance, view, side)
    if identity.hair_style != "bald":
        _draw_hair_front(draw, identity, view)
    if nuisance.glasses != "none":
        _draw_glasses(draw, identity, nuisance, view)
    return layer


def _scene_colour(rng: np.random.Generator) -> np.ndarray:
    """A random colour pulled toward grey, as walls and rooms mostly are."""
    colour = rng.uniform(0, 255, 3)
    return colour.mean() + (colour - colour.mean()) * rng.uniform(0.15, 0.8)


def _background(canvas: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """An (H, W, 3) float image: flat colour, linear gradient, blotchy texture or a few coloured blocks."""
    base = _scene_colour(rng)
    if kind == "flat":
        return np.broadcast_to(base, (canvas, canvas, 3)).astype(np.float32)
    if kind == "gradient":
        other = _scene_colour(rng)
        x, y = _grid(canvas)
        angle = rng.uniform(0, 2 * math.pi)
        t = np.clip(0.5 + 0.5 * (x * math.cos(angle) + y * math.sin(angle)), 0, 1)[..., None]
        return (base * (1 - t) + other * t).astype(np.float32)
    if kind == "texture":
        cells = int(rng.integers(3, 12))
        small = np.clip(base + rng.normal(0, 45, (cells, cells, 3)), 0, 255).astype(np.uint8)
        return np.asarray(Image.fromarray(small).resize((canvas, canvas), Image.Resampling.BICUBIC), np.float32)
    img = Image.new("RGB", (canvas, canvas), _rgba(base)[:3])
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * canvas
        w, h = rng.uniform(0.1, 0.6, 2) * canvas
        draw.rectangle((x0, y0, x0 + w, y0 + h), fill=_rgba(_scene_colour(rng)))
    return np.asarray(img, np.float32)


@lru_cache(maxsize=4)
def _grid(canvas: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates scaled to [-1, 1], shared by every image of one size."""
    axis = np.linspace(-1, 1, canvas, dtype=np.float32)
    return np.meshgrid(axis, axis)


def _draw_occluder(img: Image.Image, kind: str, rng: np.random.Generator) -> None:
    """A bar (scarf, microphone, censor strip) or a hand in front of the face, placed in image coordinates."""
    if kind == "bar":
        half_len, half_thick = rng.uniform(*BAR_HALF_LENGTH), rng.uniform(*BAR_HALF_THICKNESS)
        shapes = [np.array([[-half_len, -half_thick], [half_len, -half_thick], [half_len, half_thick],
                            [-half_len, half_thick]])]
        colour = _random_colour(rng, 0, 255)
    else:
        # A palm and four fingers fanned along its top edge.
        fingers = [np.array([[dx - 0.025, -0.33], [dx + 0.025, -0.33], [dx + 0.025, -0.1], [dx - 0.025, -0.1]])
                   for dx in (-0.075, -0.025, 0.025, 0.075)]
        shapes = [_ellipse(0.0, 0.0, 0.13, 0.16, n=16), *fingers]
        colour = tuple(SKIN_DARK + (SKIN_LIGHT - SKIN_DARK) * rng.uniform())
    angle = rng.uniform(0, 2 * math.pi)
    rotation = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    centre = np.array([0.5 + rng.uniform(-0.2, 0.2), 0.5 + rng.uniform(-0.15, 0.3)])
    draw = ImageDraw.Draw(img)
    for shape in shapes:
        corners = (shape @ rotation + centre) * img.width
        draw.polygon([(float(x), float(y)) for x, y in corners], fill=_rgba(colour))


def _affine(canvas: int, nuisance: Nuisance) -> tuple[float, ...]:
    """PIL's inverse affine map (output pixel -> layer pixel) for roll, scale and shift about the centre."""
    c, s = math.cos(nuisance.roll) / nuisance.scale, math.sin(nuisance.roll) / nuisance.scale
    ox = canvas / 2 + nuisance.shift[0] * canvas
    oy = canvas / 2 + nuisance.shift[1] * canvas
    centre = canvas / 2
    return (c, s, centre - c * ox - s * oy, -s, c, centre + s * ox - c * oy)


def render_face(identity: Identity, nuisance: Nuisance, size: int, rng: np.random.Generator) -> Image.Image:
    """One ``size`` x ``size`` RGB photo of ``identity`` under ``nuisance``; ``rng`` draws the pixel-level noise."""
    canvas = 2 * size
    head = _draw_head(canvas, identity, nuisance)
    # Premultiplied alpha, or resampling would bleed the transparent black into the face's edge.
    head = head.convert("RGBa").transform((canvas, canvas), Image.Transform.AFFINE, _affine(canvas, nuisance),
                                          resample=Image.Resampling.BILINEAR)
    layer = np.asarray(head, np.float32)
    alpha = layer[..., 3:] / 255.0
    x, y = _grid(canvas)
    dx, dy = x - 2 * nuisance.shift[0], y - 2 * nuisance.shift[1]
    # Directional light over the head only: brighter toward light_angle, 1 at the face centre.
    proj = (dx * math.cos(nuisance.light_angle) + dy * math.sin(nuisance.light_angle)) / (0.64 * nuisance.scale)
    shade = np.clip(1 + nuisance.light_strength * proj, 0.3, 1.6)[..., None]
    pixels = _background(canvas, nuisance.background, rng) * (1 - alpha) + layer[..., :3] * shade
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if nuisance.occluder != "none":
        _draw_occluder(img, nuisance.occluder, rng)
    img = img.resize((size, size), Image.Resampling.LANCZOS)
    if nuisance.blur > 0:
        img = img.filter(ImageFilter.GaussianBlur(nuisance.blur))
    pixels = np.asarray(img, np.float32)
    temperature = np.array([1 + nuisance.temperature, 1.0, 1 - nuisance.temperature], np.float32)
    pixels = ((pixels - 128) * nuisance.contrast + 128) * nuisance.exposure * temperature
    pixels += rng.normal(0.0, nuisance.noise, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


def identity_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one identity: a function of (seed, split, index) only, so worker count is irrelevant."""
    return np.random.default_rng([seed, SPLITS.index(split), index])


def identity_images(seed: int, split: str, index: int, n_images: int, size: int) -> list[Image.Image]:
    """All ``n_images`` photos of identity ``index`` of ``split``."""
    rng = identity_rng(seed, split, index)
    identity = sample_identity(rng)
    return [render_face(identity, sample_nuisance(rng), size, rng) for _ in range(n_images)]


def identity_name(split: str, index: int) -> str:
    return f"{split}_{index:05d}"


def _write_identity(task: tuple[int, str, int, int, int, str]) -> int:
    """Render and save one identity's folder (the unit of work of a worker process); returns its image count."""
    seed, split, index, n_images, size, out = task
    folder = Path(out) / split / identity_name(split, index)
    folder.mkdir(parents=True, exist_ok=True)
    for k, img in enumerate(identity_images(seed, split, index, n_images, size)):
        img.save(folder / f"{k:03d}.png", optimize=False)
    return n_images


def _check_params(params: dict, seed: int) -> None:
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"data_face: the seed must be a non-negative integer, got {seed!r}")
    for key in ("n_train_ids", "n_dev_ids", "n_test_ids", "images_per_id", "size"):
        if not isinstance(params.get(key), int) or params[key] < 0:
            raise ValueError(f"data_face.{key} must be a non-negative integer, got {params.get(key)!r}")
    for key in ("images_per_id", "train_images_per_id"):
        value = params.get(key)
        if value is None and key == "train_images_per_id":  # default: images_per_id
            continue
        if not isinstance(value, int) or value < 2:
            raise ValueError(f"data_face.{key} must be an integer >= 2 (a triplet needs an anchor and a positive), "
                             f"got {value!r}")
    if params["size"] < 32:
        raise ValueError(f"data_face.size must be >= 32 pixels, got {params['size']}")


def write_dataset(params: dict, out: Path, seed: int | None = None, workers: int | None = None) -> dict[str, int]:
    """Write ``<out>/<split>/<identity>/<k>.png`` for every split; returns identity and image counts.

    Existing ``<out>/<split>`` folders are replaced, so a smaller rerun leaves no stale identities behind.
    ``workers`` defaults to the CPU count; the images are the same for any value.
    """
    seed = params["seed"] if seed is None else seed
    _check_params(params, seed)
    out = Path(out)
    n_ids = {split: params[f"n_{split}_ids"] for split in SPLITS}
    n_images = images_per_split(params)
    for split in SPLITS:
        shutil.rmtree(out / split, ignore_errors=True)
        (out / split).mkdir(parents=True)
    tasks = [(seed, split, i, n_images[split], params["size"], str(out))
             for split in SPLITS for i in range(n_ids[split])]
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    with tqdm(total=sum(task[3] for task in tasks), unit="img", desc="faces") as bar:
        if workers == 1:
            for task in tasks:
                bar.update(_write_identity(task))
        else:
            # spawn, not fork: the caller may hold threads (torch, Ray) that a forked child would inherit broken.
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                for n in pool.imap_unordered(_write_identity, tasks, chunksize=4):
                    bar.update(n)
    summary = {f"{split}_ids": n for split, n in n_ids.items()}
    summary.update({f"{split}_images": n * n_images[split] for split, n in n_ids.items()})
    return summary


def images_per_split(params: dict) -> dict[str, int]:
    """Images per identity of each split: ``train_images_per_id`` for train (default ``images_per_id``),
    ``images_per_id`` for dev and test. An identity's first images do not depend on how many follow, so
    more training images leave the first ones, and dev and test, byte for byte the same."""
    train = params.get("train_images_per_id")
    return {split: (train or params["images_per_id"]) if split == "train" else params["images_per_id"]
            for split in SPLITS}
