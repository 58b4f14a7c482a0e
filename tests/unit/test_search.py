"""The random search's pieces (pipelines/training/search.py): the space, its scales, the coarse-to-fine
narrowing and how training applies the result. The search itself runs on Ray Tune in the smoke repro
(tests/integration/test_dvc_pipeline.py)."""

import json

import numpy as np
import pytest

from pipelines.training import search

SPACE = {
    "train.lr": {"log_uniform": [1e-4, 1.0]},
    "train.momentum": {"one_minus_log": [-3, -1]},
    "train.batch_size": {"choice": [32, 64, 128]},
    "model.hidden": {"choice": [[25, 12], [64, 32]]},
}


@pytest.mark.parametrize("spec, message", [
    ({"train.lr": {"loguniform": [1e-4, 1]}}, "train.lr must be one of"),
    ({"train.lr": {"log_uniform": [1, 1e-4]}}, "low < high"),
    ({"train.lr": {"log_uniform": [0, 1]}}, "positive bounds"),
    ({"model.hidden": {"choice": []}}, "non-empty list"),
])
def test_a_wrong_space_names_the_key(spec, message):
    with pytest.raises(ValueError, match=message):
        search.check_space(spec)


def test_samples_are_uniform_on_each_scale_and_map_back():
    """A log-uniform learning rate spends as many trials per decade; β = 1 - 10^u lands in 0.9 .. 0.999."""
    space = search.check_space(SPACE)
    rng = np.random.default_rng(0)
    sampled = [{"train.lr": rng.uniform(*search.scale_bounds("log_uniform", [1e-4, 1.0])),
                "train.momentum": rng.uniform(*search.scale_bounds("one_minus_log", [-3, -1])),
                "train.batch_size": rng.integers(3), "model.hidden": rng.integers(2)} for _ in range(4000)]
    values = [search.settings(space, s) for s in sampled]
    lrs = np.array([v["train.lr"] for v in values])
    per_decade = np.histogram(np.log10(lrs), bins=4, range=(-4, 0))[0]
    assert per_decade.min() > 0.8 * per_decade.max()  # ~1000 per decade, not 90 % in the top one
    betas = np.array([v["train.momentum"] for v in values])
    assert 0.9 <= betas.min() and betas.max() <= 0.999
    assert {tuple(v["model.hidden"]) for v in values} == {(25, 12), (64, 32)}
    for kind, value in (("log_uniform", 3e-3), ("one_minus_log", 0.99), ("uniform", 0.3)):
        assert search.from_scale(kind, search.to_scale(kind, value)) == pytest.approx(value)


def test_a_finer_round_narrows_around_the_best_inside_the_bounds():
    space = search.check_space(SPACE)
    best = [{"train.lr": 1e-2, "train.momentum": 0.99, "train.batch_size": 64, "model.hidden": [64, 32]},
            {"train.lr": 1e-1, "train.momentum": 0.95, "train.batch_size": 64, "model.hidden": [64, 32]}]
    fine = search.narrow(space, best)
    lo, hi = fine["train.lr"][1]
    assert lo == pytest.approx(10 ** -2.25) and hi == pytest.approx(10 ** -0.75)  # a quarter-span margin each side
    u_lo, u_hi = fine["train.momentum"][1]  # u bounds, as params write them
    assert -3 <= u_lo < np.log10(0.01) and np.log10(0.05) < u_hi <= -1
    assert fine["train.batch_size"] == ("choice", [64])
    assert fine["model.hidden"] == ("choice", [[64, 32]])
    edge = search.narrow(space, [{**best[0], "train.lr": 1.0}])  # never beyond the original bounds
    assert edge["train.lr"][1][1] == pytest.approx(1.0)


def test_apply_sets_dotted_keys_without_touching_the_original():
    params = {"train": {"lr": 0.1, "epochs": 3}, "model": {"hidden": [25, 12]}}
    out = search.apply(params, {"train.lr": 0.01, "model.hidden": [64, 32], "train.schedule": "constant"})
    assert out == {"train": {"lr": 0.01, "epochs": 3, "schedule": "constant"}, "model": {"hidden": [64, 32]}}
    assert params["train"]["lr"] == 0.1


def test_training_applies_the_best_trial_and_only_when_there_is_one(tmp_path):
    params = {"ray": {}, "m": {"train": {"lr": 0.1, "epochs": 20}, "model": {"hidden": [25, 12]}}}
    unchanged, best = search.with_best(params, "m", tmp_path / "best.json")
    assert unchanged is params and best is None
    (tmp_path / "best.json").write_text(json.dumps(
        {"metric": "dev_accuracy", "value": 0.9, "settings": {"train.lr": 0.03, "model.hidden": [64, 32]}}))
    applied, best = search.with_best(params, "m", tmp_path / "best.json")
    assert applied["m"] == {"train": {"lr": 0.03, "epochs": 20}, "model": {"hidden": [64, 32]}}
    assert best["value"] == 0.9 and params["m"]["train"]["lr"] == 0.1


def test_the_plot_is_a_png():
    trials = [{"round": "coarse", "value": 0.5 + i / 10, "settings": {"train.lr": 10.0 ** -i}} for i in range(4)]
    assert search.plot_png(trials, "dev_accuracy").startswith(b"\x89PNG")
