"""Course 5 week 1's music generation ("Jazz improvisation with LSTM") on Bach's chorale melodies
(``dlzoo data music``): the course's LSTM over note tokens, trained by the one Ray driver.

    dlzoo train c5w1_music_lstm && dlzoo evaluate c5w1_music_lstm
    dlzoo generate music --out chorale.mid

The network is the character model's (``pipelines/models/charlm.py``: one-hot tokens, an LSTM of 64 units as
the course's ``n_a``, softmax over the next token) and so are the loss, clipping and sampling
(``pipelines/tasks/charlm.py``); this task gives it the music vocabulary (every token of the training pieces,
``model.min_count`` times or more, else ``<unk>``; index 0 ends a piece) and music's measures. Evaluation on each
held-out split (tunes never trained on):

* ``loss_per_token`` (nats), ``perplexity``, ``loss_per_note`` (a note costs its pitch, duration, fermata and bar
  tokens) and ``loss_per_piece``;
* ``markov_loss_per_token``: a reference that knows only the last tokens, the order-``n`` Markov chain of the
  training tokens with add-k smoothing (``n`` and ``k`` chosen on dev), so a reader sees what the LSTM adds;
* ``samples``: ``evaluate.samples`` pieces drawn at ``evaluate.temperature`` (seeded): ``well_formed``, the share
  that reads as music (a mode, then notes of a pitch and a duration); ``full_bars``, the share of inner bars
  that hold exactly four quarter notes; ``in_scale``, the share of notes on the mode's scale (major: the white
  keys; minor: also G sharp and F sharp); ``ends_on_fermata``; each beside the same share of the held-out real
  melodies (``*_reference``). ``evaluate.midi_samples`` of them are written as MIDI by :meth:`reports`.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from pipelines.data import music as music_data
from pipelines.models.charlm import END
from pipelines.tasks.base import held_out_splits
from pipelines.tasks.charlm import CharLMTask, collate_names

SPECIALS = ["<end>", "<unk>"]
UNK = 1
BAR_QUARTERS = 4.0
SCALE = {"major": {0, 2, 4, 5, 7, 9, 11}, "minor": {0, 2, 4, 5, 7, 9, 11, 6, 8}}  # C major; A minor with F#, G#


def build_vocab(pieces: list[list[str]], min_count: int) -> list[str]:
    counts = Counter(token for tokens in pieces for token in tokens)
    return SPECIALS + sorted(token for token, n in counts.items() if n >= min_count)


def read_notes(tokens: list[str]) -> tuple[str | None, list[dict], int]:
    """(mode, notes, tokens that did not fit) of a token sequence: each note is ``{"pitch": MIDI number or None for
    a rest, "quarters": float, "fermata": bool, "bar": its bar's number}``. A note is a pitch token followed by a
    duration token; a fermata belongs right after a note; a missing mode, a lone pitch or duration and a misplaced
    fermata are counted, not read."""
    mode = tokens[0].removeprefix("mode:") if tokens and tokens[0].startswith("mode:") else None
    notes, stray, bar, last_note_end = [], int(mode is None), 0, -2
    i = 1 if mode else 0
    while i < len(tokens):
        token, following = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""
        pitch, quarters = token[2:], following[2:]
        if token == "|":
            bar += 1
        elif token == "fermata" and last_note_end == i - 1:
            notes[-1]["fermata"] = True
        elif (token.startswith("p:") and (pitch == "rest" or pitch.isdigit()) and following.startswith("d:")
              and quarters.replace(".", "", 1).isdigit() and float(quarters) > 0):
            notes.append({"pitch": None if pitch == "rest" else int(pitch), "quarters": float(quarters),
                          "fermata": False, "bar": bar})
            i += 1
            last_note_end = i
        else:
            stray += 1
        i += 1
    return mode, notes, stray


def shape(pieces: list[list[str]]) -> dict[str, float]:
    """The music-reading shares of the module docstring, over ``pieces`` (token lists)."""
    well_formed, full, inner, on_scale, pitched, fermata_ends = 0, 0, 0, 0, 0, 0
    for tokens in pieces:
        mode, notes, stray = read_notes(tokens)
        well_formed += mode in SCALE and stray == 0 and bool(notes)
        bars = Counter()
        for note in notes:
            bars[note["bar"]] += note["quarters"]
        inner_bars = sorted(bars)[1:-1]  # the first may be a pickup, the last completes it
        inner += len(inner_bars)
        full += sum(math.isclose(bars[b], BAR_QUARTERS) for b in inner_bars)
        scale = SCALE.get(mode, SCALE["major"])
        sung = [note["pitch"] for note in notes if note["pitch"] is not None]
        pitched += len(sung)
        on_scale += sum(pitch % 12 in scale for pitch in sung)
        fermata_ends += bool(notes) and notes[-1]["fermata"]
    n = max(len(pieces), 1)
    return {"well_formed": well_formed / n, "full_bars": full / max(inner, 1), "in_scale": on_scale / max(pitched, 1),
            "ends_on_fermata": fermata_ends / n, "mean_notes": sum(len(read_notes(t)[1]) for t in pieces) / n}


def to_midi(tokens: list[str], tempo: int = 80) -> bytes:
    """A standard MIDI file of one piece (notes that do not read are left out; see :func:`read_notes`)."""
    from music21 import expressions, meter, note, stream
    from music21 import tempo as music_tempo
    from music21.midi.translate import streamToMidiFile

    _, notes, _ = read_notes(tokens)
    part = stream.Part()
    part.append(meter.TimeSignature("4/4"))
    part.append(music_tempo.MetronomeMark(number=tempo))
    for item in notes:
        event = note.Rest() if item["pitch"] is None else note.Note(midi=item["pitch"])
        event.quarterLength = item["quarters"]
        if item["fermata"]:
            event.expressions.append(expressions.Fermata())
        part.append(event)
    return streamToMidiFile(part).writestr()


class Markov:
    """The order-``order`` Markov chain of token ids with add-``k`` smoothing over ``vocab`` outcomes; histories
    start with the start mark (-1) as the LSTM's do."""

    def __init__(self, pieces: list[list[int]], order: int, k: float, vocab: int):
        self.order, self.k, self.vocab = order, k, vocab
        self.counts, self.totals = Counter(), Counter()
        for ids in pieces:
            for history, token in self.events(ids):
                self.counts[history, token] += 1
                self.totals[history] += 1

    def events(self, ids: list[int]):
        padded = [-1] * self.order + list(ids) + [END]
        for i in range(self.order, len(padded)):
            yield tuple(padded[i - self.order:i]), padded[i]

    def loss_per_token(self, pieces: list[list[int]]) -> float:
        total, n = 0.0, 0
        for ids in pieces:
            for history, token in self.events(ids):
                p = (self.counts[history, token] + self.k) / (self.totals[history] + self.k * self.vocab)
                total -= math.log(p)
                n += 1
        return total / max(n, 1)


class MusicTask(CharLMTask):
    name = "c5w1_music_lstm"

    def load(self, data_dir: Path) -> None:
        train = [tokens for _, tokens in music_data.read_split(data_dir, "train")]
        if "vocab" not in self.meta:
            self.meta["vocab"] = build_vocab(train, int(self.params["model"].get("min_count", 1)))
        self.train_set = self.encode(train)  # a list of id lists is a map-style dataset
        self.dev_set = self.encode([tokens for _, tokens in music_data.read_split(data_dir, "dev")])

    def encode(self, pieces: list[list[str]]) -> list[list[int]]:
        index = {token: i for i, token in enumerate(self.meta["vocab"])}
        return [[index.get(token, UNK) for token in tokens] for tokens in pieces]

    def collate(self, batch):
        return collate_names(batch, start=len(self.meta["vocab"]))

    def model_config(self) -> dict:
        return {"cell": self.params["model"]["cell"], "hidden": int(self.params["model"]["hidden"]),
                "vocab": len(self.meta["vocab"])}

    def score(self, model, loader, device) -> dict[str, float]:
        scores = super().score(model, loader, device)
        return {"loss_per_token": scores["loss_per_char"], "loss_per_piece": scores["loss_per_name"],
                "perplexity": scores["perplexity"]}

    def sample(self, model, n: int, temperature: float, seed: int) -> list[list[str]]:
        """``n`` pieces as token lists."""
        generator = torch.Generator().manual_seed(int(seed))
        drawn = self.unwrap(model).sample_ids(n, temperature, int(self.params["evaluate"]["max_tokens"]),
                                              generator=generator)
        return [[self.meta["vocab"][i] for i in ids] for ids in drawn]

    def markov(self, data_dir: Path) -> tuple[dict, Markov]:
        """The Markov reference chosen on dev: ({"order", "k", "dev_loss_per_token"}, the chain)."""
        train = self.encode([t for _, t in music_data.read_split(data_dir, "train")])
        dev = self.encode([t for _, t in music_data.read_split(data_dir, "dev")])
        vocab = len(self.meta["vocab"])
        best = None
        for order in (1, 2, 3, 4):
            for k in (0.01, 0.03, 0.1, 0.3, 1.0):
                chain = Markov(train, order, k, vocab)
                loss = chain.loss_per_token(dev)
                if best is None or loss < best[0]["dev_loss_per_token"]:
                    best = ({"order": order, "k": k, "dev_loss_per_token": loss}, chain)
        return best

    def evaluate(self, model, data_dir: Path):
        data_dir = Path(data_dir)
        found = [p.stem for p in data_dir.glob("*.txt")]
        splits = held_out_splits(found, music_data.SPLITS)
        if not splits:
            raise FileNotFoundError(f"{self.name}: no held-out pieces (test.txt) in {data_dir}")
        device = next(self.unwrap(model).parameters()).device
        chosen, chain = self.markov(data_dir)
        metrics, details, held_out = {}, {"markov": chosen}, []
        for split in splits:
            pieces = [tokens for _, tokens in music_data.read_split(data_dir, split)]
            held_out += pieces
            ids = self.encode(pieces)
            loader = torch.utils.data.DataLoader(ids, batch_size=64, collate_fn=self.collate)
            scores = self.score(model, loader, device)
            notes = sum(len(read_notes(tokens)[1]) for tokens in pieces)
            metrics[split] = {"n": len(pieces), **scores,
                              "loss_per_note": scores["loss_per_piece"] * len(pieces) / max(notes, 1),
                              "markov_loss_per_token": chain.loss_per_token(ids),
                              "unknown_tokens": float(np.mean([i == UNK for p in ids for i in p]))}
        cfg = self.params["evaluate"]
        drawn = self.sample(model, int(cfg["samples"]), float(cfg["temperature"]), int(cfg["seed"]))
        reference = shape(held_out)
        metrics["samples"] = {"n": len(drawn), "temperature": float(cfg["temperature"]), **shape(drawn),
                              **{f"{k}_reference": v for k, v in reference.items()}}
        details["samples"] = [" ".join(tokens) for tokens in drawn[:20]]
        return metrics, details

    def reports(self, model, data_dir: Path, metrics: dict) -> dict[str, bytes]:
        """``sample<i>.mid``: the first ``evaluate.midi_samples`` pieces drawn as in :meth:`evaluate`."""
        cfg = self.params["evaluate"]
        drawn = self.sample(model, int(cfg["samples"]), float(cfg["temperature"]), int(cfg["seed"]))
        return {f"sample{i}.mid": to_midi(tokens) for i, tokens in enumerate(drawn[:int(cfg["midi_samples"])], 1)}
