"""The translation family's train-dev draw, as ``pipelines/strategy/translation.py`` describes it.

    dlzoo train-dev translation
"""

from __future__ import annotations

import copy
from pathlib import Path

from pipelines.data import dates


def write_train_dev(params: dict, data_dir: Path, out: Path, n: int, seed: int) -> dict:
    n_dates = round(n * params["n_train"] / (params["n_train"] + params["n_train_not_dates"]))
    n_other = n - n_dates
    more = copy.deepcopy(params)
    more["n_test"] += n_dates
    more["n_dev_not_dates"] += n_other
    splits = dates.generate(more)  # the pipeline's seed: the same streams, continued
    pairs = splits["test"][params["n_test"]:] + (splits["dev"][-n_other:] if n_other else [])
    dates.write_tsv(Path(out) / "train_dev.tsv", pairs)
    return {"dates": n_dates, "not_dates": n_other}
