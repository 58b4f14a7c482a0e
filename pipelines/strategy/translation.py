"""Date translation in the strategy report: train-dev pairs, views, the worst formats and example errors.

Train-dev continues the generator's streams past the pipeline's own splits: with ``n_test`` and
``n_dev_not_dates`` raised, the test split's extra dates and dev's extra non-dates are new strings of the
training formats and non-date kinds (every source string lives in one split), mixed as train mixes them.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.data import dates
from pipelines.strategy.views import sample


def view(folder: Path, split: str, out: Path, limit: int | None, seed: int, task) -> int:
    pairs = dates.read_tsv(Path(folder) / f"{split}.tsv")
    pairs = [pairs[i] for i in sample(len(pairs), limit, seed)]
    dates.write_tsv(out / "test.tsv", pairs)
    return len(pairs)


def _cell(text, empty: str) -> str:
    return (str(text) if text else empty).replace("|", "\\|")


def _said(error: dict) -> str:
    """What the model answered: its reading, or a refusal (below the confidence threshold) and its best guess."""
    reading = _cell(error["prediction"], "(not a date)")
    return f"refused (best guess {reading})" if error.get("refusal") else reading


def error_sample(task, model, view_dir: Path, details: dict, key: str, n: int, seed: int, data_params: dict):
    """The formats with the lowest exact match (evaluation's per-format details) and up to ``n`` of their
    errors: source, truth and what the model said."""
    families = [(name, d) for name, d in details.items() if isinstance(d, dict) and "exact_match" in d]
    worst = sorted(families, key=lambda kv: (kv[1]["exact_match"], -kv[1]["n"]))[:8]
    lines = ["The formats with the lowest exact match on test:", "", "| format | strings | exact match |",
             "|---|---|---|"]
    lines += [f"| {name} | {d['n']} | {d['exact_match']:.3f} |" for name, d in worst]
    errors = [(name, e) for name, d in worst for e in d.get("errors", [])][:n]
    lines += ["", "Errors of those formats:", "", "| format | source | truth | model |", "|---|---|---|---|"]
    lines += [f"| {name} | {_cell(e['source'], '')} | {_cell(e['target'], '(not a date)')} | "
              f"{_said(e)} |" for name, e in errors]
    return lines, {}
