"""The wake-word detector's stage 1: the embedding cache stage, the head's causality and timing, and the task's
use of the cache (the same inputs as embedding the clips on the fly).

    python -m pytest -q tests/unit/test_wake_word.py
"""

import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from pipelines.data.audio import encode_wav
from pipelines.features import clip_embeddings
from pipelines.features.speech_embedding import SpeechEmbedding
from pipelines.models.wake_word import WakeWordConfig, WakeWordNet
from pipelines.tasks.wake_word import WakeWordTask, mask_steps


def clip_folder(path, n=5, seconds=(2.0, 3.0)):
    """A trigger-word folder of noise clips (train, dev, test): every record the task reads."""
    rng = np.random.default_rng(0)
    records = []
    for i in range(n):
        s = seconds[i % len(seconds)]
        (path / f"c{i}.wav").write_bytes(encode_wav(rng.normal(0, 0.1, int(16000 * s)).astype(np.float32), 16000))
        records.append({"file": f"c{i}.wav", "duration_s": s, "activate_ends_s": [1.5] if i % 2 else [],
                        "negatives": [{"end_s": 1.0}], "label_window_s": 0.364})
    for split in ("train", "dev", "test"):
        (path / f"{split}.json").write_text(json.dumps(records))
    return records


def test_head_is_causal_and_times_its_steps_at_the_end_of_its_last_window():
    torch.manual_seed(0)
    net = WakeWordNet(WakeWordConfig(conv_filters=8, kernel=4, gru=6)).eval()
    x = torch.randn(1, 30, 96)
    y = net(x)
    assert y.shape == (1, net.n_steps(30)) == (1, 27)
    x2 = x.clone()
    x2[:, 20:] = torch.randn(1, 10, 96)
    y2 = net(x2)
    # output step k reads inputs k .. k + 3: steps 0..16 read nothing after input 19
    assert torch.equal(y[:, :17], y2[:, :17]) and not torch.allclose(y[:, 17:], y2[:, 17:])
    times = net.step_times(27)
    assert times[0] == pytest.approx(SpeechEmbedding.step_ends(16000 * 5)[3])
    assert np.diff(times) == pytest.approx(0.08)


def test_mask_steps_masks_runs_of_steps_only():
    torch.manual_seed(0)
    out = mask_steps(torch.ones(8, 50, 96), masks=2, max_steps=5)
    zero_steps = (out == 0).all(dim=2)
    assert ((out == 0) | (out == 1)).all() and zero_steps.sum(dim=1).max() <= 10 and zero_steps.any()
    assert torch.equal(mask_steps(torch.ones(2, 5, 3), 0, 5), torch.ones(2, 5, 3))


def test_cache_bytes_do_not_depend_on_workers_and_stale_caches_are_refused(tmp_path):
    src = tmp_path / "clips"
    src.mkdir()
    clip_folder(src, n=40)
    one, two = tmp_path / "one", tmp_path / "two"
    summary = clip_embeddings.write_dataset({"source": str(src)}, one, workers=1)
    clip_embeddings.write_dataset({"source": str(src)}, two, workers=2)
    assert summary["train"]["clips"] == 40
    for name in ("train.npy", "train.json", "test.npy"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
    index, matrix = clip_embeddings.read_split(one, "dev", src)
    embed = SpeechEmbedding()
    from pipelines.data.audio import load_audio
    first = embed(load_audio((src / "c0.wav").read_bytes()))
    got = np.asarray(matrix[index["offsets"][0]:index["offsets"][1]], np.float32)
    assert got.shape == first.shape and np.allclose(got, first, rtol=2e-3, atol=2e-3)
    assert index["samples"][1] == 48000
    (src / "dev.json").write_text(json.dumps(json.loads((src / "dev.json").read_text())[:3]))
    assert clip_embeddings.read_split(one, "dev", src) is None  # another dev.json: not this cache
    with pytest.raises(FileNotFoundError, match="no <split>.json"):
        clip_embeddings.write_dataset({"source": str(tmp_path / "empty")}, tmp_path / "x")


def test_task_reads_the_cache_or_embeds_on_the_fly_alike_and_trains_and_evaluates(smoke_params, tmp_path):
    src = tmp_path / "clips"
    src.mkdir()
    clip_folder(src)
    cache = tmp_path / "cache"
    clip_embeddings.write_dataset({"source": str(src)}, cache, workers=1)
    params = json.loads(json.dumps(smoke_params["wake_word"]))
    cached = WakeWordTask({**params, "embeddings": str(cache)})
    fresh = WakeWordTask({**params, "embeddings": None})
    a, b = cached.clip_set(src, "dev"), fresh.clip_set(src, "dev")
    assert [x.shape for x in a.inputs] == [x.shape for x in b.inputs]
    assert all(torch.equal(x, y) for x, y in zip(a.inputs, b.inputs, strict=True))  # float16 of the same values
    assert a.seconds == b.seconds == [2.0, 3.0, 2.0, 3.0, 2.0]

    cached.load(src)
    torch.manual_seed(0)
    net = cached.build_model(cached.model_config())
    loader = DataLoader(cached.train_set, batch_size=2, collate_fn=cached.collate)
    net.train()
    loss = cached.loss(net, next(iter(loader)))
    loss.backward()
    assert torch.isfinite(loss) and net.dense.weight.grad is not None
    got = cached.validate(net, DataLoader(cached.dev_set, batch_size=2, collate_fn=cached.collate),
                          torch.device("cpu"))
    assert 0 <= got["dev_recall"] <= 1 and got["dev_threshold"] == cached.meta["threshold"]
    metrics, details = cached.evaluate(net, src)
    assert set(metrics["test"]) >= {"recall", "precision", "false_accepts_per_hour", "hours"}
    assert metrics["test"]["hours"] == pytest.approx(12 / 3600)


def test_service_path_detects_from_audio_as_evaluation_scores_the_embeddings(smoke_params, tmp_path):
    """``audio_probs`` (the service: audio in, embedded on the spot) equals ``_probs`` on the cached embeddings,
    and the shortest clip the service accepts gives exactly one output step."""
    from pipelines.data.audio import load_audio
    from pipelines.features.speech_embedding import n_steps

    src = tmp_path / "clips"
    src.mkdir()
    clip_folder(src, n=3)
    task = WakeWordTask({**json.loads(json.dumps(smoke_params["wake_word"])), "embeddings": None},
                        {"threshold": 0.5})
    torch.manual_seed(0)
    net = task.build_model(task.model_config()).eval()
    audio = [load_audio((src / f"c{i}.wav").read_bytes()) for i in range(3)]
    live = task.audio_probs(net, audio)
    offline = task._probs(net, task.clip_set(src, "test"))
    for (p, t), (q, u) in zip(live, offline, strict=True):
        assert np.allclose(p, q, atol=2e-3) and np.array_equal(t, u)
    shortest = task.min_samples(net)
    assert net.n_steps(n_steps(shortest)) == 1 and net.n_steps(n_steps(shortest - 1)) == 0
    assert all(isinstance(d, list) for d in task.detect(net, audio))


def test_the_trigger_word_handler_serves_a_wake_word_model(smoke_params, tmp_path):
    """The service's handler asks the bundle's task how audio becomes detections: a wake_word model.pt answers
    WAVs with activations, and a clip shorter than one output step (0.782 s + 3 steps) is 400 with the reason."""
    from pipelines.serving.package import service_config
    from services.mock_context import MockContext
    from services.trigger_word import TriggerWordHandler

    params = json.loads(json.dumps(smoke_params["wake_word"]))
    task = WakeWordTask(params, {"threshold": 0.5, "label_window_s": 0.364})
    torch.manual_seed(0)
    model = task.build_model(task.model_config())
    torch.save({"model_name": "wake_word", "config": task.model_config(), "meta": task.meta,
                "state_dict": model.state_dict(), "params": params, "run": "test"}, tmp_path / "model.pt")
    # what `dlzoo package trigger_word` writes once wake_word backs the service: its task is named
    config = {**service_config("trigger_word", smoke_params), "task": "pipelines.tasks.wake_word:WakeWordTask"}
    (tmp_path / "service.json").write_text(json.dumps(config))
    handler = TriggerWordHandler()
    handler.initialize(MockContext(tmp_path))
    assert handler.min_samples == 12512 + 3 * 1280
    tone = 0.3 * np.sin(np.arange(32000) * 2 * np.pi * 440 / 16000)
    bodies = [encode_wav(tone, 16000), encode_wav(tone[:handler.min_samples - 1], 16000)]
    ctx = MockContext(tmp_path, [{"Content-Type": "audio/wav"}] * 2)
    out = [json.loads(o) for o in handler.handle([{"body": b} for b in bodies], ctx)]
    assert {i: s[0] for i, s in ctx.statuses.items()} == {1: 400}
    assert out[0]["duration_s"] == 2.0 and isinstance(out[0]["activations"], list)
    assert "the model needs at least 1022.0 ms" in out[1]["error"]
