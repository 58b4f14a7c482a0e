"""Audio I/O, resampling, spectrogram, and the trigger-word generator: recipe, labels, determinism, held-out voices."""

import json
import struct
import zlib

import numpy as np
import pytest
import torch

from pipelines.data import kokoro
from pipelines.data.audio import (
    SPECTROGRAM_DEFAULTS,
    decode_wav,
    encode_wav,
    frame_times,
    load_audio,
    mel_filterbank,
    n_bins,
    n_frames,
    resample,
    spectrogram,
)
from pipelines.data.trigger_word.clips import draw_word, make_clip, place_segments
from pipelines.data.trigger_word.dataset import check_params, write_dataset
from pipelines.data.trigger_word.effects import band_filter, rms, spectral_eq, vocode, word_eqs, word_tilts
from pipelines.data.trigger_word.sources import Sources
from pipelines.data.trigger_word.voices import (
    Rendition,
    all_speakers,
    draw_rendition,
    is_other_engine,
    kokoro_blends,
    source_voices,
    split_speakers,
    synthesize,
    voice_of,
)
from pipelines.data.trigger_word.words import CONFUSABLES, HARD_CONFUSABLES, ORDINARY, POSITIVE
from pipelines.tasks.trigger_word import frame_labels


def _wav(payload: bytes, tag: int, channels: int, rate: int, bits: int, extensible: bool = False) -> bytes:
    """A WAV file built by hand, so the decoder is tested against the format, not against itself."""
    align = channels * ((bits + 7) // 8)
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * align, align, bits)
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + guid_tail
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _encode(x: np.ndarray, kind: str) -> tuple[bytes, int, int]:
    """Interleaved samples in ``kind`` encoding: (payload, format tag, bits)."""
    if kind == "pcm8":
        return np.round(x * 128 + 128).astype(np.uint8).tobytes(), 1, 8
    if kind == "pcm16":
        return np.round(x * 32767).astype("<i2").tobytes(), 1, 16
    if kind == "pcm24":
        ints = np.round(x * (2**23 - 1)).astype("<i4")
        return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes(), 1, 24
    if kind == "pcm32":
        return np.round(x * (2**31 - 1)).astype("<i4").tobytes(), 1, 32
    return x.astype("<f4").tobytes(), 3, 32


TOLERANCE = {"pcm8": 0.5 / 128 + 1e-6, "pcm16": 1e-4, "pcm24": 1e-6, "pcm32": 1e-6, "float32": 1e-7}


def _sine(freq: float, rate: int, seconds: float = 0.5, amp: float = 0.8) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(round(rate * seconds)) / rate)


@pytest.mark.parametrize("kind", sorted(TOLERANCE))
@pytest.mark.parametrize("rate", [8000, 22050, 48000])
@pytest.mark.parametrize("extensible", [False, True])
def test_decode_every_encoding_round_trips(kind, rate, extensible):
    x = _sine(440.0, rate)
    payload, tag, bits = _encode(x, kind)
    samples, got_rate = decode_wav(_wav(payload, tag, 1, rate, bits, extensible))
    assert got_rate == rate and samples.dtype == np.float32 and samples.shape == x.shape
    assert np.max(np.abs(samples - x)) <= TOLERANCE[kind]


def test_stereo_is_mixed_down_and_odd_chunks_are_skipped():
    left, right = _sine(440.0, 16000), _sine(660.0, 16000, amp=0.4)
    payload, tag, bits = _encode(np.stack([left, right], axis=1).reshape(-1), "pcm16")
    data = _wav(payload, tag, 2, 16000, bits)
    extra = b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd-sized chunk before fmt, padded
    data = data[:4] + struct.pack("<I", struct.unpack("<I", data[4:8])[0] + len(extra)) + data[8:12] + extra + data[12:]
    samples, _ = decode_wav(data)
    assert np.max(np.abs(samples - (left + right) / 2)) < 1e-4


def test_encode_wav_is_16_bit_pcm_and_round_trips():
    x = _sine(1000.0, 16000)
    data = encode_wav(x, 16000)
    assert struct.unpack("<H", data[20:22])[0] == 1 and struct.unpack("<H", data[34:36])[0] == 16
    samples, rate = decode_wav(data)
    assert rate == 16000 and np.max(np.abs(samples - x)) < 1e-4


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"ID3\x03\x00\x00\x00\x00\x00\x00\x00\x00 an mp3 file", "not a RIFF/WAVE"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", "corrupt header"),
    (b"RIFF\x04\x00\x00\x00WAVE", "no 'fmt ' chunk"),
])
def test_unreadable_bytes_raise_clear_errors(data, message):
    with pytest.raises(ValueError, match=message):
        decode_wav(data)


def test_unsupported_encodings_and_rates_raise():
    x = _sine(440.0, 16000)
    payload, _, _ = _encode(x, "pcm16")
    with pytest.raises(ValueError, match="unsupported encoding"):
        decode_wav(_wav(payload, 2, 1, 16000, 16))          # Microsoft ADPCM tag
    with pytest.raises(ValueError, match="unsupported encoding"):
        decode_wav(_wav(payload, 1, 1, 16000, 12))          # 12-bit PCM
    with pytest.raises(ValueError, match="sample rate"):
        decode_wav(_wav(payload, 1, 1, 96000, 16))
    with pytest.raises(ValueError, match="no samples"):
        decode_wav(_wav(b"", 1, 1, 16000, 16))
    with pytest.raises(ValueError, match="no 'data' chunk"):
        decode_wav(_wav(payload, 1, 1, 16000, 16)[:36])


@pytest.mark.parametrize(("orig", "target"), [(44100, 16000), (22050, 16000), (8000, 16000), (16000, 8000),
                                              (48000, 16000), (16000, 17920)])
def test_resampling_keeps_a_sines_frequency_and_amplitude(orig, target):
    y = resample(_sine(1000.0, orig, seconds=1.0), orig, target)
    assert len(y) == target
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert np.argmax(spectrum) * target / len(y) == pytest.approx(1000.0, abs=2.0)
    reference = _sine(1000.0, target, seconds=1.0)
    inner = slice(target // 20, -target // 20)                 # away from the edges
    assert np.max(np.abs(y[inner] - reference[inner])) < 1e-3


def test_resampling_removes_what_the_target_rate_cannot_hold():
    y = resample(_sine(12000.0, 44100, seconds=1.0), 44100, 16000)  # above the 8 kHz Nyquist frequency
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) < 1e-3


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100])
@pytest.mark.parametrize("seconds", [0.01, 1.0, 2.37])
def test_spectrogram_shape_matches_the_documented_formula(rate, seconds):
    params = {**SPECTROGRAM_DEFAULTS, "sample_rate": rate, "n_fft": 512 if rate > 16000 else 256,
              "hop": rate // 100}
    n = round(rate * seconds)
    spec = spectrogram(np.random.default_rng(0).standard_normal(n).astype(np.float32), params)
    assert spec.shape == (1 + n // params["hop"], params["n_fft"] // 2 + 1) == (n_frames(n, params), spec.shape[1])
    assert torch.isfinite(spec).all()
    batch = spectrogram(torch.zeros(3, n), params)
    assert batch.shape == (3, *spec.shape) and torch.all(batch == 0)      # silence normalises to zeros


def test_spectrogram_defaults_and_frame_times_locate_a_tone_burst():
    x = np.zeros(16000, dtype=np.float32)
    x[8000:9600] = _sine(2000.0, 16000, seconds=0.1)
    spec = spectrogram(load_audio(encode_wav(x, 16000)), {**SPECTROGRAM_DEFAULTS, "normalize": "none"})
    assert spec.shape == (101, 201)
    loud = frame_times(spec.shape[0], SPECTROGRAM_DEFAULTS)[spec[:, 50] > spec[:, 50].max() - 10]  # bin 50 = 2 kHz
    assert loud.min() >= 0.48 and loud.max() <= 0.62


@pytest.mark.parametrize("mel_bins", [0, 40, 64])
def test_spectrogram_bins_follow_mel_bins_and_keep_a_tone_in_its_band(mel_bins):
    params = {**SPECTROGRAM_DEFAULTS, "normalize": "none", "mel_bins": mel_bins}
    x = np.zeros(16000, dtype=np.float32)
    x[8000:9600] = _sine(2000.0, 16000, seconds=0.1)
    spec = spectrogram(x, params)
    assert spec.shape == (101, n_bins(params)) == (101, mel_bins or 201)
    if mel_bins:
        bank = mel_filterbank(400, 16000, mel_bins)
        assert bank.shape == (201, mel_bins) and bank.max() == pytest.approx(1.0, abs=0.05)
        assert (bank.sum(axis=0) > 0).all()                     # no empty band
        assert int(spec[55].argmax()) == int(bank[50].argmax())  # mid-burst (0.55 s), 2 kHz (bin 50) wins


def test_mel_bins_finer_than_the_fft_or_not_a_count_are_refused():
    with pytest.raises(ValueError, match="too many"):
        spectrogram(np.zeros(1600, dtype=np.float32), {**SPECTROGRAM_DEFAULTS, "n_fft": 64, "mel_bins": 128})
    for bad in (-8, 40.5, "64"):
        with pytest.raises(ValueError, match="mel_bins"):
            spectrogram(np.zeros(1600, dtype=np.float32), {**SPECTROGRAM_DEFAULTS, "mel_bins": bad})
        with pytest.raises(ValueError, match="mel_bins"):  # the model's input width is checked the same way
            n_bins({**SPECTROGRAM_DEFAULTS, "mel_bins": bad})


def test_spectrogram_rejects_unknown_options():
    with pytest.raises(ValueError, match="window"):
        spectrogram(np.zeros(1600), {**SPECTROGRAM_DEFAULTS, "window": "blackman"})


def test_placement_never_overlaps():
    for trial in range(200):
        rng = np.random.default_rng(trial)
        lengths = [int(v) for v in rng.integers(100, 4000, size=int(rng.integers(1, 12)))]
        starts = place_segments(rng, lengths, 16000, 50)
        spans = sorted((s, s + n) for s, n in zip(starts, lengths, strict=True) if s is not None)
        assert all(0 <= a and b <= 16000 for a, b in spans)
        assert all(b1 + 50 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False))


def test_frame_labels_follow_the_course():
    y = frame_labels([1.0, 5.0], count=1001, frame_period_s=0.01, window_s=0.364)
    ones = np.flatnonzero(y)
    assert ones.tolist() == list(range(101, 137)) + list(range(501, 537))
    course = frame_labels([2.0], count=1375, frame_period_s=10 / 1375, window_s=50 * 10 / 1375)
    assert int(course.sum()) == 50 and course[275] == 0 and course[276] == 1


PARAMS = {"seed": 5, "n_train": 3, "n_dev": 1, "n_test": 2, "negatives_only_minutes": 0.25, "clip_seconds": 4.0,
          "max_positives": 2, "max_negatives": 2, "test_voices": ["en-029", "flite-rms"]}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("word_cache")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("tw")
    summary = write_dataset({**PARAMS, "cache_dir": str(cache)}, out, workers=1)
    return out, summary


def _records(out, split):
    return json.loads((out / f"{split}.json").read_text())


def test_same_seed_same_json_and_wav_bytes(dataset, cache, tmp_path):
    out, summary = dataset
    again = write_dataset({**PARAMS, "cache_dir": str(cache)}, tmp_path / "again", workers=2)
    assert again == summary and summary["negatives_only_clips"] == 4
    for split in ("train", "dev", "test", "negatives_only"):
        assert (tmp_path / "again" / f"{split}.json").read_bytes() == (out / f"{split}.json").read_bytes()
        for record in _records(out, split):
            assert (tmp_path / "again" / record["file"]).read_bytes() == (out / record["file"]).read_bytes()
    other = write_dataset({**PARAMS, "n_dev": 0, "n_test": 0, "negatives_only_minutes": 0, "cache_dir": str(cache)},
                          tmp_path / "other", seed=6, workers=1)
    assert other["train_clips"] == 3
    assert _records(tmp_path / "other", "train") != _records(out, "train")


def test_held_out_voices_never_reach_train_or_dev(dataset):
    out, _ = dataset
    held_out = set(PARAMS["test_voices"])
    for split in ("train", "dev"):
        for record in _records(out, split):
            assert not {s for v in record["voices"] for s in source_voices(v)} & held_out
    for split in ("test", "negatives_only"):
        for record in _records(out, split):
            assert {voice_of(v) for v in record["voices"]} <= held_out
    assert all(not r["activate_ends_s"] for r in _records(out, "negatives_only"))


def test_records_and_wavs_agree(dataset):
    out, _ = dataset
    for split in ("train", "dev", "test", "negatives_only"):
        for record in _records(out, split):
            samples, rate = decode_wav((out / record["file"]).read_bytes())
            assert rate == 16000 and len(samples) == round(record["duration_s"] * rate)
            events = sorted(record["activates"] + record["negatives"], key=lambda e: e["start_s"])
            assert all(a["end_s"] + 0.05 <= b["start_s"] + 1e-3 for a, b in zip(events, events[1:], strict=False))
            assert record["activate_ends_s"] == sorted(e["end_s"] for e in record["activates"])
            assert all(e["word"] == "activate" for e in record["activates"])
            assert all(0 <= e["start_s"] < e["end_s"] <= record["duration_s"] for e in events)


def test_hard_negatives_change_only_the_train_split(dataset, cache, tmp_path):
    out, _ = dataset
    write_dataset({**PARAMS, "p_hard_negative": 1.0, "cache_dir": str(cache)}, tmp_path / "hard", workers=1)
    for split in ("dev", "test", "negatives_only"):  # no random draw at p = 0: byte for byte the same clips
        assert (tmp_path / "hard" / f"{split}.json").read_bytes() == (out / f"{split}.json").read_bytes()
    words = [w["word"] for r in _records(tmp_path / "hard", "train") for w in r["negatives"]]
    assert words and set(words) <= set(HARD_CONFUSABLES)
    src = Sources(tuple(s for s in all_speakers() if voice_of(s) == "en-us"), (), (), (), str(cache), 16000, 0.0,
                  p_hard_negative=0.3)
    rng = np.random.default_rng(0)
    drawn = [draw_word(rng, src, positive=False).text for _ in range(300)]
    share = np.mean([w in HARD_CONFUSABLES for w in drawn])  # 0.3 + 0.7 * 0.4 * 8 / 24 = 0.39 expected
    assert 0.31 <= share <= 0.47, share
    assert set(drawn) - set(HARD_CONFUSABLES)  # the rest still from the whole vocabulary
    with pytest.raises(ValueError, match="p_hard_negative"):
        check_params({**PARAMS, "p_hard_negative": 1.5}, 0)
    with pytest.raises(ValueError, match="kokoro_blends"):
        check_params({**PARAMS, "kokoro_blends": "yes"}, 0)


def test_labels_line_up_with_the_inserted_audio(cache):
    """With a silent background and no effects, the audio is loud exactly inside the recorded word spans."""
    params = check_params({**PARAMS, "background_kinds": ["silence"], "p_reverb": 0.0, "p_telephone": 0.0,
                           "p_tilt": 0.0, "max_positives": 3, "max_negatives": 0}, 0)
    src = Sources(tuple(s for s in all_speakers() if voice_of(s) == "en-us"), (), (), (), str(cache), 16000, 0.0)
    checked = 0
    for i in range(3):
        x, record = make_clip(params, src, np.random.default_rng(i), positives=True)
        inside = np.zeros(len(x), dtype=bool)
        for e in record["activates"]:
            span = x[round(e["start_s"] * 16000):round(e["end_s"] * 16000)]
            assert rms(span) > 100 * 10 ** (-90 / 20)
            inside[round(e["start_s"] * 16000) - 80:round(e["end_s"] * 16000) + 80] = True
            checked += 1
        assert np.max(np.abs(x[~inside]), initial=0.0) < 1e-3
        y = frame_labels(record["activate_ends_s"], 401, 0.01, record["label_window_s"])
        assert all(y[int(end * 100) + 1] == 1 for end in record["activate_ends_s"] if end < 3.99)
    assert checked > 0


def test_real_recordings_are_mixed_in_and_split_by_name(tmp_path, cache):
    folders = {name: tmp_path / name for name in ("positives", "negatives", "backgrounds")}
    for name, folder in folders.items():
        folder.mkdir()
        held_out = [zlib.crc32(f"{name}_{k}.wav".encode()) % 5 == 0 for k in range(10)]
        assert any(held_out) and not all(held_out)   # both sides get recordings
        for k in range(10):
            seconds = 2.0 if name == "backgrounds" else 0.4
            (folder / f"{name}_{k}.wav").write_bytes(encode_wav(_sine(300.0 + 50 * k, 22050, seconds), 22050))
    params = {**PARAMS, **{k: str(v) for k, v in folders.items()}, "real_fraction": 1.0, "cache_dir": str(cache),
              "n_train": 2, "n_dev": 0, "n_test": 2, "negatives_only_minutes": 0}
    write_dataset(params, tmp_path / "out", workers=1)
    for split in ("train", "test"):
        for record in _records(tmp_path / "out", split):
            names = [v for v in record["voices"] + [record["background"]["kind"]]]
            assert all(n.startswith("real:") for n in names)
            assert all((zlib.crc32(n.removeprefix("real:").encode()) % 5 == 0) == (split == "test") for n in names)


def test_train_other_engines_share_changes_only_the_train_split(dataset, cache, tmp_path):
    out, _ = dataset
    write_dataset({**PARAMS, "train_other_engines_share": 1.0, "cache_dir": str(cache)}, tmp_path / "o", workers=1)
    for split in ("dev", "test", "negatives_only"):  # the sides' share (0 here) still speaks there
        assert (tmp_path / "o" / f"{split}.json").read_bytes() == (out / f"{split}.json").read_bytes()
    voices = [v for r in _records(tmp_path / "o", "train") for v in r["voices"]]
    assert voices and all(is_other_engine(v) for v in voices)
    assert not any(is_other_engine(v) for r in _records(out, "train") for v in r["voices"])
    for bad in (-0.1, 1.5, "0.5"):
        with pytest.raises(ValueError, match="train_other_engines_share"):
            check_params({**PARAMS, "train_other_engines_share": bad}, 0)


def test_other_engines_share_sets_how_often_flite_and_festival_speak():
    speakers = tuple(s for s in all_speakers() if voice_of(s) not in ("en-029", "flite-rms"))
    rng = np.random.default_rng(0)
    for share, low, high in [(0.0, 0.02, 0.09), (0.4, 0.36, 0.44), (1.0, 1.0, 1.0)]:
        drawn = [draw_rendition(rng, speakers, "activate", share).speaker for _ in range(3000)]
        other = np.mean([is_other_engine(s) for s in drawn])
        assert low <= other <= high, (share, other)
    # Within the other engines every voice is heard, Festival's as well as flite's.
    drawn = {draw_rendition(rng, speakers, "activate", 1.0).speaker for _ in range(500)}
    assert drawn == {"flite-kal", "flite-kal16", "flite-awb", "flite-slt", "festival-ked", "festival-slt_hts",
                     *(f"kokoro-{v}" for v in kokoro.VOICES)}
    # Kokoro and the HTS voice have no pitch control: their renditions all take the middle pitch index (one
    # cache entry, not three); the diphone voice keeps the grid.
    assert {r.pitch for r in (draw_rendition(rng, ("kokoro-jm_kumo",), "act") for _ in range(30))} == {1}
    assert {r.pitch for r in (draw_rendition(rng, ("festival-slt_hts",), "act") for _ in range(30))} == {1}
    assert {r.pitch for r in (draw_rendition(rng, ("festival-ked",), "act") for _ in range(30))} == {0, 1, 2}
    # A side with one engine only speaks with it, whatever the share.
    espeak_only = tuple(s for s in speakers if not is_other_engine(s))
    assert not any(is_other_engine(draw_rendition(rng, espeak_only, "x", 0.9).speaker) for _ in range(50))


@pytest.mark.parametrize("voice", ["festival-ked", "festival-slt_hts"])
def test_festival_voices_speak_and_their_duration_grid_stretches(voice, cache):
    fast, slow = (synthesize(Rendition(voice, "activate", speed, 1), str(cache), 16000) for speed in (0, 2))
    assert 0.4 < len(fast) / 16000 < len(slow) / 16000 < 2.0   # trimmed word, slower at the longer stretch
    assert rms(fast) > 0.01


def test_kokoro_speaks_every_word_of_the_recipe_repeatably(cache):
    _, vocab, _ = kokoro._model()
    for word in (POSITIVE, *CONFUSABLES, *ORDINARY):
        symbols = kokoro.phonemes(word)
        assert symbols and set(symbols) <= set(vocab), (word, symbols)
    assert kokoro.phonemes("activate") == "ˈæktɪvˌAt"   # eɪ is one symbol in Kokoro's set
    fast, slow = (synthesize(Rendition("kokoro-jm_kumo", "activate", speed, 1), str(cache), 16000) for speed in (0, 2))
    assert 0.4 < len(fast) / 16000 < len(slow) / 16000 < 2.0
    assert rms(fast) > 0.01
    once, again = kokoro.speak("activate", "jf_alpha", 1.0)[0], kokoro.speak("activate", "jf_alpha", 1.0)[0]
    assert once.dtype == np.float32 and np.array_equal(once, again)
    with pytest.raises(ValueError, match="unknown voice"):
        kokoro.speak("activate", "af_heart", 1.0)


def test_kokoro_blends_stay_on_the_side_of_both_their_voices():
    assert source_voices("kokoro-jf_nezumi+jm_kumo+vocoded") == ["kokoro-jf_nezumi", "kokoro-jm_kumo"]
    assert source_voices("en-us+f3+vocoded") == ["en-us"] and source_voices("flite-slt") == ["flite-slt"]
    test_voices = ["en-029", "kokoro-jf_alpha", "kokoro-jm_kumo"]
    train, held = split_speakers(test_voices, False, blends=True), split_speakers(test_voices, True, blends=True)
    assert not set(train) & set(held)
    assert set(train) - set(kokoro_blends()) == set(split_speakers(test_voices, False))  # off: only the blends go
    assert not set(split_speakers(test_voices, True)) & set(kokoro_blends())
    assert "kokoro-jf_nezumi+jf_tebukuro" in train and "kokoro-jf_alpha+jm_kumo" in held
    # A blend of a held-out and a training voice would leak the held-out one into training: on neither side.
    assert "kokoro-jf_alpha+jf_nezumi" not in train + held
    assert all(not set(source_voices(s)) & set(test_voices) for s in train)


def test_a_kokoro_blend_lies_between_its_two_voices():
    _, _, styles = kokoro._model()
    a, b, blend = (kokoro.style_table(v, styles) for v in ("jf_nezumi", "jm_kumo", "jf_nezumi+jm_kumo"))
    assert blend.shape == a.shape and np.allclose(blend, (a + b) / 2, atol=1e-6)
    assert np.array_equal(kokoro.style_table("jm_kumo", styles), styles["jm_kumo"].astype(np.float32))
    x, rate = kokoro.speak("activate", "jf_nezumi+jm_kumo", 1.0)
    assert rate == kokoro.RATE and 0.4 < len(x) / rate < 2.0 and rms(x) > 0.01
    for bad in ("jf_nezumi+jf_nezumi", "jf_nezumi+af_heart", "jf_alpha+jf_nezumi+jm_kumo"):
        with pytest.raises(ValueError, match="unknown voice"):
            kokoro.speak("activate", bad, 1.0)


def _periodicity(x: np.ndarray, rate: int) -> float:
    """Median over 50 ms frames of the normalised autocorrelation's peak at pitch periods of 60-400 Hz
    (1 = perfectly periodic, about 0 for noise)."""
    n = rate // 20
    peaks = []
    for frame in x[:len(x) // n * n].reshape(-1, n):
        ac = np.correlate(frame, frame, "full")[n - 1:]
        peaks.append(ac[rate // 400:rate // 60].max() / ac[0])
    return float(np.median(peaks))


def _envelope(x: np.ndarray) -> np.ndarray:
    """Long-term log spectrum smoothed over 250 Hz bands."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    return np.log(np.convolve(spectrum, np.ones(64) / 64, "same") + 1e-12)


def _top_band_pulsing(x: np.ndarray, rate: int) -> float:
    """Periodicity of the 6.5-8 kHz band's energy envelope: high when that band is excited by pitch pulses."""
    energy = band_filter(band_filter(x, rate, 6_500.0, 8_000.0) ** 2, rate, 0.0, 1_000.0)
    return _periodicity(energy - energy.mean(), rate)


def test_vocode_keeps_length_level_and_envelope_and_replaces_the_source():
    rate = 16000
    t = np.arange(int(0.6 * rate)) / rate
    # a vowel: 120 Hz harmonics under two formants (700 and 1,200 Hz)
    vowel = sum((np.exp(-((k * 120 - 700) / 150) ** 2) + np.exp(-((k * 120 - 1200) / 200) ** 2))
                * np.sin(2 * np.pi * k * 120 * t) for k in range(1, 60))
    vowel = 0.1 * vowel / np.abs(vowel).max()
    out = vocode(vowel, rate, np.random.default_rng(0))
    assert out.shape == vowel.shape and rms(out) == pytest.approx(rms(vowel))
    assert _periodicity(out, rate) > 0.5                           # still voiced ...
    assert np.corrcoef(_envelope(out), _envelope(vowel))[0, 1] > 0.85  # ... with the same formants
    other = vocode(vowel, rate, np.random.default_rng(1))
    assert not np.allclose(out, other)                            # a new source each time
    np.testing.assert_array_equal(out, vocode(vowel, rate, np.random.default_rng(0)))
    # an unvoiced sound stays noise
    hiss = np.random.default_rng(2).standard_normal(len(t)) * 0.05
    assert _periodicity(vocode(hiss, rate, np.random.default_rng(0)), rate) < 0.2
    # mixed excitation: harmonics up to 7 kHz come back periodic low down, noise above the 2-6 kHz cut-off,
    # where the energy no longer pulses with the pitch (0.51-0.69 for a pulse source at every seed, 0.84 here)
    bright = sum((np.exp(-((k * 120 - 700) / 150) ** 2) + 0.05) * np.sin(2 * np.pi * k * 120 * t) for k in range(1, 60))
    bright = 0.1 * bright / np.abs(bright).max()
    assert _top_band_pulsing(bright, rate) > 0.8
    for seed in range(3):
        out = vocode(bright, rate, np.random.default_rng(seed))
        assert _periodicity(band_filter(out, rate, 0.0, 1_500.0), rate) > 0.5
        assert _top_band_pulsing(out, rate) < 0.4


def test_word_tilts_draw_their_share_and_nothing_when_off():
    rng = np.random.default_rng(0)
    assert word_tilts(rng, 5, 0.0) == [0.0] * 5
    assert rng.random() == np.random.default_rng(0).random()  # no draw: the held-out side's clips stay as they were
    tilts = np.array(word_tilts(np.random.default_rng(1), 400, 0.5))
    assert 0.4 < np.mean(tilts != 0) < 0.6 and np.abs(tilts).max() <= 8.0
    assert tilts.min() < -4 and tilts.max() > 4                # both darker and brighter


def _level_db(x):
    return 20 * np.log10(rms(x))


def test_spectral_eq_lifts_its_band_and_leaves_far_ones_alone():
    rate = 16_000
    t = np.arange(rate) / rate
    at_1k, at_4k = np.sin(2 * np.pi * 1_000 * t), np.sin(2 * np.pi * 4_000 * t)
    bands = [(1_000.0, 10.0, 0.3)]
    assert abs(_level_db(spectral_eq(at_1k, rate, bands)) - _level_db(at_1k) - 10.0) < 0.1
    assert abs(_level_db(spectral_eq(at_4k, rate, bands)) - _level_db(at_4k)) < 0.1  # two octaves away
    half_octave_up = np.sin(2 * np.pi * 1_000 * 2 ** 0.3 * t)  # one standard deviation: 10 dB * exp(-1/2)
    assert abs(_level_db(spectral_eq(half_octave_up, rate, bands)) - _level_db(half_octave_up) - 6.07) < 0.2


def test_word_eqs_draw_their_share_and_nothing_when_off():
    rng = np.random.default_rng(0)
    assert word_eqs(rng, 5, 0.0) == [[]] * 5
    assert rng.random() == np.random.default_rng(0).random()  # no draw: every other split's clips stay as they were
    eqs = word_eqs(np.random.default_rng(1), 400, 0.5)
    assert 0.4 < np.mean([bool(e) for e in eqs]) < 0.6
    bands = [b for e in eqs for b in e]
    assert all(2 <= len(e) <= 4 for e in eqs if e)
    assert all(150 <= hz <= 7_000 and -10 <= db <= 10 and 0.3 <= w <= 1.0 for hz, db, w in bands)
    assert min(db for _, db, _ in bands) < -5 and max(db for _, db, _ in bands) > 5  # peaks and dips


def test_word_eq_changes_only_the_train_split(dataset, cache, tmp_path):
    out, _ = dataset
    write_dataset({**PARAMS, "cache_dir": str(cache), "p_word_eq": 1.0}, tmp_path, workers=1)
    events = [e for r in _records(tmp_path, "train") for e in r["activates"] + r["negatives"]]
    assert events and all(2 <= len(e["eq"]) <= 4 for e in events)
    for split in ("dev", "test", "negatives_only"):
        assert (tmp_path / f"{split}.json").read_bytes() == (out / f"{split}.json").read_bytes()
    for bad in (2.0, "half", True):  # a named error, not a TypeError from comparing a string
        with pytest.raises(ValueError, match="p_word_eq"):
            check_params({**PARAMS, "p_word_eq": bad}, 0)


@pytest.mark.parametrize("key", ["p_vocode", "p_word_tilt"])
def test_training_side_word_augmentation_changes_only_the_training_side(dataset, cache, tmp_path, key):
    out, _ = dataset
    write_dataset({**PARAMS, "cache_dir": str(cache), key: 1.0}, tmp_path, workers=1)
    for split in ("train", "dev"):
        events = [e for r in _records(tmp_path, split) for e in r["activates"] + r["negatives"]]
        assert events
        if key == "p_vocode":
            assert all(e["voice"].endswith("+vocoded") for e in events)
        else:
            assert all(-8.0 <= e["tilt_db_per_octave"] <= 8.0 and e["tilt_db_per_octave"] != 0 for e in events)
    for split in ("test", "negatives_only"):  # held-out voices are never vocoded, and their clips do not change
        assert (tmp_path / f"{split}.json").read_bytes() == (out / f"{split}.json").read_bytes()
        for record in _records(out, split):
            assert (tmp_path / record["file"]).read_bytes() == (out / record["file"]).read_bytes()


def test_bad_params_name_the_key():
    with pytest.raises(ValueError, match="p_vocode"):
        check_params({**PARAMS, "p_vocode": -0.1}, 0)
    with pytest.raises(ValueError, match="p_word_tilt"):
        check_params({**PARAMS, "p_word_tilt": 2}, 0)
    with pytest.raises(ValueError, match="other_engines_share"):
        check_params({**PARAMS, "other_engines_share": 1.5}, 0)
    with pytest.raises(ValueError, match="test_voices"):
        check_params({**PARAMS, "test_voices": ["en-xx"]}, 0)
    with pytest.raises(ValueError, match="n_train"):
        check_params({**PARAMS, "n_train": -1}, 0)
