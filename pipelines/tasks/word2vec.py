"""Course 5 week 2's word vectors trained here: word2vec skip-gram with negative sampling on the World English
Bible (``dlzoo data bible``, its training books), through the one Ray driver, compared with the pinned GloVe 6B
50d on the same questions (``pipelines/features/word_questions.py``).

    dlzoo train c5w2_word2vec && dlzoo evaluate c5w2_word2vec    # reports/c5w2_word2vec/comparison.md

Data: the English verses lower-cased and cut into words (a-z runs: "God's" gives "god", "s"); the vocabulary is
every word seen at least ``model.min_count`` times. The pairs are drawn once, seeded: each occurrence of a word
is kept with word2vec's subsampling probability (``sample``), and its contexts are the words within a
window of 1 to ``window`` words each side (word2vec's shrinking window). The dev loss is on the dev books' pairs
with the same draw.

Evaluation scores three sets of vectors on every question: ``word2vec`` (trained here, 0.7 M words), ``glove``
(6 B words of Wikipedia and Gigaword) searched over the same vocabulary, and ``glove_full`` searched over all
400,000 of its words. An analogy a : b :: c : ? is right when the nearest word to b - a + c (cosine, a, b, c
excluded) is d; a question with a word the vectors do not know counts as wrong, and ``coverage`` says how many
could be asked (``answer_analogies``: 3CosAdd). A related pair (w, r) is found when r is among the 10 words nearest
w (``neighbour_recall_at_10``).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from pipelines.data import bible
from pipelines.features import glove, word_questions
from pipelines.models.word2vec import SkipGram
from pipelines.tasks.base import Task

WORD = re.compile(r"[a-z]+")


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def draw_pairs(sentences: list[list[int]], counts: np.ndarray, window: int, sample: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(centers, contexts) of every sentence: subsampled occurrences, a window of 1..``window`` words each side."""
    freq = counts / counts.sum()
    keep = np.minimum(1.0, (np.sqrt(freq / sample) + 1) * sample / np.maximum(freq, 1e-12)) if sample else None
    centers, contexts = [], []
    for ids in sentences:
        ids = np.asarray(ids, dtype=np.int64)
        if keep is not None:
            ids = ids[rng.random(len(ids)) < keep[ids]]
        spans = rng.integers(1, window + 1, len(ids))
        for i, span in enumerate(spans):
            around = np.r_[ids[max(0, i - span):i], ids[i + 1:i + 1 + span]]
            centers.append(np.full(len(around), ids[i]))
            contexts.append(around)
    if not centers:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(centers).astype(np.int64), np.concatenate(contexts).astype(np.int64)


def answer_analogies(vectors: glove.WordVectors, questions) -> list[str]:
    """For each (a, b, c, ...), the word w maximising cos(w, b - a + c) over unit vectors, a, b and c excluded
    (Mikolov et al.'s 3CosAdd). The notebook's ``complete_analogy`` scores cos(w - c, b - a) on raw vectors instead,
    which on GloVe's 400,000 words favours rare ones (son : sons :: king : "denominations")."""
    unit = vectors.unit()
    answers = []
    for start in range(0, len(questions), 256):
        chunk = questions[start:start + 256]
        idx = np.array([[vectors.index[w] for w in q[:3]] for q in chunk])
        targets = unit[idx[:, 1]] - unit[idx[:, 0]] + unit[idx[:, 2]]
        scores = targets @ unit.T
        np.put_along_axis(scores, idx, -np.inf, axis=1)
        answers += [vectors.words[i] for i in scores.argmax(1)]
    return answers


def analogy_accuracy(vectors: glove.WordVectors, questions) -> dict[str, float]:
    """Share of ``questions`` answered right (a question with an unknown word: wrong) and the share it could ask."""
    asked = [q for q in questions if all(w in vectors for w in q)]
    right = sum(answer == q[3] for answer, q in zip(answer_analogies(vectors, asked), asked, strict=True))
    return {"accuracy": right / max(len(questions), 1), "coverage": len(asked) / max(len(questions), 1),
            "n": len(questions)}


def neighbour_recall(vectors: glove.WordVectors, pairs, k: int = 10) -> dict[str, float]:
    """Share of (w, r) pairs whose r is among w's ``k`` nearest words (cosine; unknown words: a miss)."""
    asked = [(w, r) for w, r in pairs if w in vectors and r in vectors]
    unit = vectors.unit()
    hits = 0
    for w, r in asked:
        scores = unit @ unit[vectors.index[w]]
        scores[vectors.index[w]] = -np.inf
        hits += bool(np.sum(scores > scores[vectors.index[r]]) < k)
    return {"recall": hits / max(len(pairs), 1), "coverage": len(asked) / max(len(pairs), 1), "n": len(pairs)}


class Word2VecTask(Task):
    name = "c5w2_word2vec"

    def _sentences(self, data_dir: Path, split: str) -> list[list[str]]:
        return [words(english) for _, english, _ in bible.read_split(data_dir, split)]

    def load(self, data_dir: Path) -> None:
        cfg = self.params["model"]
        train = self._sentences(data_dir, "train")
        if not self.meta:
            counted = Counter(w for sentence in train for w in sentence)
            vocab = sorted((w for w, n in counted.items() if n >= int(cfg["min_count"])),
                           key=lambda w: (-counted[w], w))
            self.meta = {"vocabulary": vocab, "counts": [counted[w] for w in vocab]}
        index = {w: i for i, w in enumerate(self.meta["vocabulary"])}
        counts = np.asarray(self.meta["counts"], dtype=np.float64)
        rng = np.random.default_rng(int(self.params["train"]["seed"]))
        as_ids = lambda sentences: [[index[w] for w in s if w in index] for s in sentences]  # noqa: E731
        window, sample = int(cfg["window"]), float(cfg["sample"])
        self.train_set = TensorDataset(*map(torch.from_numpy, draw_pairs(as_ids(train), counts, window, sample, rng)))
        self.dev_set = TensorDataset(*map(torch.from_numpy, draw_pairs(as_ids(self._sentences(data_dir, "dev")),
                                                                       counts, window, sample, rng)))

    def datasets(self):
        return self.train_set, self.dev_set

    def model_config(self) -> dict:
        return {**self.params["model"], "vocabulary": len(self.meta["vocabulary"]), "counts": self.meta["counts"]}

    @classmethod
    def build_model(cls, config: dict):
        noise = torch.tensor(config["counts"], dtype=torch.float32) ** float(config.get("noise_power", 0.75))
        return SkipGram(config["vocabulary"], int(config["dim"]), noise)

    def loss(self, model, batch):
        center, context = batch
        return model(center, context, int(self.params["model"]["negatives"]))

    @torch.no_grad()
    def validate(self, model, loader, device):
        net = self.unwrap(model)
        generator = torch.Generator().manual_seed(0)  # the same negatives every epoch: comparable dev losses
        total, n = 0.0, 0
        for center, context in loader:
            total += float(net(center.to(device), context.to(device), int(self.params["model"]["negatives"]),
                               generator)) * len(center)
            n += len(center)
        return {"dev_loss": total / max(n, 1)}

    def word_vectors(self, model) -> glove.WordVectors:
        return glove.WordVectors(list(self.meta["vocabulary"]), self.unwrap(model).vectors().cpu().double().numpy())

    def evaluate(self, model, data_dir: Path):
        trained = self.word_vectors(model)
        full = glove.load()
        shared = [w for w in trained.words if w in full]
        same_vocab = glove.WordVectors(shared, full.matrix[[full.index[w] for w in shared]])
        metrics, details = {}, {"course_cosines": {}}
        for name, vectors in (("word2vec", trained), ("glove", same_vocab), ("glove_full", full)):
            scores = {relation: analogy_accuracy(vectors, questions)
                      for relation, questions in word_questions.ANALOGIES.items()}
            asked = [q for relation, questions in word_questions.ANALOGIES.items() if relation != "course"
                     for q in questions]
            overall = analogy_accuracy(vectors, asked)
            metrics[name] = {
                "analogy_accuracy": overall["accuracy"], "analogy_coverage": overall["coverage"],
                **{f"analogy_{relation}": s["accuracy"] for relation, s in scores.items()},
                "neighbour_recall_at_10": neighbour_recall(vectors, word_questions.RELATED)["recall"],
                "vocabulary": len(vectors.words)}
            details["course_cosines"][name] = {
                f"{a}~{b}": (glove.cosine_similarity(vectors[a], vectors[b]) if a in vectors and b in vectors
                             else None) for a, b in (("father", "mother"), ("ball", "crocodile"))}
        details["questions"] = {relation: len(q) for relation, q in word_questions.ANALOGIES.items()}
        details["neighbours"] = {w: nearest(trained, w) for w in ("king", "god", "bread", "sheep", "silver")
                                 if w in trained}
        return metrics, details

    def reports(self, model, data_dir: Path, metrics: dict) -> dict[str, bytes]:
        """``comparison.md``: word2vec against GloVe, question by relation."""
        relations = [*word_questions.PAIRS, "course"]
        head = "| question set | n | word2vec (Bible, 0.7 M words) | GloVe, same vocabulary | GloVe, 400 k words |"
        lines = ["# Word vectors: word2vec trained here against GloVe 6B 50d", "",
                 "Accuracy; a question with a word the vectors do not know counts as wrong.", "", head,
                 "|---|---|---|---|---|"]
        for relation in relations:
            n = len(word_questions.ANALOGIES[relation])
            lines.append(f"| analogies: {relation} | {n} | " + " | ".join(
                f"{metrics[m][f'analogy_{relation}']:.3f}" for m in ("word2vec", "glove", "glove_full")) + " |")
        asked = sum(len(word_questions.ANALOGIES[r]) for r in word_questions.PAIRS)
        lines.append(f"| analogies: all but course | {asked} | " + " | ".join(
            f"**{metrics[m]['analogy_accuracy']:.3f}**" for m in ("word2vec", "glove", "glove_full")) + " |")
        lines.append(f"| related words among the 10 nearest | {len(word_questions.RELATED)} | " + " | ".join(
            f"{metrics[m]['neighbour_recall_at_10']:.3f}" for m in ("word2vec", "glove", "glove_full")) + " |")
        return {"comparison.md": ("\n".join(lines) + "\n").encode()}


def nearest(vectors: glove.WordVectors, word: str, k: int = 8) -> list[str]:
    scores = vectors.unit() @ vectors.unit()[vectors.index[word]]
    return [vectors.words[i] for i in np.argsort(-scores)[1:k + 1]]
