"""Real speech from Debian packages (pipelines/data/real_speech.py): grouping by speaker, held-out splits,
decoding, and the error that names the package to install."""

import numpy as np
import pytest
import soundfile

from pipelines.data import real_speech
from pipelines.data.real_speech import SOURCES, Recording, load_recording, recordings


def write(root, rel, rate=22050, seconds=0.5, channels=1):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t)
    soundfile.write(str(path), np.stack([x] * channels, axis=1), rate, format="OGG" if rel.endswith(".ogg") else "WAV")
    return path


def test_groups_are_speakers_and_sound_effects_are_skipped(tmp_path):
    write(tmp_path, "usr/share/tuxpaint/stamps/animals/frog_desc_ro.ogg")
    write(tmp_path, "usr/share/tuxpaint/stamps/animals/frog_desc.ogg")
    write(tmp_path, "usr/share/tuxpaint/stamps/animals/frog.ogg")  # the frog's croak, not speech
    write(tmp_path, "usr/share/games/fillets-ng/sound/airplane/cs/let-m-divna.ogg", channels=2)
    write(tmp_path, "usr/share/asterisk/sounds/it_IT_m_Carlo/digits/1.wav", rate=8000)
    found = {(r.source, r.group, r.path.name) for r in recordings(["tuxpaint", "fillets", "asterisk"], tmp_path)}
    assert found == {("tuxpaint", "ro", "frog_desc_ro.ogg"), ("tuxpaint", "en", "frog_desc.ogg"),
                     ("fillets", "cs_m", "let-m-divna.ogg"), ("asterisk", "it_IT_m_Carlo", "1.wav")}


def test_held_out_by_source_or_by_speaker():
    rec = Recording(real_speech.Path("/x.ogg"), "fillets", "cs_m")
    assert rec.split(["fillets"]) == "held_out"
    assert rec.split(["fillets/cs_m"]) == "held_out"
    assert rec.split(["fillets/nl_m", "asterisk"]) == "train"


@pytest.mark.parametrize(("pattern", "held"), [
    ("fillets/cs*", True), ("fill*", True), ("*/cs_?", True), ("fillets/c[rs]_m", True),
    ("fillets/cs", False),    # a pattern names the whole group, not a prefix of it
    ("cs*", False),           # nor a group without its source
    ("Fillets", False),       # case-sensitive, as the package paths are
])
def test_held_out_patterns_match_the_source_or_source_slash_group(pattern, held):
    rec = Recording(real_speech.Path("/x.ogg"), "fillets", "cs_m")
    assert rec.matches(pattern) is held
    assert rec.split(["asterisk/it_IT*", pattern]) == ("held_out" if held else "train")


def test_a_missing_package_is_named_with_its_install_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install asterisk-core-sounds-es-wav"):
        recordings(["asterisk"], tmp_path)
    with pytest.raises(ValueError, match="unknown source"):
        recordings(["radio"], tmp_path)


def test_load_mixes_to_mono_and_resamples(tmp_path):
    path = write(tmp_path, "usr/share/games/fillets-ng/sound/airplane/nl/let-v-x.ogg", rate=22050, seconds=1.0,
                 channels=2)
    x = load_recording(Recording(path, "fillets", "nl_v"), 16_000)
    assert x.dtype == np.float32 and x.ndim == 1 and len(x) == 16_000
    # a 440 Hz tone stays a 440 Hz tone (Vorbis is lossy: compare the spectrum's peak, not samples)
    peak_hz = np.argmax(np.abs(np.fft.rfft(x))) * 16_000 / len(x)
    assert abs(peak_hz - 440) <= 2


def test_every_source_is_installed_here():
    """scripts/setup.sh installs every package; each source must hold real speech (minutes, not seconds)."""
    table = real_speech.hours(recordings())
    for name in SOURCES:
        assert sum(h for k, h in table.items() if k.startswith(name + "/")) > 0.2, name
