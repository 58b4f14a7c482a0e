"""Course 3's strategy for one model, measured: train, train-dev, dev and test error beside a declared human-level
proxy, the gaps between them, the course's recommendation for the largest, and a sample of errors for a person.

    dlzoo train-dev translation        # data/translation_train_dev (pipelines/strategy/train_dev)
    dlzoo strategy translation         # reports/translation/strategy.md (+ strategy.json, strategy/ figures)

Each split is shown to the model's own ``evaluate`` (the metric the scoreboard prints, the same code) through a
*view*: a temporary folder in the dataset's format whose held-out split is that one split (the family module's
``view``). The error is ``1 - <metric>`` (``ModelSpec.strategy_metric``, default the headline's key; the stage passes it
as ``--metric``, so ``dvc.yaml`` shows it); the human-level proxy is ``<model>.human_level`` in params; ``train``
is a seeded sample of the training split (``strategy.train_sample``), ``train_dev`` the dataset's train-dev draw
(``strategy.train_dev``): examples of the training distribution that no model was trained on.

The gaps, as the course names them: avoidable bias = train - human, variance = train-dev - train, data mismatch
= dev - train-dev, overfitting to dev = test - dev. The largest gap above ``strategy.tolerance`` decides the
recommendation, unless it lies within twice its standard error: errors carry a binomial standard error over the
decisions scored (examples, or a family's ``scored``: face pairs, detection objects, trigger words; exact for
accuracies, a guide for mAP and recall).
"""

from __future__ import annotations

import importlib
import json
import math
import tempfile
import time
from pathlib import Path

from pipelines import registry
from pipelines.params import section
from pipelines.strategy.train_dev import train_dev_dir

SPLITS = ("train", "train_dev", "dev", "test")
LABELS = {"train": "train (sample)", "train_dev": "train-dev", "dev": "dev", "test": "test"}
GAPS = {  # name: (what it is, (larger split, smaller split or "human"))
    "avoidable_bias": ("avoidable bias (train - human)", ("train", "human")),
    "variance": ("variance (train-dev - train)", ("train_dev", "train")),
    "data_mismatch": ("data mismatch (dev - train-dev)", ("dev", "train_dev")),
    "dev_overfitting": ("overfitting to dev (test - dev)", ("test", "dev")),
}
ADVICE = {
    "avoidable_bias": "Avoidable bias dominates: train a bigger model, train longer or with a better optimizer "
                      "(momentum, RMSprop, Adam), or search the architecture and hyperparameters.",
    "variance": "Variance dominates: get more training data (or synthesize it), regularize (L2, dropout, data "
                "augmentation), or search for an architecture that generalizes better.",
    "data_mismatch": "Data mismatch dominates: look at dev errors against train-dev errors to learn how the "
                     "distributions differ, then collect or synthesize training data closer to dev/test "
                     "(artificial data synthesis, without synthesizing one small corner over and over).",
    "dev_overfitting": "The model (or its thresholds) is tuned to dev: get a bigger dev set.",
    # when the dataset's test differs from dev by design (params strategy.dev_test_differ.<dataset>)
    "dev_test_mismatch": "Dev and test differ by design ({why}), so test - dev measures that difference, not "
                         "overfitting to dev. The course's rule: take dev from the distribution the model must "
                         "serve (test's), so that the choices made on dev (threshold, checkpoint, "
                         "hyperparameters) are made on it; and train on data closer to it.",
    "none": "No gap is both above the tolerance and outside sampling noise: the model is near the human-level "
            "proxy on this data; progress from here is slow, and the next gain needs a better proxy for Bayes error, "
            "more examples to measure with, or harder data.",
}


def family(spec: registry.ModelSpec):
    """The strategy module of the model's dataset (``DatasetSpec.strategy``)."""
    dataset = registry.dataset(spec.dataset)
    if not dataset.strategy:
        raise KeyError(f"dataset {dataset.name!r} declares no strategy module")
    return importlib.import_module(dataset.strategy)


def standard_error(error: float, n: int) -> float:
    return math.sqrt(max(error * (1 - error), 0.0) / n) if n else float("nan")


DEV_TEST_LABEL = "dev/test mismatch (test - dev)"


def analyse(errors: dict[str, float], counts: dict[str, int], human: float, tolerance: float,
            dev_test_differ: str | None = None) -> dict:
    """The gaps, each with its standard error (``counts``: the scored decisions behind each error), and the
    largest one above ``tolerance`` and outside twice its standard error (``"none"`` when no gap is). With
    ``dev_test_differ`` (why test is not dev's distribution) test - dev is read as that mismatch."""
    values = {**errors, "human": human}
    se = {split: standard_error(errors[split], counts[split]) for split in errors} | {"human": 0.0}
    gaps = {}
    for name, (_, (big, small)) in GAPS.items():
        value = values[big] - values[small]
        noise = math.hypot(se[big], se[small])
        gaps[name] = {"value": value, "se": noise, "within_noise": abs(value) < 2 * noise}
    real = [g for g in gaps if gaps[g]["value"] > tolerance and not gaps[g]["within_noise"]]
    main = max(real, key=lambda g: gaps[g]["value"]) if real else "none"
    if dev_test_differ and main == "dev_overfitting":
        main = "dev_test_mismatch"
    return {"gaps": gaps, "main": main, "advice": ADVICE[main].format(why=dev_test_differ),
            "dev_test_differ": dev_test_differ}


def human_level(params: dict, model: str) -> tuple[float, str]:
    """The model's declared human-level (Bayes) error proxy and why: ``<model>.human_level`` in params."""
    level = section(params, model).get("human_level")
    if not isinstance(level, dict) or not isinstance(level.get("error"), int | float) or not level.get("note"):
        raise ValueError(f"params: {model}.human_level needs an error (a share, e.g. 0.01) and a note saying why")
    if not 0.0 <= level["error"] < 1.0:
        raise ValueError(f"params: {model}.human_level.error must be in [0, 1), got {level['error']}")
    return float(level["error"]), str(level["note"])


def measure(model: str, params: dict, model_file: Path | None = None, out_dir: Path | None = None,
            metric: str | None = None) -> dict:
    """Evaluate ``model`` on the four splits, analyse, pick the error sample; write ``strategy.md``,
    ``strategy.json`` and the sample's files (``strategy/``) to ``out_dir`` (default reports/<model>)."""
    from pipelines.training.artifacts import load_model

    spec = registry.get(model)
    dataset = registry.dataset(spec.dataset)
    fam = family(spec)
    cfg = params["strategy"]
    seed, key = int(cfg["seed"]), metric or spec.strategy_key
    human, note = human_level(params, model)
    data_params = section(params, dataset.params_section)
    data_dir = Path(data_params["out"])
    train_dev = train_dev_dir(params, dataset)
    if not train_dev.is_dir():
        raise FileNotFoundError(f"no train-dev split at {train_dev}: run `dlzoo train-dev {dataset.name}` first")
    net, bundle = load_model(Path(model_file or f"artifacts/{model}/model.pt"))
    task = spec.task_class()(section(params, model), bundle["meta"])
    task.name = model
    sources = {"train": (data_dir, "train", cfg["train_sample"].get(dataset.name)),
               "train_dev": (train_dev, "train_dev", None), "dev": (data_dir, "dev", None),
               "test": (data_dir, "test", None)}
    errors, counts, scored = {}, {}, {}
    sample_lines, sample_files = [], {}
    for split, (folder, name, limit) in sources.items():
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            counts[split] = fam.view(folder, name, Path(tmp), limit, seed, task)
            metrics, details = task.evaluate(net, Path(tmp))
            if key not in metrics.get("test", {}):
                raise KeyError(f"{model}: evaluate() reports no {key!r} (strategy_metric); it reports "
                               f"{sorted(metrics.get('test', {}))}")
            errors[split] = 1.0 - float(metrics["test"][key])
            # what the error is a share of (pairs, objects, words), when not the examples themselves
            scored[split] = int(getattr(fam, "scored", lambda m: 0)(metrics["test"]) or counts[split])
            if split == "test":
                sample_lines, sample_files = fam.error_sample(task, net, Path(tmp), details.get("test", {}), key,
                                                              int(cfg["examples"]), seed, data_params)
        print(f"[dlzoo] strategy {model}: {LABELS[split]} error {errors[split]:.4f} on {counts[split]} examples "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    analysis = analyse(errors, scored, human, float(cfg["tolerance"]),
                       (cfg.get("dev_test_differ") or {}).get(dataset.name))
    # no timings in it: the same params and model give the same file
    result = {"model": model, "metric": key, "human_error": human, "human_note": note, "errors": errors,
              "examples": counts, "scored": scored, "unit": getattr(fam, "UNIT", "examples"), **analysis}
    out_dir = Path(out_dir or Path("reports") / model)
    figures = out_dir / "strategy"
    figures.mkdir(parents=True, exist_ok=True)
    for old in figures.iterdir():
        old.unlink()
    for name, blob in sample_files.items():
        (figures / name).write_bytes(blob)
    # the error sample on its own beside its pictures (so the folder, a DVC output, is never empty)
    (figures / "errors.md").write_text("\n".join([f"# Errors of {model} on test", "", *sample_lines, *(
        f"\n![{name}]({name})" for name in sorted(sample_files))]) + "\n")
    (out_dir / "strategy.json").write_text(json.dumps(result, indent=2) + "\n")
    (out_dir / "strategy.md").write_text(render(spec, result, sample_lines, sorted(sample_files)))
    return result


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def render(spec: registry.ModelSpec, result: dict, sample_lines: list[str], figures: list[str]) -> str:
    errors, counts, scored = result["errors"], result["examples"], result.get("scored", result["examples"])
    lines = [f"# Strategy report: {spec.name} ({spec.course})", "", spec.title, "",
             f"Error = 1 - `{result['metric']}` as the model's own evaluation computes it (`dlzoo strategy "
             f"{spec.name}`). Human-level proxy: **{_pct(result['human_error'])}**: {result['human_note']}", "",
             f"| split | examples | scored {result.get('unit', 'examples')} | error | binomial s.e. |",
             "|---|---|---|---|---|"]
    for split in SPLITS:
        lines.append(f"| {LABELS[split]} | {counts[split]} | {scored[split]} | {_pct(errors[split])} | "
                     f"{_pct(standard_error(errors[split], scored[split]))} |")
    lines += ["", "| gap | points | s.e. | |", "|---|---|---|---|"]
    for name, (label, _) in GAPS.items():
        gap = result["gaps"][name]
        if name == "dev_overfitting" and result.get("dev_test_differ"):
            label, name = DEV_TEST_LABEL, "dev_test_mismatch"
        mark = "within noise" if gap["within_noise"] else ("**largest**" if name == result["main"] else "")
        lines.append(f"| {label} | {100 * gap['value']:+.2f} | {100 * gap['se']:.2f} | {mark} |")
    lines += ["", f"**Recommendation.** {result['advice']}", "",
              "Train-dev: examples drawn from the training distribution that training never saw "
              f"(`dlzoo train-dev {spec.dataset}`). Train: a seeded sample of the training split.", "",
              "## Error analysis (test)", "", *sample_lines]
    for name in figures:
        lines += ["", f"![{name}](strategy/{name})"]
    return "\n".join(lines) + "\n"
