"""Real human speech from Debian packages: negatives, babble and a false-accept set for the trigger word.

    from pipelines.data.real_speech import recordings, load_recording
    recs = recordings()                              # every installed recording, sorted, with its speaker group
    held = [r for r in recs if r.split(["fillets/cs*", "asterisk"]) == "held_out"]
    x = load_recording(held[0], rate=16_000)         # float32 mono in [-1, 1]

    python -m pipelines.data.real_speech             # hours per source and speaker group (the data card's table)
    python -m pipelines.data.real_speech --sides     # hours per side of params.yaml's data_trigger_word split

Synthetic voices alone teach a detector the synthesisers; these are people. Every source is a Debian ``main``
package that ``scripts/setup.sh`` installs (no download at run time), and none of them says "activate" in
English (they are other languages, picture descriptions, game dialogue, telephone prompts, letters):

| source | package(s) | speech | licence |
|---|---|---|---|
| ``tuxpaint`` | tuxpaint-stamps-default | picture descriptions read in 13 languages, ~3.0 h | GPL-2 |
| ``fillets`` | fillets-ng-data-cs, -nl | Fish Fillets dialogue, Czech and Dutch actors, ~3.2 h | GPL-2 |
| ``asterisk`` | asterisk-core-sounds-{es,fr,it,ru}-wav | phone prompts, 1 speaker each, 8 kHz, 1.8 h | CC-BY(-SA) 3.0 |
| ``hedgewars`` | hedgewars-data | game character lines, 15 voice packs, ~15 min | GFDL-1.3 |
| ``ktuberling`` | ktuberling-data | single words, 15 languages, ~23 min | GPL-2+ |
| ``klettres`` | klettres-data | letters and syllables, 20 languages, ~51 min | GPL-2+ |

A recording's *group* is its speaker (or, where a package does not say, its language: one reader per language),
so a held-out group never lends its voice to training. ``split(held_out)`` takes fnmatch patterns over the
source (``"asterisk"``) or the ``source/group`` (``"fillets/cs*"``: every Czech Fish Fillets speaker,
``"tuxpaint/ro"``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np

from pipelines.data.audio import resample


@dataclass(frozen=True)
class Source:
    name: str
    packages: tuple[str, ...]
    pattern: str  # glob under ``root``
    group: Callable[[Path], str | None]  # speaker group of a file; None: not speech, skipped
    licence: str


def _tuxpaint_group(path: Path) -> str | None:
    # <stamp>_desc_<lang>.ogg is a description read aloud; <stamp>.ogg is a sound effect (an animal, a car)
    m = re.search(r"_desc(?:_([A-Za-z@_]+))?\.ogg$", path.name)
    return (m.group(1) or "en") if m else None


def _fillets_group(path: Path) -> str | None:
    # sound/<level>/<lang>/<level>-<speaker>-<line>.ogg; speaker "m" (small fish) or "v" (big fish), others rare
    parts = path.stem.split("-")
    return f"{path.parent.name}_{parts[1]}" if len(parts) > 2 and len(parts[1]) == 1 else path.parent.name


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("tuxpaint", ("tuxpaint-stamps-default",), "usr/share/tuxpaint/stamps/**/*.ogg", _tuxpaint_group, "GPL-2"),
    Source("fillets", ("fillets-ng-data-cs", "fillets-ng-data-nl"), "usr/share/games/fillets-ng/sound/*/*/*.ogg",
           _fillets_group, "GPL-2"),
    Source("asterisk", tuple(f"asterisk-core-sounds-{lang}-wav" for lang in ("es", "fr", "it", "ru")),
           "usr/share/asterisk/sounds/*_*_[fm]_*/**/*.wav", lambda p: p.parts[5] if len(p.parts) > 6 else None,
           "CC-BY-SA-3.0 (es, fr), CC-BY-3.0 (it, ru)"),
    Source("hedgewars", ("hedgewars-data",), "usr/share/games/hedgewars/Data/Sounds/voices/*/*.ogg",
           lambda p: p.parent.name, "GFDL-1.3"),
    Source("ktuberling", ("ktuberling-data",), "usr/share/ktuberling/sounds/*/*.ogg", lambda p: p.parent.name,
           "GPL-2+"),
    Source("klettres", ("klettres-data",), "usr/share/klettres/*/**/*.ogg", lambda p: p.parts[4], "GPL-2+"),
)}


@dataclass(frozen=True)
class Recording:
    path: Path
    source: str
    group: str

    @property
    def speaker(self) -> str:
        return f"{self.source}/{self.group}"

    def matches(self, pattern: str) -> bool:
        """Whether fnmatch ``pattern`` (case-sensitive) matches its source or its ``source/group``."""
        return fnmatchcase(self.source, pattern) or fnmatchcase(self.speaker, pattern)

    def split(self, held_out: Iterable[str]) -> str:
        """``"held_out"`` when a pattern of ``held_out`` :meth:`matches` it, else ``"train"``."""
        return "held_out" if any(self.matches(p) for p in held_out) else "train"


def recordings(sources: Iterable[str] | None = None, root: Path | str = "/") -> list[Recording]:
    """Every installed recording of ``sources`` (default: all), sorted by path so any seeded choice is stable.

    A source without a single file raises an error naming the Debian package(s) to install."""
    root = Path(root)
    names = list(sources) if sources is not None else list(SOURCES)
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise ValueError(f"real speech: unknown source(s) {unknown}; known: {', '.join(SOURCES)}")
    out = []
    for name in names:
        src = SOURCES[name]
        found = []
        for path in sorted(root.glob(src.pattern)):
            group = src.group(Path("/") / path.relative_to(root))
            if group is not None and path.is_file():
                found.append(Recording(path, name, group))
        if not found:
            raise FileNotFoundError(f"real speech: no {name} recordings under {root / src.pattern}; install them "
                                    f"with `apt-get install {' '.join(src.packages)}` (bash scripts/setup.sh does)")
        out += found
    return out


def load_recording(rec: Recording, rate: int) -> np.ndarray:
    """The recording as float32 mono at ``rate`` Hz (channels averaged, band-limited resampling)."""
    import soundfile  # decodes Ogg Vorbis, which the project's own WAV reader does not

    x, orig = soundfile.read(str(rec.path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    return (resample(x, orig, rate) if orig != rate else x).astype(np.float32)


def hours(recs: Iterable[Recording]) -> dict[str, float]:
    """Hours of speech per ``source/group`` (headers only: fast)."""
    import soundfile

    out: dict[str, float] = {}
    for r in recs:
        out[r.speaker] = out.get(r.speaker, 0.0) + soundfile.info(str(r.path)).duration / 3600
    return out


def print_table(table: dict[str, float]) -> None:
    """Hours per source, then minutes per group, of a :func:`hours` table."""
    for source in SOURCES:
        rows = {k: v for k, v in table.items() if k.startswith(source + "/")}
        if rows:
            print(f"{source}: {sum(rows.values()):.2f} h in {len(rows)} groups: " +
                  ", ".join(f"{k.split('/', 1)[1]} {v * 60:.0f} min" for k, v in sorted(rows.items())))


def print_sides(params_file: str = "params.yaml") -> None:
    """Hours on each side of ``data_trigger_word``'s ``real_speech_held_out`` (over its ``real_speech_sources``)."""
    import yaml

    p = yaml.safe_load(Path(params_file).read_text())["data_trigger_word"]
    recs = recordings(p["real_speech_sources"])
    for side, name in (("train", "train/dev"), ("held_out", "held out (test, negatives_only, real_negatives)")):
        table = hours(r for r in recs if r.split(p["real_speech_held_out"]) == side)
        print(f"== {name}: {sum(table.values()):.2f} h in {len(table)} groups")
        print_table(table)


if __name__ == "__main__":
    if sys.argv[1:] == ["--sides"]:
        print_sides()
    else:
        print_table(hours(recordings(sys.argv[1:] or None)))
