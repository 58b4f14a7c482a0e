"""Signal effects of the trigger-word clips: levels, speed, room, channel, colour and the vocoder.

    from pipelines.data.trigger_word.effects import at_level, reverb, telephone
    wet, rt60 = reverb(rng, at_level(word, -20.0), 16_000)

Each function changes one signal (a word or a whole clip). Whether an effect applies is the caller's draw
(``clips.make_clip``, ``clips.draw_word``); an effect given ``rng`` draws its own settings (the room of
:func:`reverb`, the pitch of :func:`vocode`). :func:`word_tilts` and :func:`word_eqs` draw every word's own
colour and draw nothing at all when their share is 0, so the splits without them keep their bytes.
"""

from __future__ import annotations

import math

import numpy as np

from pipelines.data.audio import resample

RT60_S = (0.15, 0.9)
WORD_TILT_DB_PER_OCTAVE = (-8.0, 8.0)  # one word's own colour: darker or brighter than its voice
# One word's own timbre (word_eqs): this many bands, each a Gaussian bump of the dB gain over log frequency
WORD_EQ_BANDS, WORD_EQ_HZ, WORD_EQ_DB, WORD_EQ_OCTAVES = (2, 4), (150.0, 7_000.0), (-10.0, 10.0), (0.3, 1.0)
TELEPHONE_RATE, TELEPHONE_BAND = 8_000, (300.0, 3_400.0)
VOCODE_F0_HZ = (80.0, 260.0)       # the resynthesised word's new pitch, from a deep male to a child's
VOCODE_GLIDE = 0.2                 # its f0 glides linearly by up to +-20 % over the word
VOCODE_BREATH = 0.6                # voiced frames' pulses get up to this much noise beside them
VOCODE_VOICED = 0.35               # normalised autocorrelation peak above which a frame is voiced
VOCODE_NOISY_ABOVE_HZ = (2_000.0, 6_000.0)  # mixed excitation: noise instead of pulses above this, voiced or not


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
