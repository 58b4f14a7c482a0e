"""Course 4's SIGNS (a hand showing 0 to 5 fingers), drawn: the course's photos are not available offline.

    dlzoo data signs                # writes data/signs/{train,dev,test,new_scenes}/{0,...,5}/<k>.png

The course's set is 1,080 training and 120 test photos, 64 x 64, of one raised hand, palm to the camera, before
a plain wall; the label is the number of fingers held up. Here every image is a new hand, drawn at 4x and
downscaled (so edges are antialiased as a camera's are):

* **the hand**: a palm, a wrist and forearm running out of the frame (a sleeve half of the time), four fingers
  and a thumb, each finger a rounded segment with a darker rim and a nail on the fingertip. Each hand has its
  own skin tone (pale to dark brown), palm size, finger lengths and widths, and spread.
* **the label** is the count of raised fingers; the others are curled into the palm (knuckles drawn over it)
  and a curled thumb lies across it. Which fingers are raised is the usual way to show the count (1: index; 2:
  index and middle; 3: index to ring; 4: all but the thumb; 5: all; 0: a fist), and with ``p_other_fingers``
  another set of the same size (3 as thumb, index and middle; 2 as thumb and index; 1 as the thumb alone), so
  the count, not one template, is what decides.
* **the picture**: the hand turned by up to ``max_rotation`` degrees, left or right hand (mirrored), placed and
  scaled with some play, over a drawn wall (``walls``: the face set's flat, gradient, blotchy or blocky backgrounds) or,
  with ``p_photo_background``, a crop of a real photo from Debian's opencv-doc; then light from one side,
  exposure, sensor noise and blur.
* **new_scenes**: the same hands, every background a photo of a scene no other split ever shows (the detection
  set's held-out scenes, ``pipelines.data.detection.split_backgrounds``): a test of backgrounds never seen.

Labels cycle 0-5, so every split is balanced; image ``k`` of a split has its own generator seeded by
``(seed, split, k)``, so held-out hands are never training hands and a split's bytes do not depend on the other
splits' sizes. A user's own photos in the same layout (``<split>/<class>/*.png``, classes ``0``-``5``) train and
evaluate the same way.
"""

from __future__ import annotations

import math
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from tqdm import tqdm

from pipelines.data import detection, faces

SPLITS = ("train", "dev", "test", "new_scenes")
CLASSES = ("0", "1", "2", "3", "4", "5")  # label = fingers raised; the folders' sorted order
FINGERS = ("thumb", "index", "middle", "ring", "little")
USUAL = {0: (), 1: ("index",), 2: ("index", "middle"), 3: ("index", "middle", "ring"),
         4: ("index", "middle", "ring", "little"), 5: FINGERS}
OTHER = {1: ("thumb",), 2: ("thumb", "index"), 3: ("thumb", "index", "middle")}  # other ways people count
WALLS = ("flat", "gradient", "texture", "blocks")  # the face set's drawn backgrounds
SUPERSAMPLE = 4
# skin tones from pale to dark brown (RGB), a hand's tone drawn between two neighbours
SKIN = np.array([(241, 210, 185), (226, 185, 150), (198, 150, 112), (160, 110, 75), (118, 78, 52), (86, 56, 38)],
                float)


def check_params(params: dict) -> None:
    for key in ("p_other_fingers", "p_photo_background"):
        if not 0.0 <= float(params[key]) <= 1.0:
            raise ValueError(f"data_signs.{key}: {params[key]} is not a probability")
    if not 0.0 <= float(params["max_rotation"]) <= 90.0:
        raise ValueError(f"data_signs.max_rotation: {params['max_rotation']} (degrees, 0-90)")
    if not params["walls"] or set(params["walls"]) - set(WALLS):
        raise ValueError(f"data_signs.walls: {params['walls']} (one or more of {', '.join(WALLS)})")
    if int(params["size"]) < 16:
        raise ValueError(f"data_signs.size: {params['size']} (pixels, at least 16)")
    for split in SPLITS:
        if int(params[f"n_{split}"]) < 0:
            raise ValueError(f"data_signs.n_{split}: {params[f'n_{split}']} is negative")
    if int(params["n_train"]) < len(CLASSES):
        raise ValueError(f"data_signs.n_train: {params['n_train']} (at least {len(CLASSES)}: one of each class)")


def raised_fingers(label: int, rng: np.random.Generator, p_other: float) -> tuple[str, ...]:
    """Which fingers are up to show ``label``."""
    if label in OTHER and rng.random() < p_other:
        return OTHER[label]
    return USUAL[label]


def _skin(rng: np.random.Generator) -> np.ndarray:
    i = int(rng.integers(0, len(SKIN) - 1))
    return SKIN[i] + (SKIN[i + 1] - SKIN[i]) * rng.uniform() + rng.normal(0, 6, 3)


def _rgb(colour: np.ndarray, shade: float = 1.0) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.clip(np.asarray(colour) * shade, 0, 255))


def _capsule(draw: ImageDraw.ImageDraw, a: np.ndarray, b: np.ndarray, width: float, fill) -> None:
    """A segment from ``a`` to ``b`` with round ends (pixels)."""
    draw.line([tuple(a), tuple(b)], fill=fill, width=max(1, int(round(width))))
    r = width / 2
    for (x, y) in (a, b):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def _finger(draw: ImageDraw.ImageDraw, base: np.ndarray, direction: float, length: float, width: float,
            skin: np.ndarray, rim: float) -> None:
    """A raised finger: rim, skin, a crease at each joint and a nail at the tip (pixels, radians)."""
    unit = np.array([math.sin(direction), -math.cos(direction)])
    tip = base + unit * length
    _capsule(draw, base, tip, width + 2 * rim, _rgb(skin, 0.62))
    _capsule(draw, base, tip, width, _rgb(skin))
    normal = np.array([unit[1], -unit[0]]) * width * 0.3
    for t in (0.45, 0.72):  # joint creases
        joint = base + unit * length * t
        draw.line([tuple(joint - normal), tuple(joint + normal)], fill=_rgb(skin, 0.8), width=max(1, int(rim)))
    nail = tip - unit * width * 0.45
    r = width * 0.28
    draw.ellipse((nail[0] - r, nail[1] - r, nail[0] + r, nail[1] + r), fill=_rgb(skin * 0.85 + 255 * 0.15, 1.0))


def draw_hand(fingers: tuple[str, ...], canvas: int, rng: np.random.Generator) -> Image.Image:
    """An RGBA picture of a right hand, palm to the camera, wrist at the bottom, ``fingers`` raised."""
    layer = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    skin = _skin(rng)
    unit = canvas * rng.uniform(0.28, 0.34)           # palm width in pixels: the hand fills the frame
    palm_h = unit * rng.uniform(1.0, 1.2)
    centre = np.array([canvas / 2, canvas * 0.64])
    top, bottom = centre[1] - palm_h / 2, centre[1] + palm_h / 2
    rim = max(1.0, canvas / 160)
    width = unit * rng.uniform(0.2, 0.25)             # a finger's width
    spread = rng.uniform(0.06, 0.16)                  # radians between raised neighbours
    lengths = dict(zip(FINGERS[1:], np.array([0.9, 1.0, 0.93, 0.72]) * palm_h * rng.uniform(0.8, 1.0)
                       * rng.uniform(0.93, 1.07, 4), strict=True))
    # forearm and sleeve, behind everything
    arm_w = unit * rng.uniform(0.7, 0.85)
    draw.rectangle((centre[0] - arm_w / 2, centre[1], centre[0] + arm_w / 2, canvas), fill=_rgb(skin, 0.95))
    if rng.random() < 0.5:
        sleeve = faces._scene_colour(rng)
        cuff = min(bottom + palm_h * rng.uniform(0.2, 0.5), canvas - 1)  # a big hand may leave no room for it
        draw.rectangle((centre[0] - arm_w * 0.65, cuff, centre[0] + arm_w * 0.65, canvas), fill=_rgb(sleeve))
    # raised fingers leave the palm's top edge and fan out
    bases = {name: np.array([centre[0] + unit * x, top + width * 0.4])
             for name, x in zip(FINGERS[1:], (-0.36, -0.12, 0.12, 0.35), strict=True)}
    for i, name in enumerate(FINGERS[1:]):
        if name in fingers:
            _finger(draw, bases[name], (i - 1.5) * spread + rng.normal(0, 0.04), lengths[name], width, skin, rim)
    # the thumb sits low on the index side; raised it points out and up
    thumb_base = np.array([centre[0] - unit * 0.42, centre[1] + palm_h * 0.15])
    if "thumb" in fingers:
        _finger(draw, thumb_base, -rng.uniform(0.6, 1.1), palm_h * rng.uniform(0.55, 0.7), width * 1.1, skin, rim)
    # the palm over the fingers' roots
    box = (centre[0] - unit / 2, top, centre[0] + unit / 2, bottom)
    draw.rounded_rectangle((box[0] - rim, box[1] - rim, box[2] + rim, box[3] + rim), radius=unit * 0.3,
                           fill=_rgb(skin, 0.62))
    draw.rounded_rectangle(box, radius=unit * 0.28, fill=_rgb(skin))
    crease = [(box[0] + unit * 0.1, top + palm_h * 0.3), (centre[0] + unit * 0.1, top + palm_h * 0.38),
              (box[2] - unit * 0.05, top + palm_h * 0.28)]
    draw.line(crease, fill=_rgb(skin, 0.82), width=max(1, int(rim)))  # the heart line
    # curled fingers: their backs lie folded over the palm's top, knuckles up
    for name in FINGERS[1:]:
        if name not in fingers:
            a = bases[name] + np.array([0.0, width * 0.2])
            b = a + np.array([rng.normal(0, width * 0.1), palm_h * rng.uniform(0.3, 0.42)])
            _capsule(draw, a, b, width + 2 * rim, _rgb(skin, 0.62))
            _capsule(draw, a, b, width, _rgb(skin, 0.93))
    if "thumb" not in fingers:  # folded across the palm toward the little finger
        a = thumb_base
        b = a + np.array([unit * rng.uniform(0.45, 0.65), -palm_h * rng.uniform(0.05, 0.2)])
        _capsule(draw, a, b, width * 1.1 + 2 * rim, _rgb(skin, 0.62))
        _capsule(draw, a, b, width * 1.1, _rgb(skin, 0.97))
    return layer


@lru_cache(maxsize=64)
def _photo(path: Path) -> Image.Image:
    return detection.load_background(path)


def draw(params: dict, seed: int, split: str, k: int, scenes: list[list[Path]] | None = None):
    """(image, label, raised fingers) of image ``k`` of ``split``; ``scenes``: its photos (split_backgrounds)."""
    rng = np.random.default_rng([seed, SPLITS.index(split), k])
    label = k % len(CLASSES)
    fingers = raised_fingers(label, rng, float(params["p_other_fingers"]))
    size = int(params["size"])
    canvas = size * SUPERSAMPLE
    hand = draw_hand(fingers, canvas, rng)
    if rng.random() < 0.5:  # a left hand
        hand = hand.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    angle = rng.uniform(-1, 1) * float(params["max_rotation"])
    scale = rng.uniform(0.9, 1.1)
    shift = rng.uniform(-0.08, 0.08, 2) * canvas
    hand = hand.rotate(angle, resample=Image.Resampling.BILINEAR, center=(canvas / 2, canvas * 0.64),
                       translate=tuple(shift))
    if scale != 1.0:
        grown = hand.resize((round(canvas * scale),) * 2, Image.Resampling.BILINEAR)
        hand = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
        offset = (canvas - grown.width) // 2
        hand.paste(grown, (offset, offset))
    photo = split == "new_scenes" or rng.random() < float(params["p_photo_background"])
    if photo and scenes:
        scene = scenes[int(rng.integers(len(scenes)))]
        background = np.asarray(detection.random_crop(_photo(scene[int(rng.integers(len(scene)))]), canvas, canvas,
                                                      rng), np.float32)
    else:
        background = faces._background(canvas, str(rng.choice(params["walls"])), rng)
    layer = np.asarray(hand, np.float32)
    alpha = layer[..., 3:] / 255
    x, y = faces._grid(canvas)
    light = rng.uniform(0, 2 * math.pi)  # light from one side: the hand darker away from it
    shade = 1.0 + rng.uniform(0.0, 0.25) * (x * math.cos(light) + y * math.sin(light))[..., None]
    pixels = background * (1 - alpha) + layer[..., :3] * shade * alpha
    pixels = pixels * rng.uniform(0.7, 1.2) + rng.uniform(-20, 20)  # exposure
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).resize((size, size), Image.Resampling.LANCZOS)
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    noisy = np.asarray(image, np.float32) + rng.normal(0, rng.uniform(0, 6), (size, size, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), label, fingers


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, dict[str, int]]:
    """Write every split; returns the images per split and class."""
    check_params(params)
    seed = int(params["seed"] if seed is None else seed)
    scenes = detection.split_backgrounds(detection.find_backgrounds(Path(params["backgrounds"])))
    out = Path(out)
    summary = {}
    for split in SPLITS:
        counts = dict.fromkeys(CLASSES, 0)
        shutil.rmtree(out / split, ignore_errors=True)  # a smaller rerun leaves no images of the last one
        if not int(params[f"n_{split}"]):
            continue
        for name in CLASSES:
            (out / split / name).mkdir(parents=True, exist_ok=True)
        for k in tqdm(range(int(params[f"n_{split}"])), desc=f"signs {split}", unit="hand", leave=False):
            image, label, _ = draw(params, seed, split, k, scenes[split])
            image.save(out / split / CLASSES[label] / f"{k:05d}.png")
            counts[CLASSES[label]] += 1
        summary[split] = counts
    return summary
