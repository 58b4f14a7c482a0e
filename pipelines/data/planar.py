"""The 2-D point sets of Courses 1 and 2, from the courses' own generators (Course 1 week 3's planar "flower",
Course 2's ``make_circles`` and ``make_moons`` settings), with held-out points drawn from the same
distributions.

    dlzoo data planar                    # writes data/planar/<set>_<split>.npy from params.yaml
    dlzoo data planar --seed 7 --out /tmp/planar

Each ``<set>_<split>.npy`` is an (m, 3) float64 array: the point's two coordinates, then its class (0 or 1);
``.npy`` rather than ``.npz``, whose zip entries carry the time of writing. The notebooks report training
accuracy on one draw (and, for Course 2, test accuracy on a second draw); here every split is its own draw
from a seed of its own, so ``test`` says how the boundary generalises.

* ``flower``: ``planar_utils.load_planar_dataset``: two classes of petals, ``r = a sin(4 t) + noise``, a = 4,
  0.2 noise on angle and radius; 400 training points as in the course, and with ``course_draw`` the very
  points of the notebook (``np.random.seed(1)``, then the same draws in the same order).
* ``circles``: scikit-learn's ``make_circles`` (an outer circle and an inner one at ``factor`` 0.8 of its
  radius, Gaussian noise 0.05, points evenly spaced on each); the course's 300 training / 100 test points.
* ``moons``: ``make_moons`` (two interleaved half circles, noise 0.2); the course's 300 training points.
* ``football``: C2W1's regularization set has the shape of a football field's kicks (``data.mat``, 211 / 200
  points); the file is not available, so this draws points of that shape and size, labelled by a wavy line
  with noise near it: an unregularized network can overfit it, as the course's does.

``course_draw`` gives the notebooks' own points where they define them (flower train: seed 1; circles train:
seed 1, test: seed 2; moons train: seed 3), drawn as scikit-learn draws them (shuffle, then noise) from
``np.random.RandomState(seed)``, which is what their ``np.random.seed`` calls seed; the other splits are
fresh draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SPLITS = ("train", "dev", "test")
SETS = ("flower", "circles", "moons", "football")


def flower(m: int, rng, a: float = 4.0, noise: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    n = m // 2
    xs, ys = [], []
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, n) + rng.standard_normal(n) * noise
        r = a * np.sin(4 * t) + rng.standard_normal(n) * noise
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(n, j))
    return np.concatenate(xs), np.concatenate(ys)


def _shuffle_then_noise(x, y, rng, noise: float):
    """scikit-learn's order of draws in ``make_circles``/``make_moons``: shuffle the points, then add noise."""
    order = np.arange(len(y))
    rng.shuffle(order)
    x, y = x[order], y[order]
    return x + rng.normal(scale=noise, size=x.shape), y


def circles(m: int, rng, noise: float = 0.05, factor: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    n_out, n_in = m // 2, m - m // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    x = np.r_[np.c_[np.cos(t_out), np.sin(t_out)], factor * np.c_[np.cos(t_in), np.sin(t_in)]]
    y = np.r_[np.zeros(n_out, int), np.ones(n_in, int)]
    return _shuffle_then_noise(x, y, rng, noise)


def moons(m: int, rng, noise: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    n_out, n_in = m // 2, m - m // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.r_[np.c_[np.cos(t_out), np.sin(t_out)], np.c_[1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]]
    y = np.r_[np.zeros(n_out, int), np.ones(n_in, int)]
    return _shuffle_then_noise(x, y, rng, noise)


def football(m: int, rng, flip: float = 0.12) -> tuple[np.ndarray, np.ndarray]:
    """Points on a field, labelled by which side of a wavy line they fall, 12 % of those near it flipped: the
    shape of C2W1's regularization data (``data.mat``, not available here), noisy enough to overfit."""
    x = np.c_[rng.uniform(-0.75, 0.45, m), rng.uniform(-0.75, 0.65, m)]
    boundary = 0.12 * np.sin(5 * x[:, 0]) - 0.3 * x[:, 0] - 0.05
    y = (x[:, 1] > boundary).astype(int)
    flipped = (rng.random(m) < flip) & (np.abs(x[:, 1] - boundary) < 0.25)
    y[flipped] = 1 - y[flipped]
    return x, y


GENERATORS = {"flower": flower, "circles": circles, "moons": moons, "football": football}
# The notebooks' own draws: the global seed each sets before generating a split (``course_draw``)
COURSE_SEEDS = {("flower", "train"): 1, ("circles", "train"): 1, ("circles", "test"): 2, ("moons", "train"): 3}


def generate(params: dict, seed: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"<set>_<split>": (x, y)}``; each (set, split) from its own child of ``seed``, shuffled."""
    root = np.random.SeedSequence(params["seed"] if seed is None else seed)
    out = {}
    for (name, sizes), child in zip(sorted(params["sets"].items()), root.spawn(len(params["sets"])), strict=True):
        if name not in GENERATORS:
            raise ValueError(f"data_planar.sets: unknown set {name!r}; known: {', '.join(SETS)}")
        for split, split_seed in zip(SPLITS, child.spawn(len(SPLITS)), strict=True):
            rng = np.random.default_rng(split_seed)
            # the notebook's own points: its np.random.seed(...) and then the same draws in the same order
            course = sizes.get("course_draw") and (name, split) in COURSE_SEEDS
            draw = np.random.RandomState(COURSE_SEEDS[name, split]) if course else rng
            x, y = GENERATORS[name](int(sizes[split]), draw)
            order = rng.permutation(len(y))
            out[f"{name}_{split}"] = (x[order].astype(np.float64), y[order].astype(np.int64))
    return out


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, int]:
    """Write ``<out>/<set>_<split>.npy``; returns the point count of each."""
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, (x, y) in generate(params, seed).items():
        np.save(out / f"{name}.npy", np.c_[x, y.astype(np.float64)])
        sizes[name] = len(y)
    return sizes


def read_split(data_dir: Path, name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x (m, 2) float64, y (m,) int64)`` of one set's split."""
    path = Path(data_dir) / f"{name}_{split}.npy"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `dlzoo data planar` (or dvc repro)")
    array = np.load(path)
    return array[:, :2], array[:, 2].astype(np.int64)
