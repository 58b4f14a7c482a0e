"""``artifacts/<model>/``: model.pt (state dict + exact config + data meta), metrics.json, history.csv.

``load_model`` rebuilds the network through the registry: training, evaluation and serving all use
the same model code.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import torch

from pipelines import registry


def write_artifacts(out_dir: Path, state: dict, run_name: str) -> dict:
    """Write the final checkpoint ``state`` of a run as the model's artifacts; returns metrics.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    bundle = {
        "model_name": state["model_name"], "config": state["config"], "meta": state["meta"],
        "state_dict": state["model"], "params": state["params"], "run": run_name,
    }
    torch.save(bundle, out_dir / "model.pt")
    history = state["history"]
    keys = list(dict.fromkeys(k for row in history for k in row))
    with (out_dir / "history.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)
    last = history[-1]
    metrics = {
        "dev": {k[len("dev_"):]: v for k, v in last.items() if k.startswith("dev_")},
        "train": {"loss": last["train_loss"], "epochs": len(history),
                  "seconds": round(sum(r["epoch_seconds"] for r in history), 1),
                  "resumed_at_epochs": state.get("resumed_at", [])},
        "run": run_name,
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def load_model(path: Path, device: str = "cpu"):
    """(model in eval mode, bundle) from a ``model.pt`` written by :func:`write_artifacts`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: train the model first (dlzoo train / dvc repro)")
    bundle = torch.load(path, map_location=device, weights_only=False)
    task_cls = registry.get(bundle["model_name"]).task_class()
    model = task_cls.build_model(bundle["config"])
    model.load_state_dict(bundle["state_dict"])
    return model.to(device).eval(), bundle


def file_hash(path: Path, length: int = 12) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:length]
