"""Translation metrics: exact match, character accuracy and corpus BLEU (sacrebleu, character level).

Dates are a single "word", so word-level BLEU would be all-or-nothing: BLEU here is computed over
characters (sacrebleu ``tokenize="char"``), which gives partial credit the way the course's BLEU does
for words.
"""

from __future__ import annotations

import sacrebleu


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
