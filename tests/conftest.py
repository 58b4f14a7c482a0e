"""Shared fixtures: the project root, smoke params and a tiny trained-shape translation model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipelines.params import load_params
from pipelines.serving.server import free_port  # noqa: F401  (re-exported for the tests)

ROOT = Path(__file__).resolve().parents[1]


def train_here(model: str, params: dict, data_dir: Path, out: Path) -> tuple[dict, Path]:
    """Train ``model`` with ``params`` (its params section) by the driver's own loop in this process, as
    ``dlzoo train --no-ray`` does; returns (the final checkpoint state, the written model.pt)."""
    from pipelines.training.artifacts import write_artifacts
    from pipelines.training.loop import train_loop_per_worker
    from pipelines.training.session import LocalSession

    session = LocalSession(out / "run")
    train_loop_per_worker({"model": model, "params": params, "data_dir": str(data_dir), "threads": 1}, session)
    state = session.load_checkpoint()
    write_artifacts(out / "artifacts", state, "test")
    return state, out / "artifacts" / "model.pt"


@pytest.fixture(scope="session")
def smoke_params() -> dict:
    return load_params(ROOT / "params.yaml", profile="smoke")


@pytest.fixture(scope="session")
def smoke_data(tmp_path_factory, smoke_params) -> Path:
    from pipelines.data.dates import write_dataset

    out = tmp_path_factory.mktemp("dates")
    write_dataset(smoke_params["data_translation"], out)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, smoke_params, smoke_data) -> Path:
    """A model dir as TorchServe unpacks it: model.pt (untrained smoke-size network) + service.json."""
    import json

    from pipelines.serving.package import service_config
    from pipelines.tasks.translation import TranslationTask

    task = TranslationTask(smoke_params["translation"])
    task.load(smoke_data)
    torch.manual_seed(0)
    model = task.build_model(task.model_config())
    out = tmp_path_factory.mktemp("model_dir")
    torch.save({"model_name": "translation", "config": task.model_config(), "meta": task.meta,
                "state_dict": model.state_dict(), "params": smoke_params["translation"], "run": "test"},
               out / "model.pt")
    (out / "service.json").write_text(json.dumps(service_config("translation", smoke_params)))
    return out


DETECTION_CLASSES = ["car", "bicycle", "pedestrian", "stop_sign"]


@pytest.fixture(scope="session")
def tiny_detection_dir(tmp_path_factory, smoke_params) -> Path:
    """A detection model dir as TorchServe unpacks it: an untrained smoke-size YOLO + service.json."""
    import json

    from pipelines.models.yolo import YoloConfig
    from pipelines.serving.package import service_config
    from pipelines.tasks.detection import DetectionTask

    m = smoke_params["detection"]["model"]
    config = YoloConfig(num_classes=len(DETECTION_CLASSES), anchors=[[12, 12], [30, 40], [80, 60]],
                        input_size=m["input_size"], width=m["width"]).to_dict()
    torch.manual_seed(0)
    model = DetectionTask.build_model(config)
    out = tmp_path_factory.mktemp("detection_dir")
    torch.save({"model_name": "detection", "config": config, "meta": {"categories": DETECTION_CLASSES,
                                                                       "anchors": config["anchors"]},
                "state_dict": model.state_dict(), "params": smoke_params["detection"], "run": "test"},
               out / "model.pt")
    (out / "service.json").write_text(json.dumps(service_config("detection", smoke_params)))
    return out


@pytest.fixture(scope="session")
def tiny_trigger_word_dir(tmp_path_factory, smoke_params) -> Path:
    """A trigger-word model dir as TorchServe unpacks it: an untrained smoke-size network (threshold 0.5)
    + service.json."""
    import json

    from pipelines.serving.package import service_config
    from pipelines.tasks.trigger_word import TriggerWordTask

    task = TriggerWordTask(smoke_params["trigger_word"], {"threshold": 0.5, "label_window_s": 0.364})
    config = task.model_config()
    torch.manual_seed(0)
    model = task.build_model(config)
    out = tmp_path_factory.mktemp("trigger_word_dir")
    torch.save({"model_name": "trigger_word", "config": config, "meta": task.meta, "state_dict": model.state_dict(),
                "params": smoke_params["trigger_word"], "run": "test"}, out / "model.pt")
    (out / "service.json").write_text(json.dumps(service_config("trigger_word", smoke_params)))
    return out
