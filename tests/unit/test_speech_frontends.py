"""The frozen speech front ends (pipelines/features): step timing, determinism, equality with the packages' own
code, the pinned-wheel checks, and what the word embedding says about real words.

    python -m pytest -q tests/unit/test_speech_frontends.py

References: ``eff_word_net.audio_processing`` imports with onnxruntime alone, so WordEmbedding is compared with
``Resnet50_Arc_loss`` itself. ``import openwakeword`` needs scipy (its package ``__init__`` imports the
training code), which ``pip install --no-deps`` leaves out; then ``openwakeword/utils.py``, which needs only
numpy and onnxruntime, is run as it ships under a stand-in parent package, and SpeechEmbedding is compared
with its ``AudioFeatures(inference_framework="onnx")``. Spoken words come from espeak-ng (22050 Hz,
resampled to 16 kHz).
"""

import dataclasses
import importlib.metadata
import importlib.util
import itertools
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from pipelines.data.audio import decode_wav, resample
from pipelines.features import efficientnet_lite, glove, speech_embedding, wheels, word_embedding
from pipelines.features.speech_embedding import SpeechEmbedding
from pipelines.features.wheels import ModelWheelError
from pipelines.features.word_embedding import WordEmbedding, log_fbank
from pipelines.realface import models as face_models

ROOT = Path(__file__).resolve().parents[2]
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def spoken(word: str, voice: str = "en-us") -> np.ndarray:
    """``word`` said by an espeak-ng voice, 16 kHz float32."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", word], capture_output=True, check=True).stdout
    audio, rate = decode_wav(wav)
    return resample(audio, rate, 16_000).astype(np.float32)


def centred(audio: np.ndarray, length: int = word_embedding.WINDOW) -> np.ndarray:
    out = np.zeros(length, np.float32)
    start = (length - len(audio)) // 2
    out[start:start + len(audio)] = audio
    return out


def int16_clip(seconds: float, seed: int, word: str | None = None) -> np.ndarray:
    """Quiet noise (and a word at 0.5 s) as int16 samples: openWakeWord's reference takes int16."""
    x = np.random.default_rng(seed).normal(0, 0.01, int(seconds * 16_000)).astype(np.float32)
    if word:
        w = spoken(word)
        x[8_000:8_000 + len(w)] += w
    return np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)


@pytest.fixture(scope="module")
def speech():
    return SpeechEmbedding()


@pytest.fixture(scope="module")
def words():
    return WordEmbedding()


@pytest.fixture(scope="module")
def words_int8():
    return WordEmbedding(quantized=True)


def openwakeword_audio_features():
    """openWakeWord's ``AudioFeatures`` class: imported if the package imports, else its utils.py run as is."""
    try:
        from openwakeword.utils import AudioFeatures
        return AudioFeatures
    except ImportError:
        pass
    pkg = Path(importlib.metadata.distribution("openwakeword").locate_file("openwakeword"))
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in sys.modules if n == "openwakeword" or n.startswith("openwakeword.")]:
            mp.delitem(sys.modules, name)  # leftovers of the failed import; restored afterwards
        parent = types.ModuleType("openwakeword")
        parent.__path__ = [str(pkg)]
        mp.setitem(sys.modules, "openwakeword", parent)
        spec = importlib.util.spec_from_file_location("openwakeword.utils", pkg / "utils.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.AudioFeatures


# --- SpeechEmbedding -------------------------------------------------------------------------------------


def test_speech_steps_shapes_and_window_ends(speech):
    x = np.random.default_rng(0).normal(0, 0.1, 10 * 16_000).astype(np.float32)  # a 10 s clip of the task
    e = speech(x)
    ends = speech.step_ends(len(x))
    assert e.shape == (116, 96) and e.dtype == np.float32   # (997 mel frames - 76) // 8 + 1
    assert speech.mel(x).shape == (997, 32)
    assert len(ends) == len(e) and ends[0] == pytest.approx(0.782) and np.allclose(np.diff(ends), 0.08)
    assert ends[-1] <= 10.0 < ends[-1] + 0.08   # the last step ends within the clip, a further one would not
    # Too short for one step: 12511 samples.
    assert speech(x[:12_511]).shape == (0, 96) and len(speech.step_ends(12_511)) == 0
    assert speech(x[:100]).shape == (0, 96)


def test_speech_step_j_reads_exactly_its_window(speech):
    """Step j is a function of samples [1280 j, 1280 j + 12512) alone, the interval step_ends reports: what a
    stream computes from those samples is what the whole clip gives."""
    x = np.random.default_rng(1).normal(0, 0.1, 3 * 16_000).astype(np.float32)
    e = speech(x)
    for j in (0, 5, len(e) - 1):
        start = 1280 * j
        end = round(speech.step_ends(len(x))[j] * 16_000)
        alone = speech(x[start:end])
        assert alone.shape == (1, 96) and np.array_equal(alone[0], e[j])


def test_speech_deterministic_and_batched_equals_one_by_one(speech):
    rng = np.random.default_rng(2)
    clips = [rng.normal(0, 0.1, n).astype(np.float32) for n in (32_000, 20_000, 32_000, 5_000)]
    again = SpeechEmbedding()
    for c in clips:
        assert np.array_equal(speech(c), again(c))
    for one, many in zip([speech(c) for c in clips], speech.embed_many(clips), strict=True):
        assert one.shape == many.shape
        np.testing.assert_allclose(many, one, atol=1e-5)


def test_speech_rejects_int_or_multichannel_audio(speech):
    with pytest.raises(ValueError, match="32768"):
        speech(np.zeros(16_000, np.int16))
    with pytest.raises(ValueError, match="mono"):
        speech(np.zeros((2, 16_000), np.float32))


@needs_espeak
def test_speech_equals_openwakeword_reference(speech):
    reference = openwakeword_audio_features()(
        melspec_model_path=str(speech_embedding.MEL_FILE.path()),
        embedding_model_path=str(speech_embedding.EMBEDDING_FILE.path()),
        inference_framework="onnx", ncpu=1)
    a, b = int16_clip(3, seed=3, word="activate"), int16_clip(3, seed=4)
    fa, fb = a.astype(np.float32) / 32768, b.astype(np.float32) / 32768
    np.testing.assert_allclose(speech.mel(fa), reference._get_melspectrogram(a), atol=1e-4)
    np.testing.assert_allclose(speech(fa), reference._get_embeddings(a), atol=1e-4)
    batch = reference.embed_clips(np.stack([a, b]), batch_size=2, ncpu=1)   # (2, steps, 96)
    ours = speech.embed_many([fa, fb])
    np.testing.assert_allclose(np.stack(ours), batch, atol=1e-4)


# --- WordEmbedding ---------------------------------------------------------------------------------------


def test_word_shapes_norms_and_silence(words, words_int8):
    rng = np.random.default_rng(5)
    w = rng.normal(0, 0.05, (3, 24_000)).astype(np.float32)
    w[2] = 0  # digital silence: the float network would return NaN
    for model in (words, words_int8):
        e = model(w)
        assert e.shape == (3, 2048) and e.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(e[:2], axis=1), 1, atol=1e-5)
        assert not e[2].any()
    assert log_fbank(w).shape == (3, 149, 64)
    with pytest.raises(ValueError, match="24000"):
        words(np.zeros((1, 16_000), np.float32))


def test_word_deterministic(words):
    w = np.random.default_rng(6).normal(0, 0.05, (2, 24_000)).astype(np.float32)
    assert np.array_equal(words(w), WordEmbedding()(w))


@needs_espeak
def test_word_equals_efficientword_reference(words):
    audio_processing = pytest.importorskip("eff_word_net.audio_processing")
    reference = audio_processing.Resnet50_Arc_loss()   # the float model of the same wheel
    windows = np.stack([centred(spoken("activate")), centred(spoken("motivate", "en-gb+f3")),
                        np.random.default_rng(7).normal(0, 0.05, 24_000).astype(np.float32)])
    np.testing.assert_allclose(log_fbank(windows),
                               np.stack([reference.compute_logfbank_features(w) for w in windows]), atol=1e-5)
    np.testing.assert_allclose(words(windows), np.concatenate([reference.audioToVector(w) for w in windows]),
                               atol=1e-5)


@needs_espeak
def test_word_embedding_knows_the_word_across_voices(words, words_int8):
    """espeak-ng voices as stand-ins for speakers. For every pair of different voices (a, b), "activate" by a
    is closer to "activate" by b than to "motivate" or "deactivate" by b. Measured: same word 0.36-0.57,
    other words <= 0.41, every pair by >= 0.11 (float and int8 alike); int8 vs float cosine >= 0.97."""
    voices = ("en-us", "en-gb+f3", "en-029+f2")
    texts = ("activate", "motivate", "deactivate")
    windows = np.stack([centred(spoken(t, v)) for t in texts for v in voices])
    for model in (words, words_int8):
        e = model(windows).reshape(len(texts), len(voices), -1)
        for a, b in itertools.permutations(range(len(voices)), 2):
            same = e[0, a] @ e[0, b]
            assert same > max(e[0, a] @ e[1, b], e[0, a] @ e[2, b]) + 0.05, (voices[a], voices[b])
    cos = (words(windows) * words_int8(windows)).sum(axis=1)
    assert cos.min() > 0.95


# --- pinned wheels ---------------------------------------------------------------------------------------


def test_pins_match_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dlzoo"]["model-wheels"]
    assert pins == {speech_embedding.PACKAGE: speech_embedding.VERSION,
                    word_embedding.PACKAGE: word_embedding.VERSION, face_models.PACKAGE: face_models.VERSION,
                    efficientnet_lite.WEIGHTS.package: efficientnet_lite.WEIGHTS.version,
                    efficientnet_lite.CODE[0]: efficientnet_lite.CODE[1], glove.PACKAGE: glove.VERSION}
    for f in (speech_embedding.MEL_FILE, speech_embedding.EMBEDDING_FILE, word_embedding.MODEL_FILE,
              word_embedding.QUANTIZED_FILE, face_models.RECOGNIZER_FILE, face_models.LANDMARKS_FILE,
              face_models.CNN_DETECTOR_FILE, efficientnet_lite.WEIGHTS, glove.VECTORS_FILE, glove.VOCABULARY_FILE):
        assert f.path().is_file()
    assert importlib.metadata.version(efficientnet_lite.CODE[0]) == efficientnet_lite.CODE[1]


def test_another_pinned_version_fails_with_the_install_command(monkeypatch):
    monkeypatch.setattr(speech_embedding, "MEL_FILE", dataclasses.replace(speech_embedding.MEL_FILE, version="0.6.0"))
    with pytest.raises(ModelWheelError, match=r"0\.5\.1 is installed, 0\.6\.0 is pinned.*"
                                              r"pip install --no-deps openwakeword==0\.6\.0"):
        SpeechEmbedding()


def test_another_installed_version_fails_with_the_install_command(monkeypatch):
    real = importlib.metadata.distribution

    def distribution(name):
        dist = real(name)
        return types.SimpleNamespace(version="1.0.4", locate_file=dist.locate_file)

    monkeypatch.setattr(wheels.importlib.metadata, "distribution", distribution)
    with pytest.raises(ModelWheelError, match=r"version 1\.0\.4 is installed, 1\.0\.5 is pinned.*"
                                              r"pip install --no-deps efficientword-net==1\.0\.5"):
        WordEmbedding()


def test_a_different_file_or_a_missing_wheel_fails_with_the_install_command(monkeypatch):
    monkeypatch.setattr(word_embedding, "QUANTIZED_FILE",
                        dataclasses.replace(word_embedding.QUANTIZED_FILE, sha256="0" * 64))
    with pytest.raises(ModelWheelError, match=r"sha256 08189e02.* differs from the recorded 0{64}.*"
                                              r"pip install --no-deps efficientword-net==1\.0\.5"):
        WordEmbedding(quantized=True)
    missing = wheels.WheelFile("dlzoo-no-such-wheel", "1.0", "x.onnx", "0" * 64)
    with pytest.raises(ModelWheelError, match=r"not installed.*pip install --no-deps dlzoo-no-such-wheel==1\.0"):
        missing.path()
