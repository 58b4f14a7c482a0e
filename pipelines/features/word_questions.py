"""The questions word vectors are scored on (C5W2): analogies "a is to b as c is to ?" and related pairs
"is r among the words nearest w?", written down here once for word2vec trained on the Bible text and for GloVe.

    from pipelines.features import word_questions
    word_questions.ANALOGIES["gender"][:2]      # [("man", "woman", "king", "queen"), ...]

Analogies come from pairs in the manner of Mikolov et al.'s question set: every ordered couple of two pairs of a
relation is a question (a, b, c, d) with d the answer. The relations use words the World English Bible says
often (at least 5 times in its training books), so the comparison with GloVe is about the vectors, not the
vocabulary. ``course`` holds the notebook's own four analogies (most of their words never occur in the Bible:
a model that does not know a word of a question cannot answer it, and ``coverage`` says how many it could).
"""

from __future__ import annotations

from itertools import permutations

PAIRS = {
    "gender": [("man", "woman"), ("king", "queen"), ("father", "mother"), ("son", "daughter"),
               ("brother", "sister"), ("husband", "wife"), ("he", "she"), ("his", "her"), ("boy", "girl"),
               ("male", "female"), ("sons", "daughters"), ("brothers", "sisters"), ("men", "women")],
    "plural": [("son", "sons"), ("king", "kings"), ("city", "cities"), ("day", "days"), ("man", "men"),
               ("woman", "women"), ("child", "children"), ("brother", "brothers"), ("priest", "priests"),
               ("house", "houses"), ("hand", "hands"), ("year", "years"), ("tree", "trees"), ("nation", "nations")],
    "past_tense": [("go", "went"), ("come", "came"), ("say", "said"), ("give", "gave"), ("take", "took"),
                   ("see", "saw"), ("know", "knew"), ("eat", "ate"), ("speak", "spoke"), ("rise", "rose"),
                   ("hear", "heard"), ("make", "made"), ("bring", "brought"), ("stand", "stood")],
    "comparative": [("great", "greater"), ("strong", "stronger"), ("wise", "wiser"), ("high", "higher"),
                    ("young", "younger"), ("good", "better"), ("many", "more")],
}

ANALOGIES: dict[str, list[tuple[str, str, str, str]]] = {
    relation: [(a, b, c, d) for (a, b), (c, d) in permutations(pairs, 2)] for relation, pairs in PAIRS.items()}
# the notebook's complete_analogy examples (italy:italian :: spain:spanish, india:delhi :: japan:tokyo, ...)
ANALOGIES["course"] = [("italy", "italian", "spain", "spanish"), ("india", "delhi", "japan", "tokyo"),
                       ("man", "woman", "boy", "girl"), ("small", "smaller", "large", "larger")]

# (w, r): pairs of related words (synonyms, kinds, parts, what goes together); r should be among the words
# nearest w. The notebook's example pair father ~ mother (0.891, against ball ~ crocodile 0.274) comes first.
RELATED = [
    ("father", "mother"), ("king", "throne"), ("sheep", "shepherd"), ("bread", "wine"), ("gold", "silver"),
    ("sword", "spear"), ("sea", "waters"), ("heaven", "earth"), ("priest", "altar"), ("horse", "chariot"),
    ("fire", "flame"), ("wheat", "barley"), ("lion", "bear"), ("ship", "sea"), ("eat", "drink"), ("sin", "iniquity"),
    ("joy", "gladness"), ("night", "day"), ("river", "water"), ("mountain", "hill"), ("wife", "husband"),
    ("son", "daughter"), ("city", "gate"), ("war", "battle"), ("love", "mercy"), ("die", "death"), ("oil", "olive"),
    ("tree", "fruit"), ("sun", "moon"), ("voice", "word"), ("bronze", "iron"), ("goat", "ram"), ("cup", "bowl"),
    ("prophet", "prophecy"), ("fear", "afraid"), ("enemy", "adversary"), ("tent", "tabernacle"), ("heart", "soul"),
    ("wisdom", "understanding"), ("cattle", "livestock"),
]
