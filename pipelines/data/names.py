"""Course 5 week 1's character-level language model data: people's names from faker's name lists (the course's
1,536 dinosaur names are not available offline; faker's en_US first and last names are 1,584 lower-case words of
a-z, about the same size, MIT licence).

    dlzoo data names                     # writes data/names/{train,dev,test}.txt from params.yaml
    dlzoo data names --seed 7 --out /tmp/names

Every name of the chosen locales' lists (``locales``, ``parts``) is lower-cased; names with letters outside
a-z are dropped (the model's alphabet is the course's: a-z and the end of a name). The distinct names are
shuffled with the seed and cut into train / dev / test by ``shares``: a test name is never a training name, so
the held-out loss scores names the model never read. One name per line.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np

SPLITS = ("train", "dev", "test")
LETTER_NAME = re.compile(r"[a-z]+")


def source_names(locales: list[str], parts: list[str]) -> list[str]:
    """The distinct lower-case a-z names of faker's person providers ``locales`` x ``parts``, sorted."""
    names = set()
    for locale in locales:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ModuleNotFoundError as err:
            raise ValueError(f"data_names.locales: faker has no person provider {locale!r}") from err
        for part in parts:
            if not hasattr(provider, part):
                raise ValueError(f"data_names.parts: faker's {locale} person provider has no {part!r}")
            names.update(name.lower() for name in getattr(provider, part))
    return sorted(name for name in names if LETTER_NAME.fullmatch(name))


def read_split(data_dir: Path, split: str) -> list[str]:
    """The names of one split; ``FileNotFoundError`` naming the file when it is absent."""
    path = Path(data_dir) / f"{split}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: `dlzoo data names` writes it")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    bad = [name for name in names if not LETTER_NAME.fullmatch(name)]
    if bad:
        raise ValueError(f"{path}: names must be lower-case a-z only, found {bad[:3]}")
    return names


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, int]:
    names = source_names(params["locales"], params["parts"])
    rng = np.random.default_rng(params["seed"] if seed is None else seed)
    names = [names[i] for i in rng.permutation(len(names))]
    shares = params["shares"]
    n_dev, n_test = (round(len(names) * shares[split]) for split in ("dev", "test"))
    splits = {"dev": names[:n_dev], "test": names[n_dev:n_dev + n_test], "train": names[n_dev + n_test:]}
    out.mkdir(parents=True, exist_ok=True)
    for split, part in splits.items():
        (out / f"{split}.txt").write_text("".join(f"{name}\n" for name in part))
    return {split: len(splits[split]) for split in SPLITS}
