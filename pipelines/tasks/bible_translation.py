"""Course 5 week 4's Transformer (``pipelines/models/transformer.py``) trained to translate English into Spanish on
the verse-aligned Bible (``dlzoo data bible``: World English Bible -> Reina-Valera 1909, whole books held out),
through the one Ray driver; and, as its baseline on the same verses, pieces and books, week 3's attention RNN
(``pipelines/models/seq2seq_attention.py``, the date translator's network) with ``model.arch: attention_rnn``.

    dlzoo data bible && dlzoo train c5w4_transformer_en_es && dlzoo evaluate c5w4_transformer_en_es
    dlzoo train c5w3_attention_rnn_en_es && dlzoo evaluate c5w3_attention_rnn_en_es

Subwords: one SentencePiece model (``model.subword``: unigram or bpe, ``model.vocab_size`` pieces) learnt in
``load`` from the training books' English and Spanish together, seeded and on one thread, so the same data gives
the same bytes; its serialized proto travels in ``meta`` (inside ``model.pt``), so serving needs no other file.
One joint vocabulary: names (Jerusalem, Israel, Pablo) and numbers are spelt alike on both sides, and one
model is one file; the network keeps separate source and target embeddings all the same.

Training: teacher-forced cross-entropy over the Spanish pieces and the end mark, label-smoothed
(``train.label_smoothing``), padding ignored. Verses are bucketed by length into batches of about
``train.batch_tokens`` padded tokens (``train.batch_size: 1`` is one such batch a step), which wastes little on
padding; a pair with either side over ``train.max_tokens`` pieces is left out of training (a few very long
verses), and a longer source is cut to ``max_tokens`` when translating (counted: ``truncated``).

Evaluation on dev and every held-out split: ``bleu`` (sacreBLEU corpus BLEU, its default 13a tokenizer on the
detokenized Spanish), ``chrf``, ``loss`` (the training loss, per target piece) and ``nll`` (without smoothing),
decoding with beam search (``decode.beam``, ``decode.length_penalty``: the settings the translation_en_es service
reads too; beam 1 is greedy); ``details`` shows ``evaluate.examples`` translations of each split.
:func:`translate` is what the service and the CLI call. The beam searches are the models' own: the Transformer's
(cached keys and values) ranks by GNMT's length penalty, the RNN's by the course's log P / length ** alpha, and
``decode.length_penalty`` is that model's exponent.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import sacrebleu
import sentencepiece as spm
import torch
from torch import nn
from torch.utils.data import Dataset

from pipelines.data import bible
from pipelines.models.seq2seq_attention import Seq2SeqAttention, Seq2SeqConfig
from pipelines.models.transformer import Transformer
from pipelines.tasks.base import Task, held_out_splits

PAD, UNK, BOS, EOS = 0, 1, 2, 3
ARCHS = ("transformer", "attention_rnn")


def train_tokenizer(sentences: list[str], vocab_size: int, subword: str = "unigram", seed: int = 0) -> str:
    """A SentencePiece model learnt from ``sentences``; returns its serialized proto, base64 (a str: it goes
    in ``meta``, pickled into ``model.pt`` and readable as JSON). The same sentences give the same bytes."""
    spm.set_random_generator_seed(int(seed))
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=proto, vocab_size=int(vocab_size), model_type=subword,
        character_coverage=1.0,  # the Bible's few hundred characters, accents included: none becomes <unk>
        pad_id=PAD, unk_id=UNK, bos_id=BOS, eos_id=EOS,
        input_sentence_size=0, shuffle_input_sentence=False,  # every sentence, in order: nothing sampled
        num_threads=1,  # the unigram EM sums in thread order: one thread, one result
        max_sentence_length=1 << 16, minloglevel=2)
    return base64.b64encode(proto.getvalue()).decode("ascii")


def load_tokenizer(meta: dict) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_proto=base64.b64decode(meta["spm"]))


def bucket(pairs: list[tuple[list[int], list[int]]], batch_tokens: int) -> list[list[tuple[list[int], list[int]]]]:
    """``pairs`` sorted by length and cut into batches of at most ``batch_tokens`` padded tokens (the longer side
    x the number of pairs; a target counts its start or end mark)."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][1]), len(pairs[i][0])))
    batches, current, longest = [], [], 0
    for i in order:
        size = max(len(pairs[i][0]), len(pairs[i][1]) + 1)
        if current and max(longest, size) * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(pairs[i])
        longest = max(longest, size)
    return batches + ([current] if current else [])


class Batches(Dataset):
    """Each item is a whole batch of (source pieces, target pieces); the loader shuffles their order."""

    def __init__(self, batches: list):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.batches[i]


def pad(rows: list[list[int]]) -> torch.Tensor:
    out = torch.full((len(rows), max(map(len, rows))), PAD, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, :len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def collate_batches(items: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(source, decoder input: start mark then the target, decoder output: the target then the end mark), each
    padded with PAD; ``items`` are batches from :func:`bucket`, joined."""
    pairs = [pair for batch in items for pair in batch]
    return (pad([src for src, _ in pairs]), pad([[BOS, *tgt] for _, tgt in pairs]),
            pad([[*tgt, EOS] for _, tgt in pairs]))


class BibleTranslationTask(Task):
    name = "bible_translation"

    def load(self, data_dir: Path) -> None:
        m, t = self.params["model"], self.params["train"]
        train = bible.read_split(data_dir, "train")
        self.meta = {"spm": train_tokenizer([text for _, en, es in train for text in (en, es)], m["vocab_size"],
                                            m.get("subword", "unigram"), t["seed"]),
                     "max_tokens": int(t["max_tokens"])}
        sp = load_tokenizer(self.meta)
        sets = {}
        for split in ("train", "dev"):
            rows = train if split == "train" else bible.read_split(data_dir, split)
            pairs = list(zip(sp.encode([en for _, en, _ in rows]), sp.encode([es for _, _, es in rows]), strict=True))
            kept = [(s, g) for s, g in pairs if len(s) <= t["max_tokens"] and len(g) + 1 <= t["max_tokens"]]
            self.meta[f"{split}_too_long"] = len(pairs) - len(kept)
            sets[split] = Batches(bucket(kept, int(t["batch_tokens"])))
        self.train_set, self.dev_set = sets["train"], sets["dev"]

    def datasets(self):
        return self.train_set, self.dev_set

    def collate(self, batch):
        return collate_batches(batch)

    def model_config(self) -> dict:
        m, max_tokens = self.params["model"], int(self.params["train"]["max_tokens"])
        arch = m.get("arch", "transformer")
        vocab = load_tokenizer(self.meta).get_piece_size()
        if arch == "attention_rnn":  # the course's sizes are for characters; subwords get params' sizes
            return {"arch": arch, **Seq2SeqConfig(
                src_vocab=vocab, tgt_vocab=vocab, tx=max_tokens, ty=max_decode_len(max_tokens), emb=m["emb"],
                n_a=m["n_a"], n_s=m["n_s"], attn_hidden=m["attn_hidden"], dropout=m["dropout"], bos=BOS,
                eos=EOS).to_dict()}
        if arch != "transformer":
            raise ValueError(f"{self.name}: model.arch {arch!r} is not one of {', '.join(ARCHS)}")
        return {"arch": arch, "num_layers": m["layers"], "d_model": m["d_model"], "num_heads": m["heads"],
                "dff": m["dff"], "input_vocab": vocab, "target_vocab": vocab, "dropout": m["dropout"], "pad_id": PAD,
                # positions for the longest decoded target and its start mark
                "max_positions": max_decode_len(max_tokens) + 1}

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        config = dict(config)
        if config.pop("arch", "transformer") == "attention_rnn":
            return Seq2SeqAttention(Seq2SeqConfig(**config))
        return Transformer(**config)

    def token_losses(self, model, batch, smoothing: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed loss, logits) of a batch: cross-entropy of every target piece and end mark, padding ignored."""
        source, target_in, target_out = batch
        logits = model(source, target_in)
        logits = logits[0] if isinstance(logits, tuple) else logits  # the Transformer adds its attention weights
        return nn.functional.cross_entropy(logits.flatten(0, 1), target_out.flatten(), ignore_index=PAD,
                                           label_smoothing=smoothing, reduction="sum"), logits

    def loss(self, model, batch):
        total, _ = self.token_losses(model, batch, float(self.params["train"].get("label_smoothing", 0.0)))
        return total / (batch[2] != PAD).sum().clamp(min=1)

    @torch.no_grad()
    def score(self, model, loader, device) -> dict[str, float]:
        """Per target piece: the training loss, the plain cross-entropy and the share predicted right."""
        net = self.unwrap(model)
        was_training = net.training
        net.eval()
        smoothing = float(self.params["train"].get("label_smoothing", 0.0))
        loss = nll = right = tokens = 0.0
        for batch in loader:
            batch = self.to_device(batch, device)
            total, logits = self.token_losses(net, batch, smoothing)
            real = batch[2] != PAD
            loss += float(total)
            nll += float(nn.functional.cross_entropy(logits[real], batch[2][real], reduction="sum"))
            right += float((logits.argmax(-1)[real] == batch[2][real]).sum())
            tokens += float(real.sum())
        net.train(was_training)
        tokens = max(tokens, 1.0)
        return {"loss": loss / tokens, "nll": nll / tokens, "token_accuracy": right / tokens}

    def validate(self, model, loader, device):
        return {f"dev_{k}": v for k, v in self.score(model, loader, device).items()}

    def evaluate(self, model, data_dir: Path):
        """dev (when present) and every held-out split: BLEU, chrF, loss; ``details``: example translations."""
        data_dir = Path(data_dir)
        found = [p.stem for p in data_dir.glob("*.tsv")]
        splits = (["dev"] if "dev" in found else []) + held_out_splits(found, bible.SPLITS)
        if not splits:
            raise FileNotFoundError(f"{self.name}: no dev.tsv or held-out split (test.tsv) in {data_dir}")
        cfg, decode = self.params["evaluate"], self.params["decode"]
        net = self.unwrap(model).eval()
        device = next(net.parameters()).device
        sp = load_tokenizer(self.meta)
        metrics, details = {"beam": int(decode["beam"]), "length_penalty": float(decode["length_penalty"])}, {}
        for split in splits:
            rows = bible.read_split(data_dir, split)
            started = time.perf_counter()
            hypotheses, cut = zip(*translate(self, net, [en for _, en, _ in rows]), strict=True)
            seconds = time.perf_counter() - started
            references = [es for _, _, es in rows]
            pairs = list(zip(sp.encode([en for _, en, _ in rows]), sp.encode(references), strict=True))
            pairs = [(s[:self.meta["max_tokens"]], g[:2 * self.meta["max_tokens"]]) for s, g in pairs]
            loader = [collate_batches([b]) for b in bucket(pairs, int(self.params["train"]["batch_tokens"]))]
            metrics[split] = {
                "n": len(rows), "bleu": sacrebleu.corpus_bleu(list(hypotheses), [references]).score,
                "chrf": sacrebleu.corpus_chrf(list(hypotheses), [references]).score,
                **self.score(net, loader, device), "truncated": sum(cut),
                "seconds_per_verse": seconds / max(len(rows), 1),
            }
            step = max(1, len(rows) // int(cfg["examples"]))
            details[split] = [{"verse": verse, "source": en, "reference": es, "hypothesis": hyp}
                              for (verse, en, es), hyp in list(zip(rows, hypotheses, strict=True))[::step]]
        return metrics, details


    def predict_texts(self, model, texts: list[str]) -> list[dict]:
        """Per English text: its Spanish (the evaluation's beam search) and whether it was cut to ``max_tokens``
        pieces first; what ``dlzoo predict en-es`` prints."""
        return [{"text": text, "translation": spanish, "truncated": cut}
                for text, (spanish, cut) in zip(texts, translate(self, model, texts), strict=True)]


def max_decode_len(max_tokens: int) -> int:
    """The most target pieces (end mark included) decoded from a source of ``max_tokens`` pieces: Spanish runs
    about as long as English here, so twice the source is ample."""
    return 2 * int(max_tokens) + 1


def decode(net: nn.Module, source: torch.Tensor, beam: int, length_penalty: float, max_len: int) -> list[list[int]]:
    """Each source row's best target pieces (no start or end mark), by the network's own beam search."""
    if isinstance(net, Seq2SeqAttention):
        tokens, _, lengths = net.beam_search(source, beam_size=beam, length_norm=length_penalty, max_len=max_len)
        rows = [row[:n] for row, n in zip(tokens.tolist(), lengths.tolist(), strict=True)]
        return [row[:-1] if row and row[-1] == EOS else row for row in rows]
    tokens, _ = net.beam_search(source, BOS, EOS, beam=beam, length_penalty=length_penalty, max_len=max_len)
    return tokens


def translate(task_or_meta: Task | dict, model: nn.Module, texts: list[str], beam: int | None = None,
              length_penalty: float | None = None, batch_size: int = 32) -> list[tuple[str, bool]]:
    """Each text's Spanish, by beam search (``beam``/``length_penalty``: the task's ``decode`` params, or 4 and 0.6
    given only ``meta``), and whether the text was cut first: one over ``meta["max_tokens"]`` pieces is cut there.

    Raises:
        ValueError: a text that is not a string or is empty (blank).
    """
    meta = task_or_meta.meta if isinstance(task_or_meta, Task) else task_or_meta
    cfg = task_or_meta.params.get("decode", {}) if isinstance(task_or_meta, Task) else {}
    beam = int(beam or cfg.get("beam", 4))
    length_penalty = float(cfg.get("length_penalty", 0.6) if length_penalty is None else length_penalty)
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text {i} is empty: give an English sentence to translate")
    sp, limit = load_tokenizer(meta), int(meta["max_tokens"])
    net = Task.unwrap(model)
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    pieces = sp.encode(list(texts))
    cut = [len(ids) > limit for ids in pieces]
    pieces = [ids[:limit] for ids in pieces]
    out: list[str] = [""] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(pieces[i]))  # similar lengths decode together
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        source = pad([pieces[i] for i in chunk]).to(device)
        # room for one-word verses, within what the longest source may produce
        max_len = min(2 * source.shape[1] + 10, max_decode_len(limit))
        for i, ids in zip(chunk, decode(net, source, beam, length_penalty, max_len), strict=True):
            out[i] = sp.decode(ids)
    net.train(was_training)
    return list(zip(out, cut, strict=True))
