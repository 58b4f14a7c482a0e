"""The planar point sets (Courses 1-2) and the numpy networks trained through the one loop as registered models."""

from __future__ import annotations

import copy
import hashlib
import json

import numpy as np
import pytest

from pipelines.data import planar
from pipelines.training.artifacts import load_model
from pipelines.training.driver import train_local
from pipelines.training.session import LocalSession


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def planar_params(smoke_params):
    return copy.deepcopy(smoke_params["data_planar"])


def test_same_seed_same_bytes_and_every_split_its_own_draw(planar_params, tmp_path):
    sizes = planar.write_dataset(planar_params, tmp_path / "a")
    planar.write_dataset(planar_params, tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert sizes["flower_train"] == planar_params["sets"]["flower"]["train"]
    train, dev = (planar.read_split(tmp_path / "a", "flower", s)[0] for s in ("train", "dev"))
    assert not np.isin(train[:, 0], dev[:, 0]).any()
    planar.write_dataset(planar_params, tmp_path / "c", seed=planar_params["seed"] + 1)
    assert digest(tmp_path / "c") != digest(tmp_path / "a")


def test_course_draw_is_the_notebook_s_training_set(planar_params):
    planar_params["sets"] = {"flower": {"train": 400, "dev": 10, "test": 10, "course_draw": True}}
    x, y = planar.generate(planar_params)["flower_train"]
    # planar_utils.load_planar_dataset after np.random.seed(1), as the notebook runs it
    np.random.seed(1)
    expected = np.zeros((400, 2))
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, 200) + np.random.randn(200) * 0.2
        r = 4 * np.sin(4 * t) + np.random.randn(200) * 0.2
        expected[200 * j:200 * (j + 1)] = np.c_[r * np.sin(t), r * np.cos(t)]
    order = np.lexsort(x.T)
    np.testing.assert_array_equal(x[order], expected[np.lexsort(expected.T)])
    assert y.sum() == 200


def test_circles_and_moons_have_the_generators_shapes():
    rng = np.random.default_rng(0)
    x, y = planar.circles(300, rng, noise=0.0)
    radius = np.hypot(*x.T)
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.8)
    x, y = planar.moons(300, rng, noise=0.0)
    np.testing.assert_allclose(np.hypot(x[y == 0, 0], x[y == 0, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(x[y == 1, 0] - 1, x[y == 1, 1] - 0.5), 1.0)


def test_unknown_set_is_named(planar_params):
    planar_params["sets"]["spiral"] = {"train": 10, "dev": 10, "test": 10}
    with pytest.raises(ValueError, match="spiral"):
        planar.generate(planar_params)


@pytest.fixture
def flower_data(planar_params, tmp_path):
    planar_params["sets"] = {"flower": {"train": 400, "dev": 200, "test": 200, "course_draw": True}}
    planar.write_dataset(planar_params, tmp_path / "data")
    return tmp_path / "data"


def train(smoke_params, tmp_path, model, data, iterations=2000, epochs=4):
    params = copy.deepcopy(smoke_params)
    params["ray"]["storage_path"] = str(tmp_path / "runs")
    params[model]["train"].update(passes=iterations, epochs=epochs)
    return train_local(model, params, data, tmp_path / model), params


def test_hidden_layer_beats_logistic_regression_on_the_flower(smoke_params, flower_data, tmp_path):
    from pipelines.tasks.planar import PlanarMLPTask

    scores = {}
    for model in ("planar_logistic", "planar_shallow"):
        metrics, params = train(smoke_params, tmp_path, model, flower_data)
        net, bundle = load_model(tmp_path / model / "model.pt")
        task = PlanarMLPTask(params[model], bundle["meta"])
        scores[model] = task.evaluate(net, flower_data)[0]
        assert metrics["train"]["epochs"] == 4
    assert scores["planar_logistic"]["test"]["accuracy"] < 0.6  # no line separates the petals
    assert scores["planar_shallow"]["test"]["accuracy"] > 0.85
    assert scores["planar_shallow"]["train"]["accuracy"] > 0.85


def test_a_rerun_resumes_and_ends_where_an_uninterrupted_run_ends(smoke_params, flower_data, tmp_path):
    from pipelines.training.loop import train_loop_per_worker

    params = copy.deepcopy(smoke_params)
    params["planar_shallow"]["train"].update(passes=400, epochs=4)
    config = {"model": "planar_shallow", "params": params["planar_shallow"], "data_dir": str(flower_data),
              "threads": 1}
    whole = LocalSession(tmp_path / "whole")
    train_loop_per_worker(config, whole)
    # the same run stopped after 2 of 4 epochs, then started again: it resumes from the checkpoint
    half = copy.deepcopy(config)
    half["params"]["train"].update(epochs=2, passes=200)  # the same 100 updates per epoch
    session = LocalSession(tmp_path / "resumed")
    train_loop_per_worker(half, session)
    train_loop_per_worker(config, session)
    a, b = whole.load_checkpoint(), session.load_checkpoint()
    assert b["resumed_at"] == [2]
    for key in a["model"]:
        assert a["model"][key].equal(b["model"][key]), key
    assert json.dumps(a["history"][-1]["train_loss"]) == json.dumps(b["history"][-1]["train_loss"])


def test_course_draws_reproduce_the_notebooks_initialization_table(smoke_params, tmp_path):
    """C2W1 on the notebook's own circles, weights and steps: its exact table (test 50 / 86 / 96 %)."""
    from pipelines import registry
    from pipelines.tasks.planar import PlanarStudyTask

    data_params = {"seed": 1, "sets": {"circles": {"train": 300, "dev": 10, "test": 100, "course_draw": True}}}
    planar.write_dataset(data_params, tmp_path / "data")
    params = copy.deepcopy(load_default()["c2w1_initialization"])
    params["train"]["epochs"] = 1
    config = {"model": "c2w1_initialization", "params": params, "data_dir": str(tmp_path / "data"), "threads": 1}
    from pipelines.training.loop import train_loop_per_worker

    session = LocalSession(tmp_path / "run")
    train_loop_per_worker(config, session)
    state = session.load_checkpoint()
    task = PlanarStudyTask(params, state["meta"])
    model = task.build_model(state["config"])
    model.load_state_dict(state["model"])
    metrics, _ = task.evaluate(model, tmp_path / "data")
    assert {row: metrics["test"][f"{row}_accuracy"] for row in params["rows"]} == {
        "zeros": 0.5, "large_random": 0.86, "he": 0.96}
    files = task.reports(model, tmp_path / "data", metrics)
    assert files["table.md"].decode().splitlines()[2].startswith("| zeros | 0.500 |")
    assert files["boundaries.png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert task.reports(model, tmp_path / "data", metrics)["boundaries.png"] == files["boundaries.png"]
    # the registry's plot keys are columns the study writes
    assert set(registry.get("c2w1_initialization").plots) <= set(state["history"][-1])


def load_default():
    from pipelines.params import load_params
    from tests.conftest import ROOT

    return load_params(ROOT / "params.yaml")
