"""Street objects pasted onto real photos, as a COCO detection dataset (Course 4 Week 3, car detection / YOLO).

    dlzoo data detection                         # writes data/detection/ from params.yaml (data_detection)
    dlzoo data detection --seed 7 --out /tmp/det

Writes ``<out>/images/{train,dev,test,new_scenes}/NNNNNN.jpg`` and ``<out>/annotations/instances_{split}.json``
(standard COCO: ``images``, ``annotations`` with ``bbox = [x, y, w, h]`` in pixels, ``area`` = box area,
``iscrowd = 0``, ``categories`` with ids from 1). Each image entry also names its ``background`` photo.

Every image is a random crop (random scale, flip, 200-480 px per side) of a real photo from the
``backgrounds`` directory, with 0 to ``max_objects`` objects of the ``CLASSES`` below drawn procedurally
in PIL: sizes log-uniform in ``[min_size, max_size]`` (longer side, px), aspect-ratio, colour, brightness
and tilt jitter. Objects are pasted in random order, so later ones occlude earlier ones, and may hang
over the border. Each box is the tight box of the object's *visible* pixels (the VOC/COCO convention);
an object less than ``MIN_VISIBLE`` visible (occluded or cut off) or with a visible box side under
``MIN_BOX_SIDE`` px gets no annotation. Whole-image brightness, contrast, white balance, sensor noise and
JPEG quality vary too, and some objects are slightly blurred.

Background photos are split *by scene* (``split_backgrounds``): train, dev and test are disjoint
images drawn from the same training scenes (the usual i.i.d. split, as COCO's own), while
``new_scenes`` uses only photos of scenes that no other split ever shows, so its score measures
generalisation to new backgrounds rather than memorised clutter. The split depends only on the file
names, never on the seed, so data generated with different seeds still keeps those scenes out of
training.

Everything is deterministic from the seed: image ``i`` of a split draws from its own generator
seeded by ``(seed, split, i)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageStat, UnidentifiedImageError
from tqdm import tqdm

SPLITS = ("train", "dev", "test", "new_scenes")
IMAGE_SIDE = (200, 480)        # min/max width and height of a generated image, px
MIN_BACKGROUND_SIDE = 160      # smaller files (masks, templates) are crops of other photos or too blurry
BACKGROUND_MAX_SIDE = 640      # photos are downscaled once on load: crops are at most 480 px anyway
HELD_OUT_SCENES = 0.3          # fraction of background scenes kept for the new_scenes split only
MIN_VISIBLE = 0.4              # an object more than 60% hidden (occluded or truncated) is not annotated
MIN_BOX_SIDE = 4               # px; smaller visible remains are not annotated
SUPERSAMPLE = 2                # objects are drawn at 2x and box-filtered down: anti-aliased edges
MAX_TILT_DEG = 6.0             # objects lean a little, so boxes are not always tight on straight edges
BLUR_PROBABILITY = 0.3         # some objects as soft as the blurrier photos
NOISE_PROBABILITY = 0.3        # some images get sensor grain

Colour = tuple[int, int, int]


# ---------------------------------------------------------------- colours


def _clip(values: np.ndarray) -> Colour:
    r, g, b = np.clip(values, 0, 255).astype(int).tolist()
    return r, g, b


def vary(colour: Colour, rng: np.random.Generator, spread: int = 20) -> Colour:
    """``colour`` with independent per-channel noise: no two objects share an exact colour."""
    return _clip(np.asarray(colour) + rng.integers(-spread, spread + 1, size=3))


def random_colour(rng: np.random.Generator, saturation: tuple[float, float] = (0.45, 0.95),
                  value: tuple[float, float] = (0.35, 0.95)) -> Colour:
    """A random hue at a saturation/value in the given ranges (HSV -> RGB)."""
    h, s, v = rng.random(), rng.uniform(*saturation), rng.uniform(*value)
    i, f = int(h * 6) % 6, h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return _clip(np.asarray(rgb) * 255)


def pick(palette: list[Colour], rng: np.random.Generator, spread: int = 20) -> Colour:
    return vary(palette[rng.integers(len(palette))], rng, spread)


CAR_PAINT: list[Colour] = [(190, 25, 25), (25, 55, 150), (225, 225, 225), (30, 30, 32), (125, 128, 135),
                           (205, 170, 40), (35, 110, 60), (160, 160, 170), (110, 40, 30)]
SKIN: list[Colour] = [(241, 194, 160), (224, 172, 105), (198, 134, 66), (141, 85, 36), (90, 56, 37)]
GLASS: list[Colour] = [(150, 190, 215), (120, 150, 175), (60, 80, 100)]
ROOF: list[Colour] = [(150, 50, 35), (95, 60, 45), (80, 80, 90), (60, 70, 110)]
WALL: list[Colour] = [(235, 225, 200), (200, 170, 130), (180, 90, 70), (220, 220, 225), (170, 190, 160)]


# ---------------------------------------------------------------- object drawings
# Each draws one object filling a transparent w x h canvas (already supersampled); coordinates are
# fractions of the canvas, circles use the shorter side so they stay round under aspect jitter.


def _circle(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, **kwargs) -> None:
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), **kwargs)


def draw_car(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    """Side view: body, cabin with two windows, two wheels with hubs, head- and tail-light."""
    paint, glass = pick(CAR_PAINT, rng), pick(GLASS, rng)
    r = min(0.19 * h, 0.11 * w)
    draw.rounded_rectangle((0.02 * w, 0.40 * h, 0.98 * w, 0.80 * h), radius=0.12 * h, fill=paint)
    roof_front = rng.uniform(0.62, 0.72)  # hatchbacks to saloons
    draw.polygon([(0.20 * w, 0.42 * h), (0.32 * w, 0.07 * h), (roof_front * w, 0.07 * h), (0.82 * w, 0.42 * h)],
                 fill=paint)
    draw.polygon([(0.27 * w, 0.40 * h), (0.35 * w, 0.14 * h), (0.48 * w, 0.14 * h), (0.48 * w, 0.40 * h)],
                 fill=glass)
    draw.polygon([(0.52 * w, 0.40 * h), (0.52 * w, 0.14 * h), ((roof_front - 0.03) * w, 0.14 * h),
                  (0.76 * w, 0.40 * h)], fill=glass)
    draw.rectangle((0.93 * w, 0.47 * h, 0.98 * w, 0.56 * h), fill=(250, 240, 170))
    draw.rectangle((0.02 * w, 0.47 * h, 0.05 * w, 0.58 * h), fill=(200, 20, 20))
    for cx in (0.22 * w, 0.78 * w):
        _circle(draw, cx, h - r - 1, r, fill=(25, 25, 25))
        _circle(draw, cx, h - r - 1, 0.45 * r, fill=vary((170, 170, 175), rng))


def draw_bicycle(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    """Two open wheels and a diamond frame: the background shows through, as in a real bicycle."""
    frame, tyre = random_colour(rng), vary((30, 30, 30), rng, 10)
    r = min(0.31 * h, 0.21 * w)
    line = max(2, round(0.05 * h))
    rear, front = (0.03 * w + r, h - r - 1), (0.97 * w - r, h - r - 1)
    crank = (0.47 * w, rear[1])
    seat, head = (0.40 * w, 0.30 * h), (0.70 * w, 0.28 * h)
    for centre in (rear, front):
        _circle(draw, *centre, r, outline=tyre, width=line)
    for a, b in ((rear, crank), (rear, seat), (seat, crank), (seat, head), (head, crank), (head, front)):
        draw.line((a, b), fill=frame, width=line)
    draw.line(((0.34 * w, 0.24 * h), (0.46 * w, 0.24 * h)), fill=(20, 20, 20), width=2 * line)  # saddle
    draw.line((head, (0.68 * w, 0.10 * h), (0.78 * w, 0.10 * h)), fill=(40, 40, 40), width=line)  # handlebar


def draw_pedestrian(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    """Head, torso, swinging arms and a walking stride, in random skin and clothing colours."""
    skin, shirt, trousers = pick(SKIN, rng, 10), random_colour(rng), random_colour(rng, value=(0.15, 0.6))
    limb = max(2, round(0.16 * w))
    _circle(draw, 0.5 * w, 0.085 * h, min(0.075 * h, 0.3 * w), fill=skin)
    stride, swing = rng.uniform(0.0, 0.3) * w, rng.uniform(0.0, 0.25) * w
    for side in (-1, 1):
        draw.line(((0.5 * w + side * 0.08 * w, 0.52 * h), (0.5 * w + side * stride + side * 0.1 * w, 0.96 * h)),
                  fill=trousers, width=limb)
        draw.line(((0.5 * w + side * 0.3 * w, 0.2 * h), (0.5 * w + side * (0.3 * w + swing), 0.5 * h)),
                  fill=shirt, width=limb)
    draw.rounded_rectangle((0.22 * w, 0.17 * h, 0.78 * w, 0.56 * h), radius=0.15 * w, fill=shirt)


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _regular_polygon(cx: float, cy: float, r: float, n: int, rotation: float) -> list[tuple[float, float]]:
    return [(cx + r * math.cos(rotation + 2 * math.pi * k / n), cy + r * math.sin(rotation + 2 * math.pi * k / n))
            for k in range(n)]


def draw_stop_sign(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    """Red octagon with a white rim and the word STOP."""
    cx, cy, r = w / 2, h / 2, min(w, h) / 2 - 1
    rot = math.pi / 8  # flat top edge
    draw.polygon(_regular_polygon(cx, cy, r, 8, rot), fill=vary((235, 235, 235), rng, 10))
    draw.polygon(_regular_polygon(cx, cy, 0.88 * r, 8, rot), fill=vary((200, 20, 25), rng))
    draw.text((cx, cy), "STOP", fill=(245, 245, 245), font=_font(max(4, round(0.52 * r))), anchor="mm")


def draw_warning_sign(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    """Point-up triangle, red border on white or yellow, with a black exclamation mark."""
    field = vary((245, 245, 240) if rng.random() < 0.5 else (245, 200, 30), rng, 10)
    draw.polygon([(0.5 * w, 0), (w - 1, h - 1), (0, h - 1)], fill=vary((205, 25, 30), rng))
    draw.polygon([(0.5 * w, 0.2 * h), (0.85 * w, 0.88 * h), (0.15 * w, 0.88 * h)], fill=field)
    draw.rectangle((0.46 * w, 0.38 * h, 0.54 * w, 0.68 * h), fill=(15, 15, 15))
    _circle(draw, 0.5 * w, 0.77 * h, 0.045 * min(w, h) + 1, fill=(15, 15, 15))


def draw_traffic_light(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    """Dark housing with red/amber/green lamps, exactly one of them lit."""
    housing = vary((35, 35, 35), rng, 15) if rng.random() < 0.7 else vary((190, 160, 30), rng)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=0.25 * w, fill=housing)
    lit = rng.integers(3)
    lamps = [(230, 30, 30), (245, 170, 20), (40, 210, 80)]
    r = min(0.36 * w, 0.13 * h)
    for k, colour in enumerate(lamps):
        shade = colour if k == lit else tuple(c // 4 for c in colour)
        _circle(draw, w / 2, (0.18 + 0.32 * k) * h, r, fill=shade)


def draw_tree(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    """Brown trunk under a canopy of overlapping green blobs."""
    draw.rectangle((0.42 * w, 0.5 * h, 0.58 * w, h - 1), fill=vary((100, 65, 35), rng))
    leaf = vary((45, 120, 45), rng, 30)
    for _ in range(5):
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.25, 0.42) * h
        rx, ry = rng.uniform(0.22, 0.3) * w, rng.uniform(0.17, 0.25) * h
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=vary(leaf, rng, 12))


def draw_house(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    """Walls under a pitched roof, a door and a window."""
    draw.rectangle((0.1 * w, 0.45 * h, 0.9 * w, h - 1), fill=pick(WALL, rng))
    draw.polygon([(0, 0.48 * h), (0.5 * w, 0), (w - 1, 0.48 * h)], fill=pick(ROOF, rng))
    draw.rectangle((0.2 * w, 0.65 * h, 0.38 * w, h - 1), fill=vary((90, 55, 35), rng))
    draw.rectangle((0.55 * w, 0.58 * h, 0.8 * w, 0.8 * h), fill=pick(GLASS, rng))


@dataclass(frozen=True)
class ObjectClass:
    name: str
    aspect: float   # typical width / height
    draw: Callable[[ImageDraw.ImageDraw, int, int, np.random.Generator], None]
    mirror: bool    # may be flipped left-right (not the sign with text on it)


CLASSES: tuple[ObjectClass, ...] = (
    ObjectClass("car", 2.1, draw_car, True),
    ObjectClass("bicycle", 1.6, draw_bicycle, True),
    ObjectClass("pedestrian", 0.4, draw_pedestrian, True),
    ObjectClass("stop_sign", 1.0, draw_stop_sign, False),
    ObjectClass("warning_sign", 1.1, draw_warning_sign, True),
    ObjectClass("traffic_light", 0.38, draw_traffic_light, True),
    ObjectClass("tree", 0.75, draw_tree, True),
    ObjectClass("house", 1.05, draw_house, True),
)
CATEGORY_NAMES = tuple(c.name for c in CLASSES)


def render_object(cls: ObjectClass, size: float, rng: np.random.Generator) -> Image.Image:
    """One RGBA sprite of ``cls`` whose longer side is about ``size`` px, with shape and colour jitter."""
    aspect = cls.aspect * math.exp(rng.uniform(-0.25, 0.25))
    w, h = (size, size / aspect) if aspect >= 1 else (size * aspect, size)
    w, h = max(3, round(w)), max(3, round(h))
    canvas = Image.new("RGBA", (w * SUPERSAMPLE, h * SUPERSAMPLE), (0, 0, 0, 0))
    cls.draw(ImageDraw.Draw(canvas), w * SUPERSAMPLE, h * SUPERSAMPLE, rng)
    # Resampling in premultiplied alpha ("RGBa"): otherwise the transparent black bleeds into the edges.
    sprite = canvas.convert("RGBa").reduce(SUPERSAMPLE)
    if cls.mirror and rng.random() < 0.5:
        sprite = sprite.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    sprite = sprite.rotate(rng.uniform(-MAX_TILT_DEG, MAX_TILT_DEG), Image.Resampling.BILINEAR, expand=True)
    if rng.random() < BLUR_PROBABILITY:
        sprite = sprite.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.2)))
    # Lighting: the same object under a brighter or darker sky.
    gain = rng.uniform(0.65, 1.3)
    levels = range(256)
    lut = [min(255, round(v * gain)) for v in levels] * 3 + list(levels)
    return sprite.convert("RGBA").point(lut)


# ---------------------------------------------------------------- backgrounds


def scene_key(path: Path) -> str:
    """Files sharing a key show the same scene (stereo pairs, sequences, edits) and stay in one split.

    Made for the opencv-doc names: ``left01``/``right07`` -> ``left``, ``aloeL``/``aloeGT`` -> ``aloe``,
    ``ela_original``/``ela_modified`` -> ``ela``, ``box``/``box_in_scene`` -> ``box``. It errs towards
    merging: a merged pair of unrelated photos only moves both into the same split.
    """
    stem = re.sub(r"\d+", "", path.stem)
    stem = re.sub(r"(?<=[a-z])[A-Z]{1,2}$", "", stem)
    stem = re.split(r"[_\-]", stem)[0].lower()
    return "left" if stem == "right" else stem


def find_backgrounds(directory: Path) -> list[Path]:
    """The image files in ``directory`` that PIL can open and are large enough to crop from."""
    if not directory.is_dir():
        raise FileNotFoundError(f"detection backgrounds: {directory} is not a directory")
    found = []
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        try:
            with Image.open(path) as im:
                if min(im.size) >= MIN_BACKGROUND_SIDE:
                    found.append(path)
        except (UnidentifiedImageError, OSError):  # videos, XML, .gz archives ...: not photos
            continue
    return found


def split_backgrounds(paths: list[Path]) -> dict[str, list[list[Path]]]:
    """Scenes (lists of files) per split; the order of scenes is a hash of their key.

    Hashing the key rather than shuffling with the seed keeps each scene in the same split for every
    seed. ``new_scenes`` gets ``HELD_OUT_SCENES`` of the scenes (at least one); train, dev and test
    share the rest.
    """
    scenes: dict[str, list[Path]] = {}
    for path in paths:
        scenes.setdefault(scene_key(path), []).append(path)
    if len(scenes) < 2:
        raise ValueError(f"detection backgrounds: need photos of at least 2 different scenes to keep the "
                         f"new_scenes backgrounds out of training, found {len(scenes)}: {sorted(scenes)}")
    keys = sorted(scenes, key=lambda k: hashlib.sha1(k.encode()).hexdigest())
    n_new = max(1, min(round(HELD_OUT_SCENES * len(keys)), len(keys) - 1))
    seen, new = [scenes[k] for k in keys[n_new:]], [scenes[k] for k in keys[:n_new]]
    return {"train": seen, "dev": seen, "test": seen, "new_scenes": new}


def load_background(path: Path) -> Image.Image:
    """RGB, downscaled so the longer side is at most ``BACKGROUND_MAX_SIDE``."""
    with Image.open(path) as im:
        im.draft("RGB", (BACKGROUND_MAX_SIDE, BACKGROUND_MAX_SIDE))  # JPEG: decode at reduced scale, fast
        photo = im.convert("RGB")
    photo.thumbnail((BACKGROUND_MAX_SIDE, BACKGROUND_MAX_SIDE), Image.Resampling.BILINEAR)
    return photo


def random_crop(photo: Image.Image, width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """A ``width`` x ``height`` view of a random window (30-100% of the largest that fits), maybe mirrored."""
    pw, ph = photo.size
    max_w = min(pw, ph * width / height)
    cw = max_w * rng.uniform(0.3, 1.0)
    ch = cw * height / width
    x0, y0 = rng.uniform(0, pw - cw), rng.uniform(0, ph - ch)
    crop = photo.resize((width, height), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    return crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop


# ---------------------------------------------------------------- images


@dataclass
class Placed:
    """One pasted object: its class, mask size and where it landed inside the image."""
    label: int
    mask_pixels: int
    window: tuple[int, int, int, int]  # x0, y0, x1, y1 of the sprite clipped to the image


def paste_objects(image: Image.Image, n: int, min_size: int, max_size: int,
                  rng: np.random.Generator) -> list[dict]:
    """Paste ``n`` random objects onto ``image`` in place; COCO-style ``bbox``/``category_id`` for visible ones.

    ``owner`` records which object is on top at every pixel, so occlusion and truncation are measured
    on the pixels that end up visible.
    """
    width, height = image.size
    owner = np.full((height, width), -1, dtype=np.int16)
    placed: list[Placed] = []
    for k in range(n):
        label = int(rng.integers(len(CLASSES)))
        size = math.exp(rng.uniform(math.log(min_size), math.log(max_size)))
        sprite = render_object(CLASSES[label], size, rng)
        sw, sh = sprite.size
        # Up to a third of the sprite may hang over each border: truncated objects.
        x = int(rng.integers(-(sw // 3), max(-(sw // 3), width - sw + sw // 3) + 1))
        y = int(rng.integers(-(sh // 3), max(-(sh // 3), height - sh + sh // 3) + 1))
        image.paste(sprite, (x, y), sprite)
        mask = np.asarray(sprite)[..., 3] > 127
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + sw, width), min(y + sh, height)
        if x1 > x0 and y1 > y0:
            owner[y0:y1, x0:x1][mask[y0 - y:y1 - y, x0 - x:x1 - x]] = k
        placed.append(Placed(label, int(mask.sum()), (x0, y0, x1, y1)))

    annotations = []
    for k, obj in enumerate(placed):
        x0, y0, x1, y1 = obj.window
        visible = owner[y0:y1, x0:x1] == k
        n_visible = int(visible.sum())
        if n_visible == 0 or n_visible < MIN_VISIBLE * obj.mask_pixels:
            continue
        rows, cols = np.flatnonzero(visible.any(axis=1)), np.flatnonzero(visible.any(axis=0))
        bw, bh = int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
        if min(bw, bh) < MIN_BOX_SIDE:
            continue
        annotations.append({"category_id": obj.label + 1, "bbox": [x0 + int(cols[0]), y0 + int(rows[0]), bw, bh],
                            "area": bw * bh, "iscrowd": 0})
    return annotations


def photometric_jitter(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Whole-image contrast, brightness, white balance and (some of the time) sensor noise."""
    mean = float(np.mean(ImageStat.Stat(image).mean))
    contrast = rng.uniform(0.75, 1.25)
    gains = rng.uniform(0.75, 1.25) * rng.uniform(0.92, 1.08, size=3)
    # The colour changes are one affine map per channel: a lookup table is much faster than float pixels.
    levels = np.arange(256)
    lut = np.concatenate([np.clip(((levels - mean) * contrast + mean) * g, 0, 255) for g in gains])
    image = image.point(lut.round().astype(np.uint8).tolist())
    if rng.random() < NOISE_PROBABILITY:
        # Grain on luminance only: it looks like camera noise and draws a third of the random numbers.
        noise = rng.standard_normal((image.height, image.width, 1), dtype=np.float32) * rng.uniform(1.0, 8.0)
        image = Image.fromarray(np.clip(np.asarray(image) + noise.astype(np.int16), 0, 255).astype(np.uint8), "RGB")
    return image


def make_image(scenes: list[list[Path]], photos: dict[Path, Image.Image], params: dict,
               rng: np.random.Generator) -> tuple[Image.Image, Path, list[dict]]:
    """One image: (pixels, background file, annotations). ``photos`` caches decoded backgrounds."""
    scene = scenes[rng.integers(len(scenes))]  # scenes equally likely, however many files each has
    path = scene[rng.integers(len(scene))]
    if path not in photos:
        photos[path] = load_background(path)
    width, height = (int(v) for v in rng.integers(IMAGE_SIDE[0], IMAGE_SIDE[1] + 1, size=2))
    image = random_crop(photos[path], width, height, rng)
    n = int(rng.integers(params["max_objects"] + 1))
    annotations = paste_objects(image, n, params["min_size"], params["max_size"], rng)
    return photometric_jitter(image, rng), path, annotations


def check_params(params: dict) -> None:
    """Fail early, naming the key, rather than deep inside the drawing code."""
    for key in ("seed", "n_train", "n_dev", "n_test", "n_new_scenes", "min_size", "max_size", "max_objects",
                "backgrounds"):
        if key not in params:
            raise ValueError(f"data_detection: missing key {key!r}")
    if not 8 <= params["min_size"] <= params["max_size"] <= IMAGE_SIDE[1]:
        raise ValueError(f"data_detection: need 8 <= min_size <= max_size <= {IMAGE_SIDE[1]}, "
                         f"got {params['min_size']}, {params['max_size']}")
    if not 0 <= params["max_objects"] <= 100:
        raise ValueError(f"data_detection: max_objects must be in [0, 100], got {params['max_objects']}")


def write_split(split: str, n: int, seed: int, scenes: list[list[Path]], photos: dict[Path, Image.Image],
                params: dict, out: Path) -> dict:
    """Write ``n`` images of ``split`` and return its COCO dictionary."""
    image_dir = out / "images" / split
    image_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in tqdm(range(n), desc=f"detection {split}", unit="img"):
        rng = np.random.default_rng([seed, SPLITS.index(split), i])
        image, background, objects = make_image(scenes, photos, params, rng)
        name = f"{i:06d}.jpg"
        image.save(image_dir / name, quality=int(rng.integers(70, 96)))
        images.append({"id": i + 1, "file_name": name, "width": image.width, "height": image.height,
                       "background": background.name})
        for obj in objects:
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, **obj})
    categories = [{"id": k + 1, "name": name, "supercategory": "street"} for k, name in enumerate(CATEGORY_NAMES)]
    return {"info": {"description": "dlzoo synthetic street objects on real photos", "split": split, "seed": seed},
            "licenses": [], "images": images, "annotations": annotations, "categories": categories}


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, int]:
    """Generate and write every split (images + COCO JSON); returns image, object and scene counts."""
    check_params(params)
    seed = params["seed"] if seed is None else seed
    scenes = split_backgrounds(find_backgrounds(Path(params["backgrounds"])))
    photos: dict[Path, Image.Image] = {}
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    summary: dict[str, int] = {}
    for split in SPLITS:
        coco = write_split(split, params[f"n_{split}"], seed, scenes[split], photos, params, out)
        (out / "annotations" / f"instances_{split}.json").write_text(json.dumps(coco))
        summary[split] = len(coco["images"])
        summary[f"{split}_objects"] = len(coco["annotations"])
        summary[f"{split}_scenes"] = len(scenes[split])
    return summary
