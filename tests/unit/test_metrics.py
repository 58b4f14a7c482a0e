"""Translation metrics; BLEU checked against an independent implementation of the course's formula."""

import math
import random
from collections import Counter

import pytest
import sacrebleu

from pipelines.evaluation.translation import char_accuracy, translation_metrics


def reference_bleu(preds, refs):
    """Corpus BLEU over characters, written from the definition (Papineni et al.; Course 5 Week 3):
    clipped n-gram precisions p1..p4, geometric mean, brevity penalty."""
    matches, totals = [0] * 4, [0] * 4
    hyp_len = ref_len = 0
    for pred, ref in zip(preds, refs, strict=True):
        hyp, rf = list(pred.replace(" ", "")), list(ref.replace(" ", ""))
        hyp_len, ref_len = hyp_len + len(hyp), ref_len + len(rf)
        for n in range(1, 5):
            h = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
            r = Counter(tuple(rf[i:i + n]) for i in range(len(rf) - n + 1))
            matches[n - 1] += sum(min(c, r[g]) for g, c in h.items())
            totals[n - 1] += max(0, len(hyp) - n + 1)
    if min(matches) == 0:
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / 4
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * bp * math.exp(log_p)


def corrupt(s, rng):
    chars = list(s)
    for _ in range(rng.randint(0, 3)):
        chars[rng.randrange(len(chars))] = rng.choice("0123456789-")
    return "".join(chars[: rng.randint(6, len(chars))])


def test_bleu_equals_reference_definition():
    rng = random.Random(0)
    refs = [f"{rng.randint(1950, 2049)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" for _ in range(200)]
    preds = [corrupt(r, rng) for r in refs]
    ours = translation_metrics(preds, refs)["bleu"]
    assert ours == pytest.approx(reference_bleu(preds, refs), abs=1e-6)
    assert ours == pytest.approx(sacrebleu.corpus_bleu(preds, [refs], tokenize="char").score)
    assert translation_metrics(refs, refs)["bleu"] == pytest.approx(100.0)


def test_exact_match_and_char_accuracy():
    m = translation_metrics(["1979-05-03", "1979-05-04", "2001"], ["1979-05-03", "1979-05-03", "2001-01-01"])
    assert m["exact_match"] == pytest.approx(1 / 3)
    assert m["char_accuracy"] == pytest.approx((1 + 0.9 + 0.4) / 3)
    assert char_accuracy("", "") == 1.0


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError):
        translation_metrics(["a"], [])
