"""The trigger-word clips' speakers, and the disk cache of what they said.

    from pipelines.data.trigger_word.voices import Rendition, default_cache_dir, synthesize
    x = synthesize(Rendition("en-gb-scotland+m3", "activate", 1, 1), str(default_cache_dir()), 16_000)

A speaker is an espeak-ng accent and variant (``en-us+f3``), ``flite-<voice>``, ``festival-<voice>``,
``kokoro-<voice>`` or, with ``kokoro_blends``, a blend of two Kokoro voices (``kokoro-jf_nezumi+jm_kumo``);
its voice (:func:`voice_of`) is what ``test_voices`` names, and :func:`split_speakers` puts each speaker on
the held-out side or on train/dev. A :class:`Rendition` is one word by one speaker at one point of the speed
and pitch grids; :func:`synthesize` speaks it (espeak-ng, flite, Festival's ``text2wave`` or
:mod:`pipelines.data.kokoro`), trims its silence, resamples it and keeps it on disk, so that thousands of
clips call the synthesisers only a few thousand times in all.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipelines.data import kokoro
from pipelines.data.audio import decode_wav, encode_wav, resample

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
TRIM_DB, TRIM_FRAME_S, TRIM_PAD_S = -40.0, 0.01, 0.02
VOCODED = "+vocoded"               # appended to a record's voice when its word was vocoded (clips.draw_word)


@dataclass(frozen=True)
class Rendition:
    """One synthesised word: speaker (``en-us+f3``, ``flite-slt``, ``festival-ked``), word, speed/pitch grid indices."""

    speaker: str
    word: str
    speed: int
    pitch: int


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


def frame_energies(x: np.ndarray, rate: int) -> np.ndarray:
    """Mean square of each whole ``TRIM_FRAME_S`` frame of ``x``."""
    frame = max(1, round(TRIM_FRAME_S * rate))
    n = len(x) // frame
    return np.square(x[:n * frame].astype(np.float64)).reshape(n, frame).mean(axis=1)


def silence_bounds(x: np.ndarray, rate: int, loudest: float | None = None) -> tuple[int, int]:
    """``(start, end)`` of ``x`` without its leading and trailing frames more than ``TRIM_DB`` below the
    loudest frame (keeping a short pad): where :func:`trim_silence` cuts, so a caller can say where the kept
    part lay. ``loudest``: the frame energy to compare with instead of ``x``'s own, for an excerpt of a
    longer recording (a pause inside it is then silence, not its own loudest part); ``(0, 0)`` when no frame
    comes near it."""
    frame = max(1, round(TRIM_FRAME_S * rate))
    energy = frame_energies(x, rate)
    if len(energy) == 0:
        return 0, len(x)
    loud = np.flatnonzero(energy >= (energy.max() if loudest is None else loudest) * 10 ** (TRIM_DB / 10))
    if len(loud) == 0:
        return 0, 0
    pad = round(TRIM_PAD_S * rate)
    return max(0, loud[0] * frame - pad), min(len(x), (loud[-1] + 1) * frame + pad)


def trim_silence(x: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing frames more than ``TRIM_DB`` below the loudest frame (keeping a short pad)."""
    start, end = silence_bounds(x, rate)
    return x[start:end]


def default_cache_dir() -> Path:
    """Where renditions are kept when ``cache_dir`` is not set: ``$XDG_CACHE_HOME/dlzoo/trigger_word``."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dlzoo" / "trigger_word"


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
