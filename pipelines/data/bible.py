"""Course 5's real text: the verse-aligned World English Bible (English) and Reina-Valera 1909 (Spanish) from
Debian's ``sword-text-web`` and ``sword-text-sparv`` (both public domain), read with ``mod2imp``
(``libsword-utils``).

    dlzoo data bible                     # writes data/bible/{train,dev,test}.tsv from params.yaml

Each SWORD module is dumped verse by verse (``$$$Genesis 1:1`` then the verse's OSIS markup); footnotes and
psalm titles are dropped (the Spanish text has neither), the remaining markup is stripped, spaces are
normalised, and anything after a book's end mark is not the verse's (the English module's glossary follows
Revelation 22:21). A verse is kept when both languages have it (the 66 books they share; the English module's
deuterocanonical books have no Spanish side). Whole books are held out, not random verses, so a held-out verse
never sits beside its neighbours in training: ``dev_books`` and ``test_books``; ``train_books`` (null: all the
others) lets a small profile train on a few. Each file is ``reference<TAB>english<TAB>spanish``, in canonical
order. The Spanish module keeps its psalm titles in verse 1 (they are not marked as titles there).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

SPLITS = ("train", "dev", "test")
MODULES_DIR = "/usr/share/sword"
KEY = re.compile(r"^\$\$\$(.+) (\d+):(\d+)$")
DROPPED = re.compile(r"<(note|title)\b[^>]*?(?<!/)>.*?</\1>", re.S)  # footnotes, psalm titles: not the verse's text
SPACED_TAGS = re.compile(r"<(?:/?l|/?lg|/?div|milestone|/?p|br|lb)\b[^>]*>")  # line and paragraph breaks
TAG = re.compile(r"<[^>]*>")
# the end of a book: what follows is not the verse (the English module appends its 3,000-word glossary to the
# Bible's last verse, Revelation 22:21)
BOOK_END = re.compile(r"<div\b[^>]*\beID=\"[^\"]*\"[^>]*\btype=\"book\"[^>]*/>.*", re.S)


def clean(osis: str) -> str:
    """A verse's plain text from its OSIS markup."""
    text = BOOK_END.sub(" ", osis)
    text = DROPPED.sub(" ", text)
    text = SPACED_TAGS.sub(" ", text)
    text = TAG.sub("", text)
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([,.;:!?’”)])", r"\1", text)


def read_module(name: str, modules_dir: str = MODULES_DIR) -> dict[tuple[str, int, int], str]:
    """{(book, chapter, verse): text} of a SWORD module, in canonical order; a clear error naming the package
    when the tool or the module is missing."""
    if not shutil.which("mod2imp"):
        raise FileNotFoundError("mod2imp is not installed: `apt-get install libsword-utils` "
                                "(bash scripts/setup.sh installs it)")
    env = {**os.environ, "SWORD_PATH": modules_dir}
    result = subprocess.run(["mod2imp", name], capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0 or "$$$" not in result.stdout:
        raise FileNotFoundError(f"SWORD module {name!r} not found in {modules_dir}: install its Debian package "
                                "(sword-text-web, sword-text-sparv; bash scripts/setup.sh installs them)")
    verses, key = {}, None
    for line in result.stdout.splitlines():
        if line.startswith("$$$"):
            match = KEY.match(line)
            key = (match[1], int(match[2]), int(match[3])) if match and int(match[2]) and int(match[3]) else None
        elif key is not None:
            text = clean(line)
            if text:
                verses[key] = f"{verses[key]} {text}" if key in verses else text
    return verses


def reference(key: tuple[str, int, int]) -> str:
    return f"{key[0]} {key[1]}:{key[2]}"


def read_split(data_dir: Path, split: str) -> list[tuple[str, str, str]]:
    """(reference, english, spanish) of one split's verses."""
    path = Path(data_dir) / f"{split}.tsv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: `dlzoo data bible` writes it")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path}:{number}: expected 'reference<TAB>english<TAB>spanish'")
        rows.append((parts[0], parts[1], parts[2]))
    return rows


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, int]:
    english, spanish = (read_module(params["modules"][lang], params["modules_dir"]) for lang in ("en", "es"))
    held_out = {"dev": set(params["dev_books"]), "test": set(params["test_books"])}
    books = {key[0] for key in english}
    train_books = set(params.get("train_books") or books)
    for split, names in (*held_out.items(), ("train", train_books)):
        unknown = sorted(names - books)
        if unknown:
            raise ValueError(f"data_bible.{split}_books: no such book {unknown} (books are named as SWORD names them, "
                             "e.g. 'I Samuel', 'Revelation of John')")
    rows = {split: [] for split in SPLITS}
    for key, text in english.items():  # seed unused: the split is by book, the order canonical
        if key in spanish:
            split = next((s for s, names in held_out.items() if key[0] in names), "train")
            if split != "train" or key[0] in train_books:
                rows[split].append(f"{reference(key)}\t{text}\t{spanish[key]}\n")
    out.mkdir(parents=True, exist_ok=True)
    for split, lines in rows.items():
        (out / f"{split}.tsv").write_text("".join(lines))
    return {split: len(lines) for split, lines in rows.items()}
