"""Trigger word: the course's network, event detection and matching, labels on the output steps,
and the handler through a mock context (every WAV encoding, JSON with a chime, 400 for bad audio)."""

import base64
import io
import json
import struct
import wave

import numpy as np
import pytest
import torch

from pipelines.data.audio import encode_wav
from pipelines.evaluation import trigger_word as tw
from pipelines.models.trigger_word import TriggerWordConfig, TriggerWordNet, UniformDropout, detect_events
from pipelines.tasks.trigger_word import TriggerWordTask, spec_augment, vtlp
from services.mock_context import MockContext
from services.trigger_word import TriggerWordHandler


def test_network_shapes_and_step_times():
    net = TriggerWordNet(TriggerWordConfig(conv_filters=16, gru=8)).eval()
    out = net(torch.randn(2, 1001, 201))
    assert out.shape == (2, (1001 - 15) // 4 + 1) == (2, net.n_steps(1001))
    times = net.step_times(3)
    assert times.tolist() == pytest.approx([0.07, 0.11, 0.15])  # centre frame 7, then every 4 frames of 10 ms


def test_uniform_dropout_drops_its_share_keeps_the_mean_and_is_off_in_eval():
    drop = UniformDropout(0.5)
    torch.manual_seed(0)
    x = torch.ones(200, 500, requires_grad=True)
    y = drop(x)
    assert 0.48 < float((y == 0).float().mean()) < 0.52 and set(y.unique().tolist()) == {0.0, 2.0}
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # the gradient passes only where the value was kept, scaled alike
    drop.eval()
    assert torch.equal(drop(x), x)
    with pytest.raises(ValueError, match="dropout"):
        UniformDropout(1.0)


def test_the_network_is_causal_in_time():
    """Unidirectional GRUs: audio after step t cannot change step t (so padding a batch is harmless)."""
    net = TriggerWordNet(TriggerWordConfig(conv_filters=16, gru=8)).eval()
    x = torch.randn(1, 401, 201)
    y = x.clone()
    y[:, 300:] = torch.randn(1, 101, 201)
    a, b = net(x), net(y)
    first_affected = (300 - 15) // 4 + 1  # the first step whose window reaches frame 300
    assert torch.allclose(a[:, :first_affected], b[:, :first_affected], atol=1e-6)
    assert not torch.allclose(a[:, first_affected:], b[:, first_affected:])


def test_detect_events_finds_runs_and_merges_close_ones():
    times = np.arange(100) * 0.04
    probs = np.zeros(100)
    probs[10:15] = 0.9      # 0.40 s
    probs[16:18] = 0.7      # 0.64 s: a dip of one step -> the same detection
    probs[60:62] = 0.95     # 2.40 s
    t, c = detect_events(probs, times, 0.5, min_gap_s=0.2)
    assert t.tolist() == pytest.approx([0.40, 2.40]) and c.tolist() == pytest.approx([0.9, 0.95])
    assert len(detect_events(probs, times, 0.99)[0]) == 0


def test_back_to_back_activates_stay_two_detections():
    # "activate activate": ends 0.95 s apart, each scored high on the steps 0.16-0.52 s after its end, as a
    # trained model does. Merging runs within 0.75 s (the old min_gap_s) made them one detection: a miss.
    times = np.arange(250) * 0.04
    probs = np.zeros(250)
    for end in (2.0, 2.95):
        probs[(times >= end + 0.16) & (times <= end + 0.52)] = 0.99
    t, _ = detect_events(probs, times, 0.5)
    assert tw.match_events(t, np.array([2.0, 2.95]), 0.5) == ([True, True], 0)
    assert len(detect_events(probs, times, 0.5, min_gap_s=0.75)[0]) == 1


def test_matching_within_half_a_second_each_truth_once():
    found, fp = tw.match_events(np.array([1.2, 1.3, 4.0, 9.0]), np.array([1.0, 4.6, 8.0]), 0.5)
    # 1.2 takes 1.0; 1.3 has nothing left; 4.0 is 0.6 from 4.6 (too far); 9.0 is 1.0 from 8.0
    assert found == [True, False, False] and fp == 3
    found, fp = tw.match_events(np.array([3.0, 3.45]), np.array([3.4, 3.0]), 0.5)
    assert found == [True, True] and fp == 0


def test_event_metrics_and_threshold_choice():
    times = np.arange(250) * 0.04
    probs = np.zeros(250)
    probs[50:58] = 0.8     # an activate ending at 2.0 s
    probs[150:152] = 0.4   # a weak false alarm at 6.0 s
    m = tw.event_metrics([probs], [times], [[1.95]], [10.0], 0.3)
    assert (m["recall"], m["precision"], m["false_accepts"]) == (1.0, 0.5, 1)
    assert m["false_accepts_per_hour"] == pytest.approx(360.0)
    threshold, best = tw.choose_threshold([probs], [times], [[1.95]], [10.0])
    assert 0.4 < threshold <= 0.8 and best["f1"] == 1.0


def test_threshold_within_a_false_accept_budget():
    times = np.arange(250) * 0.04
    word, alarm = np.zeros(250), np.zeros(250)
    word[50:58] = 0.9      # an activate ending at 2.0 s, in one clip
    alarm[100:104] = 0.6   # a confusable in another: 1 false accept in 20 s = 180 per hour
    args = ([word, alarm], [times, times], [[1.95], []], [10.0, 10.0])
    threshold, m = tw.choose_threshold(*args, max_false_accepts_per_hour=1.0)
    assert 0.6 < threshold <= 0.9 and m["recall"] == 1.0 and m["false_accepts"] == 0
    # A budget of 200 per hour allows the alarm; the higher thresholds are then only tie-breaks.
    assert tw.choose_threshold(*args, max_false_accepts_per_hour=200.0)[1]["recall"] == 1.0
    alarm[100:104] = 0.95  # louder than the word: within budget only when the word is missed too
    threshold, m = tw.choose_threshold(*args, max_false_accepts_per_hour=1.0)
    assert threshold > 0.95 and m["false_accepts"] == 0 and m["recall"] == 0.0


def test_threshold_grid_is_fine_near_one():
    # A trained detector scores both its words and its worst confusables above 0.99: the grid must tell
    # 0.9965 from 0.9975 (the old grid's 0.995 -> 0.998 step lost the word with the alarm).
    times = np.arange(250) * 0.04
    word, alarm = np.zeros(250), np.zeros(250)
    word[50:58] = 0.9975
    alarm[100:104] = 0.9965
    threshold, m = tw.choose_threshold([word, alarm], [times, times], [[1.95], []], [10.0, 10.0],
                                       max_false_accepts_per_hour=1.0)
    assert 0.9965 < threshold <= 0.9975 and m["recall"] == 1.0 and m["false_accepts"] == 0


def test_labels_sit_on_the_steps_after_each_word_end():
    task = TriggerWordTask({"model": {}, "features": {}}, {"label_window_s": 0.364})
    net = TriggerWordNet(TriggerWordConfig(conv_filters=8, gru=4))
    y, mask = task.targets(net, [[2.0], []], [1001, 501], 247)
    times = net.step_times(247)
    on = times[y[0].numpy() > 0]
    assert on.min() > 2.0 and on.max() <= 2.364 + 1e-9 and len(on) == 9
    assert y[1].sum() == 0
    assert mask[0].all() and mask[1].sum() == net.n_steps(501)


def test_operating_curve_trades_recall_for_false_accepts():
    task = TriggerWordTask({"model": {}, "features": {}, "decode": {"tolerance_s": 0.5, "min_gap_s": 0.3}}, {})
    times = np.arange(250) * 0.04
    word, alarm = np.zeros(250), np.zeros(250)
    word[50:58] = 0.96     # an activate ending at 2.0 s
    alarm[100:104] = 0.92  # a confusable in a 10 s negatives-only clip: 360 false accepts per hour
    rows = {r["threshold"]: r for r in task.operating_curve(([word], [times], [[1.95]], [10.0]),
                                                            ([alarm], [times], [[]], [10.0]), 0.93)}
    assert set(rows) >= {0.5, 0.9, 0.93, 0.97, 0.99}
    assert (rows[0.9]["test_recall"], rows[0.9]["false_accepts_per_hour"]) == (1.0, pytest.approx(360.0))
    assert (rows[0.93]["test_recall"], rows[0.93]["false_accepts_per_hour"]) == (1.0, 0.0)  # the dev threshold
    assert (rows[0.97]["test_recall"], rows[0.97]["false_accepts_per_hour"]) == (0.0, 0.0)


def test_negative_word_weights_sit_on_the_steps_after_each_other_word():
    task = TriggerWordTask({"model": {}, "features": {}}, {"label_window_s": 0.364})
    net = TriggerWordNet(TriggerWordConfig(conv_filters=8, gru=4))
    w = task.negative_word_weights(net, [[4.0], []], 247, 3.0).numpy()
    times = net.step_times(247)
    heavy = times[w[0] == 3.0]
    assert heavy.min() > 3.9 and heavy.max() <= 4.0 + 2 * 0.364 + 1e-9 and len(heavy) >= 20
    assert (w[0][w[0] != 3.0] == 1.0).all() and (w[1] == 1.0).all()


def test_vtlp_moves_a_formant_by_the_warp_and_keeps_the_band_edges():
    spec = torch.zeros(64, 5, 201)
    spec[:, :, 50] = 1.0                      # one "formant" at bin 50
    torch.manual_seed(0)
    out = vtlp(spec, 0.1)
    peaks = (out[:, 0] * torch.arange(201.0)).sum(1) / out[:, 0].sum(1)   # centre of mass per clip
    assert peaks.min() >= 50 * 0.9 - 0.5 and peaks.max() <= 50 * 1.1 + 0.5 and peaks.std() > 1.0  # f -> a f
    assert torch.allclose(out[:, 1:], out[:, :1].expand_as(out[:, 1:]))   # the same warp on every frame
    edges = vtlp(torch.arange(201.0).expand(3, 4, 201).clone(), 0.15)
    assert torch.allclose(edges[..., 0], torch.zeros(3, 4))
    assert torch.allclose(edges[..., -1], torch.full((3, 4), 200.0))
    assert torch.equal(vtlp(spec, 0.0), spec)


def test_validate_forwards_dev_once_with_the_loss_and_threshold_of_two_passes(smoke_params, tmp_path):
    from torch.utils.data import DataLoader

    from pipelines.tasks.trigger_word import feature_params, predict_probs

    rng = np.random.default_rng(0)
    records = []
    for i in range(5):
        noise = rng.normal(0, 0.1, 16000 * (2 + i % 2)).astype(np.float32)
        (tmp_path / f"c{i}.wav").write_bytes(encode_wav(noise, 16000))
        records.append({"file": f"c{i}.wav", "duration_s": 2.0 + i % 2, "activate_ends_s": [1.0] if i % 2 else [],
                        "negatives": [{"end_s": 0.5}]})
    for split in ("train", "dev"):
        (tmp_path / f"{split}.json").write_text(json.dumps(records))
    params = json.loads(json.dumps(smoke_params["trigger_word"]))
    params["train"]["negative_word_weight"] = 3.0
    task = TriggerWordTask(params)
    task.load(tmp_path)
    torch.manual_seed(0)
    net = task.build_model(task.model_config())
    loader = DataLoader(task.dev_set, batch_size=2, collate_fn=task.collate)
    got = task.validate(net, loader, torch.device("cpu"))
    assert net.training  # handed back in training mode

    net.eval()
    with torch.no_grad():
        losses = [float(task.loss(net, b)) * len(b["inputs"]) for b in loader]
    out = predict_probs(net, list(task.dev_set.audio), feature_params(params), 3)
    d = params["decode"]
    threshold, _ = tw.choose_threshold([p for p, _ in out], [t for _, t in out],
                                       [r["activate_ends_s"] for r in records], [r["duration_s"] for r in records],
                                       d["tolerance_s"], d["min_gap_s"],
                                       max_false_accepts_per_hour=d.get("max_false_accepts_per_hour"))
    assert got["dev_loss"] == pytest.approx(sum(losses) / 5, rel=1e-5)
    assert got["dev_threshold"] == threshold == task.meta["threshold"]


def test_spec_augment_masks_some_frames_and_bins():
    torch.manual_seed(0)
    spec = torch.ones(4, 200, 201)
    out = spec_augment(spec, {"time_masks": 2, "time_mask_frames": 20, "freq_masks": 2, "freq_mask_bins": 20})
    zeros = (out == 0).float().mean()
    assert 0.0 < zeros < 0.5 and spec.min() == 1  # the input is untouched


# ---------------------------------------------------------------- the handler


@pytest.fixture(scope="module")
def handler(tiny_trigger_word_dir):
    h = TriggerWordHandler()
    h.initialize(MockContext(tiny_trigger_word_dir))
    return h


def run(handler, bodies, ctype="audio/wav"):
    ctx = MockContext(handler.context.system_properties["model_dir"], [{"Content-Type": ctype}] * len(bodies))
    out = handler.handle([{"body": b} for b in bodies], ctx)
    return [json.loads(o) for o in out], ctx.statuses


def wav(seconds=2.0, rate=16000, bits=16, channels=1, fmt=1):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t)
    x = np.repeat(x[:, None], channels, axis=1)
    if fmt == 3:
        raw = x.astype("<f4").tobytes()
    elif bits == 8:
        raw = np.round(x * 127 + 128).astype(np.uint8).tobytes()
    elif bits == 24:
        ints = np.round(x * (2 ** 23 - 1)).astype("<i4")
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints.reshape(-1))
    else:
        raw = np.round(x * (2 ** (bits - 1) - 1)).astype(f"<i{bits // 8}").tobytes()
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk + b"data" + struct.pack("<I", len(raw)) + raw
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("kw", [dict(), dict(bits=8), dict(bits=24), dict(bits=32), dict(fmt=3, bits=32),
                                dict(channels=2, rate=44100), dict(rate=8000), dict(rate=48000)])
def test_every_wav_encoding_is_answered(handler, kw):
    answers, statuses = run(handler, [wav(**kw)])
    assert statuses == {}, answers
    assert answers[0]["duration_s"] == pytest.approx(2.0, abs=1e-3)
    assert isinstance(answers[0]["activations"], list)


def test_json_with_a_chime_returns_audio_of_the_same_length(handler):
    body = {"audio": base64.b64encode(wav(rate=22050)).decode(), "chime": True}
    answers, statuses = run(handler, [body], "application/json")
    assert statuses == {}
    with wave.open(io.BytesIO(base64.b64decode(answers[0]["audio"]))) as w:
        assert w.getframerate() == 22050 and w.getnframes() == 2 * 22050


@pytest.mark.parametrize("body,message", [
    (b"", "empty"),
    (b"this is not audio", "not a WAV"),
    (wav()[:30], "not a WAV"),
    (wav(fmt=6, bits=8), "unsupported encoding"),
    (wav(rate=96000), "sample rate"),
    (wav(seconds=61, rate=8000), "limit is 60"),
    (wav(seconds=0.0), "no samples"),
    ({"audio": "***"}, "base64"),
    ({"audio": base64.b64encode(wav()).decode(), "chime": "yes"}, "'chime'"),
    ({"sound": "abc"}, "'audio' must be"),
])
def test_bad_audio_answers_400_json(handler, body, message):
    answers, statuses = run(handler, [body], "application/json" if isinstance(body, dict) else "audio/wav")
    assert statuses[0][0] == 400, answers
    assert message in answers[0]["error"]


def test_chime_lands_at_the_activation_time():
    from services.trigger_word import with_chimes

    out = with_chimes(np.zeros(16000, np.float32), 16000, [0.5])
    assert np.abs(out[:7990]).max() == 0 and np.abs(out[8000:8400]).max() > 0.1


def test_wav_from_encode_wav_round_trips_through_the_handler(handler):
    answers, statuses = run(handler, [encode_wav(np.zeros(16000 * 3), 16000)])
    assert statuses == {} and answers[0]["duration_s"] == 3.0
