"""Date translation (C5W3): data -> tensors, loss, decoding and metrics for the attention seq2seq.

    dlzoo train translation && dlzoo evaluate translation

The model answers a date or refuses. :func:`read_dates` is the one decision, used by training
(calibration on dev), evaluation and the service: decoding is constrained to ``YYYY-MM-DD`` (year
1000-9999, month 01-12, day 01-31) or an immediate ``<eos>`` (the model reads no date); a reading
that is not a calendar date (2021-02-29) is refused, and so is one whose length-normalised score is
below the threshold chosen on dev (the most refusals of dev dates allowed:
``translation.decode.max_false_refusals``), which travels in the model's meta.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from tqdm import tqdm

from pipelines.data.dates import SPLITS, calendar_error, normalize, read_tsv
from pipelines.evaluation.translation import refusal_threshold, split_metrics
from pipelines.models.seq2seq_attention import BOS, EOS, PAD, TGT_PAD, UNK, Seq2SeqAttention, Seq2SeqConfig
from pipelines.tasks.base import Task, held_out_splits

SRC_SPECIALS = ["<pad>", "<unk>"]
TGT_SPECIALS = ["<pad>", "<bos>", "<eos>"]
ISO_LEN = len("YYYY-MM-DD")
NO_DATE = "the model reads no date in it"


def build_vocab(examples) -> dict:
    """Vocabularies from the training dates: a character no date uses reads as <unk>."""
    dates = [ex for ex in examples if ex.target]
    src = sorted({ch for ex in dates for ch in ex.source})
    tgt = sorted({ch for ex in dates for ch in ex.target})
    return {"src": SRC_SPECIALS + src, "tgt": TGT_SPECIALS + tgt, "ty": max(len(ex.target) for ex in dates) + 1}


def _next_chars(t: int, prev: str) -> str:
    """The characters ``YYYY-MM-DD`` allows at position ``t`` after the character ``prev``."""
    if t == 0:
        return "123456789"  # years 1000-9999
    if t in (4, 7):
        return "-"
    if t == 5:
        return "01"
    if t == 6:
        return "123456789" if prev == "0" else "012"
    if t == 8:
        return "0123"
    if t == 9:
        return {"0": "123456789", "3": "01"}.get(prev, "0123456789")
    return "0123456789"


class Codec:
    """Characters <-> ids with the vocabularies stored in the model's meta."""

    def __init__(self, meta: dict, tx: int):
        self.src_index = {ch: i for i, ch in enumerate(meta["src"])}
        self.tgt_index = {ch: i for i, ch in enumerate(meta["tgt"])}
        self.tgt_chars = meta["tgt"]
        self.tx = tx
        self.date_mask = self.date_transitions(meta["ty"])

    def encode_source(self, text: str) -> torch.Tensor:
        ids = [self.src_index.get(ch, UNK) for ch in normalize(text)[: self.tx]] or [UNK]
        return torch.tensor(ids, dtype=torch.long)

    def encode_target(self, text: str) -> torch.Tensor:
        unknown = set(text) - set(self.tgt_index)
        if unknown:
            raise ValueError(f"target {text!r} has characters outside the output vocabulary: {unknown}")
        return torch.tensor([self.tgt_index[ch] for ch in text] + [EOS], dtype=torch.long)

    def decode(self, ids: torch.Tensor) -> str:
        out = []
        for i in ids.tolist():
            if i == EOS:
                break
            if i >= len(TGT_SPECIALS):
                out.append(self.tgt_chars[i])
        return "".join(out)

    def batch_sources(self, texts: list[str]) -> torch.Tensor:
        return pad_sequence([self.encode_source(t) for t in texts], batch_first=True, padding_value=PAD)

    def date_transitions(self, steps: int) -> torch.Tensor:
        """The decoders' mask ``allowed[t, prev, next]`` (steps, V, V): ``<eos>`` first, or
        ``YYYY-MM-DD`` then ``<eos>``."""
        V = len(self.tgt_chars)
        allowed = torch.zeros(steps, V, V, dtype=torch.bool)
        allowed[0, BOS, EOS] = True  # refuse: no date in the input
        for t in range(min(ISO_LEN, steps)):
            prevs = [BOS] if t == 0 else [i for i, ch in enumerate(self.tgt_chars) if i >= len(TGT_SPECIALS)]
            for prev in prevs:
                for ch in _next_chars(t, "" if prev == BOS else self.tgt_chars[prev]):
                    if ch in self.tgt_index:
                        allowed[t, prev, self.tgt_index[ch]] = True
        if steps > ISO_LEN:
            allowed[ISO_LEN, :, EOS] = True
        return allowed


def collate_pairs(batch):
    src, tgt = zip(*batch, strict=True)
    src = pad_sequence(src, batch_first=True, padding_value=PAD)
    tgt = pad_sequence(tgt, batch_first=True, padding_value=TGT_PAD)
    tgt_in = torch.cat([torch.full((tgt.size(0), 1), BOS, dtype=torch.long), tgt[:, :-1]], dim=1)
    return {"src": src, "tgt_in": tgt_in, "tgt": tgt}


@torch.no_grad()
def translate(model: Seq2SeqAttention, codec: Codec, texts: list[str], beam_size: int = 1,
              length_norm: float = 0.7, allowed: torch.Tensor | None = None) -> list[tuple[str, float]]:
    """Translate ``texts`` in one batch -> (output, length-normalised log-probability) pairs.

    ``allowed`` (e.g. ``codec.date_mask``) restricts the output (see ``Seq2SeqAttention``)."""
    device = next(model.parameters()).device
    src = codec.batch_sources(texts).to(device)
    allowed = None if allowed is None else allowed.to(device)
    if beam_size <= 1:
        tokens, score, lengths = model.greedy(src, allowed=allowed)
        score = score / lengths.clamp(min=1).float().pow(length_norm)
    else:
        tokens, score, _ = model.beam_search(src, beam_size=beam_size, length_norm=length_norm, allowed=allowed)
    return [(codec.decode(t), float(s)) for t, s in zip(tokens, score, strict=True)]


@dataclass(frozen=True)
class Reading:
    """One input's answer: what the constrained decoder wrote and whether it is answered."""

    output: str  # YYYY-MM-DD, or "" when the model wrote <eos> at once
    score: float  # the output's length-normalised log-probability
    refusal: str | None  # why it is refused; None when it is answered

    @property
    def date(self) -> str | None:
        return None if self.refusal else self.output


def judge(output: str, score: float, threshold: float | None) -> Reading:
    """Answer ``output`` or refuse it: no date read, not a calendar date, or a score below ``threshold``
    (None: no score test)."""
    refusal = NO_DATE if not output else calendar_error(output)
    if refusal is None and threshold is not None and score < threshold:
        refusal = f"no confident reading: the best, {output}, scores {score:.3f}, below the threshold {threshold:.3f}"
    return Reading(output, score, refusal)


@torch.no_grad()
def read_dates(model: Seq2SeqAttention, codec: Codec, texts: list[str], beam_size: int = 1,
               length_norm: float = 0.7, threshold: float | None = None) -> list[Reading]:
    """Translate or refuse each of ``texts`` (one batch): the decision shared by evaluation and the service."""
    outs = translate(model, codec, texts, beam_size, length_norm, codec.date_mask)
    return [judge(output, score, threshold) for output, score in outs]


class TranslationTask(Task):
    name = "translation"

    def load(self, data_dir: Path) -> None:
        data_dir = Path(data_dir)
        self.train_examples = read_tsv(data_dir / "train.tsv")
        self.dev_examples = read_tsv(data_dir / "dev.tsv")
        if not self.meta:
            self.meta = build_vocab(self.train_examples)
        self.codec = Codec(self.meta, self.params["model"]["tx"])

    def _pairs(self, examples):
        return [(self.codec.encode_source(ex.source), self.codec.encode_target(ex.target)) for ex in examples]

    def datasets(self):
        return self._pairs(self.train_examples), self._pairs(self.dev_examples)

    def collate(self, batch):
        return collate_pairs(batch)

    def model_config(self) -> dict:
        cfg = dict(self.params["model"], src_vocab=len(self.meta["src"]), tgt_vocab=len(self.meta["tgt"]),
                   ty=self.meta["ty"])
        return Seq2SeqConfig(**cfg).to_dict()

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return Seq2SeqAttention(Seq2SeqConfig(**config))

    def loss(self, model, batch):
        logits = model(batch["src"], batch["tgt_in"])
        return nn.functional.cross_entropy(logits.flatten(0, 1), batch["tgt"].flatten(), ignore_index=TGT_PAD)

    def read(self, model, texts: list[str], threshold: float | None, desc: str | None = None) -> list[Reading]:
        """:func:`read_dates` over ``texts`` in batches, with the ``decode`` params."""
        d = self.params["decode"]
        starts = range(0, len(texts), d["batch_size"])
        readings: list[Reading] = []
        for i in tqdm(starts, desc=desc, unit="batch") if desc else starts:
            readings += read_dates(model, self.codec, texts[i:i + d["batch_size"]], d["beam_size"],
                                   d["length_norm"], threshold)
        return readings

    @torch.no_grad()
    def validate(self, model, loader, device):
        """Dev loss; the refusal threshold chosen on dev (stored in meta); dev exact match (a refusal is a
        miss), false refusals of dates and refusals of non-dates at that threshold."""
        net = self.unwrap(model)
        net.eval()
        total_loss, n = 0.0, 0
        for batch in loader:
            batch = self.to_device(batch, device)
            total_loss += float(self.loss(net, batch)) * batch["src"].size(0)
            n += batch["src"].size(0)
        raw = self.read(net, [ex.source for ex in self.dev_examples], threshold=None)
        is_date = [bool(ex.target) for ex in self.dev_examples]
        threshold = refusal_threshold([r.score for r, y in zip(raw, is_date, strict=True) if y],
                                      [r.refusal is not None for r, y in zip(raw, is_date, strict=True) if y],
                                      self.params["decode"]["max_false_refusals"])
        self.meta["threshold"] = threshold
        preds = [judge(r.output, r.score, threshold).date or "" for r in raw]
        m = split_metrics(preds, [ex.target for ex in self.dev_examples])
        net.train()
        return {"dev_loss": total_loss / max(n, 1), "dev_exact_match": m["exact_match"],
                "dev_false_refusal_rate": m["false_refusal_rate"], "dev_threshold": threshold,
                **({"dev_refusal_rate": m["refusal_rate"]} if "refusal_rate" in m else {})}

    def evaluate(self, model, data_dir: Path):
        """Read every held-out split in ``data_dir`` (test / unseen_formats / not_dates, or a user's
        ``*.tsv`` pairs when none of those exist) with the dev threshold; returns (metrics, details)."""
        data_dir = Path(data_dir)
        files = [data_dir / f"{s}.tsv" for s in held_out_splits((p.stem for p in data_dir.glob("*.tsv")), SPLITS)]
        if not files:
            raise FileNotFoundError(f"translation evaluate: no .tsv pairs found in {data_dir}")
        self.codec = Codec(self.meta, model.cfg.tx)
        threshold = self.meta.get("threshold")
        model.eval()
        metrics: dict = {"threshold": threshold}
        details = {}
        for path in files:
            examples = read_tsv(path)
            readings = self.read(model, [ex.source for ex in examples], threshold, desc=f"evaluate {path.stem}")
            metrics[path.stem] = split_metrics([r.date or "" for r in readings], [ex.target for ex in examples])
            details[path.stem] = family_report(examples, readings)
        return metrics, details


def family_report(examples, readings: list[Reading]) -> dict:
    """Per format family (or kind of non-date): the share read right (a non-date is right when refused),
    plus a few errors of each with the refusal reason, to see what the model gets wrong."""
    report: dict[str, dict] = {}
    for ex, reading in zip(examples, readings, strict=True):
        fam = report.setdefault(ex.family, {"n": 0, "exact_match": 0.0, "errors": []})
        fam["n"] += 1
        if (reading.date or "") == ex.target:
            fam["exact_match"] += 1
        elif len(fam["errors"]) < 5:
            fam["errors"].append({"source": ex.source, "target": ex.target, "prediction": reading.output,
                                  "score": round(reading.score, 4), "refusal": reading.refusal})
    for fam in report.values():
        fam["exact_match"] /= fam["n"]
    return dict(sorted(report.items(), key=lambda kv: kv[1]["exact_match"]))
