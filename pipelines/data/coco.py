"""Read detection datasets in the two standard formats: COCO JSON and Pascal VOC XML.

    records = load_coco("data/detection/images/train", "data/detection/annotations/instances_train.json")
    records = load_voc("VOCdevkit/VOC2007")          # Annotations/*.xml + JPEGImages/

Both return one ``DetectionRecord`` per image: ``boxes`` as float32 ``(N, 4)`` ``[x1, y1, x2, y2]`` in
0-based pixel coordinates, ``labels`` as int64 ``(N,)`` indices into ``categories`` (the dataset's class
names, the same list in every record), and ``ignore`` marking COCO ``iscrowd`` / VOC ``difficult``
objects, which evaluation should neither reward nor penalise. Images without objects are kept, with
empty arrays: they are the detector's negatives. Malformed input raises ``ValueError`` naming the file.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TypedDict

import numpy as np


class DetectionRecord(TypedDict):
    file: Path
    width: int
    height: int
    boxes: np.ndarray       # (N, 4) float32, x1 y1 x2 y2
    labels: np.ndarray      # (N,) int64, index into categories
    ignore: np.ndarray      # (N,) bool: iscrowd / difficult
    categories: list[str]


def _record(file: Path, width: int, height: int, objects: list[tuple[list[float], int, bool]],
            categories: list[str]) -> DetectionRecord:
    boxes = np.asarray([box for box, _, _ in objects], dtype=np.float32).reshape(-1, 4)
    return DetectionRecord(file=file, width=width, height=height, boxes=boxes,
                           labels=np.asarray([label for _, label, _ in objects], dtype=np.int64),
                           ignore=np.asarray([ignore for _, _, ignore in objects], dtype=bool),
                           categories=categories)


def _clipped(box: list[float], width: int, height: int) -> list[float] | None:
    """``box`` clipped to the image, or None when nothing of it is left (zero width or height)."""
    x1, y1, x2, y2 = max(box[0], 0.0), max(box[1], 0.0), min(box[2], float(width)), min(box[3], float(height))
    return [x1, y1, x2, y2] if x2 > x1 and y2 > y1 else None


# ---------------------------------------------------------------- COCO


def _field(obj: dict, key: str, where: str, path: Path):
    if not isinstance(obj, dict) or key not in obj:
        raise ValueError(f"{path}: {where} has no {key!r}")
    return obj[key]


def load_coco(images_dir: str | Path, annotation_json: str | Path) -> list[DetectionRecord]:
    """COCO ``instances_*.json`` -> records, in the file's image order; ``file`` is ``images_dir/file_name``.

    Labels index the categories sorted by COCO id, so ids need not be contiguous (COCO's own skip
    numbers). Boxes are clipped to the image; zero-area boxes are dropped, as torchvision's COCO
    reference does, because a detector's box regression cannot learn from them.
    """
    images_dir, path = Path(images_dir), Path(annotation_json)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"COCO annotations: {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON: {err}") from None
    images = _field(data, "images", "the top level", path)
    annotations = _field(data, "annotations", "the top level", path)
    categories = sorted(_field(data, "categories", "the top level", path),
                        key=lambda c: _field(c, "id", "a category", path))
    label_of = {c["id"]: k for k, c in enumerate(categories)}
    names = [str(_field(c, "name", f"category {c['id']}", path)) for c in categories]

    objects: dict[int, list[tuple[list[float], int, bool]]] = {}
    sizes: dict[int, tuple[int, int]] = {}
    for image in images:
        image_id = _field(image, "id", "an image", path)
        sizes[image_id] = (int(_field(image, "width", f"image {image_id}", path)),
                           int(_field(image, "height", f"image {image_id}", path)))
        objects[image_id] = []
    for ann in annotations:
        where = f"annotation {ann.get('id', '?')}" if isinstance(ann, dict) else "an annotation"
        image_id, category = _field(ann, "image_id", where, path), _field(ann, "category_id", where, path)
        bbox = _field(ann, "bbox", where, path)
        if image_id not in sizes:
            raise ValueError(f"{path}: {where} refers to unknown image_id {image_id}")
        if category not in label_of:
            raise ValueError(f"{path}: {where} refers to unknown category_id {category}")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int | float) for v in bbox)):
            raise ValueError(f"{path}: {where} has bbox {bbox!r}, expected [x, y, width, height]")
        x, y, w, h = (float(v) for v in bbox)
        if w < 0 or h < 0:
            raise ValueError(f"{path}: {where} has a negative width or height: {bbox}")
        box = _clipped([x, y, x + w, y + h], *sizes[image_id])
        if box is not None:
            objects[image_id].append((box, label_of[category], bool(ann.get("iscrowd", 0))))

    return [_record(images_dir / str(_field(image, "file_name", f"image {image['id']}", path)),
                    *sizes[image["id"]], objects[image["id"]], names) for image in images]


# ---------------------------------------------------------------- Pascal VOC


def _text(node: ET.Element, tag: str, path: Path) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise ValueError(f"{path}: <{node.tag}> has no <{tag}>")
    return child.text.strip()


def _number(node: ET.Element, tag: str, path: Path) -> float:
    text = _text(node, tag, path)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}: <{tag}> is not a number: {text!r}") from None


def _read_voc_xml(path: Path) -> tuple[str, int, int, list[tuple[str, list[float], bool]]]:
    """(file name, width, height, [(class name, 0-based xyxy box, difficult)]) of one VOC annotation."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ValueError(f"{path}: not valid XML: {err}") from None
    size = root.find("size")
    if size is None:
        raise ValueError(f"{path}: <annotation> has no <size>")
    width, height = int(_number(size, "width", path)), int(_number(size, "height", path))
    objects = []
    for obj in root.iter("object"):
        bndbox = obj.find("bndbox")
        if bndbox is None:
            raise ValueError(f"{path}: <object> has no <bndbox>")
        x1, y1, x2, y2 = (_number(bndbox, tag, path) for tag in ("xmin", "ymin", "xmax", "ymax"))
        if x2 < x1 or y2 < y1:
            raise ValueError(f"{path}: box ({x1}, {y1}, {x2}, {y2}) has xmax < xmin or ymax < ymin")
        difficult = obj.find("difficult")
        # VOC pixels are 1-based and xmax/ymax inclusive: [x1 - 1, x2) in 0-based, half-open coordinates.
        objects.append((_text(obj, "name", path), [x1 - 1, y1 - 1, x2, y2],
                        difficult is not None and (difficult.text or "0").strip() == "1"))
    return _text(root, "filename", path), width, height, objects


def load_voc(directory: str | Path, classes: list[str] | None = None) -> list[DetectionRecord]:
    """Pascal VOC (``Annotations/*.xml`` + ``JPEGImages/``) -> records, sorted by annotation file name.

    ``classes`` fixes the label order (and rejects other names); by default it is every name found, sorted.
    """
    root = Path(directory)
    xml_files = sorted((root / "Annotations").glob("*.xml"))
    if not xml_files:
        raise FileNotFoundError(f"Pascal VOC: no {root / 'Annotations'}/*.xml")
    parsed = [(path, *_read_voc_xml(path)) for path in xml_files]
    names = list(classes) if classes is not None else sorted({name for *_, objs in parsed for name, _, _ in objs})
    label_of = {name: k for k, name in enumerate(names)}
    records = []
    for path, filename, width, height, objs in parsed:
        kept = []
        for name, box, difficult in objs:
            if name not in label_of:
                raise ValueError(f"{path}: class {name!r} is not one of {names}")
            clipped = _clipped(box, width, height)
            if clipped is not None:
                kept.append((clipped, label_of[name], difficult))
        records.append(_record(root / "JPEGImages" / filename, width, height, kept, names))
    return records
