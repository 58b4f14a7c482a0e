"""Date translation (C5W3): data -> tensors, loss, decoding and metrics for the attention seq2seq.

    dlzoo train translation && dlzoo evaluate translation
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from tqdm import tqdm

from pipelines.data.dates import SPLITS, normalize, read_tsv
from pipelines.evaluation.translation import translation_metrics
from pipelines.models.seq2seq_attention import BOS, EOS, PAD, TGT_PAD, UNK, Seq2SeqAttention, Seq2SeqConfig
from pipelines.tasks.base import Task

SRC_SPECIALS = ["<pad>", "<unk>"]
TGT_SPECIALS = ["<pad>", "<bos>", "<eos>"]


def build_vocab(examples) -> dict:
    src = sorted({ch for ex in examples for ch in ex.source})
    tgt = sorted({ch for ex in examples for ch in ex.target})
    return {"src": SRC_SPECIALS + src, "tgt": TGT_SPECIALS + tgt,
            "ty": max(len(ex.target) for ex in examples) + 1}


class Codec:
    """Characters <-> ids with the vocabularies stored in the model's meta."""

    def __init__(self, meta: dict, tx: int):
        self.src_index = {ch: i for i, ch in enumerate(meta["src"])}
        self.tgt_index = {ch: i for i, ch in enumerate(meta["tgt"])}
        self.tgt_chars = meta["tgt"]
        self.tx = tx

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


def collate_pairs(batch):
    src, tgt = zip(*batch, strict=True)
    src = pad_sequence(src, batch_first=True, padding_value=PAD)
    tgt = pad_sequence(tgt, batch_first=True, padding_value=TGT_PAD)
    tgt_in = torch.cat([torch.full((tgt.size(0), 1), BOS, dtype=torch.long), tgt[:, :-1]], dim=1)
    return {"src": src, "tgt_in": tgt_in, "tgt": tgt}


@torch.no_grad()
def translate(model: Seq2SeqAttention, codec: Codec, texts: list[str], beam_size: int = 1,
              length_norm: float = 0.7) -> list[tuple[str, float]]:
    """Translate ``texts`` in one batch -> (output, length-normalised log-probability) pairs."""
    device = next(model.parameters()).device
    src = codec.batch_sources(texts).to(device)
    if beam_size <= 1:
        tokens, score, lengths = model.greedy(src)
        score = score / lengths.clamp(min=1).float().pow(length_norm)
    else:
        tokens, score, _ = model.beam_search(src, beam_size=beam_size, length_norm=length_norm)
    return [(codec.decode(t), float(s)) for t, s in zip(tokens, score, strict=True)]


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

    @torch.no_grad()
    def validate(self, model, loader, device):
        net = getattr(model, "module", model)  # DDP wraps the network
        net.eval()
        total_loss, hits, n = 0.0, 0, 0
        for batch in loader:
            batch = self.to_device(batch, device)
            total_loss += float(self.loss(net, batch)) * batch["src"].size(0)
            tokens, _, _ = net.greedy(batch["src"])
            preds = [self.codec.decode(t) for t in tokens]
            refs = [self.codec.decode(t) for t in batch["tgt"]]
            hits += sum(p == r for p, r in zip(preds, refs, strict=True))
            n += batch["src"].size(0)
        net.train()
        return {"dev_loss": total_loss / max(n, 1), "dev_exact_match": hits / max(n, 1)}

    def evaluate(self, model, data_dir: Path):
        """Beam-search every held-out split in ``data_dir`` (any of test / unseen_formats, or a user's
        ``*.tsv`` pairs when none of those exist); returns (metrics, per-family details)."""
        data_dir = Path(data_dir)
        files = [data_dir / f"{s}.tsv" for s in SPLITS[2:] if (data_dir / f"{s}.tsv").is_file()]
        if not files:
            files = sorted(p for p in data_dir.glob("*.tsv") if p.stem not in ("train", "dev"))
        if not files:
            raise FileNotFoundError(f"translation evaluate: no .tsv pairs found in {data_dir}")
        self.codec = Codec(self.meta, model.cfg.tx)
        decode = self.params["decode"]
        model.eval()
        metrics, details = {}, {}
        for path in files:
            examples = read_tsv(path)
            preds = []
            bs = decode["batch_size"]
            for i in tqdm(range(0, len(examples), bs), desc=f"evaluate {path.stem}", unit="batch"):
                chunk = [ex.source for ex in examples[i:i + bs]]
                preds += [p for p, _ in translate(model, self.codec, chunk, decode["beam_size"],
                                                   decode["length_norm"])]
            refs = [ex.target for ex in examples]
            metrics[path.stem] = translation_metrics(preds, refs)
            details[path.stem] = family_report(examples, preds)
        return metrics, details


def family_report(examples, preds) -> dict:
    """Exact match per format family plus a few errors of each, to see what the model gets wrong."""
    report: dict[str, dict] = {}
    for ex, pred in zip(examples, preds, strict=True):
        fam = report.setdefault(ex.family, {"n": 0, "exact_match": 0.0, "errors": []})
        fam["n"] += 1
        if pred == ex.target:
            fam["exact_match"] += 1
        elif len(fam["errors"]) < 5:
            fam["errors"].append({"source": ex.source, "target": ex.target, "prediction": pred})
    for fam in report.values():
        fam["exact_match"] /= fam["n"]
    return dict(sorted(report.items(), key=lambda kv: kv[1]["exact_match"]))
