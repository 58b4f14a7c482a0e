"""Course 5 week 2's Emojify sentences: a short English sentence labelled with one of the course's five emoji
(the course's 132 / 56 sentences are not available offline).

    dlzoo data emojify                   # writes data/emojify/{train,dev,test}.tsv from params.yaml

``train`` is drawn by a documented generator: a template of the label's class (``TEMPLATES``) with its slots
filled from word lists (``SLOTS``; people's first names from faker's en_US list), seeded, without repeats.
``dev`` and ``test`` are ``emojify_written_dev.tsv`` and ``emojify_written.tsv`` beside this module: sentences
written by hand apart from the templates (and from each other), so dev chooses settings that generalise beyond
the templates and the test score says whether a model learned the classes, not the templates. ``train_dev``:
more generated sentences, never trained on (the templates' own dev, which tells overfitting from mismatch). The
writer refuses a generated sentence equal to a written one. Each file is ``sentence<TAB>label`` per line.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

SPLITS = ("train", "dev", "test", "train_dev")
CLASSES = ("heart", "baseball", "smile", "disappointed", "fork_and_knife")
EMOJI = {"heart": "\u2764\ufe0f", "baseball": "\u26be", "smile": "\U0001f604", "disappointed": "\U0001f61e",
         "fork_and_knife": "\U0001f374"}
WRITTEN = {"dev": Path(__file__).with_name("emojify_written_dev.tsv"),
           "test": Path(__file__).with_name("emojify_written.tsv")}
DATA_FILES = tuple(f"pipelines/data/{path.name}" for path in WRITTEN.values())  # deps of the data stage

SLOTS = {
    "person": ["my mother", "my father", "my sister", "my brother", "my wife", "my husband", "my friend", "you",
               "my family", "my grandfather", "my aunt", "my partner", "my boyfriend", "my daughter", "my son"],
    "love_verb": ["love", "adore", "cherish", "treasure", "miss", "care for"],
    "dear": ["honey", "darling", "sweetheart", "my love", "babe", "dear"],
    "team": ["red sox", "yankees", "mets", "cubs", "giants", "dodgers", "tigers", "braves", "orioles"],
    "play": ["pitch", "bat", "catch", "hit", "field", "throw", "slide", "run the bases"],
    "ball_thing": ["the game", "the baseball game", "the match", "the playoffs", "opening day", "the home game",
                   "batting practice", "the league final"],
    "ball_person": ["the pitcher", "the catcher", "the batter", "the coach", "the outfielder", "the rookie",
                    "our first baseman"],
    "happy": ["happy", "glad", "delighted", "joyful", "overjoyed", "cheerful", "ecstatic", "pleased", "content"],
    "good_thing": ["a raise", "good grades", "a new puppy", "the tickets", "a vacation", "a present", "the prize",
                   "some great news", "a day off"],
    "fun": ["funny", "amazing", "awesome", "fantastic", "great", "wonderful", "brilliant", "fun"],
    "sad": ["sad", "upset", "unhappy", "depressed", "disappointed", "gloomy", "heartbroken", "down", "hurt"],
    "bad_thing": ["the exam", "my interview", "the final", "my test", "the audition", "the deadline", "my bus",
                  "the meeting"],
    "bad": ["awful", "horrible", "terrible", "bad", "boring", "lousy", "disappointing", "sad"],
    "food": ["pizza", "pasta", "salad", "noodles", "curry", "soup", "rice", "bread", "cake", "a sandwich",
             "pancakes", "fish", "cookies", "tacos", "ice cream", "a burrito", "dumplings", "fried eggs"],
    "meal": ["breakfast", "lunch", "dinner", "supper", "a snack", "brunch"],
    "eat_verb": ["eat", "cook", "have", "order", "taste", "share", "bake"],
    "when": ["today", "tonight", "tomorrow", "this weekend", "now", "later", "soon", "this evening"],
    # wider lists: the events and feelings each class is about, beyond the few words of its templates
    "romance": ["a kiss", "a hug", "our wedding", "our anniversary", "a date", "a love letter", "roses",
                "a romantic evening", "my engagement ring", "our honeymoon", "a cuddle"],
    "beloved": ["my girlfriend", "my fiance", "my sweetheart", "my soulmate", "my crush", "my baby", "my spouse",
                "my grandmother", "my parents", "my kids"],
    "good_event": ["we won", "I passed", "I got the job", "the baby arrived", "we bought a house",
                   "the sun is out", "school is over", "it worked", "I finished the marathon", "we graduated"],
    "bad_event": ["I lost", "it broke", "we lost the house", "the trip was cancelled", "it rained all day",
                  "my car broke down", "I got fired", "nobody showed up", "the plan fell apart", "I got sick"],
    "alone": ["lonely", "alone", "tired", "sick", "exhausted", "stressed", "worried", "frustrated", "annoyed"],
    "ball_word": ["inning", "home run", "strikeout", "double play", "curveball", "base hit", "dugout", "bullpen",
                  "mitt", "world series", "ballpark", "grand slam"],
    "food_place": ["the diner", "the bakery", "the pizzeria", "the cafe", "the food truck", "the buffet",
                   "the kitchen", "the barbecue", "the steakhouse"],
    "hungry": ["hungry", "starving", "full", "craving something sweet", "thirsty"],
}

TEMPLATES = {
    "heart": [
        "I {love_verb} {person}", "I {love_verb} you so much", "I {love_verb} you {dear}", "{name} loves you",
        "{name} and I are in love", "love you {dear}", "you are the love of {name}", "I {love_verb} {name}",
        "{person} means so much to me", "sending love to {person}", "I will always love you {dear}",
        "I {love_verb} you {when} and forever", "{name} is my valentine", "you stole my heart {dear}",
        "{name} kissed me {when}", "I fell for {name}", "hugs to {person}", "{person} is so sweet to me",
        "I want to hold you {dear}", "my heart beats for {name}",
        "I cannot wait for {romance}", "{beloved} means the world to me", "{name} gave me {romance}",
        "I {love_verb} {beloved}", "thinking about {beloved}", "{name} and {beloved} are getting married",
    ],
    "baseball": [
        "{ball_person} will {play} {when}", "let us watch {ball_thing} {when}", "the {team} play {when}",
        "the {team} won {ball_thing}", "I want to {play} like {ball_person}", "{name} can {play} really well",
        "{name} is coming to {ball_thing}", "we go to {ball_thing} {when}", "{ball_person} hit a home run",
        "the {team} have a new pitcher", "{name} likes the {team}", "I will {play} at {ball_thing}",
        "{ball_person} struck out", "{name} plays baseball {when}", "buy tickets for the {team}",
        "{ball_person} threw a fastball", "I am a fan of the {team}", "who won {ball_thing}",
        "what a {ball_word}", "{ball_person} got a {ball_word}", "{name} loves the {ball_word}",
        "we saw a {ball_word} {when}", "the {team} need a {ball_word}",
    ],
    "smile": [
        "I am so {happy}", "{name} is {happy} {when}", "you make me {happy}", "that was {fun}",
        "I got {good_thing}", "{name} got {good_thing}", "what a {fun} day", "we are {happy} about {good_thing}",
        "feeling {happy} {when}", "{name} made me laugh", "I feel {happy} about {good_thing}",
        "this is {fun}", "lol that was {fun}", "{person} is {happy}", "you did it {name}",
        "yay {good_thing}", "I can not stop smiling", "{name} told a {fun} story",
        "{good_event}", "{good_event} {when}", "guess what {good_event}", "so {happy} {good_event}",
        "{name} is laughing", "{good_event} and I am {happy}",
    ],
    "disappointed": [
        "I am {sad}", "{name} is {sad} {when}", "I feel {sad} about {bad_thing}", "{bad_thing} was {bad}",
        "I missed {bad_thing}", "{name} failed {bad_thing}", "this is {bad}", "what a {bad} day",
        "I am {sad} because of {bad_thing}", "{person} left me", "{name} is not coming {when}",
        "work is {bad} {when}", "I messed up {bad_thing}", "{person} is {sad}", "nothing went right {when}",
        "I hate {bad_thing}", "{name} lied to me", "I am not {happy}",
        "{bad_event}", "{bad_event} {when}", "I feel {alone}", "{name} feels {alone}", "{bad_event} and I feel {alone}",
        "ugh {bad_event}",
    ],
    "fork_and_knife": [
        "let us {eat_verb} {food}", "I want {food} for {meal}", "{name} wants {food}", "what is for {meal}",
        "we {eat_verb} {food} {when}", "I am hungry for {food}", "{name} made {food} for {meal}",
        "let us go out for {meal}", "{meal} is served", "{name} likes {food}", "the {food} tastes good",
        "I will {eat_verb} {food} {when}", "can we have {meal} {when}", "{person} cooked {meal}",
        "{food} for {meal}", "I could eat {food}", "join us for {meal} {when}", "{name} ordered {food}",
        "I am {hungry}", "let us go to {food_place}", "{food_place} has great {food}", "I am {hungry} for {meal}",
        "meet me at {food_place} for {meal}",
    ],
}

TOKEN = re.compile(r"n't|[a-z0-9]+(?:'[a-z]+)?")


def tokens(sentence: str) -> list[str]:
    """Lower-case words as GloVe 6B spells them ("don't" -> "do", "n't")."""
    return TOKEN.findall(sentence.lower().replace("n't", " n't"))


def read_split(data_dir: Path, split: str) -> tuple[list[str], list[int]]:
    """(sentences, labels) of one split; ``FileNotFoundError`` when it is absent, ``ValueError`` naming the line
    of a malformed one."""
    return read_tsv(Path(data_dir) / f"{split}.tsv")


def read_tsv(path: Path) -> tuple[list[str], list[int]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: `dlzoo data emojify` writes it")
    sentences, labels = [], []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or parts[1].strip() not in {str(i) for i in range(len(CLASSES))}:
            raise ValueError(f"{path}:{number}: expected 'sentence<TAB>label' with a label 0-{len(CLASSES) - 1}")
        sentences.append(parts[0].strip())
        labels.append(int(parts[1]))
    return sentences, labels


def generate(n: int, rng: np.random.Generator, names: list[str], exclude: set[str]) -> list[tuple[str, int]]:
    """``n`` distinct sentences, classes in turn, none in ``exclude`` (which grows with them)."""
    out, attempts = [], 0
    while len(out) < n:
        attempts += 1
        if attempts > 100 * n:
            raise ValueError(f"data_emojify: the templates give fewer than {n} distinct sentences")
        label = len(out) % len(CLASSES)
        templates = TEMPLATES[CLASSES[label]]
        template = templates[rng.integers(len(templates))]
        fills = {slot: words[rng.integers(len(words))] for slot, words in SLOTS.items()}
        sentence = template.format(name=names[rng.integers(len(names))], **fills)
        if sentence.lower() in exclude:
            continue
        exclude.add(sentence.lower())
        out.append((sentence, label))
    return out


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, int]:
    from faker.providers.person.en_US import Provider

    rng = np.random.default_rng(params["seed"] if seed is None else seed)
    names = sorted(Provider.first_names)
    written = {split: list(zip(*read_tsv(path), strict=True)) for split, path in WRITTEN.items()}
    exclude = {sentence.lower() for rows in written.values() for sentence, _ in rows}  # never generate a written one
    splits = {"train": generate(params["n_train"], rng, names, exclude), **written,
              "train_dev": generate(params["n_train_dev"], rng, names, exclude)}
    out.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        (out / f"{split}.tsv").write_text("".join(f"{sentence}\t{label}\n" for sentence, label in rows))
    return {split: len(rows) for split, rows in splits.items()}
