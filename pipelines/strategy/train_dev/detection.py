"""The detection family's train-dev draw, as ``pipelines/strategy/detection.py`` describes it.

    dlzoo train-dev detection
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipelines.data import detection as data


def write_train_dev(params: dict, data_dir: Path, out: Path, n: int, seed: int) -> dict:
    # write_split numbers a split's images from 0; these continue the train split's numbering, so the loop
    # is its own (the image and record fields are write_split's)
    data.check_params(params)
    scenes = data.split_backgrounds(data.find_backgrounds(Path(params["backgrounds"])))["train"]
    photos: dict = {}
    image_dir = Path(out) / "images" / "train_dev"
    image_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for k, i in enumerate(tqdm(range(params["n_train"], params["n_train"] + n), desc="detection train_dev",
                               unit="img")):
        rng = np.random.default_rng([params["seed"], data.SPLITS.index("train"), i])
        image, background, objects = data.make_image(scenes, photos, params, rng)
        name = f"{i:06d}.jpg"
        image.save(image_dir / name, quality=int(rng.integers(70, 96)))
        images.append({"id": k + 1, "file_name": name, "width": image.width, "height": image.height,
                       "background": background.name})
        annotations += [{"id": len(annotations) + 1, "image_id": k + 1, **obj} for obj in objects]
    categories = [{"id": c + 1, "name": name, "supercategory": "street"} for c, name in enumerate(data.CATEGORY_NAMES)]
    coco = {"info": {"description": "dlzoo train-dev: the train split's next images", "split": "train_dev"},
            "licenses": [], "images": images, "annotations": annotations, "categories": categories}
    (Path(out) / "annotations").mkdir(parents=True, exist_ok=True)
    (Path(out) / "annotations" / "instances_train_dev.json").write_text(json.dumps(coco))
    return {"images": len(images), "objects": len(annotations)}
