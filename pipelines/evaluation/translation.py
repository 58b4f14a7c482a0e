"""Translation metrics: exact match, character accuracy and corpus BLEU (sacrebleu, character level),
refusals, and the refusal threshold chosen on dev.

Dates are a single "word", so word-level BLEU would be all-or-nothing: BLEU here is computed over
characters (sacrebleu ``tokenize="char"``), which gives partial credit the way the course's BLEU does
for words. A refusal ("not a date") is the prediction ``""``: a miss on a real date, right on a string
that is not a date (whose reference is ``""``).
"""

from __future__ import annotations

import sacrebleu

from pipelines.data.dates import calendar_error


def char_accuracy(pred: str, ref: str) -> float:
    """Fraction of positions (over the longer string) where the characters agree."""
    n = max(len(pred), len(ref))
    return 1.0 if n == 0 else sum(a == b for a, b in zip(pred, ref, strict=False)) / n


def translation_metrics(preds: list[str], refs: list[str]) -> dict[str, float]:
    if len(preds) != len(refs) or not refs:
        raise ValueError(f"need as many predictions as references (got {len(preds)} and {len(refs)})")
    n = len(refs)
    return {
        "n": n,
        "exact_match": sum(p == r for p, r in zip(preds, refs, strict=True)) / n,
        "char_accuracy": sum(char_accuracy(p, r) for p, r in zip(preds, refs, strict=True)) / n,
        "bleu": sacrebleu.corpus_bleu(preds, [refs], tokenize="char").score,
    }


def split_metrics(preds: list[str], refs: list[str]) -> dict[str, float]:
    """Metrics of one split whose predictions are ``""`` where the input was refused.

    Rows with a date reference: exact match (a refusal is a miss), character accuracy, BLEU and
    ``false_refusal_rate``; rows with an empty reference (not a date): ``refusal_rate``; all rows:
    ``impossible_answered``, the answers that are not calendar dates (0 by construction).
    """
    if len(preds) != len(refs) or not refs:
        raise ValueError(f"need as many predictions as references (got {len(preds)} and {len(refs)})")
    dates = [(p, r) for p, r in zip(preds, refs, strict=True) if r]
    not_dates = [p for p, r in zip(preds, refs, strict=True) if not r]
    out: dict[str, float] = {"n": len(refs)}
    if dates:
        p, r = (list(x) for x in zip(*dates, strict=True))
        out.update({k: v for k, v in translation_metrics(p, r).items() if k != "n"},
                   false_refusal_rate=sum(not x for x in p) / len(p))
    if not_dates:
        out["refusal_rate"] = sum(not x for x in not_dates) / len(not_dates)
    if dates and not_dates:
        out.update(n_dates=len(dates), n_not_dates=len(not_dates))
    out["impossible_answered"] = sum(bool(p) and calendar_error(p) is not None for p in preds)
    return out


def refusal_threshold(scores: list[float], refused: list[bool], max_false_refusals: float) -> float:
    """The highest score threshold that refuses at most ``max_false_refusals`` of real dates.

    Args:
        scores: the length-normalised score of each real date's reading (dev).
        refused: whether that reading is refused whatever the threshold (no date read, or not a
            calendar date): those use up the budget first.
        max_false_refusals: the budget, a fraction of the real dates.

    Returns:
        t such that refusing the answers scoring below t refuses at most the budget (t is the lowest
        answered score, which refuses none, when the budget is spent already).
    """
    answered = sorted(s for s, r in zip(scores, refused, strict=True) if not r)
    if not answered:
        return 0.0
    budget = int(max_false_refusals * len(scores)) - sum(refused)
    return answered[min(max(budget, 0), len(answered) - 1)]
