"""The course's trigger-word network and the wake-word head fused: do their different misses add up?

    python benchmarks/wake_word_fusion.py          # after dvc repro evaluate_trigger_word evaluate_wake_word

The two stage-1 models fail on different held-out voices (docs/wake_word.md). This scores both on dev, test,
negatives_only and real_negatives, puts the wake-word probabilities on the course model's time grid (at each of
its steps, the latest wake-word step whose audio has ended by then: still causal) and decodes ``mean``,
``max`` (either model) and ``min`` (both models) of the two with the service's decoder. Each rule's threshold
is chosen on dev (best recall within ``decode.max_false_accepts_per_hour``); reported: test recall per voice,
false accepts per hour on negatives_only and real_negatives. Writes benchmarks/results/wake_word_fusion.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from wake_word_two_stage import candidates, score_rule  # beside this file: run as python benchmarks/...

from pipelines.evaluation.trigger_word import DEFAULT_GRID
from pipelines.params import load_params, section
from pipelines.training.artifacts import load_model

RESULTS = Path("benchmarks/results/wake_word_fusion.json")
SPLITS = ("dev", "test", "negatives_only", "real_negatives")
RULES = {"mean": lambda a, b: (a + b) / 2, "max": np.maximum, "min": np.minimum}


def score(split: dict, probs: list[np.ndarray], threshold: float, d: dict) -> dict:
    """The service's decoder at ``threshold`` on ``probs``, scored by the two-stage benchmark's own rule."""
    events = {**split, "candidates": candidates(probs, split["times"], threshold, d["min_gap_s"])}
    events["scores"] = [np.zeros(len(t)) for t, _ in events["candidates"]]
    return score_rule(events, lambda peak, verifier: True, d["tolerance_s"])


def main() -> dict:
    params = load_params("params.yaml")
    data = Path(section(params, "data_trigger_word")["out"])
    started = time.perf_counter()
    course, course_bundle = load_model(Path("artifacts/trigger_word/model.pt"))
    wake, wake_bundle = load_model(Path("artifacts/wake_word/model.pt"))
    from pipelines.tasks.trigger_word import TriggerWordTask
    from pipelines.tasks.wake_word import WakeWordTask

    course_task = TriggerWordTask(course_bundle["params"], course_bundle["meta"])
    wake_task = WakeWordTask(wake_bundle["params"], wake_bundle["meta"])
    d = course_bundle["params"]["decode"]
    budget = float(d["max_false_accepts_per_hour"])
    # the course model's step sees audio up to its centre + half its kernel
    reach = (course.cfg.kernel - 1) / 2 * course.cfg.frame_period_s
    splits = {}
    for name in SPLITS:
        clips = course_task.clip_set(data, name)
        course_out = course_task._probs(course, clips)
        wake_out = wake_task._probs(wake, wake_task.clip_set(data, name))
        fused_wake = []
        for (_, t), (q, u) in zip(course_out, wake_out, strict=True):
            k = np.searchsorted(u, t + reach, side="right") - 1  # the latest wake-word step already heard
            fused_wake.append(np.where(k >= 0, q[np.clip(k, 0, max(len(q) - 1, 0))] if len(q) else 0.0, 0.0))
        splits[name] = {"records": clips.records, "hours": sum(clips.seconds) / 3600,
                        "times": [t for _, t in course_out], "course": [p for p, _ in course_out],
                        "wake": fused_wake}
        print(f"{name}: scored by both models ({time.perf_counter() - started:.0f} s)", flush=True)
    report: dict = {"rules": {}}
    grid = [float(g) for g in DEFAULT_GRID]
    candidates = {"course": lambda s: s["course"], "wake_on_course_grid": lambda s: s["wake"],
                  **{rule: (lambda s, f=f: [f(a, b) for a, b in zip(s["course"], s["wake"], strict=True)])
                     for rule, f in RULES.items()}}
    for rule, probs_of in candidates.items():
        probs = {name: probs_of(s) for name, s in splits.items()}
        dev = [(thr, score(splits["dev"], probs["dev"], thr, d)) for thr in grid]
        within = [(m["recall"], thr) for thr, m in dev if m["false_accepts_per_hour"] <= budget]
        thr = max(within)[1] if within else grid[-1]
        report["rules"][rule] = {"threshold": thr, **{n: score(splits[n], probs[n], thr, d) for n in SPLITS}}
        r = report["rules"][rule]
        print(f"{rule:20s} thr={thr:.4f} dev recall {r['dev']['recall']:.3f}  test recall {r['test']['recall']:.3f}  "
              f"FA/h negatives_only {r['negatives_only']['false_accepts_per_hour']:.2f}  "
              f"real {r['real_negatives']['false_accepts_per_hour']:.2f}  {r['test']['recall_by_voice']}", flush=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return report


if __name__ == "__main__":
    main()
