"""Fashion-MNIST's reader and the Courses 1-2 image tasks, on tiny IDX files written here (the real ones come
from Debian's dataset-fashion-mnist)."""

from __future__ import annotations

import copy
import gzip

import numpy as np
import pytest

from pipelines.data import fashion
from pipelines.training.loop import train_loop_per_worker
from pipelines.training.session import LocalSession


def write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def source(tmp_path):
    """100 training and 50 test images per class; class c is a bright square at a place of its own."""
    rng = np.random.default_rng(0)
    for prefix, per_class in (("train", 100), ("t10k", 50)):
        labels = np.repeat(np.arange(10), per_class)
        images = rng.integers(0, 60, (len(labels), 28, 28))
        for i, c in enumerate(labels):
            images[i, 2 * c:2 * c + 6, 2 * c:2 * c + 6] = 250
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return tmp_path


def test_idx_reader_round_trips_and_refuses_other_files(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(fashion.read_idx(tmp_path / "a.gz"), array)
    with gzip.open(tmp_path / "b.gz", "wb") as f:
        f.write(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="IDX"):
        fashion.read_idx(tmp_path / "b.gz")


def test_splits_are_disjoint_balanced_and_relabelled(source, tmp_path):
    params = {"source": str(source), "seed": 1, "tasks": {
        "pair": {"classes": ["shirt", "t-shirt/top"], "train": 40, "dev": 20, "test": 20},
        "ten": {"train": 200, "dev": 100, "test": 100}}}
    sizes = fashion.write_dataset(params, tmp_path / "out")
    assert sizes == {"pair_train": 40, "pair_dev": 20, "pair_test": 20, "ten_train": 200, "ten_dev": 100,
                     "ten_test": 100}
    x, y = fashion.read_split(tmp_path / "out", "pair", "train")
    assert x.shape == (40, 784) and 0 <= x.min() and x.max() <= 1 and sorted(set(y)) == [0, 1] and y.sum() == 20
    # train and dev are disjoint draws from the training images
    train, dev = (np.load(tmp_path / "out" / f"ten_{s}_x.npy").reshape(-1, 784) for s in ("train", "dev"))
    assert not {row.tobytes() for row in train} & {row.tobytes() for row in dev}
    params["tasks"]["pair"]["train"] = 200  # 100 shirts for train leave none for dev
    with pytest.raises(ValueError, match="images of class"):
        fashion.generate(params)
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        fashion.load_source(tmp_path / "nowhere")


@pytest.mark.parametrize("model", ["c1w2_logistic", "c1w4_deep", "c2w3_softmax"])
def test_each_image_model_learns_the_easy_version(model, source, smoke_params, tmp_path):
    data = copy.deepcopy(smoke_params["data_fashion"])
    data["source"] = str(source)
    fashion.write_dataset(data, tmp_path / "data")
    params = copy.deepcopy(smoke_params[model])
    params["train"]["epochs"] = 3
    params["train"]["lr"] = 0.05 if "passes" in params["train"] else 0.01
    if "passes" in params["train"]:
        params["train"]["passes"] = 300
    session = LocalSession(tmp_path / "run")
    train_loop_per_worker({"model": model, "params": params, "data_dir": str(tmp_path / "data"), "threads": 1},
                          session)
    last = session.load_checkpoint()["history"][-1]
    accuracies = [v for k, v in last.items() if k.startswith("dev_") and k.endswith("accuracy")]
    assert accuracies and min(accuracies) > 0.9, last
