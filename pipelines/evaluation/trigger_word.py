"""Event-level trigger-word metrics: detections -> precision, recall, false accepts; the dev threshold.

    times, conf = detect_events(probs, step_times, threshold)      # pipelines.models.trigger_word
    found, false_positives = match_events(times, true_ends, tolerance_s=0.5)
    threshold, metrics = choose_threshold(all_probs, all_times, truths, durations_s)

Detections come from the service's own decoder (:func:`pipelines.models.trigger_word.detect_events`), so the
figures here are those of what the service answers. A detection is correct when it falls within
``tolerance_s`` of the end of a true "activate" that no other detection claimed.
"""

from __future__ import annotations

import numpy as np

from pipelines.models.trigger_word import MIN_GAP_S, detect_events


def match_events(detections: np.ndarray, truths: np.ndarray, tolerance_s: float = 0.5) -> tuple[list[bool], int]:
    """(for each truth in the given order: was it found?, false positives). Each truth is claimed by at most
    one detection: detections in time order take the nearest unclaimed truth within the tolerance."""
    truths = [float(t) for t in truths]
    found = [False] * len(truths)
    false_positives = 0
    for d in sorted(float(x) for x in detections):
        free = [(abs(d - t), k) for k, t in enumerate(truths) if not found[k] and abs(d - t) <= tolerance_s]
        if free:
            found[min(free)[1]] = True
        else:
            false_positives += 1
    return found, false_positives


def event_metrics(all_probs: list[np.ndarray], all_times: list[np.ndarray], truths: list[list[float]],
                  durations_s: list[float], threshold: float, tolerance_s: float = 0.5,
                  min_gap_s: float = MIN_GAP_S) -> dict[str, float]:
    """Precision, recall, F1 and false accepts (per hour of audio) over clips."""
    tp = fp = fn = 0
    for probs, times, ends in zip(all_probs, all_times, truths, strict=True):
        det, _ = detect_events(probs, times, threshold, min_gap_s)
        found, false_positives = match_events(det, np.asarray(ends), tolerance_s)
        tp, fp, fn = tp + sum(found), fp + false_positives, fn + len(found) - sum(found)
    hours = float(sum(durations_s)) / 3600
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "false_accepts": fp, "false_accepts_per_hour": fp / hours if hours else 0.0,
            "activates": tp + fn, "detections": tp + fp}


# Steps of 0.01 up to 0.98, then 20 per decade of 1 - p up to 0.9999: a trained detector scores its words and
# its worst confusables alike above 0.99, where a step of 0.01 (or 0.995 -> 0.998) skips the best threshold.
DEFAULT_GRID = np.unique(np.round(np.concatenate([np.arange(0.05, 0.985, 0.01), 1 - np.logspace(-2, -4, 41)]), 6))


def choose_threshold(all_probs, all_times, truths, durations_s, tolerance_s: float = 0.5, min_gap_s: float = MIN_GAP_S,
                     grid: np.ndarray | None = None, max_false_accepts_per_hour: float | None = None
                     ) -> tuple[float, dict]:
    """The decision threshold for these (dev) clips, and its metrics.

    Without a budget: the best F1. With ``max_false_accepts_per_hour``: the best recall among the
    thresholds within that budget (a wake word is tuned for how often it may wrongly wake), or the
    fewest false accepts when none is. Ties go to the higher threshold.
    """
    grid = DEFAULT_GRID if grid is None else grid
    scored = [(float(thr), event_metrics(all_probs, all_times, truths, durations_s, float(thr), tolerance_s, min_gap_s))
              for thr in grid]
    if max_false_accepts_per_hour is None:
        def key(item):
            return item[1]["f1"], item[0]
    else:
        def key(item):
            m = item[1]
            within = m["false_accepts_per_hour"] <= max_false_accepts_per_hour
            return within, m["recall"] if within else -m["false_accepts_per_hour"], item[0]
    return max(scored, key=key)
