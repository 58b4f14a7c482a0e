"""Audio I/O and features shared by the trigger-word data generator, training and the service (Course 5 Week 3).

    from pipelines.data.audio import load_audio, spectrogram
    features = spectrogram(load_audio(request_bytes), SPECTROGRAM_DEFAULTS)   # (n_frames, n_bins(params))

* :func:`decode_wav` reads RIFF/WAVE bytes: PCM 8 (unsigned), 16, 24 and 32-bit, IEEE float 32/64, plain or
  ``WAVE_FORMAT_EXTENSIBLE``, any channel count (averaged to mono), 8-48 kHz. The chunks are parsed by hand
  because the stdlib ``wave`` module cannot read float or extensible files; anything else (any malformed
  header, any truncation) raises a ``ValueError`` that says what is wrong, and never costs more than one pass
  over the bytes. :func:`encode_wav` writes 16-bit PCM mono with ``wave``.
* :func:`resample` is a band-limited (Kaiser-windowed sinc) interpolator for any pair of rates, also used
  for speed perturbation; the low-pass sits at ``ROLLOFF`` x the lower Nyquist frequency. Its cost does not
  depend on the rates' common factors: a minute of audio at any rate from 8 to 48 kHz takes under a second.
* :func:`spectrogram` is the one feature path of training and serving: ``torch.stft`` (centred, zero
  padded), optionally pooled into ``mel_bins`` mel bands, log power in dB, then per-utterance
  normalisation. For ``n`` samples it returns ``1 + n // hop`` frames of :func:`n_bins` bins; frame ``t``
  is centred at ``t * hop / sample_rate`` seconds (see :func:`n_frames` and :func:`frame_times`).
"""

from __future__ import annotations

import functools
import io
import math
import struct
import wave
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used, so data-generation workers start without it
    import torch

MODEL_RATE = 16_000
MIN_RATE, MAX_RATE = 8_000, 48_000
ROLLOFF = 0.94          # resampler cut-off, as a fraction of the lower Nyquist frequency
FILTER_ZEROS = 16       # sinc zero crossings on each side of the resampler kernel
KAISER_BETA = 8.6       # ~ -80 dB side lobes
RESAMPLE_BLOCK = 16_384  # output samples per vectorised block (bounds memory for long audio)
EXACT_PHASES = 1_000    # up to this many distinct sub-sample offsets, the kernel is evaluated exactly
FINE_PHASES = 1_024     # beyond: interpolated between this many offsets per input sample

SPECTROGRAM_DEFAULTS = {
    "sample_rate": MODEL_RATE,
    "n_fft": 400,          # 25 ms at 16 kHz -> 201 bins
    "hop": 160,            # 10 ms
    "window": "hann",      # hann | hamming
    "normalize": "per_bin",  # per_bin (mean/std of every bin over the utterance) | global | none
    "mel_bins": 0,         # > 0: pool the power spectrum into this many mel bands before the log
}
WINDOWS = {"hann": "hann_window", "hamming": "hamming_window"}  # torch window functions
NORMALIZATIONS = ("per_bin", "global", "none")
LOG_FLOOR = 1e-10       # power floor before the log: -100 dB
STD_FLOOR = 1e-5

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
ENCODINGS = {_PCM: (8, 16, 24, 32), _FLOAT: (32, 64)}  # format tag -> the bits per sample read
MAX_CHUNKS = 64         # RIFF chunks read before 'fmt ' and 'data' are both found (real files have a few)


class TooLong(ValueError):
    """The WAV file holds more audio than the caller's ``max_seconds``."""


def _fmt_chunk(body: bytes) -> tuple[int, int, int, int, int]:
    """(format tag, channels, sample rate, block align, bits per sample) of a ``fmt `` chunk, checked."""
    if len(body) < 16:
        raise ValueError(f"WAV: corrupt header, 'fmt ' chunk has {len(body)} bytes (at least 16 expected)")
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 40:
            raise ValueError("WAV: corrupt header, WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk shorter than 40 bytes")
        tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
    if bits not in ENCODINGS.get(tag, ()):
        kind = {_PCM: "PCM", _FLOAT: "IEEE float"}.get(tag, f"format tag {tag:#06x}")
        raise ValueError(f"WAV: unsupported encoding {kind} {bits}-bit (PCM 8/16/24/32-bit or float 32/64 expected)")
    if channels < 1:
        raise ValueError("WAV: corrupt header, 0 channels")
    if block_align != channels * bits // 8:
        raise ValueError(f"WAV: corrupt header, block align {block_align} bytes for {channels} channels of "
                         f"{bits} bits ({channels * bits // 8} expected)")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"WAV: unsupported sample rate {rate} Hz ({MIN_RATE}-{MAX_RATE} Hz expected)")
    return tag, channels, rate, block_align, bits


def _chunks(data: bytes) -> dict[bytes, memoryview]:
    """The RIFF chunks after ``WAVE`` (first occurrence of each id) up to the first point where both ``fmt ``
    and ``data`` are known; a truncated last chunk keeps what is there."""
    chunks: dict[bytes, memoryview] = {}
    view, pos, count = memoryview(data), 12, 0
    while pos + 8 <= len(data) and not {b"fmt ", b"data"} <= chunks.keys():
        count += 1
        if count > MAX_CHUNKS:
            raise ValueError(f"WAV: more than {MAX_CHUNKS} chunks before the 'fmt ' and 'data' chunks")
        cid, size = struct.unpack("<4sI", data[pos:pos + 8])
        chunks.setdefault(cid, view[pos + 8:pos + 8 + size])
        pos += 8 + size + (size & 1)  # chunks are word aligned
    return chunks


def _samples(raw: memoryview, tag: int, bits: int) -> np.ndarray:
    """Interleaved samples as float64 (``tag`` and ``bits`` as checked by :func:`_fmt_chunk`)."""
    if tag == _FLOAT:
        with np.errstate(invalid="ignore"):  # a signalling NaN converts quietly; the caller sees the NaN
            return np.frombuffer(raw, dtype=f"<f{bits // 8}").astype(np.float64)
    if bits == 8:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    if bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return np.where(ints >= 1 << 23, ints - (1 << 24), ints) / float(1 << 23)
    return np.frombuffer(raw, dtype=f"<i{bits // 8}").astype(np.float64) / float(1 << (bits - 1))


def decode_wav(data: bytes, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """``(mono float32 samples, sample rate)`` from the bytes of a WAV file.

    Integer samples land in [-1, 1]; float ones are clipped to it (a NaN stays a NaN). Any malformed or
    unsupported input raises ``ValueError`` saying what is wrong; more than ``max_seconds`` of audio raises
    :class:`TooLong` (a ``ValueError`` too) before any sample is converted.
    """
    if not data:
        raise ValueError("WAV: empty input")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("WAV: not a RIFF/WAVE file (the first 12 bytes must be 'RIFF....WAVE')")
    chunks = _chunks(data)
    if b"fmt " not in chunks:
        raise ValueError("WAV: corrupt header, no 'fmt ' chunk")
    tag, channels, rate, block_align, bits = _fmt_chunk(bytes(chunks[b"fmt "][:40]))
    if b"data" not in chunks:
        raise ValueError("WAV: corrupt file, no 'data' chunk")
    frames = len(chunks[b"data"]) // block_align
    if not frames:
        raise ValueError("WAV: the 'data' chunk holds no samples")
    if max_seconds is not None and frames / rate > max_seconds:
        raise TooLong(f"the audio is {frames / rate:.1f} s long; the limit is {max_seconds:g} s")
    samples = _samples(chunks[b"data"][:frames * block_align], tag, bits).reshape(frames, channels).mean(axis=1)
    return np.clip(samples, -1.0, 1.0).astype(np.float32), rate


def encode_wav(samples: np.ndarray, rate: int) -> bytes:
    """16-bit PCM mono WAV bytes of float samples (clipped to [-1, 1])."""
    ints = np.round(np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(ints.tobytes())
    return buf.getvalue()


def _kaiser(x: np.ndarray) -> np.ndarray:
    """Kaiser window on [-1, 1] (zero outside)."""
    inside = np.abs(x) < 1.0
    return np.where(inside, np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - x * x, 0.0, None))) / np.i0(KAISER_BETA), 0.0)


def _sinc_kernel(dist: np.ndarray, cutoff: float, half: int) -> np.ndarray:
    """The resampler's Kaiser-windowed sinc at ``dist`` input samples from the output sample's position."""
    return 2.0 * cutoff * np.sinc(2.0 * cutoff * dist) * _kaiser(dist / (half + 1))


def resample(samples: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling of mono ``samples`` from ``orig_rate`` to ``target_rate`` Hz (positive integers).

    Output length is ``ceil(len * target / orig)``; output sample ``n`` sits at input time ``n * orig / target``,
    that is ``frac / target`` of a sample past an input sample, where ``frac`` takes ``target / gcd`` values.
    Up to ``EXACT_PHASES`` of them (every pair the data generator uses, and the usual audio rates), the kernel
    is evaluated exactly once per distinct offset, as it always was (bit-identical output); beyond that
    (47,999 Hz has 16,000 offsets at 16 kHz: evaluating the kernel for each output sample cost 7-40 s a
    minute) it is interpolated linearly between ``FINE_PHASES`` offsets per input sample (within ~2e-5 of
    the exact kernel's output). Either way the cost is one row gather and one dot product per output sample:
    0.2-0.7 s for a minute at any rate from 8 to 48 kHz, on this project's 2-core machine.
    """
    orig_rate, target_rate = int(orig_rate), int(target_rate)
    if orig_rate <= 0 or target_rate <= 0:
        raise ValueError(f"resample: rates must be positive integers, got {orig_rate} -> {target_rate}")
    x = np.asarray(samples, dtype=np.float64)
    if orig_rate == target_rate or x.size == 0:
        return x.astype(np.float32)
    cutoff = ROLLOFF * min(orig_rate, target_rate) / (2.0 * orig_rate)  # cycles per input sample
    half = math.ceil(FILTER_ZEROS / (2.0 * cutoff))                     # kernel half-width, input samples
    n_out = -(-x.size * target_rate // orig_rate)
    pad = half + 2
    taps = np.arange(-half, half + 2)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, (pad, pad)), taps.size)
    if target_rate // math.gcd(orig_rate, target_rate) <= EXACT_PHASES:
        weights = functools.partial(_exact_weights, target_rate=target_rate, taps=taps, cutoff=cutoff, half=half)
    else:
        fine = _sinc_kernel(np.arange(FINE_PHASES + 1)[:, None] / FINE_PHASES - taps[None, :], cutoff, half)
        weights = functools.partial(_interpolated_weights, target_rate=target_rate, fine=fine[:-1],
                                    slope=np.diff(fine, axis=0))
    out = np.empty(n_out)
    for start in range(0, n_out, RESAMPLE_BLOCK):
        num = np.arange(start, min(start + RESAMPLE_BLOCK, n_out), dtype=np.int64) * orig_rate
        base, frac = np.divmod(num, target_rate)                        # input position = base + frac / target
        out[start:start + num.size] = np.einsum("ij,ij->i", weights(frac), windows[base + pad - half])
    return out.astype(np.float32)


def _exact_weights(frac: np.ndarray, target_rate: int, taps: np.ndarray, cutoff: float, half: int) -> np.ndarray:
    """Kernel rows ``(len(frac), taps)`` for offsets ``frac / target_rate``, evaluated once per distinct offset."""
    phases, which = np.unique(frac, return_inverse=True)
    return _sinc_kernel(phases[:, None] / target_rate - taps[None, :], cutoff, half)[which]


def _interpolated_weights(frac: np.ndarray, target_rate: int, fine: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Kernel rows for offsets ``frac / target_rate``, linear between the rows of ``fine`` (one per
    ``1 / FINE_PHASES`` of a sample; ``slope`` holds the differences of consecutive rows)."""
    row, rest = np.divmod(frac * FINE_PHASES, target_rate)              # exact integer arithmetic
    return fine[row] + (rest / target_rate)[:, None] * slope[row]


def load_audio(data: bytes, rate: int = MODEL_RATE) -> np.ndarray:
    """WAV bytes -> mono float32 samples at ``rate`` (the service's and the data loader's entry point)."""
    samples, orig = decode_wav(data)
    return resample(samples, orig, rate)


def n_frames(n_samples: int, params: dict) -> int:
    """Spectrogram frames for ``n_samples`` samples: ``1 + n_samples // hop``."""
    return 1 + n_samples // params["hop"]


def frame_times(count: int, params: dict) -> np.ndarray:
    """Centre time (seconds) of each of ``count`` spectrogram frames: ``t * hop / sample_rate``."""
    return np.arange(count) * params["hop"] / params["sample_rate"]


@functools.lru_cache(maxsize=8)
def mel_filterbank(n_fft: int, sample_rate: int, n_mels: int) -> np.ndarray:
    """Triangular mel filters ``(n_fft // 2 + 1, n_mels)`` from 0 Hz to Nyquist (HTK mel scale, peaks of 1).

    Pooling bins into bands wider than a harmonic spacing keeps the formants (what a word is) and drops the
    individual harmonics (the speaker's pitch, and the pulse-train texture of a vocoder).
    """
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    edges = 700.0 * (10.0 ** (np.linspace(0.0, mel(sample_rate / 2), n_mels + 2) / 2595.0) - 1.0)
    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - freqs[None]) / np.maximum(upper - centre, 1e-9)
    bank = np.clip(np.minimum(rising, falling), 0.0, None)
    if (bank.sum(axis=1) == 0).any():
        raise ValueError(f"spectrogram: {n_mels} mel bins are too many for n_fft {n_fft} at {sample_rate} Hz "
                         "(some bands fall between two frequency bins)")
    return bank.T.astype(np.float32)


def _mel_bins(params: dict) -> int:
    """``params['mel_bins']`` checked: 0 (absent or None too) for linear bins, else a positive integer."""
    mel_bins = params.get("mel_bins") or 0
    if not isinstance(mel_bins, int) or isinstance(mel_bins, bool) or mel_bins < 0:
        raise ValueError(f"spectrogram: mel_bins must be 0 (linear bins) or a positive integer, got {mel_bins!r}")
    return mel_bins


def n_bins(params: dict) -> int:
    """Feature bins per frame: ``mel_bins`` when set, else ``n_fft // 2 + 1``."""
    return _mel_bins(params) or params["n_fft"] // 2 + 1


def spectrogram(samples: np.ndarray | torch.Tensor, params: dict = SPECTROGRAM_DEFAULTS) -> torch.Tensor:
    """Normalised log-power spectrogram ``(..., n_frames, n_bins(params))`` of ``(..., n_samples)`` audio.

    ``samples`` must already be at ``params['sample_rate']`` (see :func:`load_audio`). With ``mel_bins`` the
    power is first pooled by :func:`mel_filterbank`. Power is in dB with a
    -100 dB floor; ``normalize`` then standardises every bin (``per_bin``) or the whole utterance
    (``global``) over time, or leaves dB values (``none``).
    """
    if params["window"] not in WINDOWS or params["normalize"] not in NORMALIZATIONS:
        raise ValueError(f"spectrogram: window must be one of {sorted(WINDOWS)} and normalize one of "
                         f"{NORMALIZATIONS}, got {params['window']!r} / {params['normalize']!r}")
    mel_bins = _mel_bins(params)
    import torch

    x = torch.as_tensor(samples, dtype=torch.float32)
    n_fft, hop = params["n_fft"], params["hop"]
    lead = x.shape[:-1]
    spec = torch.stft(x.reshape(-1, x.shape[-1]), n_fft=n_fft, hop_length=hop, win_length=n_fft,
                      window=getattr(torch, WINDOWS[params["window"]])(n_fft, dtype=torch.float32), center=True,
                      pad_mode="constant", return_complex=True)
    power = spec.abs().square().transpose(1, 2)  # (batch, frames, bins)
    if mel_bins:
        power = power @ torch.from_numpy(mel_filterbank(n_fft, params["sample_rate"], mel_bins))
    db = 10.0 * torch.log10(power.clamp_min(LOG_FLOOR))
    if params["normalize"] == "per_bin":
        db = (db - db.mean(dim=1, keepdim=True)) / db.std(dim=1, keepdim=True, correction=0).clamp_min(STD_FLOOR)
    elif params["normalize"] == "global":
        db = (db - db.mean(dim=(1, 2), keepdim=True)) / db.std(dim=(1, 2), keepdim=True,
                                                                correction=0).clamp_min(STD_FLOOR)
    return db.reshape(*lead, *db.shape[1:])
