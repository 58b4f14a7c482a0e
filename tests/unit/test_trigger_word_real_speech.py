"""Real people in the trigger-word data (pipelines/data/trigger_word/talk.py and the real-speech params):
excerpts, real babble, the real_negatives split, held-out speakers, no draw when off, and the task's report.

    python -m pytest -q tests/unit/test_trigger_word_real_speech.py

It reads the recordings that scripts/setup.sh installs (Debian packages), at tiny sizes: a few seconds.
"""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from pipelines.data.real_speech import SOURCES, Recording
from pipelines.data.trigger_word.clips import make_clip, make_talk_clip
from pipelines.data.trigger_word.dataset import check_params, write_dataset
from pipelines.data.trigger_word.sources import Sources, installed, make_sources
from pipelines.data.trigger_word.talk import EXCERPT_S, FADE_S, MIN_EXCERPT_S, decoded, excerpt
from pipelines.data.trigger_word.voices import all_speakers, silence_bounds, voice_of
from pipelines.tasks.trigger_word import TriggerWordTask

ROOT = Path(__file__).resolve().parents[2]
RATE = 16_000
# The committed choice of sources and held-out speakers (params.yaml), so the test checks what the data uses
REAL = {k: v for k, v in yaml.safe_load((ROOT / "params.yaml").read_text())["data_trigger_word"].items()
        if k in ("real_speech_sources", "real_speech_held_out")}
PARAMS = {"seed": 11, "n_train": 2, "n_dev": 1, "n_test": 1, "negatives_only_minutes": 0.05, "clip_seconds": 3.0,
          "max_positives": 1, "max_negatives": 3, "test_voices": ["en-029", "flite-rms"], **REAL}


def _held_out(voice: str) -> bool:
    source, group = voice.removeprefix("real:").split("/", 1)
    return Recording(Path("/"), source, group).split(REAL["real_speech_held_out"]) == "held_out"


def _records(out: Path, split: str) -> list[dict]:
    return json.loads((out / f"{split}.json").read_text())


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("word_cache")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, cache):
    """Every negative word a real excerpt, every background real babble, and a real_negatives split."""
    out = tmp_path_factory.mktemp("tw_real")
    params = {**PARAMS, "cache_dir": str(cache), "p_real_negative": 1.0, "p_real_babble": 1.0,
              "background_kinds": ["babble"], "real_negatives_minutes": 0.1}
    return out, write_dataset(params, out, workers=1)


def test_excerpts_are_short_trimmed_and_say_where_they_come_from():
    recs = installed(("hedgewars", "klettres"))
    rng = np.random.default_rng(0)
    fade = round(FADE_S * RATE)
    lengths = []
    for _ in range(40):
        x, rec, from_s = excerpt(rng, recs, RATE)
        d = decoded(rec, RATE)
        lengths.append(len(x) / RATE)
        assert len(x) <= EXCERPT_S[1] * RATE
        # it is the stretch of the recording at from_s, faded in and out over 10 ms ...
        at = round(from_s * RATE) - d.offset
        stretch = d.samples[at:at + len(x)]
        np.testing.assert_allclose(x[fade:len(x) - fade], stretch[fade:len(x) - fade], atol=1e-6)
        assert np.all(np.abs(x[:fade]) <= np.abs(stretch[:fade]) + 1e-7)
        # ... and that stretch is trimmed: cutting again against the recording's loudest frame cuts nothing
        assert silence_bounds(stretch, RATE, d.loudest) == (0, len(x))
    assert np.mean(np.array(lengths) >= MIN_EXCERPT_S) > 0.9 and max(lengths) > 0.8, lengths


def test_held_out_speakers_never_reach_train_or_dev_sources():
    p = check_params({**PARAMS, "p_real_negative": 0.3}, 0)
    train, held = make_sources(p, held_out=False), make_sources(p, held_out=True)
    train_speakers, held_speakers = {k for k, _ in train.real_speakers}, {k for k, _ in held.real_speakers}
    assert train_speakers and held_speakers and not train_speakers & held_speakers
    assert all(_held_out(f"real:{s}") for s in held_speakers)
    assert not any(_held_out(f"real:{s}") for s in train_speakers)
    assert len(train.real_speech) + len(held.real_speech) == len(installed(tuple(REAL["real_speech_sources"])))
    assert {r.source for r in held.real_speech} == set(SOURCES)  # every source has people on both sides
    assert {r.source for r in train.real_speech} == set(SOURCES)


def test_real_people_stay_on_their_side_in_the_written_clips(dataset):
    out, summary = dataset
    assert summary["real_negatives_clips"] >= 2 and summary["real_negatives_activates"] == 0
    for split in ("train", "dev", "test", "negatives_only", "real_negatives"):
        for record in _records(out, split):
            assert record["background"]["kind"] == "real_babble"
            real = [v for v in record["voices"] if v.startswith("real:")]
            assert real and all(_held_out(v) == (split not in ("train", "dev")) for v in real), (split, real)
            words = record["negatives"]
            assert all(e["word"] == "real_speech" and e["voice"].startswith("real:") for e in words)
            assert all(Path(e["recording"]).is_file() and e["from_s"] >= 0 for e in words)


def test_a_real_negatives_clip_is_held_out_people_talking_and_no_activate(dataset):
    out, _ = dataset
    for record in _records(out, "real_negatives"):
        assert record["activate_ends_s"] == [] and record["activates"] == []
        assert all(v.startswith("real:") and _held_out(v) for v in record["voices"])
        talk = record["negatives"]
        assert talk[0]["start_s"] == 0.0   # the talk was going on when the clip began
        pauses = [b["start_s"] - a["end_s"] for a, b in zip(talk, talk[1:], strict=False)]
        assert all(0.1 - 1e-3 <= s <= 0.8 + 1e-3 for s in pauses), pauses
        assert talk[-1]["end_s"] == record["duration_s"] or record["duration_s"] - talk[-1]["end_s"] <= 0.8 + 1e-3
        assert set(record["augment"]) == {"reverb_rt60_s", "telephone", "tilt_db_per_octave"}


def test_real_babble_when_babble_is_the_only_kind():
    p = check_params({**PARAMS, "background_kinds": ["babble"], "max_positives": 0, "max_negatives": 0,
                      "p_real_babble": 1.0}, 0)
    src = make_sources(p, held_out=False)
    for seed in range(3):
        _, record = make_clip(p, src, np.random.default_rng(seed), positives=True)
        assert record["background"]["kind"] == "real_babble"
        assert 1 <= len(record["voices"]) <= 6 and all(v.startswith("real:") for v in record["voices"])


def test_no_draw_when_off_whatever_the_sources(cache):
    """At shares of 0 the clips are those of a side without real people: the rule that keeps old data."""
    p = check_params({**PARAMS, "cache_dir": str(cache), "background_kinds": ["babble", "pink"]}, 0)
    speakers = tuple(s for s in all_speakers() if voice_of(s) == "en-us")
    bare = Sources(speakers, (), (), (), str(cache), RATE, 0.0)
    people = make_sources(p, held_out=False).real_speech
    for src in (replace(bare, real_speech=people[:50]), replace(bare, p_real_negative=1.0, p_real_babble=1.0)):
        for seed in range(3):
            a, ra = make_clip(p, bare, np.random.default_rng(seed), positives=True)
            b, rb = make_clip(p, src, np.random.default_rng(seed), positives=True)
            assert ra == rb and np.array_equal(a, b)


def test_the_real_negatives_split_is_written_only_when_asked(dataset, cache, tmp_path):
    out, _ = dataset
    (tmp_path / "real_negatives.json").write_text("[]")  # a stale split from an earlier run
    summary = write_dataset({**PARAMS, "n_train": 1, "n_dev": 0, "n_test": 0, "negatives_only_minutes": 0,
                             "cache_dir": str(cache)}, tmp_path, workers=1)
    assert not any(k.startswith("real_negatives") for k in summary)
    assert not (tmp_path / "real_negatives.json").exists() and not (tmp_path / "real_negatives").exists()


@pytest.mark.parametrize(("change", "key"), [
    ({"real_speech_sources": ["radio"]}, "real_speech_sources"),
    ({"real_speech_sources": "tuxpaint"}, "real_speech_sources"),
    ({"real_speech_sources": ["tuxpaint", "tuxpaint"]}, "real_speech_sources"),
    ({"real_speech_held_out": ["fillets/xx*"]}, "real_speech_held_out"),          # matches nothing
    ({"real_speech_held_out": ["tuxpaint/ro"], "real_speech_sources": ["fillets"]}, "real_speech_held_out"),
    ({"real_speech_held_out": []}, "real_speech_held_out"),                       # nothing held out
    ({"real_speech_held_out": ["*"]}, "real_speech_held_out"),                    # nothing left to train on
    ({"real_speech_held_out": "asterisk"}, "real_speech_held_out"),
    ({"p_real_negative": 1.5}, "p_real_negative"),
    ({"p_real_babble": "half"}, "p_real_babble"),
    ({"real_negatives_minutes": -1}, "real_negatives_minutes"),
    ({"real_negatives_minutes": True}, "real_negatives_minutes"),
    ({"real_speech_sources": [], "real_speech_held_out": [], "real_negatives_minutes": 5}, "real_negatives_minutes"),
])
def test_bad_real_speech_params_name_the_key(change, key):
    with pytest.raises(ValueError, match=f"data_trigger_word.{key}"):
        check_params({**PARAMS, **change}, 0)


def test_off_by_default():
    p = check_params({k: v for k, v in PARAMS.items() if k not in REAL}, 0)
    assert (p["real_speech_sources"], p["p_real_negative"], p["p_real_babble"], p["real_negatives_minutes"]) \
        == ([], 0.0, 0.0, 0)
    assert make_sources(p, held_out=True).real_speech == ()


def test_talk_clip_is_repeatable():
    p = check_params({**PARAMS, "background_kinds": ["pink"]}, 0)
    src = make_sources(p, held_out=True)
    (a, ra), (b, rb) = (make_talk_clip(p, src, np.random.default_rng(4)) for _ in range(2))
    assert ra == rb and np.array_equal(a, b) and len(a) == 3 * RATE


def test_evaluate_reports_real_negatives_as_false_accepts_per_hour(dataset, smoke_params):
    out, summary = dataset
    task = TriggerWordTask(json.loads(json.dumps(smoke_params["trigger_word"])),
                           {"label_window_s": 0.364, "threshold": 0.5})
    torch.manual_seed(0)
    net = task.build_model(task.model_config())
    metrics, details = task.evaluate(net, out)
    real = metrics["real_negatives"]
    assert "false_accepts_per_hour" in real and not {"recall", "precision", "f1"} & set(real)
    assert real["hours"] == pytest.approx(summary["real_negatives_clips"] * 3.0 / 3600)
    assert "test" in metrics and "negatives_only" in metrics
    assert all("real_false_accepts_per_hour" in row for row in details["operating_curve"])


def test_operating_curve_counts_real_speech_false_accepts():
    task = TriggerWordTask({"model": {}, "features": {}, "decode": {"tolerance_s": 0.5, "min_gap_s": 0.3}}, {})
    times = np.arange(250) * 0.04
    word, quiet, alarm = np.zeros(250), np.zeros(250), np.zeros(250)
    word[50:58] = 0.96
    alarm[100:104] = 0.92  # a real person's word fires in a 10 s clip: 360 false accepts per hour
    rows = {r["threshold"]: r for r in task.operating_curve(([word], [times], [[1.95]], [10.0]),
                                                            ([quiet], [times], [[]], [10.0]), 0.93,
                                                            ([alarm], [times], [[]], [10.0]))}
    assert rows[0.9]["real_false_accepts_per_hour"] == pytest.approx(360.0)
    assert rows[0.9]["false_accepts_per_hour"] == 0.0 and rows[0.97]["real_false_accepts_per_hour"] == 0.0
    plain = task.operating_curve(([word], [times], [[1.95]], [10.0]), ([quiet], [times], [[]], [10.0]), 0.93)
    assert all("real_false_accepts_per_hour" not in row for row in plain)
