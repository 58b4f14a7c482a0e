"""The trigger word family's train-dev draw, as ``pipelines/strategy/trigger_word.py`` describes it.

    dlzoo train-dev trigger_word
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from pathlib import Path

from tqdm import tqdm

from pipelines.data import kokoro
from pipelines.data.trigger_word import dataset


def _linked_cache(source: Path, scratch: Path) -> Path:
    """``scratch``: a tree of hard links to ``source``'s files (a copy that costs no space)."""
    for path in source.rglob("*"):
        if path.is_file():
            target = scratch / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:  # another file system: copy
                shutil.copy2(path, target)
    return scratch


def write_train_dev(params: dict, data_dir: Path, out: Path, n: int, seed: int, workers: int | None = None) -> dict:
    out = Path(out)
    p = dataset.check_params(params, params["seed"])
    scratch = out / ".words"
    shutil.rmtree(scratch, ignore_errors=True)
    if p.get("cache_dir") and Path(p["cache_dir"]).is_dir():
        p = {**p, "cache_dir": str(_linked_cache(Path(p["cache_dir"]), scratch))}
    else:
        p = {**p, "cache_dir": str(scratch)}
    (out / "train").mkdir(parents=True, exist_ok=True)
    tasks = [("train", i) for i in range(p["n_train"], p["n_train"] + n)]
    kokoro.prepare()
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    init_args = (p, params["seed"], str(out))
    records = []
    with tqdm(total=len(tasks), unit="clip", desc="trigger_word train_dev") as bar:
        with multiprocessing.get_context("spawn").Pool(workers, dataset._init_worker, init_args) as pool:
            for record in pool.imap(dataset._write_clip, tasks, chunksize=4):
                records.append(record)
                bar.update(1)
    shutil.rmtree(scratch)
    shutil.rmtree(out / "train_dev", ignore_errors=True)
    (out / "train").rename(out / "train_dev")
    for record in records:
        record["file"] = "train_dev/" + record["file"].split("/", 1)[1]
    (out / "train_dev.json").write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    return {"clips": len(records), "activates": sum(len(r["activate_ends_s"]) for r in records)}
