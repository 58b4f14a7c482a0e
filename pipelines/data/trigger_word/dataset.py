"""The trigger-word dataset: its params, its splits and the worker pool that writes them.

    dlzoo data trigger_word                      # writes data/trigger_word/ from params.yaml (data_trigger_word)
    dlzoo data trigger_word --seed 7 --out /tmp/tw

:func:`write_dataset` checks the params (:func:`check_params`), gives each worker process each split's
sources (``sources.make_sources``) and writes every clip (``clips.make_clip``) from its own generator seeded
by ``(seed, split, index)``, so the bytes do not depend on the number of workers. The recipe and the layout:
:mod:`pipelines.data.trigger_word`. ``real_negatives`` clips are real people talking (``clips.make_talk_clip``).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipelines.data import kokoro
from pipelines.data.audio import MAX_RATE, MIN_RATE, encode_wav
from pipelines.data.real_speech import SOURCES as REAL_SPEECH_SOURCES
from pipelines.data.trigger_word.backgrounds import BACKGROUND_KINDS
from pipelines.data.trigger_word.clips import make_clip, make_talk_clip
from pipelines.data.trigger_word.sources import installed, make_sources
from pipelines.data.trigger_word.splits import HELD_OUT_SPLITS, SPLITS
from pipelines.data.trigger_word.voices import all_voices

DEFAULTS = {
    "negatives_only_minutes": 0,
    "clip_seconds": 10.0,
    "sample_rate": 16_000,
    "test_voices": ["en-gb-scotland", "en-029", "flite-rms", "festival-ked", "festival-slt_hts", "kokoro-jf_alpha"],
    "label_window_s": 0.364,       # the course: 50 of 1,375 output steps per 10 s
    "max_positives": 4,
    "max_negatives": 4,
    "background_kinds": list(BACKGROUND_KINDS),
    "p_reverb": 0.4,
    "p_telephone": 0.15,
    "p_tilt": 0.5,
    "positives": None,
    "negatives": None,
    "backgrounds": None,
    "real_fraction": 0.5,
    "cache_dir": None,
    "other_engines_share": 0.0,
    "train_other_engines_share": None,  # None: other_engines_share
    "p_vocode": 0.0,
    "p_word_tilt": 0.0,
    "p_hard_negative": 0.0,
    "p_word_eq": 0.0,
    "kokoro_blends": False,
    # Real people (pipelines.data.real_speech); these defaults switch them off, and old params give old bytes
    "real_speech_sources": [],
    "real_speech_held_out": [],
    "p_real_negative": 0.0,
    "p_real_babble": 0.0,
    "real_negatives_minutes": 0,
}
# Splits added after the first four: written only when they hold clips, so params without them give the old folder
LATER_SPLITS = ("real_negatives",)


_WORKER: dict[str, object] = {}


def train_other_engines_share(params: dict) -> float:
    """The train split's ``other_engines_share`` (completed params): its own when set, the sides' otherwise."""
    share = params["train_other_engines_share"]
    return params["other_engines_share"] if share is None else share


def _init_worker(params: dict, seed: int, out: str) -> None:
    """Per process: the params, and each split's sources (real recordings decoded once). Only ``train`` draws
    ``p_hard_negative`` of its negative words from ``words.HARD_CONFUSABLES``, gives ``p_word_eq`` of its words
    their own timbre and the other engines ``train_other_engines_share`` of its words: dev keeps the word
    and engine mix of the held-out side, so the threshold chosen on dev meets those confusables and engines
    as often as test does (and dev figures compare across these switches). ``real_negatives`` babbles with
    real people only, so that every voice in it is a held-out person and its false accepts are real speech's."""
    train_dev, held_out = make_sources(params, False), make_sources(params, True)
    train = replace(train_dev, p_hard_negative=params["p_hard_negative"], p_word_eq=params["p_word_eq"],
                    other_engines_share=train_other_engines_share(params))
    sources = {"train": train, "dev": train_dev, **{split: held_out for split in HELD_OUT_SPLITS}}
    sources["real_negatives"] = replace(held_out, p_real_babble=1.0)
    _WORKER.update(params=params, seed=seed, out=out, sources=sources)


def _write_clip(task: tuple[str, int]) -> dict:
    """Render and write one clip (the unit of work of a worker); returns its record."""
    split, index = task
    params, seed, out = _WORKER["params"], _WORKER["seed"], Path(_WORKER["out"])
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    src = _WORKER["sources"][split]
    if split == "real_negatives":
        samples, record = make_talk_clip(params, src, rng)
    else:
        samples, record = make_clip(params, src, rng, positives=split != "negatives_only")
    name = f"{split}/clip_{index:05d}.wav"
    (out / name).write_bytes(encode_wav(samples, src.rate))
    return {"file": name, **record}


def _is_share(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0


def check_params(params: dict, seed: int) -> dict:
    """``params`` completed with :data:`DEFAULTS`; a ``ValueError`` naming the key when something is off."""
    p = {**DEFAULTS, **params}
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"data_trigger_word: the seed must be a non-negative integer, got {seed!r}")
    for key in ("n_train", "n_dev", "n_test", "max_positives", "max_negatives"):
        if not isinstance(p.get(key), int) or p[key] < 0:
            raise ValueError(f"data_trigger_word.{key} must be a non-negative integer, got {p.get(key)!r}")
    if not MIN_RATE <= p["sample_rate"] <= MAX_RATE:
        raise ValueError(f"data_trigger_word.sample_rate must be in [{MIN_RATE}, {MAX_RATE}], got {p['sample_rate']}")
    if not 1.0 <= p["clip_seconds"] <= 60.0:
        raise ValueError(f"data_trigger_word.clip_seconds must be in [1, 60], got {p['clip_seconds']}")
    unknown = set(p["test_voices"]) - set(all_voices())
    if unknown or not p["test_voices"] or set(p["test_voices"]) == set(all_voices()):
        raise ValueError(f"data_trigger_word.test_voices: need a non-empty proper subset of {all_voices()}, "
                         f"unknown: {sorted(unknown)}")
    for key in ("p_vocode", "p_word_tilt", "p_hard_negative", "p_word_eq", "other_engines_share"):
        if not _is_share(p[key]):
            raise ValueError(f"data_trigger_word.{key} must be a number in [0, 1], got {p[key]!r}")
    if p["train_other_engines_share"] is not None and not _is_share(p["train_other_engines_share"]):
        raise ValueError("data_trigger_word.train_other_engines_share must be null or a number in [0, 1], "
                         f"got {p['train_other_engines_share']!r}")
    if not isinstance(p["kokoro_blends"], bool):
        raise ValueError(f"data_trigger_word.kokoro_blends must be true or false, got {p['kokoro_blends']!r}")
    bad_kinds = set(p["background_kinds"]) - set(BACKGROUND_KINDS)
    if bad_kinds or not p["background_kinds"]:
        raise ValueError(f"data_trigger_word.background_kinds: choose from {BACKGROUND_KINDS}, got {bad_kinds}")
    _check_real_speech(p)
    return p


def _is_list_of_names(value) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value)


def _check_real_speech(p: dict) -> None:
    """The real-speech keys: known sources, shares, minutes; with sources, every held-out pattern matches a
    recording of them and both sides keep some (like ``test_voices``, a non-empty proper subset)."""
    sources = p["real_speech_sources"]
    if not _is_list_of_names(sources) or set(sources) - set(REAL_SPEECH_SOURCES) or len(set(sources)) < len(sources):
        raise ValueError(f"data_trigger_word.real_speech_sources: a list of distinct names from "
                         f"{list(REAL_SPEECH_SOURCES)}, got {sources!r}")
    patterns = p["real_speech_held_out"]
    if not _is_list_of_names(patterns):
        raise ValueError("data_trigger_word.real_speech_held_out must be a list of fnmatch patterns over a source "
                         f"or source/group (\"asterisk\", \"fillets/cs*\"), got {patterns!r}")
    for key in ("p_real_negative", "p_real_babble"):
        if not _is_share(p[key]):
            raise ValueError(f"data_trigger_word.{key} must be a number in [0, 1], got {p[key]!r}")
    minutes = p["real_negatives_minutes"]
    if not isinstance(minutes, int | float) or isinstance(minutes, bool) or minutes < 0:
        raise ValueError(f"data_trigger_word.real_negatives_minutes must be a number >= 0, got {minutes!r}")
    if not sources:
        if minutes:
            raise ValueError("data_trigger_word.real_negatives_minutes needs real_speech_sources (real people to play)")
        return
    try:
        recs = installed(tuple(sources))
    except FileNotFoundError as err:
        raise FileNotFoundError(f"data_trigger_word.real_speech_sources: {err}") from None
    unmatched = [pat for pat in patterns if not any(r.matches(pat) for r in recs)]
    if unmatched:
        raise ValueError(f"data_trigger_word.real_speech_held_out: {unmatched} match no recording of {sources} "
                         "(patterns match a source or source/group: `python -m pipelines.data.real_speech` lists them)")
    held = sum(r.split(patterns) == "held_out" for r in recs)
    if not 0 < held < len(recs):
        raise ValueError(f"data_trigger_word.real_speech_held_out must leave recordings on both sides; it holds out "
                         f"{held} of {len(recs)}")


def write_dataset(params: dict, out: Path, seed: int | None = None, workers: int | None = None) -> dict:
    """Write every split's WAV files and ``<split>.json``; returns clip, "activate" and duration counts.

    Existing split folders are replaced. ``workers`` defaults to the CPU count; the output is the same for any.
    """
    seed = params["seed"] if seed is None else seed
    p = check_params(params, seed)
    out = Path(out)
    n_clips = {"train": p["n_train"], "dev": p["n_dev"], "test": p["n_test"],
               "negatives_only": math.ceil(p["negatives_only_minutes"] * 60 / p["clip_seconds"]),
               "real_negatives": math.ceil(p["real_negatives_minutes"] * 60 / p["clip_seconds"])}
    splits = [s for s in SPLITS if n_clips[s] or s not in LATER_SPLITS]
    for split in SPLITS:
        shutil.rmtree(out / split, ignore_errors=True)
        if split in splits:
            (out / split).mkdir(parents=True)
        else:
            (out / f"{split}.json").unlink(missing_ok=True)  # a stale split would be evaluated
    tasks = [(split, i) for split in splits for i in range(n_clips[split])]
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    kokoro.prepare()  # its model file is assembled once here, not by workers racing to write it
    init_args = (p, seed, str(out))
    records = []
    with tqdm(total=len(tasks), unit="clip", desc="trigger_word") as bar:
        if workers == 1:
            _init_worker(*init_args)
            for task in tasks:
                records.append(_write_clip(task))
                bar.update(1)
        else:
            # spawn, not fork: the caller may hold threads (torch, Ray) that a forked child would inherit broken.
            with multiprocessing.get_context("spawn").Pool(workers, _init_worker, init_args) as pool:
                for record in pool.imap(_write_clip, tasks, chunksize=4):
                    records.append(record)
                    bar.update(1)
    summary: dict = {}
    for split in splits:
        rows = [r for r in records if r["file"].startswith(f"{split}/")]
        (out / f"{split}.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        summary[f"{split}_clips"] = len(rows)
        summary[f"{split}_activates"] = sum(len(r["activate_ends_s"]) for r in rows)
        summary[f"{split}_hours"] = round(sum(r["duration_s"] for r in rows) / 3600, 3)
    return summary
