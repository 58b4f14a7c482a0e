"""The face family's train-dev draw, as ``pipelines/strategy/face.py`` describes it.

    dlzoo train-dev face
"""

from __future__ import annotations

from pathlib import Path

from pipelines.data import faces
from pipelines.strategy.views import sample


def write_train_dev(params: dict, data_dir: Path, out: Path, n: int, seed: int) -> dict:
    """``n`` training identities (a seeded sample), ``images_per_id`` new photos each."""
    first = faces.images_per_split(params)["train"]
    count = params["images_per_id"]
    chosen = sample(params["n_train_ids"], n, seed)
    for index in chosen:
        folder = Path(out) / "train_dev" / faces.identity_name("train", int(index))
        folder.mkdir(parents=True, exist_ok=True)
        photos = faces.identity_images(params["seed"], "train", int(index), first + count, params["size"])[first:]
        for k, image in enumerate(photos):
            image.save(folder / f"{first + k:03d}.png", optimize=False)
    return {"identities": len(chosen), "images": len(chosen) * count}
