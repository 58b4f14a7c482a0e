"""What one side of the trigger-word data (train/dev, or the held-out test and negatives_only) draws from.

    from pipelines.data.trigger_word.sources import make_sources
    src = make_sources(check_params(params, seed), held_out=True)   # dataset.check_params

A side has its speakers (:func:`pipelines.data.trigger_word.voices.split_speakers`), its share of the real
recordings named by ``positives``, ``negatives`` and ``backgrounds`` (a file is held out when
``crc32(file name) % 5 == 0``: :func:`real_side`), its people: the recordings of ``real_speech_sources``
(:mod:`pipelines.data.real_speech`) whose ``source/group`` matches a pattern of ``real_speech_held_out`` on
the held-out side, the others on train/dev (:func:`real_speech_side`), and the shares of the training-side
augmentations.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipelines.data.audio import decode_wav, resample
from pipelines.data.real_speech import Recording, recordings
from pipelines.data.trigger_word.voices import default_cache_dir, split_speakers, trim_silence

REAL_HELD_OUT_MODULUS = 5


def read_folder(folder: str | Path | None, rate: int, trim: bool) -> dict[str, np.ndarray]:
    """``{file name: samples at rate}`` of every ``*.wav`` in ``folder`` (empty when ``folder`` is None)."""
    if folder is None:
        return {}
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data_trigger_word: {folder} is not a directory of WAV files")
    clips = {}
    for path in sorted(folder.glob("*.wav")):
        try:
            samples, orig = decode_wav(path.read_bytes())
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
        samples = resample(samples, orig, rate)
        clips[path.name] = trim_silence(samples, rate) if trim else samples
    return clips


def real_side(clips: dict[str, np.ndarray], held_out: bool) -> list[tuple[str, np.ndarray]]:
    """The real recordings of one side: held out when ``crc32(name) % 5 == 0``."""
    return [(name, x) for name, x in clips.items()
            if (zlib.crc32(name.encode()) % REAL_HELD_OUT_MODULUS == 0) == held_out]


@dataclass(frozen=True)
class Sources:
    """What one side (train/dev or held out) draws from."""

    speakers: tuple[str, ...]
    real_positives: tuple[tuple[str, np.ndarray], ...]
    real_negatives: tuple[tuple[str, np.ndarray], ...]
    real_backgrounds: tuple[tuple[str, np.ndarray], ...]
    cache_dir: str
    rate: int
    real_fraction: float
    other_engines_share: float = 0.0
    p_vocode: float = 0.0
    p_word_tilt: float = 0.0
    p_hard_negative: float = 0.0
    p_word_eq: float = 0.0
    # Real people (pipelines.data.real_speech) of this side: every recording, and the same grouped by speaker
    # (``source/group``) for talkers that keep their voice. Empty: no draw for p_real_negative, p_real_babble.
    real_speech: tuple[Recording, ...] = ()
    real_speakers: tuple[tuple[str, tuple[Recording, ...]], ...] = ()
    p_real_negative: float = 0.0
    p_real_babble: float = 0.0


@lru_cache(maxsize=8)
def installed(sources: tuple[str, ...]) -> tuple[Recording, ...]:
    """``real_speech.recordings(sources)``, globbed once per process (``check_params`` and each side ask)."""
    return tuple(recordings(sources)) if sources else ()


def real_speech_side(params: dict, held_out: bool) -> tuple[Recording, ...]:
    """The recordings of ``real_speech_sources`` on one side: held out when a ``real_speech_held_out`` pattern
    matches their source or ``source/group`` (``Recording.split``), on train/dev otherwise."""
    side = "held_out" if held_out else "train"
    return tuple(r for r in installed(tuple(params["real_speech_sources"]))
                 if r.split(params["real_speech_held_out"]) == side)


def by_speaker(recs: tuple[Recording, ...]) -> tuple[tuple[str, tuple[Recording, ...]], ...]:
    """``recs`` grouped by ``source/group``, speakers sorted (a seeded choice among them is stable)."""
    groups: dict[str, list[Recording]] = {}
    for r in recs:
        groups.setdefault(r.speaker, []).append(r)
    return tuple((k, tuple(v)) for k, v in sorted(groups.items()))


def make_sources(params: dict, held_out: bool) -> Sources:
    """Speakers and real recordings of one side, from completed params (see ``dataset.check_params``)."""
    rate = params["sample_rate"]
    cache = params["cache_dir"] or default_cache_dir()
    people = real_speech_side(params, held_out)
    return Sources(
        speakers=tuple(split_speakers(params["test_voices"], held_out, params["kokoro_blends"])),
        real_positives=tuple(real_side(read_folder(params["positives"], rate, True), held_out)),
        real_negatives=tuple(real_side(read_folder(params["negatives"], rate, True), held_out)),
        real_backgrounds=tuple(real_side(read_folder(params["backgrounds"], rate, False), held_out)),
        cache_dir=str(cache), rate=rate, real_fraction=params["real_fraction"],
        other_engines_share=params["other_engines_share"], p_vocode=0.0 if held_out else params["p_vocode"],
        p_word_tilt=0.0 if held_out else params["p_word_tilt"],
        real_speech=people, real_speakers=by_speaker(people), p_real_negative=params["p_real_negative"],
        p_real_babble=params["p_real_babble"])
