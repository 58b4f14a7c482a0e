"""WAV decoding and resampling against hostile input: any malformed file is a ValueError, any rate is cheap,
and the data generator's own rate pairs resample bit for bit as before (its datasets stay byte-identical).

    python -m pytest -q tests/unit/test_audio_robustness.py
"""

import math
import struct
import time

import numpy as np
import pytest

from pipelines.data import audio
from pipelines.data.audio import MAX_RATE, MIN_RATE, TooLong, decode_wav, encode_wav, resample
from pipelines.data.kokoro import RATE as KOKORO_RATE
from pipelines.data.trigger_word.clips import SPEED_STEPS
from pipelines.data.trigger_word.effects import TELEPHONE_RATE
from tests.conftest import ROOT

# ---------------------------------------------------------------- decode_wav fuzzing


def _riff(*chunks: tuple[bytes, bytes]) -> bytes:
    body = b"WAVE" + b"".join(cid + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)
                              for cid, data in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _random_wav(rng: np.random.Generator) -> bytes:
    """A valid WAV header whose fields are each replaced, with probability 0.3, by a boundary or random value;
    then maybe an extra chunk, chunks out of order, a lying chunk size, a flipped byte, a truncation."""
    def pick(*values):
        return int(values[rng.integers(len(values))])

    def hostile(value, *others):
        return pick(*others, rng.integers(1 << 16)) if rng.random() < 0.3 else value

    tag, bits = [(1, 8), (1, 16), (1, 24), (1, 32), (3, 32), (3, 64)][rng.integers(6)]
    tag = hostile(tag, 0, 2, 0xFFFE, 0xFFFF)
    bits = hostile(bits, 0, 1, 7, 12, 64, 0xFFFF)
    channels = hostile(pick(1, 2, 6), 0, 0xFFFF)
    align = hostile((channels * ((bits + 7) // 8)) & 0xFFFF, 0, 1)
    rate = hostile(pick(MIN_RATE, 16000, 44100, MAX_RATE), 0, 1, MIN_RATE - 1, MAX_RATE + 1, (1 << 32) - 1)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, (rate * align) & 0xFFFFFFFF, align, bits)
    if tag == 0xFFFE or rng.random() < 0.1:
        fmt += struct.pack("<HHIH", 22, bits, 0, pick(1, 3, 0, rng.integers(1 << 16))) + bytes(14)
    fmt = fmt[:pick(len(fmt), rng.integers(len(fmt) + 1))]
    chunks = [(b"fmt ", fmt), (b"data", rng.bytes(int(rng.integers(0, 400))))]
    if rng.random() < 0.3:
        chunks.insert(int(rng.integers(3)), (rng.bytes(4), rng.bytes(int(rng.integers(0, 20)))))
    if rng.random() < 0.2:
        chunks.reverse()
    data = bytearray(_riff(*chunks))
    if rng.random() < 0.3:  # a chunk size that lies (absurdly large, zero, odd)
        pos = data.find(chunks[int(rng.integers(len(chunks)))][0], 12)
        if pos >= 0:
            data[pos + 4:pos + 8] = struct.pack("<I", pick(0, 1, 0xFFFFFFFF, rng.integers(1 << 32)))
    if rng.random() < 0.2:
        data[int(rng.integers(len(data)))] = int(rng.integers(256))
    if rng.random() < 0.3:
        data = data[:int(rng.integers(len(data) + 1))]
    return bytes(data)


def test_malformed_wavs_raise_only_value_error():
    rng = np.random.default_rng(2026)
    decoded = 0
    for _ in range(4000):
        data = _random_wav(rng)
        try:
            samples, rate = decode_wav(data, max_seconds=60)
        except ValueError as err:
            assert str(err)  # says what is wrong
            continue
        decoded += 1
        assert samples.dtype == np.float32 and samples.ndim == 1 and samples.size > 0
        assert MIN_RATE <= rate <= MAX_RATE
    assert decoded > 50  # the generator also makes readable files, so the success path is fuzzed too


@pytest.mark.parametrize("fields,message", [
    ((1, 1, 16000, 0, 0), "unsupported encoding PCM 0-bit"),
    ((1, 0, 16000, 0, 16), "0 channels"),
    ((1, 2, 16000, 0, 16), "block align 0"),
    ((1, 1, 16000, 3, 16), "block align 3"),
    ((3, 1, 16000, 2, 16), "unsupported encoding IEEE float 16-bit"),
    ((1, 1, 7999, 2, 16), "sample rate 7999"),
])
def test_each_malformed_header_says_what_is_wrong(fields, message):
    tag, channels, rate, align, bits = fields
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    with pytest.raises(ValueError, match=message):
        decode_wav(_riff((b"fmt ", fmt), (b"data", bytes(64))))


def test_odd_data_lengths_and_lying_chunk_sizes():
    fmt = struct.pack("<HHIIHH", 1, 2, 16000, 64000, 4, 16)
    samples, _ = decode_wav(_riff((b"fmt ", fmt), (b"data", bytes(4 * 10 + 3))))  # a partial last frame
    assert samples.size == 10
    lying = bytearray(_riff((b"fmt ", fmt), (b"data", bytes(40))))
    lying[-44:-40] = struct.pack("<I", 0xFFFFFFFF)  # the data chunk claims 4 GB: what is there is read
    assert decode_wav(bytes(lying))[0].size == 10


def test_many_chunks_and_too_long_audio_are_refused_before_decoding():
    junk = b"".join([b"junk" + struct.pack("<I", 0)] * (audio.MAX_CHUNKS + 1))
    with pytest.raises(ValueError, match="chunks"):
        decode_wav(b"RIFF\0\0\0\0WAVE" + junk * 1000)
    with pytest.raises(TooLong, match="61.0 s long; the limit is 60 s"):
        decode_wav(encode_wav(np.zeros(61 * 8000), 8000), max_seconds=60)


# ---------------------------------------------------------------- resample: the old algorithm, frozen


def _old_kaiser(x):
    inside = np.abs(x) < 1.0
    return np.where(inside, np.i0(8.6 * np.sqrt(np.clip(1.0 - x * x, 0.0, None))) / np.i0(8.6), 0.0)


def _old_resample(samples, orig_rate, target_rate):
    """``resample`` as it was before its cost was bounded (commit 8c8ac75), kept verbatim as the reference."""
    x = np.asarray(samples, dtype=np.float64)
    if orig_rate == target_rate or x.size == 0:
        return x.astype(np.float32)
    cutoff = 0.94 * min(orig_rate, target_rate) / (2.0 * orig_rate)
    half = math.ceil(16 / (2.0 * cutoff))
    n_out = -(-x.size * target_rate // orig_rate)
    pad = half + 2
    padded = np.pad(x, (pad, pad))
    taps = np.arange(-half, half + 2)
    out = np.empty(n_out)
    for start in range(0, n_out, 16_384):
        num = np.arange(start, min(start + 16_384, n_out), dtype=np.int64) * orig_rate
        base, frac = np.divmod(num, target_rate)
        phases, which = np.unique(frac, return_inverse=True)
        dist = phases[:, None] / target_rate - taps[None, :]
        table = 2.0 * cutoff * np.sinc(2.0 * cutoff * dist) * _old_kaiser(dist / (half + 1))
        window = padded[base[:, None] + taps[None, :] + pad]
        out[start:start + num.size] = np.einsum("ij,ij->i", table[which], window)
    return out.astype(np.float32)


def _generator_pairs() -> list[tuple[int, int]]:
    """Every (orig, target) rate pair the trigger-word generator resamples with, at its configured rate and
    at 16 kHz: speed perturbation, the engines' and common recording rates, the telephone channel."""
    import yaml

    rates = {16000, yaml.safe_load((ROOT / "params.yaml").read_text())["data_trigger_word"]["sample_rate"]}
    engines = (8000, 11025, 16000, 22050, KOKORO_RATE, 32000, 44100, 48000)  # flite, espeak-ng, Kokoro, files
    pairs = set()
    for rate in rates:
        pairs |= {(round(rate * float(s)), rate) for s in SPEED_STEPS}
        pairs |= {(e, rate) for e in engines} | {(rate, TELEPHONE_RATE), (TELEPHONE_RATE, rate)}
    return sorted((o, t) for o, t in pairs if o != t)


def test_the_generators_rate_pairs_are_bit_identical_to_the_old_resampler():
    rng = np.random.default_rng(7)
    pairs = _generator_pairs()
    assert len(pairs) >= 20
    for orig, target in pairs:
        for n in (1, 7, int(rng.integers(100, 3000)), 40_000):  # 40,000 crosses output blocks
            x = rng.normal(0, 0.3, n).astype(np.float32)
            assert np.array_equal(resample(x, orig, target), _old_resample(x, orig, target)), (orig, target, n)


@pytest.mark.parametrize("orig,target", [(47_999, 16_000), (8_001, 16_000), (16_000, 47_999), (44_101, 8_000)])
def test_rates_with_many_offsets_match_the_exact_kernel_closely(orig, target):
    x = np.random.default_rng(3).normal(0, 0.3, 20_000)
    assert target // math.gcd(orig, target) > audio.EXACT_PHASES  # the interpolated kernel
    assert np.abs(resample(x, orig, target) - _old_resample(x, orig, target)).max() < 2e-5  # about -95 dB


def test_a_minute_at_any_rate_resamples_quickly():
    """Once 39 s for 59.9 s at 47,999 Hz (16,000 distinct offsets); the bound is generous for a loaded CI box."""
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 60 * 47_999).astype(np.float32)
    start = time.perf_counter()
    y = resample(x, 47_999, 16_000)
    assert time.perf_counter() - start < 5.0 and y.size == 960_000
