"""Image classification for Courses 1-2, from Fashion-MNIST (Debian ``dataset-fashion-mnist``: 60,000 training and
10,000 test images, 28 x 28 grey, 10 classes, MIT licence). The course's cat / non-cat and SIGNS photos are not
available offline; these stand in for them, and the scoreboard says so beside the course's number.

    dlzoo data fashion                   # writes data/fashion/<task>_<split>_{x,y}.npy from params.yaml
    dlzoo data fashion --seed 7 --out /tmp/fashion

* ``pair``: a binary task for Course 1 (cat / non-cat there): ``pair`` names two classes, label 1 for the first.
  Shirt against T-shirt/top by default: the pair a linear model separates worst of those that look alike.
* ``ten``: all ten classes, for Course 2 week 3's softmax classifier (six SIGNS there).

``train`` and ``dev`` are disjoint draws from the 60,000 training images; ``test`` comes from the 10,000 test
images only. Images are stored as uint8 ``(n, 28, 28)``, labels as int64 ``(n,)``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

SPLITS = ("train", "dev", "test")
CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip), as the format defines it: magic (dtype, number of dims), the dims, the data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_source(source: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    root = Path(source)
    if not (root / "train-images-idx3-ubyte.gz").is_file():
        raise FileNotFoundError(f"no Fashion-MNIST in {root}: `apt-get install dataset-fashion-mnist` "
                                "(bash scripts/setup.sh installs it)")
    return {part: (read_idx(root / f"{prefix}-images-idx3-ubyte.gz"), read_idx(root / f"{prefix}-labels-idx1-ubyte.gz"))
            for part, prefix in (("train", "train"), ("test", "t10k"))}


def _draw(rng: np.random.Generator, labels: np.ndarray, classes: list[int], n: int, exclude=()) -> np.ndarray:
    """``n`` indices of images of ``classes`` (balanced), none in ``exclude``."""
    chosen = []
    for i, c in enumerate(classes):
        pool = np.setdiff1d(np.flatnonzero(labels == c), exclude)
        k = n // len(classes) + (1 if i < n % len(classes) else 0)
        if k > len(pool):
            raise ValueError(f"data_fashion: {k} images of class {CLASSES[c]!r} asked, {len(pool)} available")
        chosen.append(rng.choice(pool, k, replace=False))
    return rng.permutation(np.concatenate(chosen))


def generate(params: dict, seed: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    source = load_source(params["source"])
    rng = np.random.default_rng(params["seed"] if seed is None else seed)
    out = {}
    for task, spec in params["tasks"].items():
        classes = [CLASSES.index(c) for c in spec["classes"]] if spec.get("classes") else list(range(len(CLASSES)))
        x_train, y_train = source["train"]
        train = _draw(rng, y_train, classes, int(spec["train"]))
        dev = _draw(rng, y_train, classes, int(spec["dev"]), exclude=train)
        x_test, y_test = source["test"]
        test = _draw(rng, y_test, classes, int(spec["test"]))
        relabel = np.full(len(CLASSES), -1)
        # binary: label 1 for the first class named; many classes: their index in the list
        relabel[classes] = [1, 0] if len(classes) == 2 else list(range(len(classes)))
        for split, (x, y, idx) in {"train": (x_train, y_train, train), "dev": (x_train, y_train, dev),
                                   "test": (x_test, y_test, test)}.items():
            out[f"{task}_{split}"] = (x[idx], relabel[y[idx]].astype(np.int64))
    return out


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, (x, y) in generate(params, seed).items():
        np.save(out / f"{name}_x.npy", x)
        np.save(out / f"{name}_y.npy", y)
        sizes[name] = len(y)
    return sizes


def read_split(data_dir: Path, task: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x (n, 784) float64 in [0, 1], y (n,) int64)`` of one task's split."""
    path = Path(data_dir) / f"{task}_{split}_x.npy"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `dlzoo data fashion` (or dvc repro)")
    x = np.load(path)
    return x.reshape(len(x), -1).astype(np.float64) / 255.0, np.load(Path(data_dir) / f"{task}_{split}_y.npy")
