"""C4W2's case-study networks, their task and the comparison table (on tiny IDX files, as test_fashion)."""

from __future__ import annotations

import copy
import json

import pytest
import torch
import torchvision
from torch import nn

from pipelines import registry
from pipelines.data import fashion
from pipelines.evaluation import compare
from pipelines.models.case_studies import ARCHS, build
from pipelines.params import load_params
from pipelines.training.artifacts import write_artifacts
from pipelines.training.loop import train_loop_per_worker
from pipelines.training.session import LocalSession
from tests.unit.test_fashion import source  # noqa: F401  (the tiny Fashion-MNIST fixture)

CONFIG = {"classes": 10, "input_size": 32, "mean": 0.3, "std": 0.3}


@pytest.mark.parametrize("arch", ARCHS)
def test_each_network_takes_flat_images_and_learns_a_step(arch):
    torch.manual_seed(0)
    net = build({**CONFIG, "arch": arch, "width": 2})
    x, y = torch.rand(4, 784), torch.tensor([0, 1, 2, 3])
    out = net(x)
    assert out.shape == (4, 10)
    loss = nn.functional.cross_entropy(out, y)
    loss.backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_the_torchvision_networks_are_torchvisions_own():
    """No second copy: ResNet-50, GoogLeNet and MobileNetV2 are torchvision's modules, parameter for parameter."""
    for arch, reference in (("resnet50", torchvision.models.resnet50(num_classes=10)),
                            ("inception", torchvision.models.googlenet(num_classes=10, aux_logits=False,
                                                                       init_weights=True)),
                            ("mobilenet_v2", torchvision.models.mobilenet_v2(num_classes=10))):
        net = build({**CONFIG, "arch": arch})[1]
        assert type(net) is type(reference)
        assert [p.shape for p in net.parameters()] == [p.shape for p in reference.parameters()]
    assert sum(p.numel() for p in build({**CONFIG, "arch": "lenet5"}).parameters()) == 61_706  # LeNet-5's ~60 k


def test_preparation_standardises_resizes_and_repeats_the_grey_channel():
    prepare = build({**CONFIG, "arch": "resnet50"})[0]
    x = torch.full((2, 784), 0.6)
    out = prepare(x)
    assert out.shape == (2, 3, 32, 32)
    torch.testing.assert_close(out, torch.ones_like(out))  # (0.6 - 0.3) / 0.3


def test_bad_settings_name_the_param():
    with pytest.raises(ValueError, match="model.arch is 'vgg19'"):
        build({**CONFIG, "arch": "vgg19"})
    with pytest.raises(ValueError, match="model.input_size is 28; lenet5 takes 32"):
        build({**CONFIG, "arch": "lenet5", "input_size": 28})
    with pytest.raises(ValueError, match="vgg16_style takes a multiple of 32"):
        build({**CONFIG, "arch": "vgg16_style", "input_size": 48})


def test_every_case_study_is_registered_in_one_table():
    names = [spec.name for spec in compare.members("case_studies")]
    params = load_params()
    assert sorted(params[name]["model"]["arch"] for name in names) == sorted(ARCHS)
    assert {params[name]["set"] for name in names} == {"cnn"}  # the same images for every network
    with pytest.raises(KeyError, match="tables: case_studies"):
        compare.members("nothing")


def test_flops_count_a_multiply_add_as_two():
    assert compare.flops_per_example(nn.Linear(10, 3, bias=False), torch.zeros(1, 10)) == 60
    assert compare.images_per_second(nn.Linear(10, 3), (10,), batch=8, seconds=0.05) > 0


def test_lenet5_learns_the_easy_version_and_the_table_reports_it(source, smoke_params, tmp_path,  # noqa: F811
                                                                   monkeypatch):
    data = copy.deepcopy(smoke_params["data_fashion"])
    data["source"] = str(source)
    fashion.write_dataset(data, tmp_path / "data")
    params = copy.deepcopy(smoke_params["c4w2_lenet5"])
    params["train"].update(epochs=4, lr=0.01)
    session = LocalSession(tmp_path / "run")
    train_loop_per_worker({"model": "c4w2_lenet5", "params": params, "data_dir": str(tmp_path / "data"),
                           "threads": 1}, session)
    state = session.load_checkpoint()
    assert state["history"][-1]["dev_accuracy"] > 0.9, state["history"][-1]
    assert state["meta"]["mean"] > 0 and state["meta"]["std"] > 0

    # the table: one member written, the others absent -> a clear error naming the missing file
    artifacts, reports = tmp_path / "artifacts", tmp_path / "reports"
    write_artifacts(artifacts / "c4w2_lenet5", state, "test")
    (reports / "c4w2_lenet5").mkdir(parents=True)
    (reports / "c4w2_lenet5" / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.5}}))
    row = compare.measure(registry.get("c4w2_lenet5"), artifacts, reports, seconds=0.05)
    assert row["parameters"] == 61_706 and row["value"] == 0.5 and row["epochs"] == 4
    assert row["flops"] == compare.flops_per_example(build(state["config"]), torch.zeros(1, 784)) > 0
    text = compare.render("case_studies", [row], 1)
    assert "| c4w2_lenet5 | 32 x 32 | 0.062 M |" in text and "| 0.5000 |" in text and row["augment"] == "none"
    with pytest.raises(FileNotFoundError, match="c4w2_alexnet/model.pt"):
        compare.write("case_studies", tmp_path / "out", artifacts, reports, seconds=0.05, echo=lambda m: None)


def test_augmentation_mirrors_and_shifts_each_image_on_its_own():
    from pipelines.tasks.case_studies import augment

    x = torch.rand(64, 784)
    assert torch.equal(augment(x, {}), x)
    torch.testing.assert_close(augment(x, {"flip": 1.0}), x.view(64, 28, 28).flip(-1).reshape(64, -1))
    torch.manual_seed(0)
    shifted = augment(x, {"shift": 2}).view(64, 28, 28)
    padded = nn.functional.pad(x.view(64, 28, 28), (2, 2, 2, 2))
    offsets = set()
    for i in range(64):  # each image is its own padded copy, cut at one offset in [0, 4] x [0, 4]
        match = [(dy, dx) for dy in range(5) for dx in range(5) if torch.equal(padded[i, dy:dy + 28, dx:dx + 28],
                                                                               shifted[i])]
        assert len(match) == 1
        offsets.add(match[0])
    assert len(offsets) > 5
    torch.manual_seed(0)
    assert torch.equal(augment(x, {"shift": 2}).view(64, 28, 28), shifted)  # the seeded stream decides
