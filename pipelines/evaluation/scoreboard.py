"""``reports/scoreboard.md``: every registered model's headline metric beside the course's figure."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines import registry


def lookup(metrics: dict, dotted: str):
    value = metrics
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def backend_rows(spec: registry.ModelSpec, reports: Path) -> list[str]:
    """A row per pretrained backend scored beside the model (``reports/<model>/backends.json``): the same
    headline on the same test protocol, and what the packaged real photographs gave."""
    path = reports / spec.name / "backends.json"
    if not spec.backends or not path.is_file():
        return []
    metrics = json.loads(path.read_text())
    rows = []
    headline = spec.headline.split(".", 1)[1]
    for backend, values in metrics.get("synthetic", {}).items():
        if backend == "course":
            continue  # the model's own row above
        real = metrics.get("real_photos", {}).get(backend, {})
        extra = ""
        if "true_accept_rate" in real:
            extra = (f" (real photos: true accepts {real['true_accept_rate']:.3f} of {real['same_pairs']} pairs, "
                     f"false accepts {real['false_accept_rate']:.3f} of {real['different_pairs']})")
        rows.append(f"| {spec.name} ({backend} backend, pretrained) | {spec.course} | {spec.headline} | "
                    f"{spec.course_figure} | {values[headline]:.4f}{extra} |")
    return rows


def write_scoreboard(out: Path, reports: Path = Path("reports")) -> str:
    """Write the scoreboard markdown to ``out`` (models without an evaluation show "not evaluated")."""
    lines = [
        "# dlzoo scoreboard",
        "",
        "Held-out metrics from `dlzoo evaluate` (reports/<model>/metrics.json), beside the course's figure.",
        "",
        "| model | course | metric | course's number | ours |",
        "|---|---|---|---|---|",
    ]
    for spec in sorted(registry.MODELS.values(), key=lambda s: (s.course, s.name)):
        path = reports / spec.name / "metrics.json"
        metrics = json.loads(path.read_text()) if path.is_file() else {}
        value = lookup(metrics, spec.headline)
        ours = "not evaluated" if value is None else f"{value:.4f}"
        also = [f"{key} {lookup(metrics, key):.4f}" for key in spec.also if lookup(metrics, key) is not None]
        if also:
            ours += " (" + ", ".join(also) + ")"
        lines.append(f"| {spec.name} | {spec.course} | {spec.headline} | {spec.course_figure} | {ours} |")
        lines += backend_rows(spec, reports)
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text
