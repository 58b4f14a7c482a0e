"""Hyperparameter search on Ray Tune, the way Course 2 week 3 teaches it: random search on the right scale
(a log scale for the learning rate and L2, ``1 - 10^u`` for a momentum β), coarse, then fine around the best.

    dlzoo search c2w3_softmax                  # the search; writes artifacts/c2w3_softmax/search/best.json
    dlzoo train c2w3_softmax                   # the final training, with the best trial's config

Every trial runs the model's own per-worker loop (``pipelines.training.loop``) in a Tune trial, for the
search's ``epochs``, and reports its dev metrics to Tune after each epoch. The model's params section holds
the space and the budget::

    search:
      seed: 0
      metric: dev_accuracy        # a key the task's validate() reports; higher is better
      epochs: 6                   # per trial; the final training runs to the best trial's best epoch
      rounds: [8, 4]              # trials per round: a coarse round over the space, then finer ones
      keep: 3                     # a finer round samples around the best `keep` trials of the rounds before
      fixed: {train.optimizer: momentum, train.schedule: constant}
      space:
        train.lr: {log_uniform: [1.0e-4, 1.0]}
        train.momentum: {one_minus_log: [-3, -1]}     # β = 1 - 10^u, u uniform in [-3, -1]: 0.9 .. 0.999
        train.batch_size: {choice: [32, 64, 128, 256]}
        train.weight_decay: {log_uniform: [1.0e-6, 1.0e-2]}
        model.hidden: {choice: [[25, 12], [64, 32], [128, 64]]}

Sampling is Tune's, seeded from ``search.seed`` per round: the same params give the same trials. A finer
round narrows each continuous dimension to the span of the best trials on its sampling scale (plus a quarter
of that span each side, inside the original bounds) and each choice to the values those trials used.
``best.json`` holds the best trial's settings (``fixed`` included) and, as ``train.epochs``, the epoch at which
it peaked: ``dlzoo train`` applies them over ``params.yaml`` (:func:`with_best`) and so repeats that trial
(the same seed and data order) to its best epoch; ``dvc repro`` orders the two stages.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from pipelines.params import fingerprint, section
from pipelines.training.driver import _loop_config
from pipelines.training.loop import train_loop_per_worker
from pipelines.training.session import LocalSession

KINDS = ("log_uniform", "uniform", "one_minus_log", "choice")
BEST_FILE = "best.json"
TRIALS_FILE = "trials.csv"
PLOT_FILE = "trials.png"  # the metric against the learning rate


def search_dir(model: str) -> Path:
    return Path("artifacts") / model / "search"


# -- the space ---------------------------------------------------------------------------------------
def check_space(space: dict) -> dict[str, tuple[str, list]]:
    """``{key: (kind, bounds or choices)}``; a clear error naming the key for anything else."""
    out = {}
    for key, spec in space.items():
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in KINDS:
            raise ValueError(f"search.space.{key} must be one of {{{' | '.join(KINDS)}: ...}}, got {spec!r}")
        kind, value = next(iter(spec.items()))
        if kind == "choice":
            if not isinstance(value, list) or not value:
                raise ValueError(f"search.space.{key}.choice must be a non-empty list")
        elif not (isinstance(value, list) and len(value) == 2 and value[0] < value[1]):
            raise ValueError(f"search.space.{key}.{kind} must be [low, high] with low < high, got {value!r}")
        elif kind == "log_uniform" and value[0] <= 0:
            raise ValueError(f"search.space.{key}.log_uniform needs positive bounds, got {value!r}")
        out[key] = (kind, list(value))
    return out


def to_scale(kind: str, value: float) -> float:
    """A value on the scale it is sampled uniformly on."""
    if kind == "log_uniform":
        return math.log10(value)
    if kind == "one_minus_log":
        return math.log10(1.0 - value)
    return float(value)


def from_scale(kind: str, u: float) -> float:
    if kind == "log_uniform":
        return 10.0 ** u
    if kind == "one_minus_log":
        return 1.0 - 10.0 ** u
    return u


def scale_bounds(kind: str, value: list) -> tuple[float, float]:
    """A continuous dimension's params bounds on its sampling scale (``one_minus_log`` gives u already)."""
    lo, hi = value if kind == "one_minus_log" else (to_scale(kind, v) for v in value)
    return min(lo, hi), max(lo, hi)


def params_bounds(kind: str, lo: float, hi: float) -> list[float]:
    """The inverse of :func:`scale_bounds`: bounds as params write them."""
    return [lo, hi] if kind == "one_minus_log" else sorted([from_scale(kind, lo), from_scale(kind, hi)])


def tune_space(space: dict[str, tuple[str, list]]) -> dict:
    """Tune's sampling domains: uniform on each dimension's scale (values mapped back in the trial)."""
    from ray import tune

    domains = {}
    for key, (kind, value) in space.items():
        if kind == "choice":
            # an index, so that list-valued choices (hidden widths) survive Tune's config flattening
            domains[key] = tune.choice(list(range(len(value))))
        else:
            domains[key] = tune.uniform(*scale_bounds(kind, value))
    return domains


def settings(space: dict[str, tuple[str, list]], sampled: dict) -> dict:
    """A trial's params settings ``{dotted key: value}`` from Tune's sampled config."""
    return {key: (value[int(sampled[key])] if kind == "choice" else from_scale(kind, sampled[key]))
            for key, (kind, value) in space.items()}


def narrow(space: dict[str, tuple[str, list]], best: list[dict]) -> dict[str, tuple[str, list]]:
    """The next round's space: around ``best`` (trials' settings, best first) as the module says."""
    out = {}
    for key, (kind, value) in space.items():
        if kind == "choice":
            used = [v for v in value if any(t[key] == v for t in best)]
            out[key] = (kind, used or value)
            continue
        lo, hi = scale_bounds(kind, value)
        scaled = [to_scale(kind, t[key]) for t in best]
        margin = max(0.25 * (max(scaled) - min(scaled)), 0.05 * (hi - lo))
        out[key] = (kind, params_bounds(kind, max(lo, min(scaled) - margin), min(hi, max(scaled) + margin)))
    return out


def apply(model_params: dict, values: dict) -> dict:
    """``model_params`` with each dotted key of ``values`` set (``train.lr`` -> ``params["train"]["lr"]``)."""
    out = copy.deepcopy(model_params)
    for key, value in values.items():
        *path, last = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return out


# -- a trial ------------------------------------------------------------------------------------------
class TuneSession(LocalSession):
    """The per-worker loop's session inside a Tune trial: each epoch's metrics go to Tune (checkpoints stay
    in the trial's own folder; a trial is short and nothing resumes it)."""

    def report(self, metrics, state):
        from ray import tune

        super().report(metrics, None)
        tune.report({k: float(v) for k, v in metrics.items()})

    def log(self, message: str) -> None:  # Tune's progress and our per-trial line say enough
        pass


def _trial(config: dict, *, model: str, params: dict, data_dir: str, space: dict, fixed: dict, epochs: int,
           threads: int) -> None:
    values = {**fixed, **settings(space, config)}
    model_params = apply(section(params, model), values)
    model_params["train"]["epochs"] = epochs
    full = {**params, model: model_params}
    with tempfile.TemporaryDirectory() as run_dir:
        train_loop_per_worker(_loop_config(model, full, Path(data_dir), threads), TuneSession(Path(run_dir)))


# -- the search ---------------------------------------------------------------------------------------
def run_search(model: str, params: dict, data_dir: Path, out_dir: Path | None = None) -> dict:
    """Every round of ``model``'s search; writes ``trials.csv`` and ``best.json`` to ``out_dir`` and returns
    the best trial ``{"settings", "metric", "value", ...}``."""
    import logging

    # Tune's own console (experiment boxes, a table per trial) stays off: one line per trial is ours. Token
    # auth stays on; only Ray's notice that it is on leaves the console, as in the training driver.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    import ray
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    cfg = section(params, model).get("search")
    if not cfg:
        raise KeyError(f"params has no {model}.search section (the space and budget of the search)")
    space = check_space(cfg["space"])
    fixed, metric, epochs = cfg.get("fixed", {}), cfg.get("metric", "dev_accuracy"), int(cfg["epochs"])
    rounds, keep = [int(n) for n in cfg["rounds"]], int(cfg.get("keep", 3))
    out_dir = Path(out_dir or search_dir(model))
    out_dir.mkdir(parents=True, exist_ok=True)

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init()
        else:  # as the driver does: a stale cluster file never breaks a local run
            ray.init(address="local", num_cpus=os.cpu_count(), log_to_driver=True, configure_logging=False)
    # a trial asks for every CPU: trials run one after another, each with all the threads (2 cores here)
    threads = max(1, int(ray.cluster_resources().get("CPU", 1)))
    storage = params["ray"]["storage_path"]
    storage = storage if "://" in storage else str(Path(storage).resolve())
    name = f"search-{model}-{fingerprint([section(params, model), str(Path(data_dir).resolve())])}"
    trials: list[dict] = []
    for round_no, n in enumerate(rounds):
        if round_no:
            ranked = sorted(trials, key=lambda t: -t["value"])[:keep]
            space = narrow(space, [t["settings"] for t in ranked])
        label = "coarse" if round_no == 0 else f"fine {round_no}"
        trainable = tune.with_resources(
            tune.with_parameters(_trial, model=model, params=params, data_dir=str(Path(data_dir).resolve()),
                                 space=space, fixed=fixed, epochs=epochs, threads=threads),
            {"cpu": threads})
        tuner = tune.Tuner(
            trainable, param_space=tune_space(space),
            tune_config=tune.TuneConfig(
                num_samples=n,
                search_alg=BasicVariantGenerator(random_state=np.random.default_rng([cfg["seed"], round_no]))),
            # a rerun is a new Tune experiment beside the old one (the name never decides a result)
            run_config=tune.RunConfig(name=f"{name}-r{round_no}-{time.strftime('%Y%m%d-%H%M%S')}",
                                      storage_path=storage, verbose=0))
        t0 = time.perf_counter()
        grid = tuner.fit()
        for result in sorted(grid, key=lambda r: r.path):
            if result.error is not None:
                raise RuntimeError(f"search {model}: a trial failed: {result.error}")
            history = result.metrics_dataframe
            curve = history[metric].to_numpy()
            trial = {"trial": len(trials), "round": label, "settings": settings(space, result.config),
                     "value": float(curve.max()), "epoch": int(curve.argmax()) + 1, "last": float(curve[-1]),
                     "train_loss": float(history["train_loss"].to_numpy()[-1])}
            trials.append(trial)
            shown = " ".join(f"{k.split('.')[-1]}={_fmt(v)}" for k, v in trial["settings"].items())
            print(f"[dlzoo] search {model} {label}: trial {trial['trial'] + 1}/{sum(rounds)} {shown} -> "
                  f"{metric} {trial['value']:.4f}", flush=True)
        print(f"[dlzoo] search {model} {label}: {n} trials in {time.perf_counter() - t0:.0f} s", flush=True)

    best = max(trials, key=lambda t: t["value"])
    write_trials(out_dir / TRIALS_FILE, trials, metric)
    plot_key = "train.lr" if "train.lr" in space else next(k for k, (kind, _) in space.items() if kind != "choice")
    (out_dir / PLOT_FILE).write_bytes(plot_png(trials, metric, plot_key))
    # the final training repeats the best trial up to its best epoch: same settings, seed and data order, so it
    # ends where that trial peaked on dev (a longer run than the trials' would be a config nobody measured)
    result = {"model": model, "metric": metric, "value": best["value"], "trial": best["trial"],
              "round": best["round"], "epochs": epochs,
              "settings": {**fixed, **best["settings"], "train.epochs": best["epoch"]}, "trials": len(trials)}
    (out_dir / BEST_FILE).write_text(json.dumps(result, indent=2) + "\n")
    print(f"[dlzoo] search {model}: best trial {best['trial'] + 1} ({best['round']}) {metric} {best['value']:.4f}: "
          + ", ".join(f"{k}={_fmt(v)}" for k, v in result["settings"].items()), flush=True)
    return result


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def write_trials(path: Path, trials: list[dict], metric: str) -> None:
    keys = list(trials[0]["settings"])
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["trial", "round", *keys, metric, "best_epoch", f"last_{metric}", "train_loss"])
        for t in trials:
            writer.writerow([t["trial"] + 1, t["round"],
                             *(json.dumps(t["settings"][k]) if isinstance(t["settings"][k], list) else t["settings"][k]
                               for k in keys),
                             round(t["value"], 6), t["epoch"], round(t["last"], 6), round(t["train_loss"], 6)])


def plot_png(trials: list[dict], metric: str, key: str = "train.lr", size: tuple[int, int] = (640, 420)) -> bytes:
    """A scatter of ``metric`` against ``key`` (log axis when every value is positive), one colour per round,
    the best trial ringed: the picture the lecture draws of a random search."""
    import io

    from PIL import Image, ImageDraw

    w, h, pad = *size, 56
    xs = [to_scale("log_uniform", t["settings"][key]) if all(u["settings"][key] > 0 for u in trials)
          else float(t["settings"][key]) for t in trials]
    ys = [t["value"] for t in trials]
    x0, x1 = min(xs), max(xs) + 1e-9
    y0, y1 = min(ys), max(ys) + 1e-9
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle([pad, 16, w - 16, h - pad], outline="black")
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    rounds = list(dict.fromkeys(t["round"] for t in trials))
    best = max(range(len(trials)), key=lambda i: ys[i])
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        px = pad + (x - x0) / (x1 - x0) * (w - pad - 24) + 4
        py = h - pad - (y - y0) / (y1 - y0) * (h - pad - 28) - 4
        draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colours[rounds.index(trials[i]["round"]) % 4])
        if i == best:
            draw.ellipse([px - 8, py - 8, px + 8, py + 8], outline="black", width=2)
    draw.text((pad, h - pad + 8), f"log10({key}) {x0:.2f} .. {x1:.2f}", fill="black")
    draw.text((4, 2), f"{metric} {y0:.3f} .. {y1:.3f}", fill="black")
    for j, label in enumerate(rounds):
        draw.text((w - 140, 24 + 14 * j), f"o {label}", fill=colours[j % 4])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def with_best(params: dict, model: str, path: Path | None = None) -> tuple[dict, dict | None]:
    """(``params`` with the search's best settings applied to ``model``'s section, the best.json read);
    ``params`` unchanged and None when there is no search result."""
    path = Path(path or search_dir(model) / BEST_FILE)
    if not path.is_file():
        return params, None
    best = json.loads(path.read_text())
    return {**params, model: apply(section(params, model), best["settings"])}, best
