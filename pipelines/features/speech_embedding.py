"""Google's speech embedding (openWakeWord's front end): one 96-d vector every 80 ms of 16 kHz audio.

    from pipelines.features.speech_embedding import SpeechEmbedding
    embed = SpeechEmbedding()                       # threads=1: deterministic
    e = embed(audio)                                # audio: float32 in [-1, 1] at 16 kHz -> (steps, 96) float32
    t = embed.step_ends(len(audio))                 # (steps,) seconds at which each step's window ends
    es = embed.embed_many([clip_a, clip_b])         # one batched pass, a list of (steps_i, 96)

Two ONNX models from the ``openwakeword==0.5.1`` wheel, read as files (:mod:`pipelines.features.wheels`):

* ``melspectrogram.onnx`` takes int16-valued samples as float32 (``audio * 32768``; exact for 16-bit audio)
  and gives one 32-bin log-mel frame per 160 samples (10 ms). Frame ``k`` reads samples
  ``[160 k, 160 k + 512)`` (a 400-sample Hann window centred in a 512-point FFT frame), so ``n`` samples
  give ``(n - 512) // 160 + 1`` frames. openWakeWord rescales the output by ``x / 10 + 2`` (closer to the
  TensorFlow front end of Google's original, which the embedding was trained on); so does
  :meth:`SpeechEmbedding.mel`.
* ``embedding_model.onnx`` maps 76 mel frames (12512 samples, 0.782 s) to 96 numbers; a step every 8 frames
  (80 ms).
  Step ``j`` reads frames ``[8 j, 8 j + 76)``, i.e. samples ``[1280 j, 1280 j + 12512)``, so it ends at
  ``(1280 j + 12512) / 16000 = 0.782 + 0.08 j`` s. A clip shorter than 12512 samples has no step.

Streaming: every step depends only on its own 12512 samples (no normalisation over the utterance; checked
in tests/unit/test_speech_frontends.py), so a stream gives the same embeddings as the whole clip. Either keep
the last 12512 - 1280 = 11232 samples and compute one step per 1280 new samples, or, cheaper, keep the last
68 mel frames and the last 512 - 160 = 352 samples: those plus 1280 new samples give exactly the next 8
frames. A step is ready as soon as the last sample of its window arrives (0.782 s after the window starts).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipelines.features.wheels import WheelFile, onnx_session

PACKAGE, VERSION = "openwakeword", "0.5.1"
MEL_FILE = WheelFile(PACKAGE, VERSION, "openwakeword/resources/models/melspectrogram.onnx",
                     "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f")
EMBEDDING_FILE = WheelFile(PACKAGE, VERSION, "openwakeword/resources/models/embedding_model.onnx",
                           "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f")

RATE = 16_000
INT16_SCALE = 32_768.0   # the mel model was exported for int16 sample values
HOP = 160                # samples per mel frame (10 ms)
FRAME = 512              # samples one mel frame reads
MEL_BINS = 32
WINDOW_FRAMES = 76       # mel frames per embedding step
STEP_FRAMES = 8          # mel frames between steps (80 ms)
DIM = 96
STEP = STEP_FRAMES * HOP                    # 1280 samples
CONTEXT = (WINDOW_FRAMES - 1) * HOP + FRAME  # 12512 samples one step reads
BATCH_WINDOWS = 512      # embedding windows per onnxruntime call in embed_many (~5 MB of input)
BATCH_CLIPS = 32         # equal-length clips per mel call in embed_many


def n_frames(n_samples: int) -> int:
    return max(0, (n_samples - FRAME) // HOP + 1)


def n_steps(n_samples: int) -> int:
    return max(0, (n_frames(n_samples) - WINDOW_FRAMES) // STEP_FRAMES + 1)


def _mono(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio of shape (n,), got {audio.shape}")
    if not np.issubdtype(audio.dtype, np.floating):
        raise ValueError(f"expected float audio in [-1, 1], got {audio.dtype} (divide int16 samples by 32768)")
    return audio.astype(np.float32, copy=False)


class SpeechEmbedding:
    """openWakeWord's mel + speech-embedding models on onnxruntime (CPU, ``threads`` intra-op threads)."""

    rate = RATE
    dim = DIM
    step_s = STEP / RATE
    context_s = CONTEXT / RATE

    def __init__(self, threads: int = 1):
        self.threads = threads
        self._mel = onnx_session(MEL_FILE.path(), threads)
        self._embedding = onnx_session(EMBEDDING_FILE.path(), threads)

    @staticmethod
    def step_ends(n_samples: int) -> np.ndarray:
        """Seconds at which each step's window ends, for a clip of ``n_samples`` samples starting at 0 s."""
        return (np.arange(n_steps(n_samples)) * STEP + CONTEXT) / RATE

    def _mel_batch(self, batch: np.ndarray) -> np.ndarray:
        """(clips, n) float in [-1, 1] -> (clips, frames, 32) rescaled log-mel."""
        if batch.shape[1] < FRAME:
            return np.zeros((batch.shape[0], 0, MEL_BINS), np.float32)
        out = self._mel.run(None, {"input": batch * np.float32(INT16_SCALE)})[0]  # (clips, 1, frames, 32)
        return out[:, 0] / np.float32(10) + np.float32(2)

    def mel(self, audio: np.ndarray) -> np.ndarray:
        """(frames, 32) float32 log-mel frames, 10 ms apart, as the embedding model reads them."""
        return self._mel_batch(_mono(audio)[None])[0]

    def _embed_windows(self, mels: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Every step of every mel spectrogram, batched over all of them."""
        windows, counts = [], []
        for mel in mels:
            steps = max(0, (len(mel) - WINDOW_FRAMES) // STEP_FRAMES + 1)
            counts.append(steps)
            if steps:  # (steps, 32, 76) view -> (steps, 76, 32)
                view = np.lib.stride_tricks.sliding_window_view(mel, WINDOW_FRAMES, axis=0)[::STEP_FRAMES]
                windows.append(view.transpose(0, 2, 1))
        if not windows:
            return [np.zeros((0, DIM), np.float32) for _ in mels]
        stacked = np.concatenate(windows)[..., None].astype(np.float32)  # (all steps, 76, 32, 1)
        out = np.concatenate([self._embedding.run(None, {"input_1": stacked[i:i + BATCH_WINDOWS]})[0]
                              for i in range(0, len(stacked), BATCH_WINDOWS)]).reshape(-1, DIM)
        return np.split(out, np.cumsum(counts)[:-1])

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        """(steps, 96) float32 embeddings of one clip; step ``j`` ends at :meth:`step_ends` ``[j]``."""
        return self._embed_windows([self.mel(audio)])[0]

    def embed_many(self, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Embeddings of many clips (any lengths) in few onnxruntime calls: equal-length clips share a mel
        call, all steps share embedding calls. Same values as calling the clips one by one (to ~1e-6)."""
        clips = [_mono(c) for c in clips]
        mels: list[np.ndarray | None] = [None] * len(clips)
        by_length: dict[int, list[int]] = {}
        for i, c in enumerate(clips):
            by_length.setdefault(len(c), []).append(i)
        for idx in by_length.values():
            for start in range(0, len(idx), BATCH_CLIPS):
                chunk = idx[start:start + BATCH_CLIPS]
                for i, mel in zip(chunk, self._mel_batch(np.stack([clips[i] for i in chunk])), strict=True):
                    mels[i] = mel
        return self._embed_windows(mels)
