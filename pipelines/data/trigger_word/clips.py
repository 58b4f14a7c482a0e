"""One trigger-word clip and its record: words placed over a background, augmented, levelled.

    from pipelines.data.trigger_word.clips import make_clip, make_talk_clip, spoken_clip
    samples, record = make_clip(params, src, np.random.default_rng(0), positives=True)  # dataset.check_params
    samples, record = make_talk_clip(params, src, np.random.default_rng(0))   # src with real_speech
    samples = spoken_clip([("activate", 3.0), ("coffee", 5.0), ("activate", 7.0)], "en-gb-scotland+m3")

:func:`make_clip` is the course's recipe with random ingredients (``dlzoo data trigger_word`` calls it once
per clip through ``dataset.write_dataset``); :func:`make_talk_clip` is a ``real_negatives`` clip, real people
talking on with the same backgrounds and augmentation (:func:`finish_clip`); :func:`spoken_clip` is a clip
with known answers, for the service and its checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from pipelines.data.trigger_word.backgrounds import background, coloured_noise
from pipelines.data.trigger_word.effects import (
    at_level,
    db_to_gain,
    reverb,
    spectral_eq,
    spectral_tilt,
    speed_perturb,
    telephone,
    vocode,
    word_eqs,
    word_tilts,
)
from pipelines.data.trigger_word.sources import Sources
from pipelines.data.trigger_word.talk import excerpt, stream
from pipelines.data.trigger_word.voices import VOCODED, Rendition, default_cache_dir, draw_rendition, synthesize
from pipelines.data.trigger_word.words import HARD_CONFUSABLES, POSITIVE, negative_word

SPEECH_LEVEL_DB = (-32.0, -14.0)   # RMS dBFS of a word at gain 0
WORD_GAIN_DB = (-6.0, 6.0)
SNR_DB = (0.0, 30.0)               # speech level minus background level
SILENCE_DB = -90.0                 # the "silence" background: dither
VOLUME_DB = (-6.0, 6.0)
PEAK = 0.99
SPEED_STEPS = np.round(np.arange(0.88, 1.1201, 0.02), 2)  # steps of 0.02 keep rate * speed a multiple of 320
TILT_DB_PER_OCTAVE = (-4.0, 4.0)
MIN_GAP_S = 0.05                   # between inserted words
PLACEMENT_TRIES = 50
REAL_SPEECH = "real_speech"        # the "word" of a real person's excerpt or piece of talk in a record
TALK_PAUSE_S = (0.1, 0.8)          # between recordings in a real_negatives clip


@dataclass(frozen=True)
class Word:
    """A word ready to insert: its samples and where it came from."""

    samples: np.ndarray
    text: str
    voice: str
    origin: dict = field(default_factory=dict)  # a real person's excerpt: its recording and from_s


def real_word(rng: np.random.Generator, src: Sources) -> Word:
    """A negative word from a real person of the side (``talk.excerpt``), its voice ``real:<source/group>``."""
    x, rec, from_s = excerpt(rng, src.real_speech, src.rate)
    return Word(x, REAL_SPEECH, f"real:{rec.speaker}", {"recording": str(rec.path), "from_s": from_s})


def draw_word(rng: np.random.Generator, src: Sources, positive: bool) -> Word:
    """A positive or negative word, real with probability ``real_fraction`` when real recordings exist."""
    real = src.real_positives if positive else src.real_negatives
    if real and rng.random() < src.real_fraction:
        name, x = real[int(rng.integers(len(real)))]
        return Word(x, POSITIVE if positive else "real", f"real:{name}")
    # no draw without real speech or at p_real_negative 0: those clips keep their bytes
    if not positive and src.real_speech and src.p_real_negative > 0 and rng.random() < src.p_real_negative:
        return real_word(rng, src)
    if positive:
        text = POSITIVE
    elif src.p_hard_negative > 0 and rng.random() < src.p_hard_negative:  # no draw at 0: dev and test unchanged
        text = str(rng.choice(HARD_CONFUSABLES))
    else:
        text = negative_word(rng)
    r = draw_rendition(rng, src.speakers, text, src.other_engines_share)
    samples = synthesize(r, src.cache_dir, src.rate)
    # Positives and negatives alike, so that sounding vocoded says nothing about the word. No draw at all
    # when p_vocode is 0 (the held-out side): its clips do not depend on the training side's share.
    if src.p_vocode > 0 and rng.random() < src.p_vocode:
        return Word(vocode(samples, src.rate, rng), r.word, r.speaker + VOCODED)
    return Word(samples, r.word, r.speaker)


def place_segments(rng: np.random.Generator, lengths: list[int], total: int, min_gap: int) -> list[int | None]:
    """Random start for each length, in order, so that no two segments overlap (nor come closer than
    ``min_gap``); a segment that finds no room in ``PLACEMENT_TRIES`` tries gets ``None`` (it is dropped)."""
    taken: list[tuple[int, int]] = []
    starts: list[int | None] = []
    for length in lengths:
        start = None
        if length <= total:
            for _ in range(PLACEMENT_TRIES):
                s = int(rng.integers(0, total - length + 1))
                if all(s + length + min_gap <= a or s >= b + min_gap for a, b in taken):
                    start = s
                    break
        if start is not None:
            taken.append((start, start + length))
        starts.append(start)
    return starts


def _event(word: Word, start: int, rate: int, speed: float, tilt: float, eq: list) -> dict:
    event = {"word": word.text, "start_s": round(start / rate, 4),
             "end_s": round((start + len(word.samples)) / rate, 4), "voice": word.voice, "speed": speed}
    if tilt:
        event["tilt_db_per_octave"] = tilt
    if eq:
        event["eq"] = [list(band) for band in eq]
    return {**event, **word.origin}


def make_clip(params: dict, src: Sources, rng: np.random.Generator, positives: bool) -> tuple[np.ndarray, dict]:
    """One clip and its record (without ``file``): background, inserted words, augmentation, final level."""
    rate = src.rate
    n = round(params["clip_seconds"] * rate)
    n_pos = int(rng.integers(0, params["max_positives"] + 1)) if positives else 0
    n_neg = int(rng.integers(0, params["max_negatives"] + 1))
    words = [draw_word(rng, src, True) for _ in range(n_pos)] + [draw_word(rng, src, False) for _ in range(n_neg)]
    speeds = [float(rng.choice(SPEED_STEPS)) for _ in words]
    words = [replace(w, samples=speed_perturb(w.samples, speeds[i], rate)) for i, w in enumerate(words)]
    tilts = word_tilts(rng, len(words), src.p_word_tilt)
    words = [replace(w, samples=spectral_tilt(w.samples, rate, tilts[i])) if tilts[i] else w
             for i, w in enumerate(words)]
    eqs = word_eqs(rng, len(words), src.p_word_eq)
    words = [replace(w, samples=spectral_eq(w.samples, rate, eqs[i])) if eqs[i] else w
             for i, w in enumerate(words)]
    starts = place_segments(rng, [len(w.samples) for w in words], n, round(MIN_GAP_S * rate))
    speech_db = rng.uniform(*SPEECH_LEVEL_DB)
    speech = np.zeros(n)
    activates, negatives = [], []
    for i, w in enumerate(words):
        start = starts[i]
        if start is None:
            continue
        speech[start:start + len(w.samples)] += at_level(w.samples, speech_db + rng.uniform(*WORD_GAIN_DB))
        (activates if i < n_pos else negatives).append(_event(w, start, rate, speeds[i], tilts[i], eqs[i]))
    mix, tail = finish_clip(params, src, rng, speech, speech_db)
    return mix, _record(params, n / rate, activates, negatives, tail)


def make_talk_clip(params: dict, src: Sources, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A ``real_negatives`` clip and its record: the side's real people talking on, recordings back to back
    with ``TALK_PAUSE_S`` pauses (the first from a random point of it), each at its own gain around one
    speech level, then :func:`finish_clip` as in :func:`make_clip`. No "activate": a false accept here is
    one that real speech caused."""
    rate = src.rate
    n = round(params["clip_seconds"] * rate)
    speech_db = rng.uniform(*SPEECH_LEVEL_DB)
    speech = np.zeros(n)
    negatives = []
    for piece in stream(rng, src.real_speech, n, rate, TALK_PAUSE_S, mid_start=True):
        end = piece.start + len(piece.samples)
        speech[piece.start:end] += piece.samples * db_to_gain(speech_db + rng.uniform(*WORD_GAIN_DB))
        negatives.append({"word": REAL_SPEECH, "start_s": round(piece.start / rate, 4), "end_s": round(end / rate, 4),
                          "voice": f"real:{piece.recording.speaker}", "recording": str(piece.recording.path),
                          "from_s": piece.from_s})
    mix, tail = finish_clip(params, src, rng, speech, speech_db)
    return mix, _record(params, n / rate, [], negatives, tail)


@dataclass(frozen=True)
class Tail:
    """What :func:`finish_clip` did: the background (kind, level, voices) and the augmentation."""

    background: dict
    augment: dict
    voices: list[str]


def finish_clip(params: dict, src: Sources, rng: np.random.Generator, speech: np.ndarray, speech_db: float
                ) -> tuple[np.ndarray, Tail]:
    """Every clip's augmentation tail, in this order of draws (old seeds give old bytes): room reverb on the
    speech (``p_reverb``), the background ``SNR_DB`` below ``speech_db`` (near silence: dither), telephone
    band (``p_telephone``), spectral tilt (drawn always, applied with ``p_tilt``), volume, peak limit."""
    rate, n = src.rate, len(speech)
    aug: dict = {"reverb_rt60_s": None}
    if rng.random() < params["p_reverb"]:
        speech, rt60 = reverb(rng, speech, rate)
        aug["reverb_rt60_s"] = round(rt60, 3)
    noise, kind, bg_voices = background(rng, n, params["background_kinds"], src)
    bg_db = SILENCE_DB if kind == "silence" else speech_db - rng.uniform(*SNR_DB)
    mix = speech + at_level(noise, bg_db)
    aug["telephone"] = bool(rng.random() < params["p_telephone"])
    if aug["telephone"]:
        mix = telephone(mix, rate)
    tilt = float(rng.uniform(*TILT_DB_PER_OCTAVE))
    aug["tilt_db_per_octave"] = round(tilt, 2) if rng.random() < params["p_tilt"] else 0.0
    if aug["tilt_db_per_octave"]:
        mix = spectral_tilt(mix, rate, aug["tilt_db_per_octave"])
    mix = mix * db_to_gain(rng.uniform(*VOLUME_DB))
    peak = float(np.max(np.abs(mix))) if n else 0.0
    if peak > PEAK:
        mix *= PEAK / peak
    return mix, Tail({"kind": kind, "level_db": round(float(bg_db), 2)}, aug, list(bg_voices))


def _record(params: dict, duration_s: float, activates: list[dict], negatives: list[dict], tail: Tail) -> dict:
    """A clip's record (without ``file``); ``voices``: every voice heard, words and background alike."""
    return {
        "duration_s": duration_s,
        "activate_ends_s": sorted(e["end_s"] for e in activates),
        "label_window_s": params["label_window_s"],
        "activates": sorted(activates, key=lambda e: e["start_s"]),
        "negatives": sorted(negatives, key=lambda e: e["start_s"]),
        "background": tail.background,
        "augment": tail.augment,
        "voices": sorted({e["voice"] for e in activates + negatives} | set(tail.voices)),
    }


def spoken_clip(words: list[tuple[str, float]], speaker: str, seconds: float = 10.0, rate: int = 16_000,
                snr_db: float = 20.0, seed: int = 0, cache_dir: str | None = None) -> np.ndarray:
    """A clip where ``speaker`` says each ``(word, end_s)`` so that it *ends* at ``end_s``, over pink noise
    ``snr_db`` below the speech: a known-answer input for the service and its checks.

        samples = spoken_clip([("activate", 3.0), ("coffee", 5.0), ("activate", 7.0)], "en-gb-scotland+m3")
    """
    cache = cache_dir or str(default_cache_dir())
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    speech = np.zeros(n)
    level = -20.0
    for word, end_s in words:
        x = synthesize(Rendition(speaker, word, 1, 1), cache, rate)
        end = round(end_s * rate)
        if end - len(x) < 0 or end > n:
            raise ValueError(f"spoken_clip: {word!r} ending at {end_s} s does not fit in {seconds} s")
        speech[end - len(x):end] += at_level(x, level)
    mix = speech + at_level(coloured_noise(rng, n, 1.0), level - snr_db)
    return (mix * min(1.0, PEAK / max(float(np.max(np.abs(mix))), 1e-9))).astype(np.float32)
