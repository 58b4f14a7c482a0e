"""C5W2's word2vec trained here: the Bible text from the Debian SWORD modules (aligned, whole books held out),
the pairs it trains on, the negative-sampling loss, the question set, and the comparison with GloVe (trained by
the driver's loop on two books, in-process)."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.data import bible
from pipelines.features import word_questions
from pipelines.models.word2vec import SkipGram
from pipelines.tasks.word2vec import Word2VecTask, draw_pairs, words
from pipelines.training.artifacts import load_model
from tests.conftest import train_here


def test_osis_markup_becomes_the_verses_text():
    osis = ('<w lemma="strong:H0430">God</w><note placement="foot"><reference>1:1 </reference>The Hebrew word '
            '“God”.</note><w lemma="strong:H1254">created</w> <w>light</w> .<l level="1"/>And')
    assert bible.clean(osis) == "God created light. And"
    assert bible.clean('<title type="psalm">A Psalm by David.</title> Yahweh, how') == "Yahweh, how"
    # after a book's end mark comes other matter (the English module's glossary), not the verse
    end = ('<w>saints</w>. Amen. <chapter eID="Rev.22"/> <div canonical="true" eID="gen35575" osisID="Rev" '
           'type="book"/> <div sID="gen35837" type="glossary"/> <title>Glossary</title> Abaddon is Hebrew.')
    assert bible.clean(end) == "saints. Amen."
    assert bible.clean('<div canonical="true" osisID="Gen" sID="gen1" type="book"/>In the beginning') == \
        "In the beginning"  # a book's start mark keeps what follows


@pytest.fixture(scope="module")
def full_text(tmp_path_factory, smoke_params) -> Path:
    out = tmp_path_factory.mktemp("bible")
    params = {**smoke_params["data_bible"], "train_books": None,
              "dev_books": ["Esther", "Titus", "Jude"], "test_books": ["Ruth", "Jonah", "Acts", "James"]}
    counts = bible.write_dataset(params, out)
    assert counts == {"train": 29596, "dev": 238, "test": 1243}  # the two modules share 31,077 verses
    return out


def test_the_verses_are_aligned_and_whole_books_are_held_out(full_text):
    train, test = bible.read_split(full_text, "train"), bible.read_split(full_text, "test")
    assert train[0] == ("Genesis 1:1", "In the beginning, God created the heavens and the earth.",
                        "EN el principio crió Dios los cielos y la tierra.")
    assert {ref.rsplit(" ", 1)[0] for ref, _, _ in test} == {"Ruth", "Jonah", "Acts", "James"}
    assert not {ref.rsplit(" ", 1)[0] for ref, _, _ in train} & {"Ruth", "Jonah", "Acts", "James", "Esther"}
    text = (full_text / "train.tsv").read_text()
    assert "<" not in text and "strong:" not in text and "[1:1" not in text
    assert train[-1] == ("Revelation of John 22:21", "The grace of the Lord Jesus Christ be with all the saints. "
                         "Amen.", "La gracia de nuestro Señor Jesucristo sea con todos vosotros. Amén.")
    assert max(len(en) for _, en, _ in train) < 1000  # no glossary or other book matter inside a verse


def test_unknown_books_and_missing_modules_are_named(smoke_params, tmp_path):
    with pytest.raises(ValueError, match=r"data_bible.test_books: no such book \['Revelation'\]"):
        bible.write_dataset({**smoke_params["data_bible"], "test_books": ["Revelation"]}, tmp_path)
    with pytest.raises(FileNotFoundError, match="SWORD module 'nope' not found"):
        bible.read_module("nope")


def test_every_question_word_is_common_in_the_training_books(full_text):
    counts = Counter(w for _, english, _ in bible.read_split(full_text, "train") for w in words(english))
    asked = {w for relation, questions in word_questions.ANALOGIES.items() if relation != "course"
             for q in questions for w in q} | {w for pair in word_questions.RELATED for w in pair}
    rare = sorted(w for w in asked if counts[w] < 5)
    assert not rare, rare
    assert len(word_questions.ANALOGIES["gender"]) == 13 * 12


def test_pairs_stay_inside_the_window_and_subsampling_drops_frequent_words():
    rng = np.random.default_rng(0)
    sentence = list(range(10))
    centers, contexts = draw_pairs([sentence], np.ones(10), window=2, sample=0.0, rng=rng)
    assert len(centers) == len(contexts) and np.all(np.abs(centers - contexts) <= 2) and np.all(centers != contexts)
    counts = np.array([1e6] + [1.0] * 9)  # word 0 is almost every word of the corpus
    sentences = [[0, 1, 0, 2, 0, 3, 0, 4]] * 200
    centers, _ = draw_pairs(sentences, counts, window=1, sample=1e-3, rng=np.random.default_rng(1))
    kept = Counter(centers.tolist())
    assert kept[0] < 0.5 * kept[1]  # said 4 times as often as each rare word, it is mostly dropped; they are kept
    a = draw_pairs(sentences, counts, 2, 1e-3, np.random.default_rng(5))
    b = draw_pairs(sentences, counts, 2, 1e-3, np.random.default_rng(5))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_negative_sampling_learns_which_words_go_together():
    torch.manual_seed(0)
    model = SkipGram(20, 8, torch.ones(20))
    center = torch.arange(10)
    context = center + 10  # word i goes with word i + 10
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    first = model(center, context, 5).item()
    assert first == pytest.approx(6 * np.log(2), rel=1e-5)  # zero output vectors: log 2 per word
    for _ in range(200):
        optimizer.zero_grad()
        model(center, context, 5).backward()
        optimizer.step()
    assert model(center, context, 5).item() < 0.5 * first


def test_trained_through_the_driver_and_compared_with_glove(smoke_params, tmp_path):
    bible.write_dataset(smoke_params["data_bible"], tmp_path / "data")
    params = copy.deepcopy(smoke_params["c5w2_word2vec"])
    params["train"]["epochs"] = 2
    state, model_file = train_here("c5w2_word2vec", params, tmp_path / "data", tmp_path)
    assert state["history"][1]["dev_loss"] < state["history"][0]["dev_loss"]
    model, bundle = load_model(model_file)
    task = Word2VecTask(params, bundle["meta"])
    metrics, details = task.evaluate(model, tmp_path / "data")
    assert set(metrics) == {"word2vec", "glove", "glove_full"}
    assert metrics["glove"]["vocabulary"] <= metrics["word2vec"]["vocabulary"] == len(bundle["meta"]["vocabulary"])
    assert metrics["glove_full"]["analogy_course"] == 1.0  # the notebook's four analogies, over GloVe's 400,000
    assert details["course_cosines"]["glove_full"]["father~mother"] == pytest.approx(0.890904, abs=1e-6)
    table = task.reports(model, tmp_path / "data", metrics)["comparison.md"].decode()
    assert "| analogies: gender | 156 |" in table and "| related words among the 10 nearest | 40 |" in table
