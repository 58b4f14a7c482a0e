"""Course 5 week 2's Emojify: a sentence to one of five emoji, over the pinned GloVe 6B 50d vectors
(``pipelines/features/glove.py``), trained by the one Ray driver.

    dlzoo train c5w2_emojify_v1 && dlzoo evaluate c5w2_emojify_v1
    dlzoo predict emojify "I love you"

* ``c5w2_emojify_v1`` (``model.kind: average``): the average of the sentence's word vectors, then softmax;
* ``c5w2_emojify_v2`` (``model.kind: sequence``): the word vectors in order (frozen, as the course's
  ``Embedding`` layer with ``trainable=False``) through two LSTMs of 128 units with dropout 0.5, then softmax.
  The course's sentences are padded with zero vectors and read through the padding; here each is read to its own
  length (packed), so a sentence ends where it ends.

A word GloVe does not know is the zero vector (the course's ``sentence_to_avg`` would fail on it);
``oov_share`` on every split says how many there were. Sentences longer than ``model.max_len`` words (the
course's 10) keep their first ``max_len`` in the sequence model; the average reads them all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from pipelines.data import emojify as emojify_data
from pipelines.tasks.classification import ClassificationTask, classification_report


class AverageClassifier(nn.Module):
    """v1: softmax(W avg + b) (the softmax is in the loss)."""

    def __init__(self, dim: int, classes: int):
        super().__init__()
        self.out = nn.Linear(dim, classes)

    def forward(self, x):
        return self.out(x)


class SequenceClassifier(nn.Module):
    """v2: LSTM(128) over every step -> dropout -> LSTM(128), its state at the sentence's last word -> dropout ->
    dense. A step whose vector is all zero after the last real word is padding."""

    def __init__(self, dim: int, classes: int, hidden: int = 128, dropout: float = 0.5):
        super().__init__()
        self.first = nn.LSTM(dim, hidden, batch_first=True)
        self.second = nn.LSTM(hidden, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x):
        present = x.abs().sum(-1) > 0
        steps = torch.arange(1, x.shape[1] + 1, device=x.device)
        lengths = (present * steps).amax(1).clamp(min=1).cpu()  # up to the last known word
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.first(packed)
        h, lengths = nn.utils.rnn.pad_packed_sequence(h, batch_first=True)
        h = nn.utils.rnn.pack_padded_sequence(self.dropout(h), lengths, batch_first=True, enforce_sorted=False)
        _, (last, _) = self.second(h)
        return self.out(self.dropout(last[-1]))


class EmojifyTask(ClassificationTask):
    name = "c5w2_emojify"
    held_out_splits = ("test", "train_dev")
    class_names = emojify_data.CLASSES

    def features(self, sentences: list[str]) -> tuple[torch.Tensor, float]:
        """(inputs of ``model.kind``, the share of words GloVe does not know)."""
        from pipelines.features import glove

        vectors = glove.load()
        cfg = self.params["model"]
        dim = vectors.matrix.shape[1]
        known = unknown = 0
        rows = []
        for sentence in sentences:
            words = emojify_data.tokens(sentence)
            if cfg["kind"] == "sequence":
                words = words[:int(cfg["max_len"])]
            found = [vectors[w] for w in words if w in vectors]
            known, unknown = known + len(found), unknown + len(words) - len(found)
            if cfg["kind"] == "average":
                rows.append(np.mean(found, 0) if found else np.zeros(dim))
            else:
                seq = np.zeros((int(cfg["max_len"]), dim))
                for i, w in enumerate(words):
                    if w in vectors:
                        seq[i] = vectors[w]
                rows.append(seq)
        x = torch.from_numpy(np.stack(rows) if rows else np.zeros((0, dim))).float()
        return x, unknown / max(known + unknown, 1)

    def read_split(self, data_dir: Path, split: str):
        sentences, labels = emojify_data.read_split(data_dir, split)
        return self.features(sentences)[0], torch.tensor(labels, dtype=torch.long)

    def model_config(self) -> dict:
        return {**super().model_config(), "dim": self.meta["input_shape"][-1]}

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        if config["kind"] == "average":
            return AverageClassifier(config["dim"], config["classes"])
        if config["kind"] == "sequence":
            return SequenceClassifier(config["dim"], config["classes"], int(config.get("hidden", 128)),
                                      float(config.get("dropout", 0.5)))
        raise ValueError(f"model.kind must be 'average' or 'sequence', got {config['kind']!r}")

    @torch.no_grad()
    def probabilities(self, model, sentences: list[str]) -> torch.Tensor:
        net = self.unwrap(model).eval()
        x, _ = self.features(sentences)
        return torch.softmax(net(x.to(next(net.parameters()).device)), -1).cpu()

    def predict_texts(self, model, sentences: list[str]) -> list[dict]:
        """Per sentence: the emoji, its class, every class's probability and the words GloVe does not know (read
        as zero vectors: a sentence of only those gets the model's prior)."""
        from pipelines.features import glove

        vectors = glove.load()
        out = []
        for sentence, p in zip(sentences, self.probabilities(model, sentences), strict=True):
            label = self.class_names[int(p.argmax())]
            out.append({"text": sentence, "label": label, "emoji": emojify_data.EMOJI[label],
                        "probabilities": {c: round(float(v), 4) for c, v in zip(self.class_names, p, strict=True)},
                        "unknown_words": [w for w in emojify_data.tokens(sentence) if w not in vectors]})
        return out

    def evaluate(self, model, data_dir: Path):
        metrics, details = {}, {}
        for split in self.held_out_splits:
            try:
                sentences, labels = emojify_data.read_split(Path(data_dir), split)
            except FileNotFoundError:
                continue
            pred = self.probabilities(model, sentences).argmax(-1)
            truth = torch.tensor(labels)
            metrics[split], details[split] = classification_report(pred, truth, self.meta["classes"], self.class_names)
            metrics[split]["oov_share"] = self.features(sentences)[1]
            details[split]["errors"] = [
                {"text": s, "truth": self.class_names[t], "predicted": self.class_names[int(p)]}
                for s, t, p in zip(sentences, labels, pred, strict=True) if int(p) != t]
        if not metrics:
            raise FileNotFoundError(f"{self.name}: none of the splits {self.held_out_splits} in {data_dir}")
        return metrics, details
