"""C5W2's word vectors (pipelines/features/glove.py): the notebook's printed values, reproduced from the pinned
GloVe 6B 50d wheel. Each expected number is the one the course's notebook prints."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.features import glove


@pytest.fixture(scope="module")
def vectors():
    return glove.load()


def test_the_vectors_are_glove_6b_50d(vectors):
    assert vectors.matrix.shape == (400_000, 50) and len(vectors.index) == 400_000
    assert vectors.words[:4] == ["the", ",", ".", "of"]
    with pytest.raises(KeyError, match="not among GloVe's 400,000 words"):
        vectors["Father"]


def test_cosine_similarity_as_the_notebook(vectors):
    cos = glove.cosine_similarity
    assert cos(vectors["father"], vectors["mother"]) == pytest.approx(0.890903844289, abs=1e-6)
    assert cos(vectors["ball"], vectors["crocodile"]) == pytest.approx(0.274392462614, abs=1e-6)
    assert cos(vectors["france"] - vectors["paris"], vectors["rome"] - vectors["italy"]) == \
        pytest.approx(-0.675147930817, abs=1e-6)
    assert cos(vectors["father"], np.zeros(50)) == 0.0


def test_analogies_as_the_notebook(vectors):
    for (a, b, c), d in ((("italy", "italian", "spain"), "spanish"), (("india", "delhi", "japan"), "tokyo"),
                         (("man", "woman", "boy"), "girl"), (("small", "smaller", "large"), "larger")):
        assert glove.complete_analogy(a, b, c, vectors) == d


def test_the_gender_axis_and_neutralize_as_the_notebook(vectors):
    g = vectors["woman"] - vectors["man"]
    for word, expected in (("john", -0.23163356146), ("marie", 0.315597935396), ("lipstick", 0.276919162564),
                           ("guns", -0.18884855679), ("computer", -0.103303588739), ("singer", 0.185005181365),
                           ("receptionist", 0.330779417506)):
        assert glove.cosine_similarity(vectors[word], g) == pytest.approx(expected, abs=1e-6), word
    neutral = glove.neutralize("receptionist", g, vectors)
    assert abs(glove.cosine_similarity(neutral, g)) < 1e-12  # the notebook prints -3.3e-17
    # only the component along g went: what is orthogonal to it is untouched
    np.testing.assert_allclose(vectors["receptionist"] - neutral, (vectors["receptionist"] @ g) / (g @ g) * g)


def test_equalize_as_the_notebook(vectors):
    g = vectors["woman"] - vectors["man"]
    assert glove.cosine_similarity(vectors["man"], g) == pytest.approx(-0.117110957653, abs=1e-6)
    assert glove.cosine_similarity(vectors["woman"], g) == pytest.approx(0.356666188463, abs=1e-6)
    e1, e2 = glove.equalize(("man", "woman"), g, vectors)
    assert glove.cosine_similarity(e1, g) == pytest.approx(-0.700436428931, abs=1e-6)
    assert glove.cosine_similarity(e2, g) == pytest.approx(0.700436428931, abs=1e-6)
    # they now differ only along g, and are symmetric about the common part
    diff = e1 - e2
    assert abs(glove.cosine_similarity(diff, g)) == pytest.approx(1.0, abs=1e-9)
