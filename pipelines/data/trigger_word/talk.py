"""Real people in the trigger-word clips: excerpts and streams of one side's recordings of real speech.

    from pipelines.data.trigger_word.talk import excerpt, stream
    x, rec, from_s = excerpt(rng, src.real_speech, 16_000)            # a negative "word": 0.4-1.6 s of a person
    pieces = stream(rng, src.real_speech, 160_000, 16_000, (0.1, 0.8))  # talk back to back: real_negatives

The recordings are :mod:`pipelines.data.real_speech`'s (Debian packages; none says "activate"), already
split into sides by ``sources.real_speech_side``. Each is decoded once per worker process (:func:`decoded`,
an LRU cache: clips come back to the same recordings) and trimmed of its leading and trailing silence.
An excerpt or a piece of talk starts and ends with a 10 ms fade: cut inside a word, it would otherwise
begin with a click, a mark that no synthetic word carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pipelines.data.real_speech import Recording, load_recording
from pipelines.data.trigger_word.effects import rms
from pipelines.data.trigger_word.voices import frame_energies, silence_bounds

EXCERPT_S = (0.4, 1.6)     # the window an excerpt is cut from, before its silence is trimmed
MIN_EXCERPT_S = 0.2        # a window holding less sound than this (a pause, a breath) is drawn again ...
EXCERPT_TRIES = 10         # ... this many times at most (a recording shorter than that is kept as it is)
FADE_S = 0.01
DECODED_CACHE = 256        # recordings per worker process: a few seconds each, tens of MB at most
FROM_DECIMALS = 5          # a record's from_s: finer than a sample at 48 kHz, so it finds the very sample


@dataclass(frozen=True)
class Decoded:
    """A recording at one rate, trimmed of silence (read-only), and what placing its parts needs."""

    samples: np.ndarray
    offset: int            # where ``samples`` start in the recording, in samples
    loudest: float         # its loudest frame's energy: what tells speech from a pause inside an excerpt
    rms: float             # its speech level: pieces keep the person's loudness, pauses stay quiet


@dataclass(frozen=True)
class Piece:
    """One stretch of a recording placed in a clip: ``samples`` at the recording's RMS of 1, from ``start``."""

    samples: np.ndarray
    start: int
    recording: Recording
    from_s: float          # where it starts in the recording, in seconds


@lru_cache(maxsize=DECODED_CACHE)
def decoded(rec: Recording, rate: int) -> Decoded:
    """``rec`` at ``rate`` Hz, trimmed of leading and trailing silence; cached per process on (path, rate)
    (a ``Recording`` hashes as its path, source and group)."""
    x = load_recording(rec, rate)
    start, end = silence_bounds(x, rate)
    samples = x[start:end].copy()  # not a view: the cache must not keep the untrimmed array alive
    samples.setflags(write=False)
    energy = frame_energies(samples, rate)
    return Decoded(samples, start, float(energy.max()) if len(energy) else 0.0, rms(samples))


def draw_recording(rng: np.random.Generator, recs: tuple[Recording, ...]) -> Recording:
    """One of ``recs``, each as likely (so a source speaks as often as it has recordings)."""
    return recs[int(rng.integers(len(recs)))]


def fade(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` (float64 copy) with raised-cosine ramps of ``FADE_S`` (at most half its length) at both ends."""
    y = np.array(x, dtype=np.float64)
    m = min(round(FADE_S * rate), len(y) // 2)
    if m:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(m) + 0.5) / m)
        y[:m] *= ramp
        y[len(y) - m:] *= ramp[::-1]
    return y


def excerpt(rng: np.random.Generator, recs: tuple[Recording, ...], rate: int) -> tuple[np.ndarray, Recording, float]:
    """A negative word from a real person: a window of ``EXCERPT_S`` of a random recording, trimmed of the
    silence at its ends (a frame is silent ``TRIM_DB`` below the recording's loudest, not the window's),
    faded; with the recording and where the excerpt starts in it (s). A window that holds less than
    ``MIN_EXCERPT_S`` of sound is drawn again, recording included; the last of ``EXCERPT_TRIES`` windows
    opens its recording, which starts with sound (trimmed), so an excerpt is never empty."""
    for attempt in range(EXCERPT_TRIES):
        rec = draw_recording(rng, recs)
        d = decoded(rec, rate)
        length = round(rng.uniform(*EXCERPT_S) * rate)
        last = attempt == EXCERPT_TRIES - 1
        start = 0 if last else int(rng.integers(0, max(len(d.samples) - length, 0) + 1))
        a, b = silence_bounds(d.samples[start:start + length], rate, d.loudest)
        if b - a >= MIN_EXCERPT_S * rate:
            break
    return fade(d.samples[start + a:start + b], rate), rec, round((d.offset + start + a) / rate, FROM_DECIMALS)


def stream(rng: np.random.Generator, recs: tuple[Recording, ...], n: int, rate: int, pause_s: tuple[float, float],
           first_at: int = 0, mid_start: bool = False) -> list[Piece]:
    """Random recordings of ``recs`` one after another with ``pause_s`` pauses, from sample ``first_at`` to
    ``n`` (the last one cut there): someone talking. ``mid_start``: the first recording from a random
    point, so the talk was going on before the clip began. Pieces are at their recording's RMS of 1."""
    pieces: list[Piece] = []
    pos = first_at
    while pos < n:
        rec = draw_recording(rng, recs)
        d = decoded(rec, rate)
        skip = int(rng.integers(len(d.samples))) if mid_start and not pieces and len(d.samples) else 0
        samples = fade(d.samples[skip:skip + n - pos], rate) / max(d.rms, 1e-12)
        pieces.append(Piece(samples, pos, rec, round((d.offset + skip) / rate, FROM_DECIMALS)))
        pos += max(1, len(samples) + round(rng.uniform(*pause_s) * rate))  # an empty file still moves on
    return pieces

