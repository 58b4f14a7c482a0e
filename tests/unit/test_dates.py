"""Data tests for the date-translation dataset: determinism, splits, formats, the TSV format."""

import datetime as dt

import pytest

from pipelines.data.dates import (
    COURSE_FAMILIES,
    SPLITS,
    generate,
    ordinal,
    read_tsv,
    render,
    word_ordinal,
    write_dataset,
)


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


def test_targets_are_the_iso_dates():
    for ex in generate({"seed": 3, "start": "1950-01-01", "end": "2049-12-31", "n_train": 300, "n_dev": 0,
                        "n_test": 0, "n_unseen": 10, "unseen_families": ["rfc2822"], "locales": ["de_DE"]})["train"]:
        dt.date.fromisoformat(ex.target)
        assert ex.source == ex.source.lower().strip()


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
