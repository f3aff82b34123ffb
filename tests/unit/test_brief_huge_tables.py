"""The brief at 100,000 studies: each table read once, with the columns the brief reads, as
rows equal to what pandas gives; the pool tables written only for the rows they show; and a
source pandoc's Markdown reader parses in linear time."""

import math
import re

import pandas as pd
import pytest

from analysis.brief import common as brief_common
from analysis.brief import context as brief
from analysis.brief.common import capped, rows
from analysis.brief.tables import COLUMNS, read_rows
from analysis.io import read_table, write_frame
from tests.unit import test_brief
from tests.unit.test_brief import TEMPLATE, context, many_tables, rated


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def _assert_same_rows(got: list[dict], expected: list[dict]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert list(g) == list(e)
        assert all(_same(g[k], e[k]) for k in e), (g, e)


def test_rows_are_the_values_to_dict_gives():
    frame = pd.DataFrame(
        {
            "text": ["a", None, "c"],
            "whole": [1, 2, 3],
            "real": [0.5, math.nan, 2.0],
            "flag": [True, False, True],
            "mixed": ["x", 1.5, None],
            "blank": [math.nan, math.nan, math.nan],
        }
    )
    _assert_same_rows(rows(frame), frame.to_dict("records"))
    _assert_same_rows(rows(frame.iloc[:0]), [])
    # Rows already converted are passed on as they are, and None is no rows.
    converted = rows(frame)
    assert rows(converted) is converted and rows(None) == []


def test_equal_texts_in_a_column_are_one_object():
    # Texts made at run time, so that they start as distinct objects.
    themes = ["".join(["bond", "ing"]) for _ in range(3)]
    assert themes[0] is not themes[1]
    got = rows(pd.DataFrame({"theme": themes, "n": [1, 2, 3]}))
    assert [r["theme"] for r in got] == themes
    assert got[0]["theme"] is got[1]["theme"] is got[2]["theme"]


def test_read_rows_keeps_the_columns_the_brief_reads(tmp_path):
    frame = pd.DataFrame(
        {
            "study": ["s1", "s2"],
            "quote": ["=1+1 in the text", "plain"],
            "yi": [0.1, 0.2],
            "printed": ["r = 0.1", ""],
            "effect_id": ["e1", "e2"],
        }
    )
    path = tmp_path / "effects.csv"
    write_frame(frame, path)
    got = read_rows(path, "effects")
    # Only the brief's columns the file has (no yi, no effect_id), the values read_table gives
    # (the neutralised formula start read back, empty cells missing).
    assert set(got[0]) == {"study", "quote", "printed"} <= set(COLUMNS["effects"])
    full = read_table(path)
    _assert_same_rows(got, full[[c for c in full.columns if c in got[0]]].to_dict("records"))
    assert got[0]["quote"] == "=1+1 in the text"


@pytest.fixture
def csv_tables(tmp_path):
    """many_tables() written as the workflow writes them, and read back whole."""
    t = many_tables()
    # The seed report in the bibliography (found by its title).
    seed = {
        "key": "coutts2025",
        "author": "Coutts, Adam",
        "year": "2025",
        "title": "Bridging the divide: a report",
    }
    t["references"] = pd.concat([t["references"], pd.DataFrame([seed])], ignore_index=True)
    paths, full = {}, {}
    for name in ("pooled", "units", "studies", "effects", "references"):
        paths[name] = tmp_path / f"{name}.csv"
        write_frame(t[name], paths[name])
        full[name] = read_table(paths[name])
    for name, frame in t["sensitivity"].items():
        paths[name] = tmp_path / f"{name}.csv"
        write_frame(frame, paths[name])
    full["sensitivity"] = {name: read_table(paths[name]) for name in t["sensitivity"]}
    return paths, full


@pytest.mark.parametrize("caps", [False, True])
def test_the_brief_from_the_columns_it_reads_is_the_brief_from_every_column(
    tmp_path, csv_tables, monkeypatch, caps
):
    if caps:  # the capped lists and pool tables too
        for name, value in (("TABLE_ROWS", 3), ("THEME_TABLE_ROWS", 2), ("FIGURE_ANALYSES", 2)):
            monkeypatch.setattr(brief_common, name, value)
        monkeypatch.setattr(brief_common, "CITED_STUDIES", 2)
        monkeypatch.setattr(brief_common, "POOL_ROWS", 3)
    paths, full = csv_tables
    certainty = rated(full["pooled"], full["units"], full["studies"])
    # context() rates its tables unless told not to; the rating is rule rate_certainty's file.
    monkeypatch.setattr(test_brief, "rated", lambda *tables: certainty)
    whole = context(tmp_path, **{k: full[k] for k in ("pooled", "units", "studies", "effects", "references")},
                    sensitivity=full["sensitivity"], certainty=certainty)  # fmt: skip
    read = context(
        tmp_path,
        pooled=full["pooled"],
        **{k: read_rows(paths[k], k) for k in ("units", "studies", "effects", "references")},
        sensitivity={
            name: read_rows(paths[name], name) if name in COLUMNS else frame
            for name, frame in full["sensitivity"].items()
        },
        certainty=certainty,
    )
    assert brief.render_source(TEMPLATE, read) == brief.render_source(TEMPLATE, whole)


def test_a_pool_table_is_the_heaviest_rows_of_every_sample(tmp_path, monkeypatch):
    """pool_table writes only the rows it shows: they are the rows pool_studies gives for
    every sample, capped by weight."""
    from analysis.brief.pools import effects_by_unit, leave_one_out_index, pool_studies, pool_table
    from analysis.brief.results import analyses

    monkeypatch.setattr(brief_common, "POOL_ROWS", 3)
    t = many_tables()
    labels = brief_common.study_labels_of(t["references"])
    certainty = rated(t["pooled"], t["units"], t["studies"])
    by_unit, without = effects_by_unit(t["effects"]), leave_one_out_index(t["sensitivity"]["leave_one_out"])
    seen = 0
    for a in analyses(t["pooled"], t["units"], t["studies"], certainty):
        every = pool_studies(a, by_unit, without, labels)
        expected, left = capped(every, 3, rank=lambda p: (-p["weight_value"],))
        table = pool_table(a, by_unit, without, labels)
        assert table["rows"] == expected
        assert bool(table["note"]) == bool(left)
        seen += bool(left)
    assert seen  # some pool was capped


def test_no_bare_less_than_sign_before_a_digit_in_the_source(tmp_path):
    """A '<' before a digit (a weight '<0.1%') sends pandoc's Markdown reader looking for an
    HTML tag through the rest of the page: the source writes it escaped."""
    t = many_tables()
    units = t["units"].copy()
    units.loc[units.index[-1], "weight"] = 0.01  # a sample that weighs under 0.1%
    ctx = context(tmp_path, **{k: t[k] for k in ("pooled", "studies", "effects", "references")}, units=units)
    text = brief.render_source(TEMPLATE, ctx)
    assert "\\<0.1%" in text
    assert not re.search(r"(?<!\\)<\d", text)
