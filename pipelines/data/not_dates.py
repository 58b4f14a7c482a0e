"""Strings that are not dates: the negatives that teach the translation model to refuse.

    dlzoo data translation      # also appends them to train/dev and writes not_dates.tsv

Each negative has an empty target (the model answers ``<eos>`` at once) and the family
``not_date:<kind>`` (``not_date:<kind>@<faker locale>`` for text drawn from faker). Kinds:

* text (faker, per locale): ``sentence``, ``words``, ``name``, ``street``, ``phone``;
* numbers: ``number``, ``time``, ``price``, ``version``, ``ordinal``;
* pieces of dates that are not a full date: ``month_year`` and ``day_month``, a training date
  format with its day or its year left out ("{MMMM} {d}, {yyyy}" -> "march 2021", "{d}.{M}.{yyyy}"
  -> "5.3") or a babel skeleton in a date locale ("März 2021", "5 de marzo"), so that they differ from
  real dates by the missing field and not by their format; ``quarter`` ("q3 2021"), ``relative``
  ("tomorrow", "next friday"), ``year``, ``weekday`` (English templates and babel names);
* ``impossible``: date-shaped numbers whose month is 0 or over 12, or whose day is 0 or over 31
  ("2024-13-01", "45 march 2021").

Held out: the ``not_dates`` split is drawn only from kinds that never reach train/dev
(``data_translation.held_out_not_date_kinds``: e-mails, URLs, IP addresses, file names, companies,
jobs, ISBNs, licence plates, colours, measurements, durations, seasons, decades, month names, weeks,
time ranges, scores, coordinates) and from the faker text kinds in faker locales that never reach
train/dev (``held_out_not_date_locales``), so its refusal rate measures generalisation. A day 29-31
that the month does not have ("31 april 2018") is not a negative: the model reads it and the
calendar check refuses it (pipelines/tasks/translation.py).

Each stream (train/dev, held-out) draws from a ``random.Random`` and faker instances seeded from the
dataset seed.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from babel.dates import format_skeleton, get_day_names, get_month_names
from faker import Faker

from pipelines.data.dates import ordinal, render, word_ordinal

MONTHS = get_month_names("wide", locale="en")
MONTHS_ABBR = get_month_names("abbreviated", locale="en")
DAYS = get_day_names("wide", locale="en")
DAYS_ABBR = get_day_names("abbreviated", locale="en")


# The fields of a date format: an English template's {name}; a CLDR pattern's letter runs (its quoted
# text is literal). What lies between fields is literal.
_ENGLISH_FIELD = re.compile(r"(\{[A-Za-z]+\})")
_CLDR_FIELD = re.compile(r"('[^']*'|[A-Za-z]+)")
_GROUPS = {"d": "day", "M": "month", "L": "month", "y": "year"}


def drop_field(spec: str, group: str) -> str | None:
    """A date format spec (``dates.render``'s) without its ``group`` field ('day', 'month' or 'year')
    and the literal text that joined it to the next field (to the field before, when it is the last);
    None when the spec has no such field. ``"{MMMM} {d}, {yyyy}"`` without the day: ``"{MMMM} {yyyy}"``."""
    babel = spec.startswith("babel:")
    prefix, pattern = (spec[: spec.index(":", 6) + 1], spec[spec.index(":", 6) + 1:]) if babel else ("", spec)
    if babel:
        parts = [(t[0].isalpha(), t) for t in _CLDR_FIELD.split(pattern) if t]
    else:
        parts = [(t.startswith("{"), t) for t in _ENGLISH_FIELD.split(pattern) if t]
    fields = [i for i, (is_field, _) in enumerate(parts) if is_field]
    hits = [i for i in fields if _GROUPS.get(parts[i][1].strip("{")[0]) == group]
    if not hits:
        return None
    i = hits[0]
    before, after = [j for j in fields if j < i], [j for j in fields if j > i]
    start, end = (i, after[0]) if after else (before[-1] + 1 if before else 0, i + 1)
    return prefix + "".join(t for _, t in parts[:start] + parts[end:])


@dataclass
class Draw:
    """What a kind draws from: the RNG, a faker of the kind's text locale, the date locales and the
    format specs of the date families seen in training."""

    rng: random.Random
    fake: Faker
    date_locales: list[str]
    families: list[str]

    def year(self) -> int:
        return self.rng.randint(1900, 2099)

    def month(self) -> str:
        m = self.rng.randint(1, 12)
        return self.rng.choice([MONTHS[m], MONTHS_ABBR[m], f"{MONTHS_ABBR[m]}."])

    def weekday(self) -> str:
        d = self.rng.randrange(7)
        return self.rng.choice([DAYS[d], DAYS_ABBR[d]])

    def ordinal(self, n: int) -> str:
        return self.rng.choice([ordinal(n), word_ordinal(n)]) if n < 32 else ordinal(n)

    def date(self) -> dt.date:
        return dt.date(self.year(), self.rng.randint(1, 12), self.rng.randint(1, 28))

    def without(self, group: str) -> str:
        """A date written in one of the training formats with its ``group`` field left out ("march 2021",
        "5.3", "the 5th of march"): the nearest strings to a date that are not one."""
        while (spec := drop_field(self.rng.choice(self.families), group)) is None:
            pass
        return render(spec, self.date()).strip(" ,")

    def skeleton(self, *skeletons: str) -> str:
        """A babel skeleton (e.g. 'yMMMM') rendered for a random date in one of the date locales."""
        return format_skeleton(self.rng.choice(skeletons), self.date(), locale=self.rng.choice(self.date_locales))


# -- text (faker) ----------------------------------------------------------------------------------
def sentence(d: Draw) -> str:
    return d.fake.sentence(nb_words=d.rng.randint(2, 8))


def words(d: Draw) -> str:
    return " ".join(d.fake.words(d.rng.randint(1, 3)))


def name(d: Draw) -> str:
    return d.fake.name()


def seeded_faker(locale: str, seed: int) -> Faker:
    """A Faker whose draws depend on ``seed`` alone. faker's it_IT ``city()`` picks from ``list({...})``, whose
    order follows the process's string hashing (PYTHONHASHSEED): the same seed gave other cities in another
    process. Every provider's ``cities`` list is put in sorted order first."""
    fake = Faker(locale)
    for provider in fake.providers:
        if isinstance(getattr(provider, "cities", None), list):
            provider.cities = sorted(provider.cities)
    fake.seed_instance(seed)
    return fake


def street(d: Draw) -> str:
    return d.rng.choice([d.fake.street_address, d.fake.city, d.fake.address])()


def phone(d: Draw) -> str:
    return d.fake.phone_number()


# -- numbers -----------------------------------------------------------------------------------------
def number(d: Draw) -> str:
    r = d.rng
    digits = r.choice([1, 2, 3, 4, 5, 6, 7, 9, 10, 12])  # never 8: yyyymmdd is a date
    n = r.randrange(10 ** (digits - 1), 10 ** digits)
    return r.choice([str(n), f"{n:,}", f"-{n}", f"{n / 100:.2f}", f"{r.randint(0, 99)}.{r.randint(0, 999)}",
                     f"{r.randint(1, 100)}%", f"#{n}", f"no. {n}", f"{n} items"])


def time(d: Draw) -> str:
    r = d.rng
    h, h24, m = r.randint(1, 12), r.randint(0, 23), r.randrange(60)
    ampm = r.choice(["am", "pm", "a.m.", "p.m."])
    return r.choice([f"{h}:{m:02d} {ampm}", f"{h24:02d}:{m:02d}", f"{h24}:{m:02d}:{r.randrange(60):02d}",
                     f"{h} {ampm}", f"{h}{ampm}", f"{h}.{m:02d} {ampm}", f"half past {h}", f"quarter to {h}",
                     f"{h} o'clock", r.choice(["noon", "midnight", "midday"]), f"at {h24:02d}{m:02d} hours"])


def price(d: Draw) -> str:
    r = d.rng
    x = r.choice([f"{r.randint(0, 999)}.{r.randrange(100):02d}", str(r.randint(1, 99999)),
                  f"{r.randint(1, 999)},{r.randrange(100):02d}"])
    return r.choice([f"${x}", f"€{x}", f"£{x}", f"{x} €", f"{x} usd", f"{x} eur", f"{x} dollars", f"us${x}"])


def version(d: Draw) -> str:
    r = d.rng
    a, b, c = r.randint(0, 30), r.randint(0, 40), r.randint(0, 99)
    return r.choice([f"v{a}.{b}.{c}", f"{a}.{b + 13}.{c}", f"v{a}.{b}", f"version {a}.{b}", f"release {a}.{b}.{c}",
                     f"{r.choice(['python', 'ubuntu', 'node', 'java'])} {a}.{b}", f"{a}.{b}.{c}-rc{r.randint(1, 5)}"])


def ordinal_kind(d: Draw) -> str:
    r = d.rng
    o = d.ordinal(r.randint(1, 120))
    return r.choice([o, f"the {o}", f"{o} place", f"{o} floor", f"{o} edition", f"my {o} try"])


# -- pieces of dates ------------------------------------------------------------------------------------
def month_year(d: Draw) -> str:
    return d.rng.choice([d.without("day"), d.skeleton("yMMMM", "yMMM", "yM")])


def day_month(d: Draw) -> str:
    return d.rng.choice([d.without("year"), d.skeleton("MMMMd", "MMMd", "Md", "MMMMEEEEd", "MEd")])


def quarter(d: Draw) -> str:
    r, y, q = d.rng, d.year(), d.rng.randint(1, 4)
    english = r.choice([f"q{q} {y}", f"q{q}-{y}", f"q{q}/{y}", f"q{q}", f"h{r.randint(1, 2)} {y}", f"fy{y}",
                        f"fy{y % 100:02d}", f"{d.ordinal(q)} quarter {y}", f"{d.ordinal(q)} quarter of {y}",
                        f"q{q}/{y % 100:02d}", f"{d.ordinal(r.randint(1, 2))} half of {y}"])
    return r.choice([english, d.skeleton("yQQQ", "yQQQQ")])


def relative(d: Draw) -> str:
    r, n = d.rng, d.rng.randint(1, 30)
    unit = r.choice(["day", "week", "month", "year", "hour", "minute"]) + ("s" if n > 1 else "")
    which = r.choice(["next", "last", "this", "coming"])
    what = r.choice([d.weekday(), "week", "month", "year", "weekend"])
    return r.choice(["today", "tomorrow", "yesterday", "the day after tomorrow", "the day before yesterday",
                     "tonight", "now", "right now", f"in {n} {unit}", f"{n} {unit} ago", f"{n} {unit} from now",
                     f"{which} {what}", f"{r.choice(['end', 'start', 'middle'])} of {r.choice(['the month', what])}",
                     f"{r.choice(['early', 'late'])} {d.month()}", "someday", "asap", "soon"])


# No "<year> <short word>" forms ("1915 bc", "2021 q3") in year and quarter: they taught the model that
# a date written year first with an abbreviated month ("1951 dec 22") is not one.
def year(d: Draw) -> str:
    r, y = d.rng, d.year()
    return r.choice([str(y), f"'{y % 100:02d}", f"the year {y}", f"in {y}", f"year {y}", f"ad {y}", f"around {y}",
                     f"class of {y}", f"since {y}", f"{y}/{(y + 1) % 100:02d}", f"{y}-{y + r.randint(1, 9)}"])


def weekday(d: Draw) -> str:
    r = d.rng
    day = r.choice([d.weekday(), get_day_names("wide", locale=r.choice(d.date_locales))[r.randrange(7)]])
    return r.choice([day, f"{day} morning", f"every {day}", f"on {day}", f"{day} night"])


def impossible(d: Draw) -> str:
    r, y = d.rng, d.year()
    month_missing = r.random() < 0.5
    if month_missing:
        m, day = r.choice([0, *range(13, 100)]), r.randint(1, 28)
    else:  # a day no month has
        m, day = r.randint(1, 12), r.choice([0, *range(32, 100)])
    yy = f"{y % 100:02d}"
    numeric = [f"{y}-{m:02d}-{day:02d}", f"{day:02d}.{m:02d}.{y}", f"{m:02d}/{day:02d}/{y}", f"{day}.{m}.{yy}",
               f"{y}{m:02d}{day:02d}", f"{y}/{m:02d}/{day:02d}", f"{day:02d}-{m:02d}-{y}", f"{m}/{day}/{yy}"]
    if month_missing:
        return r.choice(numeric)
    return r.choice([*numeric, f"{day} {MONTHS[m]} {y}", f"{MONTHS_ABBR[m]} {day}, {y}", f"{MONTHS[m]} {day} {y}"])


# -- held-out kinds (never in train/dev by default) ---------------------------------------------------------
def email(d: Draw) -> str:
    return d.fake.email()


def url(d: Draw) -> str:
    return d.rng.choice([d.fake.url, d.fake.domain_name, d.fake.uri])()


def ipv4(d: Draw) -> str:
    return d.fake.ipv4()


def file_name(d: Draw) -> str:
    return d.fake.file_name()


def company(d: Draw) -> str:
    return d.fake.company()


def job(d: Draw) -> str:
    return d.fake.job()


def isbn(d: Draw) -> str:
    return d.rng.choice([d.fake.isbn13, d.fake.isbn10])()


def licence_plate(d: Draw) -> str:
    return d.fake.license_plate()


def colour(d: Draw) -> str:
    return d.rng.choice([d.fake.color_name, d.fake.hex_color, d.fake.safe_color_name])()


def measurement(d: Draw) -> str:
    r = d.rng
    x = r.choice([str(r.randint(1, 999)), f"{r.randint(0, 99)}.{r.randint(0, 9)}"])
    return f"{x} {r.choice(['kg', 'km', 'cm', 'mm', 'lbs', 'miles', '°c', '°f', 'ml', 'l', 'gb', 'mb', 'mph', 'km/h'])}"


def duration(d: Draw) -> str:
    r, h, m = d.rng, d.rng.randint(1, 72), d.rng.randint(1, 59)
    return r.choice([f"{h} hours {m} minutes", f"{h}h{m:02d}", f"{m} min", f"{h} hrs", f"{h}:{m:02d}:{m % 7}0",
                     f"{h} days", f"{m} weeks", f"{r.randint(2, 90)} years", f"{h} hours and {m} minutes"])


def season(d: Draw) -> str:
    r, y = d.rng, d.year()
    s = r.choice(["spring", "summer", "autumn", "fall", "winter"])
    return r.choice([f"{s} {y}", f"{s} of {y}", f"{s} '{y % 100:02d}", f"the {s} of {y}",
                     f"{s} {y}/{(y + 1) % 100:02d}", s])


def decade(d: Draw) -> str:
    r, y = d.rng, d.year() // 10 * 10
    return r.choice([f"the {y}s", f"{y % 100:02d}s", f"the '{y % 100:02d}s", f"mid-{y}s", f"early {y}s", f"late {y}s",
                     f"the {d.ordinal(r.randint(12, 22))} century", f"{y}s"])


def month_name(d: Draw) -> str:
    r = d.rng
    m = get_month_names("wide", locale=r.choice(d.date_locales))[r.randint(1, 12)]
    return r.choice([m, d.month(), f"in {d.month()}", f"{d.month()}-{d.month()}", f"end of {m}"])


def week(d: Draw) -> str:
    r, n, y = d.rng, d.rng.randint(1, 53), d.year()
    return r.choice([f"week {n}", f"week {n} of {y}", f"wk{n}", f"cw {n}", f"{y}-w{n:02d}", f"kw {n}",
                     d.skeleton("yw")])


def time_range(d: Draw) -> str:
    r, h1, h2 = d.rng, d.rng.randint(1, 11), d.rng.randint(1, 11)
    return r.choice([f"{h1}am-{h2}pm", f"{h1 + 6:02d}:00-{h2 + 12:02d}:30", f"from {h1} to {h2}", f"{h1}-{h2} pm",
                     f"{h1}:{r.randrange(60):02d} - {h2}:{r.randrange(60):02d}"])


def score(d: Draw) -> str:
    r, a, b = d.rng, d.rng.randint(0, 40), d.rng.randint(0, 40)
    return r.choice([f"{a}-{b}", f"{a}:{b}", f"won {a}-{b}", f"{a} to {b}", f"lost {a}:{b}"])


def coordinates(d: Draw) -> str:
    return f"{d.fake.latitude():.4f}, {d.fake.longitude():.4f}"


KINDS: dict[str, Callable[[Draw], str]] = {
    "sentence": sentence, "words": words, "name": name, "street": street, "phone": phone,
    "number": number, "time": time, "price": price, "version": version, "ordinal": ordinal_kind,
    "month_year": month_year, "day_month": day_month, "quarter": quarter, "relative": relative,
    "year": year, "weekday": weekday, "impossible": impossible,
    "email": email, "url": url, "ipv4": ipv4, "file_name": file_name, "company": company, "job": job,
    "isbn": isbn, "licence_plate": licence_plate, "colour": colour, "measurement": measurement,
    "duration": duration, "season": season, "decade": decade, "month_name": month_name, "week": week,
    "time_range": time_range, "score": score, "coordinates": coordinates,
}
# Kinds that are text in a faker locale: in a held-out locale they belong to the held-out split.
TEXT_KINDS = ("sentence", "words", "name", "street", "phone")


def kind_tables(params: dict) -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
    """(seen, held-out) generators as (kind, faker locales) pairs from the ``data_translation`` params."""
    held_kinds = list(params["held_out_not_date_kinds"])
    seen_locales, held_locales = list(params["not_date_locales"]), list(params["held_out_not_date_locales"])
    unknown = set(held_kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"data_translation.held_out_not_date_kinds: unknown kinds {sorted(unknown)}")
    if set(held_kinds) & set(TEXT_KINDS):
        raise ValueError(f"data_translation.held_out_not_date_kinds: the text kinds {TEXT_KINDS} are held out by "
                         "locale (held_out_not_date_locales), not by kind")
    if set(seen_locales) & set(held_locales):
        raise ValueError("data_translation: not_date_locales and held_out_not_date_locales share "
                         f"{sorted(set(seen_locales) & set(held_locales))}")
    seen = [(k, seen_locales) for k in KINDS if k not in held_kinds]
    held = [(k, held_locales) for k in held_kinds] + [(k, held_locales) for k in TEXT_KINDS]
    return seen, held


_NUMERIC = re.compile(r"(\d{1,4})([./\- ])(\d{1,2})\2(\d{1,4})\.?")


def is_numeric_date(text: str) -> bool:
    """Whether ``text`` is an all-digit date under the data's conventions (slashes month-first, dots,
    dashes and spaces day-first, a leading 4-digit year year-first, 2-digit years 1950-2049)."""
    if re.fullmatch(r"\d{8}", text):
        y, m, d = text[:4], text[4:6], text[6:]
    elif match := _NUMERIC.fullmatch(text):
        a, sep, b, c = match.groups()
        y, m, d = (a, b, c) if len(a) == 4 else (c, a, b) if sep == "/" else (c, b, a)
        if len(y) not in (2, 4) or len(a) == 3:
            return False
    else:
        return False
    year = int(y) if len(y) == 4 else 1900 + int(y) + (100 if int(y) < 50 else 0)
    try:
        dt.date(year, int(m), int(d))
    except ValueError:
        return False
    return True


def stream(generators: list[tuple[str, list[str]]], rng: random.Random, date_locales: list[str],
           families: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Endless ``(text, family)`` draws: a kind uniformly, then a faker locale of that kind; never a date.
    ``families`` are the date families of train/dev (name: format spec), for the pieces of dates."""
    specs = [families[name] for name in sorted(families)]
    fakers: dict[str, Faker] = {}
    while True:
        kind, locales = rng.choice(generators)
        loc = rng.choice(locales)
        if loc not in fakers:
            fakers[loc] = seeded_faker(loc, rng.getrandbits(32))
        text = KINDS[kind](Draw(rng, fakers[loc], date_locales, specs))
        if is_numeric_date(text.strip()):  # e.g. a phone number that happens to read as a date
            continue
        yield text, f"not_date:{kind}@{loc}" if kind in TEXT_KINDS else f"not_date:{kind}"
