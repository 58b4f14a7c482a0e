"""Event-level trigger-word metrics: frame probabilities -> detections -> precision, recall, false accepts.

    times, conf = detect_events(probs, step_times, threshold)      # when the model "rings the chime"
    tp, fp, fn = match_events(times, true_ends, tolerance_s=0.5)

A detection is a run of steps with probability >= threshold; it is reported at the run's first step
(where the course rings its chime, right after the word ends) with the run's peak probability as its
confidence, and runs closer than ``min_gap_s`` merge into one (a dip inside one word's run; two
"activate"s spoken back to back end ~0.6-1 s apart, and their runs ~0.3 s apart must stay two). A
detection is correct when it falls within ``tolerance_s`` of the end of a true "activate" that no other
detection claimed.
"""

from __future__ import annotations

import numpy as np

# Runs of steps closer than this are one detection (the default of ``decode.min_gap_s``)
MIN_GAP_S = 0.3


def detect_events(probs: np.ndarray, times: np.ndarray, threshold: float, min_gap_s: float = MIN_GAP_S
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(detection times in s, confidences) of one clip's per-step probabilities."""
    above = np.asarray(probs) >= threshold
    if not above.any():
        return np.zeros(0), np.zeros(0)
    edges = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out_t: list[float] = []
    out_c: list[float] = []
    last_end = -np.inf
    for s, e in zip(starts, ends, strict=True):
        peak = float(np.max(probs[s:e]))
        if times[s] - last_end < min_gap_s:  # a dip inside one word: the same detection
            out_c[-1] = max(out_c[-1], peak)
        else:
            out_t.append(float(times[s]))
            out_c.append(peak)
        last_end = times[e - 1]
    return np.asarray(out_t), np.asarray(out_c)


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
