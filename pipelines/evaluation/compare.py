"""A table of registered models compared on one task: every model whose registry entry names the same
``compare`` table, with what each costs beside what it scores.

    dlzoo compare case_studies      # reports/compare/case_studies.{md,json}

Per model: its headline metric (reports/<model>/metrics.json), parameters, FLOPs of one image
(``torch.utils.flop_counter``: a multiply-add counts two), training minutes (artifacts/<model>/metrics.json)
and images/s of inference measured here, every model in this one process on the same thread count, so
the speeds compare as ratios (``--threads``, default one: a per-core figure).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from pipelines import registry
from pipelines.evaluation.scoreboard import lookup
from pipelines.training.artifacts import load_model

OUT = Path("reports/compare")


def members(table: str) -> list[registry.ModelSpec]:
    """The registered models of ``table``, in registry order; a ``KeyError`` names the known tables."""
    specs = [spec for spec in registry.MODELS.values() if spec.compare == table]
    if not specs:
        known = sorted({spec.compare for spec in registry.MODELS.values() if spec.compare})
        raise KeyError(f"no registered model joins the table {table!r}; tables: {', '.join(known) or 'none'}")
    return specs


def flops_per_example(model: torch.nn.Module, example: torch.Tensor) -> int:
    """FLOPs of one forward pass over one example (``example`` holds one)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(example)
    return int(counter.get_total_flops())


def images_per_second(model: torch.nn.Module, shape: tuple[int, ...], batch: int = 256,
                      seconds: float = 2.0) -> float:
    """Inference throughput on random inputs of ``shape`` per example: batches of ``batch`` after one warm-up,
    for at least ``seconds``."""
    x = torch.rand(batch, *shape, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        model(x)
        start, seen = time.perf_counter(), 0
        while time.perf_counter() - start < seconds or seen == 0:
            model(x)
            seen += batch
    return seen / (time.perf_counter() - start)


def measure(spec: registry.ModelSpec, artifacts: Path, reports: Path, seconds: float) -> dict:
    model, bundle = load_model(artifacts / spec.name / "model.pt")
    shape = tuple(bundle["meta"]["input_shape"])
    metrics = json.loads((reports / spec.name / "metrics.json").read_text())
    trained = json.loads((artifacts / spec.name / "metrics.json").read_text())
    return {
        "model": spec.name,
        "arch": bundle["config"].get("arch", spec.name),
        "metric": spec.headline,
        "value": lookup(metrics, spec.headline),
        "course_figure": spec.course_figure,
        "parameters": sum(p.numel() for p in model.parameters()),
        "flops": flops_per_example(model, torch.zeros(1, *shape)),
        "input_size": bundle["config"].get("input_size"),
        "augment": ", ".join(f"{k} {v}" for k, v in (bundle["params"].get("augment") or {}).items() if v) or "none",
        "train_minutes": round(trained["train"]["seconds"] / 60, 2),
        "epochs": trained["train"]["epochs"],
        "images_per_second": round(images_per_second(model, shape, seconds=seconds), 1),
    }


def render(table: str, rows: list[dict], threads: int) -> str:
    metric = rows[0]["metric"]
    lines = [f"# {table.replace('_', ' ').capitalize()}", "",
             f"Made by `dlzoo compare {table}` (`dvc repro compare_{table}`). `{metric}`: held-out "
             f"(reports/<model>/metrics.json); FLOPs: one image, one forward pass (a multiply-add is two); "
             f"inference: images/s on {threads} thread(s), every model measured in the same run.", "",
             "| model | input | parameters | FLOPs / image | augmentation | epochs | training minutes | "
             f"inference images/s | {metric} | the lecture's figure |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        value = "not evaluated" if r["value"] is None else f"{r['value']:.4f}"
        size = f"{r['input_size']} x {r['input_size']}" if r["input_size"] else "-"
        lines.append(f"| {r['model']} | {size} | {r['parameters'] / 1e6:.3f} M | {r['flops'] / 1e6:.1f} M | "
                     f"{r['augment']} | {r['epochs']} | {r['train_minutes']:.1f} | {r['images_per_second']:,.0f} | "
                     f"{value} | {r['course_figure']} |")
    return "\n".join(lines) + "\n"


def write(table: str, out: Path = OUT, artifacts: Path = Path("artifacts"), reports: Path = Path("reports"),
          threads: int = 1, seconds: float = 2.0, echo=print) -> list[dict]:
    """Measure every member of ``table`` and write ``out/<table>.md`` and ``.json``."""
    torch.set_num_threads(threads)
    rows = []
    for spec in members(table):
        echo(f"[dlzoo] measuring {spec.name}")
        rows.append(measure(spec, Path(artifacts), Path(reports), seconds))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{table}.json").write_text(json.dumps({"threads": threads, "rows": rows}, indent=2) + "\n")
    (out / f"{table}.md").write_text(render(table, rows, threads))
    return rows
