"""Translate or refuse: the constrained decoder, the calendar check, the threshold chosen on dev and
the split metrics (pipelines/tasks/translation.py, pipelines/evaluation/translation.py)."""

import random
import re

import pytest
import torch

from pipelines.data.dates import calendar_error
from pipelines.evaluation.translation import refusal_threshold, split_metrics
from pipelines.tasks.translation import NO_DATE, TranslationTask, judge, read_dates, translate

ISO = re.compile(r"[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")


@pytest.fixture(scope="module")
def task(smoke_params, smoke_data):
    t = TranslationTask(smoke_params["translation"])
    t.load(smoke_data)
    return t


def random_texts(task, n, seed):
    rng = random.Random(seed)
    chars = task.meta["src"][2:] + ["$", "@", "☕"]
    return ["".join(rng.choice(chars) for _ in range(rng.randint(1, 40))) for _ in range(n)]


def untrained(task, seed, scale):
    """An untrained network with every weight scaled up: sharp, input-dependent, arbitrary outputs."""
    torch.manual_seed(seed)
    model = task.build_model(task.model_config()).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model


def test_constrained_decoding_never_answers_what_is_not_a_calendar_date(task):
    refusals = []
    for seed in range(30):
        model = untrained(task, seed, scale=6.0)
        texts = random_texts(task, 60, seed)
        for beam_size in (1, 3, 10):
            readings = read_dates(model, task.codec, texts, beam_size=beam_size)
            refusals += [r.refusal for r in readings]
            for r in readings:
                assert r.output == "" or ISO.fullmatch(r.output), r
                if r.date is not None:
                    assert calendar_error(r.date) is None
    assert any(x == NO_DATE for x in refusals)
    assert any(x and "is not a calendar date" in x for x in refusals), "the calendar check was not exercised"


def test_without_the_mask_the_same_networks_write_anything(task):
    model = untrained(task, 0, scale=6.0)
    outs = [o for o, _ in translate(model, task.codec, random_texts(task, 200, 0), beam_size=3)]
    assert sum(not ISO.fullmatch(o) and o != "" for o in outs) > 100


def test_the_mask_allows_eos_first_or_the_iso_shape(task):
    mask, chars = task.codec.date_mask, task.codec.tgt_chars
    assert mask.shape[0] == task.meta["ty"] == 11

    def allowed(t, prev):
        p = chars.index(prev) if prev else 1  # BOS
        return {chars[i] for i in mask[t, p].nonzero().flatten().tolist()}

    assert allowed(0, "") == set("123456789") | {"<eos>"}
    assert allowed(1, "1") == set("0123456789")
    assert allowed(4, "9") == allowed(7, "2") == {"-"}
    assert allowed(5, "-") == {"0", "1"}
    assert allowed(6, "0") == set("123456789") and allowed(6, "1") == {"0", "1", "2"}
    assert allowed(8, "-") == {"0", "1", "2", "3"}
    assert allowed(9, "0") == set("123456789") and allowed(9, "3") == {"0", "1"}
    assert allowed(10, "5") == {"<eos>"}


@pytest.mark.parametrize("output,score,threshold,date,reason", [
    ("1979-05-03", -0.01, -0.1, "1979-05-03", None),
    ("1979-05-03", -0.5, -0.1, None, "no confident reading: the best, 1979-05-03, scores -0.500, below the "
                                     "threshold -0.100"),
    ("1979-05-03", -50.0, None, "1979-05-03", None),  # no threshold: no score test
    ("", -0.01, -0.1, None, NO_DATE),
    ("2021-02-29", -0.01, -0.1, None, "2021-02-29 is not a calendar date: February 2021 has 28 days"),
    ("2020-02-29", -0.01, -0.1, "2020-02-29", None),
    ("2018-04-31", -0.9, -0.1, None, "2018-04-31 is not a calendar date: April 2018 has 30 days"),
])
def test_judge(output, score, threshold, date, reason):
    reading = judge(output, score, threshold)
    assert (reading.date, reading.refusal) == (date, reason)


def test_refusal_threshold_spends_the_budget_on_the_lowest_scores():
    scores = [-0.001 * i for i in range(1000)]  # 0, -0.001, ..., -0.999
    t = refusal_threshold(scores, [False] * 1000, 0.005)
    assert sum(s < t for s in scores) == 5
    # refusals that no threshold can undo use the budget first
    refused = [i < 3 for i in range(1000)]
    t = refusal_threshold(scores, refused, 0.005)
    assert sum(s < t for s, r in zip(scores, refused, strict=True) if not r) == 2
    # budget spent already: the threshold refuses nothing more
    refused = [i < 9 for i in range(1000)]
    t = refusal_threshold(scores, refused, 0.005)
    assert not any(s < t for s, r in zip(scores, refused, strict=True) if not r)


def test_split_metrics_count_refusals_as_misses_on_dates_and_as_right_on_non_dates():
    m = split_metrics(["1979-05-03", "", "2001-01-02", "", "", "1999-09-09"],
                      ["1979-05-03", "1980-01-01", "2001-01-01", "", "", ""])
    assert m["n"] == 6 and m["n_dates"] == 3 and m["n_not_dates"] == 3
    assert m["exact_match"] == pytest.approx(1 / 3)
    assert m["false_refusal_rate"] == pytest.approx(1 / 3)
    assert m["refusal_rate"] == pytest.approx(2 / 3)
    assert m["impossible_answered"] == 0
    assert split_metrics(["2021-02-29"], ["2021-03-01"])["impossible_answered"] == 1
    only_not_dates = split_metrics(["", ""], ["", ""])
    assert only_not_dates == {"n": 2, "refusal_rate": 1.0, "impossible_answered": 0}


def test_validate_stores_a_threshold_within_the_false_refusal_budget(task, smoke_params):
    model = untrained(task, 0, scale=1.0)
    loader = torch.utils.data.DataLoader(task.datasets()[1], batch_size=64, collate_fn=task.collate)
    task.meta.pop("threshold", None)
    metrics = task.validate(model, loader, torch.device("cpu"))
    assert task.meta["threshold"] == metrics["dev_threshold"]
    dates = [ex.source for ex in task.dev_examples if ex.target]
    raw = read_dates(model, task.codec, dates, smoke_params["translation"]["decode"]["beam_size"])
    below = sum(r.refusal is None and r.score < task.meta["threshold"] for r in raw)
    budget = int(smoke_params["translation"]["decode"]["max_false_refusals"] * len(dates))
    assert below <= max(budget - sum(r.refusal is not None for r in raw), 0)
    assert set(metrics) >= {"dev_exact_match", "dev_false_refusal_rate", "dev_refusal_rate"}
