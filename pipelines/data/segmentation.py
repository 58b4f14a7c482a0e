"""Street scenes with every pixel labelled: Course 4 week 3's U-Net (the course's CARLA frames are not available
offline).

    dlzoo data segmentation           # writes data/segmentation/ from params.yaml (data_segmentation)

Each image is a ``width`` x ``height`` random crop (128 x 96, as the course's frames) of a real photo from the
detection backgrounds, with 0 to ``max_objects`` objects of the detection generator's eight classes pasted on
(``pipelines/data/detection.py``: the same sprites, photometric jitter and scene split, so ``new_scenes`` shows
only photos of scenes no other split shows). A pixel's class is that of the object on top there; 0 is background.

Writes COCO, as ``dlzoo data detection`` does, plus each visible object's pixels: ``images/<split>/NNNNNN.png`` and
``annotations/instances_<split>.json``, every annotation with its ``segmentation`` as COCO's uncompressed RLE
(``{"size": [h, w], "counts": [...]}``, column-major) beside its ``bbox``. :func:`read_split` reads any COCO
dataset with polygon or RLE segmentations, so a user's own COCO data trains and evaluates the same way.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from pipelines.data.detection import (
    CATEGORY_NAMES,
    CLASSES,
    SPLITS,
    find_backgrounds,
    load_background,
    photometric_jitter,
    random_crop,
    render_object,
    split_backgrounds,
)


def check_params(params: dict) -> None:
    for key in ("seed", "backgrounds", "width", "height", "min_size", "max_size", "max_objects",
                *(f"n_{split}" for split in SPLITS)):
        if key not in params:
            raise ValueError(f"data_segmentation: missing key {key!r}")
    if not 8 <= params["min_size"] <= params["max_size"]:
        raise ValueError(f"data_segmentation: need 8 <= min_size <= max_size, got {params['min_size']}, "
                         f"{params['max_size']}")
    if params["width"] % 16 or params["height"] % 16:
        raise ValueError("data_segmentation: width and height must be multiples of 16 (the U-Net halves them 4 "
                         f"times), got {params['width']} x {params['height']}")


def paste_with_classes(image: Image.Image, n: int, min_size: int, max_size: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Paste ``n`` random objects onto ``image`` in place, placed as the detection generator places them (up to a
    third hanging over a border; later ones on top); return the (h, w) uint8 class map, 0 where no object is."""
    width, height = image.size
    classes = np.zeros((height, width), dtype=np.uint8)
    for _ in range(n):
        label = int(rng.integers(len(CLASSES)))
        size = math.exp(rng.uniform(math.log(min_size), math.log(max_size)))
        sprite = render_object(CLASSES[label], size, rng)
        sw, sh = sprite.size
        x = int(rng.integers(-(sw // 3), max(-(sw // 3), width - sw + sw // 3) + 1))
        y = int(rng.integers(-(sh // 3), max(-(sh // 3), height - sh + sh // 3) + 1))
        image.paste(sprite, (x, y), sprite)
        mask = np.asarray(sprite)[..., 3] > 127  # the pixels the paste made mostly the object's
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + sw, width), min(y + sh, height)
        if x1 > x0 and y1 > y0:
            classes[y0:y1, x0:x1][mask[y0 - y:y1 - y, x0 - x:x1 - x]] = label + 1
    return classes


def rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE of a boolean mask: run lengths over the column-major pixels, starting with 0s."""
    flat = np.asfortranarray(mask).ravel(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    runs = np.diff(np.concatenate([[0], changes]))
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": runs.tolist()}


def write_split(split: str, n: int, seed: int, scenes: list, photos: dict, params: dict, out: Path) -> dict:
    image_dir = out / "images" / split
    image_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in tqdm(range(n), desc=f"segmentation {split}", unit="img"):
        rng = np.random.default_rng([seed, SPLITS.index(split), i])
        scene = scenes[rng.integers(len(scenes))]
        path = scene[rng.integers(len(scene))]
        if path not in photos:
            photos[path] = load_background(path)
        image = random_crop(photos[path], params["width"], params["height"], rng)
        classes = paste_with_classes(image, int(rng.integers(params["max_objects"] + 1)), params["min_size"],
                                     params["max_size"], rng)
        name = f"{i:06d}.png"  # lossless: the labels are per pixel
        photometric_jitter(image, rng).save(image_dir / name)
        images.append({"id": i + 1, "file_name": name, "width": image.width, "height": image.height,
                       "background": path.name})
        # one annotation per class present: the pixels of a class, as COCO's stuff annotations are
        for label in np.unique(classes[classes > 0]):
            mask = classes == label
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            bbox = [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(label),
                                "bbox": bbox, "area": int(mask.sum()), "iscrowd": 0, "segmentation": rle(mask)})
    categories = [{"id": k + 1, "name": name, "supercategory": "street"} for k, name in enumerate(CATEGORY_NAMES)]
    return {"info": {"description": "dlzoo street objects on real photos, per-pixel", "split": split, "seed": seed},
            "licenses": [], "images": images, "annotations": annotations, "categories": categories}


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, int]:
    """Generate and write every split; returns the images and annotated class regions per split."""
    check_params(params)
    seed = params["seed"] if seed is None else seed
    scenes = split_backgrounds(find_backgrounds(Path(params["backgrounds"])))
    photos: dict = {}
    out = Path(out)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    summary = {}
    for split in SPLITS:
        coco = write_split(split, params[f"n_{split}"], seed, scenes[split], photos, params, out)
        (out / "annotations" / f"instances_{split}.json").write_text(json.dumps(coco))
        summary[split] = len(coco["images"])
        summary[f"{split}_regions"] = len(coco["annotations"])
    return summary


def read_split(data_dir: Path, split: str, size: tuple[int, int] | None = None
               ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(uint8 images (n, h, w, 3), uint8 class maps (n, h, w), class names) of a COCO split with segmentations.

    Classes are the categories sorted by id, 0 is background; where annotations overlap the later one wins.
    ``size`` (height, width) resizes every image (bilinear) and map (nearest); without it all images must
    share one size. A missing split raises ``FileNotFoundError``; a bad file ``ValueError`` naming it."""
    from pycocotools import mask as coco_mask

    data_dir = Path(data_dir)
    path = data_dir / "annotations" / f"instances_{split}.json"
    if not path.is_file():
        raise FileNotFoundError(f"segmentation: no split {split!r} in {data_dir} (expected {path})")
    try:
        coco = json.loads(path.read_text(encoding="utf-8"))
        categories = sorted(coco["categories"], key=lambda c: c["id"])
        label_of = {c["id"]: k + 1 for k, c in enumerate(categories)}
        by_image = {image["id"]: [] for image in coco["images"]}
        for ann in coco["annotations"]:
            by_image[ann["image_id"]].append(ann)
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a COCO instances file ({type(err).__name__}: {err})") from None
    images, maps = [], []
    for image in coco["images"]:
        h, w = int(image["height"]), int(image["width"])
        classes = np.zeros((h, w), dtype=np.uint8)
        for ann in by_image[image["id"]]:
            seg = ann.get("segmentation")
            if not seg:
                raise ValueError(f"{path}: annotation {ann.get('id')} has no segmentation")
            if isinstance(seg, list):  # polygons
                encoded = coco_mask.merge(coco_mask.frPyObjects(seg, h, w))
            elif isinstance(seg.get("counts"), list):  # uncompressed RLE
                encoded = coco_mask.frPyObjects(seg, h, w)
            else:  # compressed RLE
                encoded = seg
            classes[coco_mask.decode(encoded).astype(bool)] = label_of[ann["category_id"]]
        with Image.open(data_dir / "images" / split / image["file_name"]) as im:
            pixels = im.convert("RGB")
        if size is not None and pixels.size != (size[1], size[0]):
            pixels = pixels.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            classes = np.asarray(Image.fromarray(classes).resize((size[1], size[0]), Image.Resampling.NEAREST))
        images.append(np.asarray(pixels))
        maps.append(classes)
    if not images:
        raise ValueError(f"{path}: no images")
    if len({im.shape for im in images}) > 1:
        raise ValueError(f"{path}: images of different sizes; give a size to resize them to")
    return np.stack(images), np.stack(maps), [c["name"] for c in categories]
