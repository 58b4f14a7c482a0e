"""EfficientWord-Net's word embedding: one L2-normalised 2048-d vector per 1.5 s window of 16 kHz audio.

    from pipelines.features.word_embedding import WordEmbedding, match_score
    embed = WordEmbedding()                          # quantized=False, threads=1
    e = embed(windows)                               # (n, 24000) float32 in [-1, 1] -> (n, 2048) float32
    s = match_score(e, references)                   # (n,) in [0, 1]: best (cos + 1) / 2 over the references

A ResNet-50 trained with an ArcFace (additive angular margin) loss to tell spoken words apart, meant to be
voice independent: words of the same text land close together (cosine), different words apart. The model
files come from the ``efficientword-net==1.0.5`` wheel (:mod:`pipelines.features.wheels`): the float32 export
(88 MB) or, with ``quantized=True``, its dynamic int8 export (22 MB, ~1.5x faster, embeddings at cosine
0.97-0.996 to the float ones on spoken words; see docs/speech_frontends.md).

The input is the package's own feature (``eff_word_net.audio_processing.Resnet50_Arc_loss``): the natural log
of 64 mel filterbank energies (``python_speech_features.logfbank``: 0-8 kHz, triangular filters on a
512-point FFT, no pre-emphasis, no window function, power spectrum / 512) over 25 ms frames every 10 ms;
a 24000-sample window is zero-padded to 24080 samples -> 149 frames -> input (1, 1, 149, 64). Samples are
in [-1, 1], as the package's reference generator reads WAV files (soundfile float32); note that its
microphone stream feeds int16 values instead, which moves every log energy by log(32768^2) and changes
the embedding (cosine 0.84-0.97 to the [-1, 1] one): the [-1, 1] scale is the one used here.

The exported network has a fixed batch of 1, so windows run one by one (15-30 ms each on one
idle-ish core, int8 the faster; see benchmarks/speech_frontends.py).
Where the word sits in the window matters: the package pads each enrolment recording with zeros at a random
offset to 1.5 s (or crops a random 1.5 s of a longer one) and scans a stream with 1.5 s windows every 0.75 s.
"""

from __future__ import annotations

import numpy as np

from pipelines.features.wheels import WheelFile, onnx_session

PACKAGE, VERSION = "efficientword-net", "1.0.5"
_DIR = "eff_word_net/models/resnet_50_arc/"
MODEL_FILE = WheelFile(PACKAGE, VERSION, _DIR + "slim_93%_accuracy_72.7390%.onnx",
                       "373916c2a52dffb716738ac451d384ca2097d4cca5bde1357377023da8e47cbe")
QUANTIZED_FILE = WheelFile(PACKAGE, VERSION, _DIR + "slim_93%_accuracy_72.7390%_qint8.onnx",
                           "08189e02003f00d1438c9fa05277ac1a91affeb7c58981d11bc5ac89ddbd0424")

RATE = 16_000
WINDOW = 24_000          # 1.5 s
FRAME_LEN, FRAME_STEP = 400, 160   # 25 ms frames every 10 ms
NFFT = 512
N_FILTERS = 64
N_FRAMES = 1 + -(-(WINDOW - FRAME_LEN) // FRAME_STEP)   # 149: the last frame is zero-padded
DIM = 2048


def mel_filterbank(n_filters: int = N_FILTERS, nfft: int = NFFT, rate: int = RATE) -> np.ndarray:
    """(n_filters, nfft // 2 + 1) triangular mel filters from 0 Hz to rate / 2, built as python_speech_features
    builds them (HTK mel scale, band edges floored to FFT bins), which the network was trained on."""
    def hz2mel(hz):
        return 2595 * np.log10(1 + hz / 700.0)

    def mel2hz(mel):
        return 700 * (10 ** (mel / 2595.0) - 1)

    edges = np.floor((nfft + 1) * mel2hz(np.linspace(hz2mel(0), hz2mel(rate / 2), n_filters + 2)) / rate)
    bank = np.zeros((n_filters, nfft // 2 + 1))
    for j in range(n_filters):
        lo, mid, hi = int(edges[j]), int(edges[j + 1]), int(edges[j + 2])
        bank[j, lo:mid] = (np.arange(lo, mid) - edges[j]) / (edges[j + 1] - edges[j])
        bank[j, mid:hi] = (edges[j + 2] - np.arange(mid, hi)) / (edges[j + 2] - edges[j + 1])
    return bank


_FILTERBANK_T = mel_filterbank().T
_EPS = np.finfo(float).eps   # the floor python_speech_features puts under an exactly-zero energy


def log_fbank(windows: np.ndarray) -> np.ndarray:
    """(n, 24000) samples in [-1, 1] -> (n, 149, 64) float32 log mel filterbank energies (float64 inside, as
    the package computes them)."""
    padded = np.zeros((len(windows), (N_FRAMES - 1) * FRAME_STEP + FRAME_LEN))
    padded[:, :WINDOW] = windows
    frames = np.lib.stride_tricks.sliding_window_view(padded, FRAME_LEN, axis=1)[:, ::FRAME_STEP]
    power = np.abs(np.fft.rfft(frames, NFFT)) ** 2 / NFFT
    energies = power @ _FILTERBANK_T
    return np.log(np.where(energies == 0, _EPS, energies)).astype(np.float32)


def _windows(windows: np.ndarray) -> np.ndarray:
    windows = np.asarray(windows)
    if windows.ndim != 2 or windows.shape[1] != WINDOW:
        raise ValueError(f"expected windows of shape (n, {WINDOW}) (1.5 s at {RATE} Hz), got {windows.shape}")
    if not np.issubdtype(windows.dtype, np.floating):
        raise ValueError(f"expected float samples in [-1, 1], got {windows.dtype} (divide int16 samples by 32768)")
    return windows


class WordEmbedding:
    """EfficientWord-Net's ResNet-50 (ArcFace) on onnxruntime (CPU, ``threads`` intra-op threads)."""

    rate = RATE
    window = WINDOW
    dim = DIM

    def __init__(self, quantized: bool = False, threads: int = 1):
        self.quantized = quantized
        self.threads = threads
        self._session = onnx_session((QUANTIZED_FILE if quantized else MODEL_FILE).path(), threads)
        self._input = self._session.get_inputs()[0].name

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """(n, 24000) float samples in [-1, 1] -> (n, 2048) float32, each row of unit L2 norm (all zeros for a
        window of digital silence)."""
        features = log_fbank(_windows(windows))
        out = np.zeros((len(features), DIM), np.float32)
        for i, f in enumerate(features):  # the export's batch dimension is fixed to 1
            # Features that are all equal (digital silence) make the float network return NaN (a 0/0 inside
            # it) and the int8 one an arbitrary vector; such a window holds no word: it stays the zero vector,
            # whose cosine with any word is 0.
            if f.min() < f.max():
                out[i] = self._session.run(None, {self._input: f[None, None]})[0][0]
        # The network ends in a normalisation already (norms are 1 to ~1e-7); renormalise so cosines are dot
        # products exactly, whatever the export.
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), np.float32(1e-12))


def match_score(embeddings: np.ndarray, references: np.ndarray) -> np.ndarray:
    """EfficientWord-Net's detection score: for each embedding, the best ``(cos + 1) / 2`` over the reference
    embeddings of one word (its enrolment recordings). (n, 2048), (r, 2048) -> (n,); the package's default
    detector's default threshold is 0.9, its examples use 0.65-0.7."""
    return ((np.asarray(embeddings) @ np.asarray(references).T + 1) / 2).max(axis=1)
