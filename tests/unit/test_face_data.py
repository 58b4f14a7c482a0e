"""Data tests for the synthetic face identities: determinism, disjoint splits, layout, identity signal, the loader."""

import re

import numpy as np
import pytest
from PIL import Image, ImageFilter

from pipelines.data.faces import SPLITS, identity_images, write_dataset
from pipelines.data.identity_folders import load_identity_folders

PARAMS = {"seed": 11, "n_train_ids": 3, "n_dev_ids": 2, "n_test_ids": 2, "images_per_id": 3, "size": 48}


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    out = tmp_path_factory.mktemp("faces")
    summary = write_dataset(PARAMS, out, workers=1)
    return out, summary


def _images(root):
    return sorted(root.glob("*/*/*.png"))


def test_same_seed_same_bytes_other_seed_other_images(faces, tmp_path):
    """Same seed: the same bytes, whatever the worker count or the number of identities in other splits."""
    out, _ = faces
    params = {**PARAMS, "n_train_ids": 2, "n_dev_ids": 1, "n_test_ids": 1}
    write_dataset(params, tmp_path / "again", workers=2)
    write_dataset(params, tmp_path / "other", seed=PARAMS["seed"] + 1, workers=1)
    again = _images(tmp_path / "again")
    assert len(again) == 4 * PARAMS["images_per_id"]
    for path in again:
        relative = path.relative_to(tmp_path / "again")
        assert path.read_bytes() == (out / relative).read_bytes(), relative
        assert path.read_bytes() != (tmp_path / "other" / relative).read_bytes(), relative


def test_counts_and_disjoint_identities(faces):
    out, summary = faces
    data = {split: load_identity_folders(out / split) for split in SPLITS}
    for split in SPLITS:
        assert len(data[split]) == PARAMS[f"n_{split}_ids"] == summary[f"{split}_ids"]
        assert all(len(paths) == PARAMS["images_per_id"] for paths in data[split].values())
        assert summary[f"{split}_images"] == PARAMS[f"n_{split}_ids"] * PARAMS["images_per_id"]
    assert not set(data["train"]) & set(data["dev"])
    assert not set(data["train"]) & set(data["test"])
    assert not set(data["dev"]) & set(data["test"])


def test_more_training_images_leave_the_first_ones_and_dev_and_test_unchanged(faces, tmp_path):
    """``train_images_per_id`` adds training images only: dev and test (the evaluation protocol) and the first
    training images keep their bytes."""
    out, _ = faces
    summary = write_dataset({**PARAMS, "train_images_per_id": 5}, tmp_path, workers=1)
    assert summary["train_images"] == 5 * PARAMS["n_train_ids"]
    assert summary["dev_images"] == PARAMS["n_dev_ids"] * PARAMS["images_per_id"]
    for split in SPLITS:
        folders = load_identity_folders(tmp_path / split)
        assert {len(paths) for paths in folders.values()} == {5 if split == "train" else PARAMS["images_per_id"]}
    for path in _images(out):  # every image of the 3-per-identity set is in the larger one, byte for byte
        assert path.read_bytes() == (tmp_path / path.relative_to(out)).read_bytes(), path


def test_too_few_training_images_are_refused(tmp_path):
    with pytest.raises(ValueError, match="train_images_per_id"):
        write_dataset({**PARAMS, "train_images_per_id": 1}, tmp_path)


def test_images_are_rgb_of_the_requested_size(faces):
    out, _ = faces
    for path in _images(out):
        with Image.open(path) as img:
            assert img.mode == "RGB" and img.size == (PARAMS["size"], PARAMS["size"])


def test_each_split_draws_its_own_people():
    assert identity_images(3, "dev", 0, 1, 48)[0].tobytes() != identity_images(3, "train", 0, 1, 48)[0].tobytes()


def test_photos_of_one_identity_are_closer_than_photos_of_different_identities():
    def feature(img):   # blurred, downsampled centre crop: the face, little background
        crop = img.filter(ImageFilter.GaussianBlur(2)).crop((24, 20, 72, 76)).resize((12, 14))
        return np.asarray(crop, np.float32).ravel()

    feats = np.array([[feature(img) for img in identity_images(0, "train", i, 4, 96)] for i in range(6)])
    n_ids, n_images, _ = feats.shape
    flat = feats.reshape(n_ids * n_images, -1)
    labels = np.repeat(np.arange(n_ids), n_images)
    dist = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
    same = (labels[:, None] == labels[None]) & ~np.eye(len(labels), dtype=bool)
    different = labels[:, None] != labels[None]
    assert dist[same].mean() * 1.05 < dist[different].mean()
    # ...but not trivially: some photo of another person is nearer than some photo of the same person.
    assert dist[same].max() > dist[different].min()


def test_loader_reads_a_folder_tree_and_names_an_empty_or_missing_root(tmp_path):
    for name, files in {"ada": ["b.jpg", "a.png"], "bob": ["1.JPEG"], "empty": [], ".hidden": ["x.png"]}.items():
        (tmp_path / "people" / name).mkdir(parents=True)
        for f in files:
            Image.new("RGB", (8, 8)).save(tmp_path / "people" / name / f, format="PNG")
    (tmp_path / "people" / "ada" / "notes.txt").write_text("not an image")
    data = load_identity_folders(tmp_path / "people")
    assert {k: [p.name for p in v] for k, v in data.items()} == {"ada": ["a.png", "b.jpg"], "bob": ["1.JPEG"]}
    (tmp_path / "none").mkdir()
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "none"))):
        load_identity_folders(tmp_path / "none")
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "missing"))):
        load_identity_folders(tmp_path / "missing")


def test_bad_params_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="images_per_id"):
        write_dataset({**PARAMS, "images_per_id": 1}, tmp_path)
