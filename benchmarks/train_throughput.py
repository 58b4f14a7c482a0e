"""Training throughput: `dlzoo train` through Ray (1 worker) vs a plain single-process torch loop.

    python benchmarks/train_throughput.py                 # default model size, 12k examples, 2 epochs
    python benchmarks/train_throughput.py --n-train 3000  # quicker

Both train the same model on the same data with the same batch size and threads. Reported:
samples/s of the training epochs (startup excluded) and wall time including startup; the ratio
Ray / plain says what Ray Train costs per step. Writes benchmarks/results/train_throughput.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from pipelines.data.dates import write_dataset
from pipelines.params import load_params
from pipelines.tasks.translation import TranslationTask


def plain_torch(params: dict, data: Path, epochs: int) -> dict:
    """The textbook loop: DataLoader, AdamW, backward, step; nothing else."""
    torch.manual_seed(0)
    task = TranslationTask(params)
    task.load(data)
    train, _ = task.datasets()
    model = task.build_model(task.model_config())
    opt = torch.optim.AdamW(model.parameters(), lr=params["train"]["lr"])
    loader = DataLoader(train, batch_size=params["train"]["batch_size"], shuffle=True, collate_fn=task.collate,
                        drop_last=True)
    seen, train_s = 0, 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        for batch in loader:
            loss = task.loss(model, batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += batch["src"].size(0)
        train_s += time.perf_counter() - t0
    return {"samples_per_second": seen / train_s, "train_seconds": train_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=12000, help="training examples")
    parser.add_argument("--epochs", type=int, default=2, help="epochs for each contender")
    parser.add_argument("--out", default="benchmarks/results/train_throughput.json", help="JSON result file")
    args = parser.parse_args()
    params = load_params("params.yaml")
    torch.set_num_threads(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data_params = dict(params["data_translation"], n_train=args.n_train, n_dev=500, n_test=10, n_unseen=10)
        write_dataset(data_params, tmp / "data")
        model_params = copy.deepcopy(params["translation"])
        model_params["train"]["epochs"] = args.epochs

        t0 = time.perf_counter()
        plain = plain_torch(model_params, tmp / "data", args.epochs)
        plain["wall_seconds"] = time.perf_counter() - t0

        from pipelines.training.driver import train_with_ray

        ray_params = copy.deepcopy(params)
        ray_params["translation"] = model_params
        ray_params["ray"].update(num_workers=1, storage_path=str(tmp / "ray"))
        t0 = time.perf_counter()
        train_with_ray("translation", ray_params, tmp / "data", tmp / "art")
        wall = time.perf_counter() - t0
        with (tmp / "art" / "history.csv").open() as f:
            import csv

            rows = list(csv.DictReader(f))
        train_s = sum(float(r["epoch_seconds"]) for r in rows)
        ray_result = {"samples_per_second": sum(float(r["samples_per_second"]) * float(r["epoch_seconds"])
                                                for r in rows) / train_s,
                      "train_seconds": train_s, "wall_seconds": wall}
    result = {
        "n_train": args.n_train, "epochs": args.epochs, "batch_size": model_params["train"]["batch_size"],
        "threads": os.cpu_count(), "plain_torch": plain, "ray_1_worker": ray_result,
        "ratio_samples_per_second_ray_over_plain": ray_result["samples_per_second"] / plain["samples_per_second"],
        "ratio_wall_ray_over_plain": ray_result["wall_seconds"] / plain["wall_seconds"],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
