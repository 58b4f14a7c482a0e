"""The trigger-word clips' backgrounds: white, pink or brown noise, mains hum, babble, near silence, or a
real recording.

    from pipelines.data.trigger_word.backgrounds import background
    noise, kind, voices = background(rng, 160_000, ["pink", "babble"], src)   # src: sources.Sources

A background comes at an arbitrary level: the clip (``clips.make_clip``) sets it 0-30 dB below the speech.
Babble talks with the side's own speakers, so a held-out voice is never heard in train or dev, not even
behind the words. With the side's real recordings (``sources.Sources.real_speech``), a share
``p_real_babble`` of the babble is 3-6 real people instead (kind ``real_babble``, voices
``real:<source/group>``).
"""

from __future__ import annotations

import math

import numpy as np

from pipelines.data.trigger_word.effects import at_level, db_to_gain
from pipelines.data.trigger_word.sources import Sources
from pipelines.data.trigger_word.talk import draw_recording, stream
from pipelines.data.trigger_word.voices import draw_rendition, synthesize
from pipelines.data.trigger_word.words import negative_word

# The kinds background() makes, for data_trigger_word.background_kinds to choose from ("babble" may come out
# as "real_babble": real_babble)
BACKGROUND_KINDS = ("white", "pink", "brown", "hum", "babble", "silence")
BABBLE_PAUSE_S = (0.05, 0.3)   # between one talker's words or recordings


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power spectrum ~ 1 / f**exponent (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1] if n > 1 else 1.0
    return np.fft.irfft(spectrum / freqs ** (exponent / 2.0), n)


def hum(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Mains hum: 50 or 60 Hz with decaying harmonics and a little noise."""
    f0 = float(rng.choice([50.0, 60.0]))
    t = np.arange(n) / rate
    x = sum(rng.uniform(0.3, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
            for k in range(1, 8) if f0 * k < rate / 2)
    return x + 0.05 * rng.standard_normal(n)


def babble(rng: np.random.Generator, n: int, src: Sources) -> tuple[np.ndarray, list[str]]:
    """3-6 talkers, each a stream of negative words (three renditions cycled) with short pauses; and the speakers."""
    out = np.zeros(n)
    speakers = []
    for _ in range(int(rng.integers(3, 7))):
        renditions = [draw_rendition(rng, src.speakers, negative_word(rng), src.other_engines_share) for _ in range(3)]
        speakers += [r.speaker for r in renditions]
        words = [synthesize(r, src.cache_dir, src.rate) for r in renditions]
        gain, pos = db_to_gain(rng.uniform(-4, 4)), int(rng.integers(0, src.rate))
        while pos < n:
            w = at_level(words[int(rng.integers(3))], 0.0)[:n - pos]
            out[pos:pos + len(w)] += gain * w
            pos += len(w) + int(rng.uniform(*BABBLE_PAUSE_S) * src.rate)
    return out, speakers


def real_babble(rng: np.random.Generator, n: int, src: Sources) -> tuple[np.ndarray, list[str]]:
    """3-6 real people, each a stream of three recordings of one speaker (``source/group``, the speaker of a
    random recording of the side) drawn again and again with short pauses, as :func:`babble` cycles three
    renditions (and a clip decodes a dozen recordings, not forty); and their voices, ``real:<source/group>``."""
    out = np.zeros(n)
    speakers = dict(src.real_speakers)
    voices = []
    for _ in range(int(rng.integers(3, 7))):
        speaker = draw_recording(rng, src.real_speech).speaker
        lines = tuple(draw_recording(rng, speakers[speaker]) for _ in range(3))
        gain, first_at = db_to_gain(rng.uniform(-4, 4)), int(rng.integers(0, src.rate))
        for piece in stream(rng, lines, n, src.rate, BABBLE_PAUSE_S, first_at):
            out[piece.start:piece.start + len(piece.samples)] += gain * piece.samples
        voices.append(f"real:{speaker}")
    return out, voices


def background(rng: np.random.Generator, n: int, kinds: list[str], src: Sources) -> tuple[np.ndarray, str, list[str]]:
    """A background of ``n`` samples (arbitrary level), its kind (``real:<file>`` for a recording), its voices."""
    if src.real_backgrounds and rng.random() < src.real_fraction:
        name, x = src.real_backgrounds[int(rng.integers(len(src.real_backgrounds)))]
        x = np.tile(x, math.ceil(n / len(x)) + 1)
        start = int(rng.integers(len(x) - n + 1))
        return x[start:start + n].astype(np.float64), f"real:{name}", []
    kind = str(rng.choice(kinds))
    if kind == "hum":
        return hum(rng, n, src.rate), kind, []
    if kind == "babble":
        # no draw without real speech or at p_real_babble 0: those clips keep their bytes
        if src.real_speech and src.p_real_babble > 0 and rng.random() < src.p_real_babble:
            x, voices = real_babble(rng, n, src)
            return x, "real_babble", voices
        x, voices = babble(rng, n, src)
        return x, kind, voices
    exponent = {"white": 0.0, "pink": 1.0, "brown": 2.0, "silence": 0.0}[kind]
    return coloured_noise(rng, n, exponent), kind, []
