"""Detection data: the COCO generator (determinism, boxes, classes, background split) and the COCO/VOC loaders."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.data.coco import load_coco, load_voc
from pipelines.data.detection import CATEGORY_NAMES, SPLITS, scene_key, write_dataset

BACKGROUNDS = Path("/usr/share/doc/opencv-doc/examples/data")
PARAMS = {"seed": 11, "n_train": 24, "n_dev": 6, "n_test": 10, "n_new_scenes": 10, "min_size": 16, "max_size": 160,
          "max_objects": 10, "backgrounds": str(BACKGROUNDS)}

@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    # The real photos come from Debian's opencv-doc (scripts/setup.sh installs it): fail, never skip.
    assert BACKGROUNDS.is_dir(), f"{BACKGROUNDS} is missing: install Debian opencv-doc (bash scripts/setup.sh)"
    out = tmp_path_factory.mktemp("detection")
    write_dataset(PARAMS, out)
    return out


def _coco(root: Path, split: str) -> dict:
    return json.loads((root / "annotations" / f"instances_{split}.json").read_text())


def test_same_seed_same_annotations_other_seed_other_data(dataset, tmp_path):
    small = {**PARAMS, "n_train": 6, "n_dev": 2, "n_test": 2, "n_new_scenes": 2}
    write_dataset(small, tmp_path / "a")
    write_dataset(small, tmp_path / "b")
    write_dataset(small, tmp_path / "c", seed=small["seed"] + 1)
    for split in SPLITS:
        a = (tmp_path / "a" / "annotations" / f"instances_{split}.json").read_bytes()
        assert a == (tmp_path / "b" / "annotations" / f"instances_{split}.json").read_bytes()
        assert a != (tmp_path / "c" / "annotations" / f"instances_{split}.json").read_bytes()
    first_image = Path("images/train/000000.jpg")
    assert (tmp_path / "a" / first_image).read_bytes() == (tmp_path / "b" / first_image).read_bytes()
    # Image i of a split has its own generator: a bigger dataset starts with the same images.
    assert _coco(tmp_path / "a", "train")["images"] == _coco(dataset, "train")["images"][:6]


def test_images_and_boxes_are_valid_coco(dataset):
    for split in SPLITS:
        coco = _coco(dataset, split)
        assert len(coco["images"]) == PARAMS[f"n_{split}"]
        assert [c["name"] for c in coco["categories"]] == list(CATEGORY_NAMES)
        assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"])
        sizes = {}
        for image in coco["images"]:
            with Image.open(dataset / "images" / split / image["file_name"]) as im:
                assert im.size == (image["width"], image["height"]) and im.format == "JPEG"
            assert 200 <= image["width"] <= 480 and 200 <= image["height"] <= 480
            sizes[image["id"]] = im.size
        assert coco["annotations"], f"{split}: no objects annotated"
        per_image = np.bincount([a["image_id"] for a in coco["annotations"]], minlength=len(sizes) + 1)
        assert per_image.max() <= PARAMS["max_objects"]
        for ann in coco["annotations"]:
            x, y, w, h = ann["bbox"]
            width, height = sizes[ann["image_id"]]
            assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
            assert min(w, h) >= 4 and ann["area"] == w * h and ann["iscrowd"] == 0
            assert 1 <= ann["category_id"] <= len(CATEGORY_NAMES)


def test_every_class_appears_and_sizes_span_a_wide_range(dataset):
    anns = _coco(dataset, "train")["annotations"]
    assert {a["category_id"] for a in anns} == set(range(1, len(CATEGORY_NAMES) + 1))
    longer = [max(a["bbox"][2:]) for a in anns]
    assert max(longer) / min(longer) >= 5  # objects 16-160 px, minus what occlusion and borders cut off


def test_new_scenes_are_never_seen_in_training(dataset):
    scenes = {split: {scene_key(Path(im["background"])) for im in _coco(dataset, split)["images"]}
              for split in SPLITS}
    for split in ("train", "dev", "test"):
        assert not scenes[split] & scenes["new_scenes"], f"{split} shows a new_scenes background"
    # test is new images of the training scenes; with 10 images from ~45 scenes it shares some.
    assert scenes["test"] & scenes["train"]


def test_scene_key_groups_pairs_and_sequences():
    assert scene_key(Path("left01.jpg")) == scene_key(Path("right14.jpg")) == "left"
    assert scene_key(Path("aloeL.jpg")) == scene_key(Path("aloeGT.png")) == "aloe"
    assert scene_key(Path("ela_original.jpg")) == scene_key(Path("ela_modified.jpg"))
    assert scene_key(Path("box_in_scene.png")) == scene_key(Path("box.png"))
    assert scene_key(Path("HappyFish.jpg")) != scene_key(Path("baboon.jpg"))


def test_bad_params_and_backgrounds_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="min_size"):
        write_dataset({**PARAMS, "min_size": 200, "max_size": 100}, tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        write_dataset({**PARAMS, "backgrounds": str(tmp_path / "missing")}, tmp_path)
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (300, 300)).save(photos / "one.jpg")
    with pytest.raises(ValueError, match="at least 2 different scenes"):
        write_dataset({**PARAMS, "backgrounds": str(photos)}, tmp_path / "out")


def test_coco_loader_reads_a_hand_written_file(tmp_path):
    coco = {
        "images": [{"id": 7, "file_name": "a.jpg", "width": 100, "height": 50},
                   {"id": 9, "file_name": "empty.jpg", "width": 30, "height": 30}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 5, "bbox": [10, 5, 20, 10], "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 2, "bbox": [90.5, 40, 30, 30], "iscrowd": 1},  # clipped
            {"id": 3, "image_id": 7, "category_id": 2, "bbox": [3, 3, 0, 8]},                       # no area
        ],
        "categories": [{"id": 5, "name": "stop_sign"}, {"id": 2, "name": "car"}],
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco))
    first, empty = load_coco(tmp_path / "images", path)
    assert first["file"] == tmp_path / "images" / "a.jpg" and (first["width"], first["height"]) == (100, 50)
    assert first["categories"] == ["car", "stop_sign"]  # sorted by COCO id, which need not be contiguous
    np.testing.assert_array_equal(first["boxes"], [[10, 5, 30, 15], [90.5, 40, 100, 50]])
    assert first["boxes"].dtype == np.float32
    np.testing.assert_array_equal(first["labels"], [1, 0])
    np.testing.assert_array_equal(first["ignore"], [False, True])
    assert empty["boxes"].shape == (0, 4) and empty["labels"].shape == (0,)


def test_coco_loader_reads_the_generated_data(dataset):
    records = load_coco(dataset / "images" / "test", dataset / "annotations" / "instances_test.json")
    assert len(records) == PARAMS["n_test"] and all(r["file"].is_file() for r in records)
    assert records[0]["categories"] == list(CATEGORY_NAMES)
    boxes = np.concatenate([r["boxes"] for r in records])
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


def _one_image_coco(annotation: dict) -> str:
    return json.dumps({"images": [{"id": 1, "width": 9, "height": 9, "file_name": "x.jpg"}],
                       "categories": [{"id": 1, "name": "a"}], "annotations": [annotation]})


@pytest.mark.parametrize("text, message", [
    ('{"images": [', "not valid JSON"),
    ('{"images": [], "categories": []}', "no 'annotations'"),
    (_one_image_coco({"id": 4, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}), "annotation 4 .*image_id 2"),
    (_one_image_coco({"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1]}), "annotation 5 has bbox"),
    (_one_image_coco({"id": 6, "image_id": 1, "category_id": 1}), "annotation 6 has no 'bbox'"),
])
def test_malformed_coco_names_the_file(tmp_path, text, message):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        load_coco(tmp_path, path)
    assert str(path) in str(err.value)


VOC_XML = """<annotation>
  <filename>{name}.jpg</filename>
  <size><width>64</width><height>48</height><depth>3</depth></size>
  <object><name>dog</name><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>11</ymin><xmax>20</xmax><ymax>30</ymax></bndbox></object>
  <object><name>car</name><difficult>1</difficult>
    <bndbox><xmin>40</xmin><ymin>2</ymin><xmax>64</xmax><ymax>48</ymax></bndbox></object>
</annotation>"""


def test_voc_loader_reads_a_hand_written_file(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "000001.xml").write_text(VOC_XML.format(name="000001"))
    (record,) = load_voc(tmp_path)
    assert record["file"] == tmp_path / "JPEGImages" / "000001.jpg" and (record["width"], record["height"]) == (64, 48)
    assert record["categories"] == ["car", "dog"]
    np.testing.assert_array_equal(record["boxes"], [[0, 10, 20, 30], [39, 1, 64, 48]])  # 1-based inclusive -> 0-based
    np.testing.assert_array_equal(record["labels"], [1, 0])
    np.testing.assert_array_equal(record["ignore"], [False, True])
    with pytest.raises(ValueError, match="'dog' is not one of"):
        load_voc(tmp_path, classes=["car"])


def test_malformed_voc_names_the_file(tmp_path):
    (tmp_path / "Annotations").mkdir()
    bad = tmp_path / "Annotations" / "000002.xml"
    bad.write_text(VOC_XML.format(name="000002").replace("<xmax>20</xmax>", ""))
    with pytest.raises(ValueError, match="000002.xml.*no <xmax>"):
        load_voc(tmp_path)
    bad.write_text("<annotation><size>")
    with pytest.raises(ValueError, match="000002.xml: not valid XML"):
        load_voc(tmp_path)
    with pytest.raises(FileNotFoundError, match="no .*Annotations"):
        load_voc(tmp_path / "elsewhere")
