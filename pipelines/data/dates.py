"""Human-readable dates -> ISO ``YYYY-MM-DD`` pairs (Course 5 Week 3, neural machine translation).

    dlzoo data translation                       # writes data/translation/*.tsv from params.yaml
    dlzoo data translation --seed 7 --out /tmp/dates

Every example is a date rendered by one *format family*: the course's own formats, the date patterns
of several babel locales (short/medium/long/full), and the ways people write dates in English
(ordinals, weekdays, abbreviations, ISO, compact). A few families never reach train/dev/test; they
form the ``unseen_formats`` split, which measures generalisation to formats the model never saw.

Strings that are not dates (pipelines/data/not_dates.py) are appended to train and dev with an empty
target (the model learns to answer ``<eos>`` at once: "not a date"); the ``not_dates`` split holds
kinds and locales of them that never reach train/dev. They come from a random stream of their own, so
the date rows are the same with or without them.

Conventions that make the task well posed (a slash date is ambiguous otherwise):
slash-separated numeric dates are month-first (US, as in the course), dot- and dash-separated numeric
dates are day-first unless they start with a 4-digit year, and two-digit years are 1950-2049.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.dates import format_date, get_date_format, get_day_names, get_month_names

SPLITS = ("train", "dev", "test", "unseen_formats", "not_dates")
HEADER = ("source", "target", "family")

# The course's `nmt_utils.FORMATS` (en_US), written with explicit year tokens.
COURSE_FAMILIES = {
    "course_d_MMM_y": "{d} {MMM} {yyyy}",
    "course_d_MMMM_y": "{d} {MMMM} {yyyy}",
    "course_dd_MMM_y": "{dd} {MMM} {yyyy}",
    "course_d_MMM_comma_y": "{d} {MMM}, {yyyy}",
    "course_d_MMMM_comma_y": "{d} {MMMM}, {yyyy}",
    "course_dd_comma_MMM_y": "{dd}, {MMM} {yyyy}",
    "course_d_MM_yy": "{d} {MM} {yy}",
    "course_MMMM_d_y": "{MMMM} {d} {yyyy}",
    "course_MMMM_d_comma_y": "{MMMM} {d}, {yyyy}",
    "course_dd_MM_yy_dots": "{dd}.{MM}.{yy}",
    "course_short": "{M}/{d}/{yy}",
    "course_medium": "{MMM} {d}, {yyyy}",
    "course_full": "{EEEE}, {MMMM} {d}, {yyyy}",
    "course_weekday_d_MMMM_y": "{EEEE} {d} {MMMM} {yyyy}",
}

# How people write dates in English beyond the course's list.
ENGLISH_FAMILIES = {
    "us_slash_long": "{M}/{d}/{yyyy}",
    "us_slash_padded": "{MM}/{dd}/{yyyy}",
    "us_slash_padded_yy": "{MM}/{dd}/{yy}",
    "eu_dots": "{d}.{M}.{yyyy}",
    "eu_dots_padded": "{dd}.{MM}.{yyyy}",
    "eu_dashes": "{dd}-{MM}-{yyyy}",
    "iso": "{yyyy}-{MM}-{dd}",
    "iso_slash": "{yyyy}/{MM}/{dd}",
    "iso_dots": "{yyyy}.{MM}.{dd}",
    "compact": "{yyyy}{MM}{dd}",
    "ordinal_d_MMMM_y": "{do} {MMMM} {yyyy}",
    "ordinal_MMMM_d_comma_y": "{MMMM} {do}, {yyyy}",
    "the_ordinal_of_MMMM_y": "the {do} of {MMMM} {yyyy}",
    "MMMM_the_ordinal": "{MMMM} the {do}, {yyyy}",
    "EEE_MMM_d_y": "{EEE}, {MMM} {d}, {yyyy}",
    "EEE_d_MMM_y": "{EEE} {d} {MMM} {yyyy}",
    "d_MMM_y_dashes": "{d}-{MMM}-{yyyy}",
    "dd_MMM_yy_dashes": "{dd}-{MMM}-{yy}",
    "MMM_dot_d_y": "{MMM}. {d}, {yyyy}",
    "y_MMMM_d": "{yyyy} {MMMM} {d}",
    "d_MMMM_apostrophe_yy": "{d} {MMMM} '{yy}",
    "MMMM_d_apostrophe_yy": "{MMMM} {d} '{yy}",
    "EEEE_ordinal_MMMM_y": "{EEEE}, {do} {MMMM} {yyyy}",
    "EEEE_the_ordinal_of_MMMM": "{EEEE} the {do} of {MMMM}, {yyyy}",
    "MMM_d_y": "{MMM} {d} {yyyy}",
    "d_MMM_yy": "{d} {MMM} {yy}",
    "the_word_ordinal_of_MMMM_y": "the {dw} of {MMMM} {yyyy}",
    "MMMM_word_ordinal_y": "{MMMM} {dw}, {yyyy}",
}

# Families held out of train/dev/test entirely: the `unseen_formats` split (overridable in params).
DEFAULT_UNSEEN = {
    "rfc2822": "{EEE}, {dd} {MMM} {yyyy}",
    "dd_MMM_y_dashes": "{dd}-{MMM}-{yyyy}",
    "ordinal_MMMM_d_y": "{MMMM} {do} {yyyy}",
    "y_MMM_d": "{yyyy} {MMM} {d}",
    "ordinal_of_MMMM_comma_y": "{do} of {MMMM}, {yyyy}",
    "EEEE_MMMM_ordinal_y": "{EEEE}, {MMMM} {do}, {yyyy}",
    "MMM_dd_y": "{MMM} {dd} {yyyy}",
    "d_MMM_apostrophe_yy": "{d} {MMM} '{yy}",
}

ALL_ENGLISH = {**COURSE_FAMILIES, **ENGLISH_FAMILIES, **DEFAULT_UNSEEN}


@dataclass(frozen=True)
class Example:
    source: str
    target: str
    family: str


def normalize(text: str) -> str:
    """The one input normalisation, shared by training, evaluation and the service."""
    return " ".join(text.lower().split())


def calendar_error(iso: str) -> str | None:
    """Why ``iso`` is not a date of the calendar, e.g. '2020-02-31 is not a calendar date: February 2020
    has 29 days'; None when it is one (``YYYY-MM-DD``, year 1-9999)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", iso)
    if not match:
        return f"{iso!r} is not of the form YYYY-MM-DD"
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12:
        return f"{iso} is not a calendar date: there is no month {month}"
    if year == 0 or day == 0:
        return f"{iso} is not a calendar date: there is no {'year' if year == 0 else 'day'} 0"
    days = calendar.monthrange(year, month)[1]
    if day > days:
        name = get_month_names("wide", locale="en")[month]
        return f"{iso} is not a calendar date: {name} {year} has {days} days"
    return None


_UNITS = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
_TEENS = ["tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
          "seventeenth", "eighteenth", "nineteenth"]


def word_ordinal(day: int) -> str:
    """1 -> 'first', 21 -> 'twenty-first', 30 -> 'thirtieth' (days of a month only)."""
    if day < 10:
        return _UNITS[day]
    if day < 20:
        return _TEENS[day - 10]
    tens = {2: "twenty", 3: "thirty"}[day // 10]
    return f"{tens}-{_UNITS[day % 10]}" if day % 10 else {2: "twentieth", 3: "thirtieth"}[day // 10]


def ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def render_english(template: str, date: dt.date) -> str:
    """Render one of the English templates above (``{MMM}`` etc.) for ``date``."""
    months_wide = get_month_names("wide", locale="en")
    months_abbr = get_month_names("abbreviated", locale="en")
    days_wide = get_day_names("wide", locale="en")
    days_abbr = get_day_names("abbreviated", locale="en")
    return template.format(
        d=date.day, dd=f"{date.day:02d}", do=ordinal(date.day), dw=word_ordinal(date.day),
        M=date.month, MM=f"{date.month:02d}", MMM=months_abbr[date.month], MMMM=months_wide[date.month],
        yyyy=f"{date.year:04d}", yy=f"{date.year % 100:02d}",
        EEE=days_abbr[date.weekday()], EEEE=days_wide[date.weekday()],
    )


def _ambiguous_slash(pattern: str) -> bool:
    """True for day-first numeric slash patterns, which would contradict the month-first convention."""
    return "/" in pattern and pattern.find("d") < pattern.find("M") and "MMM" not in pattern


def locale_families(locales: list[str]) -> dict[str, str]:
    """babel's short/medium/long/full pattern of each locale, minus those that break the conventions."""
    families = {}
    for loc in locales:
        for width in ("short", "medium", "long", "full"):
            pattern = get_date_format(width, locale=loc).pattern
            if _ambiguous_slash(pattern):
                continue
            families[f"babel_{loc}_{width}"] = f"babel:{loc}:{pattern}"
    return families


def render(spec: str, date: dt.date) -> str:
    if spec.startswith("babel:"):
        _, loc, pattern = spec.split(":", 2)
        return format_date(date, format=pattern, locale=loc)
    return render_english(spec, date)


def random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def family_tables(params: dict) -> tuple[dict[str, str], dict[str, str]]:
    """(seen families, unseen families) from the ``data_translation`` params."""
    unseen_names = set(params["unseen_families"])
    unknown = unseen_names - set(ALL_ENGLISH)
    if unknown:
        raise ValueError(f"data_translation.unseen_families: unknown families {sorted(unknown)}")
    english = {k: v for k, v in ALL_ENGLISH.items() if k not in unseen_names}
    seen = {**english, **locale_families(params["locales"])}
    unseen = {k: ALL_ENGLISH[k] for k in params["unseen_families"]}
    return seen, unseen


def _stream(families: dict[str, str], rng: random.Random, start: dt.date, end: dt.date) -> Iterator[Example]:
    names = sorted(families)
    while True:
        name = rng.choice(names)
        date = random_date(rng, start, end)
        yield Example(normalize(render(families[name], date)), date.isoformat(), name)


def _take_unique(stream: Iterator[Example], n: int, taken: set[str]) -> list[Example]:
    out: list[Example] = []
    while len(out) < n:
        ex = next(stream)
        if ex.source not in taken:  # a source string lives in exactly one split
            taken.add(ex.source)
            out.append(ex)
    return out


def generate(params: dict, seed: int | None = None) -> dict[str, list[Example]]:
    """All five splits, deterministic from ``seed`` (default ``params['seed']``)."""
    from pipelines.data import not_dates  # imported here: it imports this module

    seed = params["seed"] if seed is None else seed
    rng = random.Random(seed)
    start = dt.date.fromisoformat(str(params["start"]))
    end = dt.date.fromisoformat(str(params["end"]))
    seen, unseen = family_tables(params)
    taken: set[str] = set()
    stream = _stream(seen, rng, start, end)
    splits = {name: _take_unique(stream, params[f"n_{name}"], taken) for name in ("train", "dev", "test")}
    splits["unseen_formats"] = _take_unique(_stream(unseen, rng, start, end), params["n_unseen"], taken)

    # Streams of their own: the date rows above, and the held-out split, stay the same whatever the others draw.
    seen_kinds, held_kinds = not_dates.kind_tables(params)
    negatives = _not_dates(not_dates.stream(seen_kinds, random.Random(f"not_dates:{seed}"), params["locales"], seen))
    for name in ("train", "dev"):
        splits[name] += _take_unique(negatives, params[f"n_{name}_not_dates"], taken)
    held_out = not_dates.stream(held_kinds, random.Random(f"not_dates:held_out:{seed}"), params["locales"], seen)
    splits["not_dates"] = _take_unique(_not_dates(held_out), params["n_not_dates"], taken)
    return splits


def _not_dates(stream: Iterator[tuple[str, str]]) -> Iterator[Example]:
    for text, family in stream:
        if normalize(text):
            yield Example(normalize(text), "", family)


def write_tsv(path: Path, examples: list[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(HEADER)
        writer.writerows((ex.source, ex.target, ex.family) for ex in examples)


def read_tsv(path: Path) -> list[Example]:
    """Read ``source<TAB>target[<TAB>family]`` pairs (an empty target: not a date); a header row is optional."""
    if not path.is_file():
        raise FileNotFoundError(f"translation data: {path} does not exist")
    examples = []
    with path.open(encoding="utf-8", newline="") as f:
        for lineno, row in enumerate(csv.reader(f, delimiter="\t"), start=1):
            if not row or (lineno == 1 and tuple(row[:2]) == HEADER[:2]):
                continue
            if len(row) < 2:
                raise ValueError(f"{path}:{lineno}: expected 'source<TAB>target', got {row!r}")
            family = row[2] if len(row) > 2 else "user"
            examples.append(Example(normalize(row[0]), row[1].strip(), family))
    return examples


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, int]:
    """Generate and write ``<out>/<split>.tsv`` for every split; returns the split sizes."""
    splits = generate(params, seed)
    for name, examples in splits.items():
        write_tsv(out / f"{name}.tsv", examples)
    return {name: len(examples) for name, examples in splits.items()}
