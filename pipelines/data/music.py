"""Course 5 week 1's music data: the melodies of Bach's chorales from music21's corpus, as tokens (the course's
jazz solos are not available offline; music21 ships about 400 four-part chorales, BSD licence).

    dlzoo data music                     # writes data/music/{train,dev,test}.txt from params.yaml
    dlzoo data music --out /tmp/music

Each work of ``composer`` with a soprano part (the chorales) in ``time_signature`` throughout (4/4: 359 of
Bach's) gives its soprano line, the melody, transposed to C major or A minor (from the key music21's analysis
finds, by at most a tritone) so that the model learns degrees, not keys. A piece becomes one line: its name,
a tab, then tokens::

    bwv66.6<TAB>mode:minor | p:69 d:0.5 p:71 d:0.5 | p:72 d:1 p:71 d:1 fermata ...

``mode:major``/``mode:minor`` opens the piece, ``|`` starts every bar, a note is ``p:<MIDI pitch>`` (or
``p:rest``) then ``d:<quarter notes>``, and ``fermata`` follows a note that holds one (a chorale's phrase ends).

Many chorale tunes are harmonized more than once in the corpus; a test melody that is also a training melody
would score memory, not music. So pieces are grouped into tunes (the same first ``tune_prefix`` pitches and
mode) and whole tunes are shuffled with the seed and cut into train / dev / test by ``shares``. ``max_pieces``
(null: all) keeps the first pieces of the corpus order for a small profile.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

SPLITS = ("train", "dev", "test")
TONIC = {"major": 0, "minor": 9}  # C major, A minor


def soprano(score):
    """The part named soprano; None in a work without one (a prelude, a Roman-numeral analysis)."""
    return next((part for part in score.parts if "soprano" in f"{part.partName} {part.id}".lower()), None)


def tokenize(score, metre: str = "4/4") -> list[str] | None:
    """The tokens of a chorale's melody (module docstring); None unless it has a soprano in ``metre`` throughout."""
    from music21 import expressions, meter, stream

    melody = soprano(score)
    if melody is None:
        return None
    metres = {ts.ratioString for ts in melody.recurse().getElementsByClass(meter.TimeSignature)}
    measures = list(melody.getElementsByClass(stream.Measure))
    if metres != {metre} or not measures:
        return None
    key = score.analyze("key")
    shift = (TONIC[key.mode] - key.tonic.pitchClass) % 12
    shift -= 12 * (shift > 6)  # the nearer way: keep the melody in a singer's range
    tokens = [f"mode:{key.mode}"]
    for measure in measures:
        tokens.append("|")
        for element in measure.recurse().notesAndRests:
            length = float(element.quarterLength)
            if length <= 0:  # grace notes take no time
                continue
            if element.isRest:
                tokens.append("p:rest")
            else:
                pitch = element.pitches[-1]  # the top note of a chord
                tokens.append(f"p:{pitch.midi + shift}")
            tokens.append(f"d:{length:g}")
            if any(isinstance(mark, expressions.Fermata) for mark in element.expressions):
                tokens.append("fermata")
    return tokens


def tune(tokens: list[str], prefix: int) -> tuple[str, ...]:
    """What groups harmonizations of one tune: the mode and the first ``prefix`` pitches."""
    return (tokens[0], *[t for t in tokens if t.startswith("p:") and t != "p:rest"][:prefix])


def read_split(data_dir: Path, split: str) -> list[tuple[str, list[str]]]:
    """(piece name, tokens) of one split; ``FileNotFoundError`` naming the file when it is absent."""
    path = Path(data_dir) / f"{split}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: `dlzoo data music` writes it")
    pieces = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        name, _, text = line.partition("\t")
        if not text.strip():
            raise ValueError(f"{path}:{number}: expected 'name<TAB>tokens'")
        pieces.append((name, text.split()))
    return pieces


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, int]:
    from music21 import corpus

    paths = corpus.getComposer(params["composer"])
    if not paths:
        raise ValueError(f"data_music.composer: music21's corpus has no {params['composer']!r}")
    paths = sorted(paths, key=lambda p: p.name)[:params.get("max_pieces") or None]
    tunes = defaultdict(list)
    skipped = 0
    for path in tqdm(paths, desc="music: reading chorales", unit="piece", mininterval=5):
        score = corpus.parse(path)
        tokens = tokenize(score, params["time_signature"])
        if tokens is None:
            skipped += 1
            continue
        name = path.name.rsplit(".", 1)[0]
        tunes[tune(tokens, int(params["tune_prefix"]))].append(f"{name}\t{' '.join(tokens)}\n")
    groups = sorted(tunes)
    rng = np.random.default_rng(params["seed"] if seed is None else seed)
    groups = [groups[i] for i in rng.permutation(len(groups))]
    pieces = sum(len(tunes[g]) for g in groups)
    targets = {split: round(pieces * params["shares"][split]) for split in ("dev", "test")}
    lines = {split: [] for split in SPLITS}
    for group in groups:  # fill dev, then test, with whole tunes; the rest trains
        split = next((s for s in ("dev", "test") if len(lines[s]) < targets[s]), "train")
        lines[split] += tunes[group]
    out.mkdir(parents=True, exist_ok=True)
    for split, rows in lines.items():
        (out / f"{split}.txt").write_text("".join(sorted(rows)))
    counts = {split: len(rows) for split, rows in lines.items()}
    print(f"music: {pieces} chorales in {len(groups)} tunes ({skipped} skipped: no soprano or another metre): {counts}")
    return counts
