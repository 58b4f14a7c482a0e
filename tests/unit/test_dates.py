"""Data tests for the date-translation dataset: determinism, splits, formats, the TSV format, the
strings that are not dates (held-out kinds and locales stay out of train/dev) and the calendar check."""

import datetime as dt

import pytest

from pipelines.data import not_dates
from pipelines.data.dates import (
    COURSE_FAMILIES,
    SPLITS,
    calendar_error,
    generate,
    ordinal,
    read_tsv,
    render,
    word_ordinal,
    write_dataset,
)
from tests.conftest import ROOT


def test_same_seed_same_files_other_seed_other_data(smoke_params, tmp_path):
    params = smoke_params["data_translation"]
    write_dataset(params, tmp_path / "a")
    write_dataset(params, tmp_path / "b")
    write_dataset(params, tmp_path / "c", seed=params["seed"] + 1)
    for split in SPLITS:
        a = (tmp_path / "a" / f"{split}.tsv").read_bytes()
        assert a == (tmp_path / "b" / f"{split}.tsv").read_bytes()
        assert a != (tmp_path / "c" / f"{split}.tsv").read_bytes()


def test_splits_are_disjoint_and_unseen_families_stay_out(smoke_params):
    params = smoke_params["data_translation"]
    splits = generate(params)
    sources = [{ex.source for ex in splits[s]} for s in SPLITS]
    for i in range(len(sources)):
        for j in range(i + 1, len(sources)):
            assert not sources[i] & sources[j], f"{SPLITS[i]} and {SPLITS[j]} share inputs"
    unseen = set(params["unseen_families"])
    for split in ("train", "dev", "test"):
        assert not {ex.family for ex in splits[split]} & unseen
    assert {ex.family for ex in splits["unseen_formats"]} <= unseen
    assert {len(splits[s]) for s in ("test", "unseen_formats")} == {params["n_test"]}
    assert len(splits["not_dates"]) == params["n_not_dates"]


def test_targets_are_the_iso_dates(smoke_params):
    params = dict(smoke_params["data_translation"], seed=3, n_train=300, locales=["de_DE"])
    dates = [ex for ex in generate(params)["train"] if ex.target]
    assert len(dates) == 300
    for ex in dates:
        dt.date.fromisoformat(ex.target)
        assert ex.source == ex.source.lower().strip()


def test_not_dates_are_appended_with_an_empty_target_and_leave_the_dates_unchanged(smoke_params):
    params = smoke_params["data_translation"]
    with_neg = generate(params)
    without = generate(dict(params, n_train_not_dates=0, n_dev_not_dates=0, n_not_dates=0))
    for split in ("train", "dev"):
        n = params[f"n_{split}"]
        assert with_neg[split][:n] == without[split]
        negatives = with_neg[split][n:]
        assert len(negatives) == params[f"n_{split}_not_dates"]
        assert all(ex.target == "" and ex.family.startswith("not_date:") for ex in negatives)
    assert with_neg["test"] == without["test"] and with_neg["unseen_formats"] == without["unseen_formats"]
    assert all(ex.target == "" for ex in with_neg["not_dates"])


def _kind_and_locale(family: str) -> tuple[str, str | None]:
    kind, _, locale = family.removeprefix("not_date:").partition("@")
    return kind, locale or None


def test_held_out_kinds_and_locales_never_reach_train_or_dev(smoke_params):
    params = dict(smoke_params["data_translation"], n_train_not_dates=2000, n_dev_not_dates=200, n_not_dates=1000)
    splits = generate(params)
    held_kinds, held_locales = set(params["held_out_not_date_kinds"]), set(params["held_out_not_date_locales"])
    seen = [_kind_and_locale(ex.family) for s in ("train", "dev") for ex in splits[s] if not ex.target]
    assert not {k for k, _ in seen} & held_kinds
    assert not {loc for _, loc in seen} & held_locales
    assert {k for k, _ in seen} == set(not_dates.KINDS) - held_kinds  # every other kind is trained on
    for kind, locale in map(_kind_and_locale, (ex.family for ex in splits["not_dates"])):
        assert kind in held_kinds or (kind in not_dates.TEXT_KINDS and locale in held_locales)


def test_no_string_that_is_not_a_date_reads_as_an_all_digit_date(smoke_params):
    params = dict(smoke_params["data_translation"], n_train_not_dates=3000)
    for ex in generate(params)["train"]:
        if not ex.target:
            assert not not_dates.is_numeric_date(ex.source), ex
    assert not_dates.is_numeric_date("25.12.47") and not_dates.is_numeric_date("19790503")
    assert not not_dates.is_numeric_date("2024-13-01") and not not_dates.is_numeric_date("v25.12.47")


@pytest.mark.parametrize("change,message", [
    ({"held_out_not_date_kinds": ["no_such_kind"]}, "no_such_kind"),
    ({"held_out_not_date_kinds": ["sentence"]}, "by locale"),
    ({"held_out_not_date_locales": ["en_US"]}, "share"),
])
def test_bad_not_date_params_are_rejected(smoke_params, change, message):
    with pytest.raises(ValueError, match=message):
        generate(dict(smoke_params["data_translation"], **change))


@pytest.mark.parametrize("iso,reason", [
    ("2020-02-29", None),  # divisible by 4
    ("2000-02-29", None),  # divisible by 400
    ("2021-02-29", "February 2021 has 28 days"),
    ("1900-02-29", "February 1900 has 28 days"),  # divisible by 100, not by 400
    ("2020-02-31", "February 2020 has 29 days"),
    ("2018-04-31", "April 2018 has 30 days"),
    ("2018-12-31", None),
    ("2024-13-01", "no month 13"),
    ("2024-01-00", "no day 0"),
    ("0000-01-01", "no year 0"),
    ("2024-1-1", "not of the form YYYY-MM-DD"),
])
def test_calendar_check(iso, reason):
    got = calendar_error(iso)
    if reason is None:
        assert got is None
    else:
        assert got is not None and reason in got


@pytest.mark.parametrize("spec,expected", [
    (COURSE_FAMILIES["course_d_MMM_y"], "3 May 1979"),
    (COURSE_FAMILIES["course_weekday_d_MMMM_y"], "Thursday 3 May 1979"),
    (COURSE_FAMILIES["course_dd_MM_yy_dots"], "03.05.79"),
    ("{d}/{M}/{yyyy}", "3/5/1979"),
    ("{MMMM} {do}, {yyyy}", "May 3rd, 1979"),
    ("babel:de_DE:EEEE, d. MMMM y", "Donnerstag, 3. Mai 1979"),
])
def test_render_formats(spec, expected):
    assert render(spec, dt.date(1979, 5, 3)) == expected


def test_ordinals():
    assert [ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]


def test_word_ordinals():
    assert [word_ordinal(d) for d in (1, 2, 3, 12, 20, 21, 29, 30, 31)] == \
        ["first", "second", "third", "twelfth", "twentieth", "twenty-first", "twenty-ninth", "thirtieth",
         "thirty-first"]
    assert render("the {dw} of {MMMM} {yyyy}", dt.date(1976, 7, 4)) == "the fourth of July 1976"


def test_user_tsv_without_header_or_family(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("  3 MAY 1979 \t1979-05-03\n12.10.2001\t2001-10-12\tmine\n")
    rows = read_tsv(path)
    assert [(r.source, r.target, r.family) for r in rows] == \
        [("3 may 1979", "1979-05-03", "user"), ("12.10.2001", "2001-10-12", "mine")]


def test_malformed_tsv_names_file_and_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("source\ttarget\n3 may 1979\n")
    with pytest.raises(ValueError, match=r"bad.tsv:2"):
        read_tsv(path)


def test_unknown_unseen_family_is_rejected(smoke_params):
    params = dict(smoke_params["data_translation"], unseen_families=["no_such_family"])
    with pytest.raises(ValueError, match="no_such_family"):
        generate(params)


@pytest.mark.parametrize("spec,group,expected", [
    ("{MMMM} {d}, {yyyy}", "day", "{MMMM} {yyyy}"),
    ("{MMMM} {d}, {yyyy}", "year", "{MMMM} {d}"),
    ("the {do} of {MMMM} {yyyy}", "day", "the {MMMM} {yyyy}"),
    ("{d}.{M}.{yyyy}", "year", "{d}.{M}"),
    ("babel:es_ES:EEEE, d 'de' MMMM 'de' y", "day", "babel:es_ES:EEEE, MMMM 'de' y"),
    ("babel:sv_SE:y-MM-dd", "year", "babel:sv_SE:MM-dd"),
    ("{yyyy}", "day", None),
])
def test_a_piece_of_a_date_is_a_training_format_without_one_field(spec, group, expected):
    assert not_dates.drop_field(spec, group) == expected


def test_the_same_seed_writes_the_same_bytes_whatever_the_hash_seed(tmp_path):
    """Python salts string hashes per process: any set order in the generator (faker's it_IT cities were one)
    would change the data between two runs of `dvc repro`."""
    import hashlib
    import os
    import subprocess
    import sys

    code = ("import hashlib, sys; from pathlib import Path; from pipelines.data.dates import write_dataset; "
            "from pipelines.params import load_params; "
            "p = load_params('params.yaml', profile='smoke')['data_translation']; out = Path(sys.argv[1]); "
            "write_dataset(p, out, None)")
    digests = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=ROOT,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed})
        digests.append({f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(out.iterdir())})
    assert digests[0] == digests[1] and "not_dates.tsv" in digests[0]
