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
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text
