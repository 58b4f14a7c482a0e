"""How many labelled examples each model of a compare table needs: every member registered with ``curve=True`` is
trained again on the first n training examples (``train.labelled``) for each n of its params' ``curve.sizes``,
through the same driver as ``dlzoo train``, and evaluated on every held-out split; its last point is the model
itself, trained on every example (reports/<model>/metrics.json).

    dlzoo curve transfer        # reports/compare/transfer_curve.{md,json}

The task decides what a smaller set trains for (the transfer task repeats it to the split's size: as many
steps for every n). The table gives, per model, the fewest examples whose ``curve.metric`` (default: the
headline) reaches ``curve.target``. The networks trained for the curve are not kept: only their scores.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

from pipelines import registry
from pipelines.evaluation.compare import members
from pipelines.evaluation.scoreboard import lookup
from pipelines.params import section

OUT = Path("reports/compare")


def settings(params: dict, spec: registry.ModelSpec) -> dict:
    """The model's ``curve`` params, checked: sizes (ascending, positive), target, metric."""
    curve = section(params, spec.name).get("curve")
    if not curve or not curve.get("sizes"):
        raise ValueError(f"{spec.name}: no curve.sizes in params.yaml")
    sizes = [int(n) for n in curve["sizes"]]
    if sizes != sorted(set(sizes)) or sizes[0] <= 0:
        raise ValueError(f"{spec.name}.curve.sizes must be positive and ascending, got {curve['sizes']}")
    return {"sizes": sizes, "target": float(curve.get("target", 0.9)), "metric": curve.get("metric", spec.headline)}


def measure(spec: registry.ModelSpec, params: dict, data_dir: Path, artifacts: Path, reports: Path,
            echo=print) -> dict:
    from pipelines.training.artifacts import load_model
    from pipelines.training.driver import train

    curve = settings(params, spec)
    _, bundle = load_model(artifacts / spec.name / "model.pt")
    everything = int(bundle["meta"]["train_images"])
    if curve["sizes"][-1] >= everything:
        raise ValueError(f"{spec.name}.curve.sizes must stay below the {everything} training examples the model "
                         f"itself was trained on, got {curve['sizes']}")
    points = []
    for n in curve["sizes"]:
        run = copy.deepcopy(params)
        section(run, spec.name)["train"]["labelled"] = n
        echo(f"[dlzoo] curve {spec.name}: {n} labelled examples")
        with tempfile.TemporaryDirectory(prefix=f"curve-{spec.name}-") as out:
            trained = train(spec.name, run, data_dir, Path(out), use_ray=spec.ray)
            net, bundle = load_model(Path(out) / "model.pt")
        task = spec.task_class()(section(run, spec.name), bundle["meta"])
        metrics, _ = task.evaluate(net, data_dir)
        points.append({"n": n, "train_minutes": round(trained["train"]["seconds"] / 60, 2), "metrics": metrics})
    trained = json.loads((artifacts / spec.name / "metrics.json").read_text())
    points.append({"n": everything, "train_minutes": round(trained["train"]["seconds"] / 60, 2),
                   "metrics": json.loads((reports / spec.name / "metrics.json").read_text())})
    reached = next((p["n"] for p in points if (lookup(p["metrics"], curve["metric"]) or 0) >= curve["target"]), None)
    return {"model": spec.name, **curve, "points": points, "reaches_target_at": reached}


def render(table: str, rows: list[dict]) -> str:
    sizes = sorted({p["n"] for r in rows for p in r["points"]})
    splits = sorted({split for r in rows for p in r["points"] for split in p["metrics"]},
                    key=lambda s: (s != rows[0]["metric"].split(".")[0], s))
    lines = [f"# {table.replace('_', ' ').capitalize()}: labelled examples", "",
             f"Made by `dlzoo curve {table}` (`dvc repro curve_{table}`): each model trained again on the first n "
             "examples of a class-balanced order of its train split (nested sets), then evaluated on every held-out "
             "split; the last column is the model itself, trained on all of them.", ""]
    for split in splits:
        metric = rows[0]["metric"].split(".", 1)[1]
        lines += [f"## {split}.{metric}", "",
                  "| model | " + " | ".join(f"n = {n}" for n in sizes) + " | fewest examples to reach the target |",
                  "|---|" + "---|" * (len(sizes) + 1)]
        for r in rows:
            values = {p["n"]: lookup(p["metrics"], f"{split}.{metric}") for p in r["points"]}
            cells = [("-" if values.get(n) is None else f"{values[n]:.3f}") for n in sizes]
            goal = ""
            if f"{split}.{metric}" == r["metric"]:
                goal = (f"{r['reaches_target_at']} (>= {r['target']:.2f})" if r["reaches_target_at"]
                        else f"not within {r['points'][-1]['n']} (target {r['target']:.2f})")
            lines.append(f"| {r['model']} | " + " | ".join(cells) + f" | {goal} |")
        lines.append("")
    return "\n".join(lines)


def write(table: str, params: dict, data_dir_of, out: Path = OUT, artifacts: Path = Path("artifacts"),
          reports: Path = Path("reports"), echo=print) -> list[dict]:
    """Measure every curve member of ``table`` (``data_dir_of(spec)``: its data folder) into ``out/<table>_curve``."""
    specs = [spec for spec in members(table) if spec.curve]
    if not specs:
        raise KeyError(f"no model of the table {table!r} is registered with curve=True")
    rows = [measure(spec, params, Path(data_dir_of(spec)), Path(artifacts), Path(reports), echo) for spec in specs]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{table}_curve.json").write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    (out / f"{table}_curve.md").write_text(render(table, rows))
    return rows
