"""Deterministic CSV cells: fixed float format, empty for missing, R-readable infinities."""

import math

import numpy as np

from analysis.io import csv_text, format_value


def test_cells():
    assert format_value(math.nan) == ""
    assert format_value(None) == ""
    assert format_value(math.inf) == "Inf" and format_value(-math.inf) == "-Inf"
    assert format_value(np.float64(1 / 3)) == "0.333333333333333"
    assert format_value(-0.0) == "0"
    assert format_value(True) == "true" and format_value(np.int64(3)) == "3"


def test_csv_text_fixed_columns_and_line_ends():
    text = csv_text([{"a": 1.5, "b": "x,y"}], ["a", "b"])
    assert text == 'a,b\n1.5,"x,y"\n'


def test_text_a_spreadsheet_would_run_is_neutralised_and_numbers_are_not():
    rows = [{"a": "=HYPERLINK(1)", "b": -0.5, "c": "-2+3+cmd|' /C calc'!A0", "d": "@SUM(1)", "e": "\tx"}]
    rows.append({"a": "+1", "b": -3, "c": "\rx", "d": "plain - text", "e": "'=kept"})
    text = csv_text(rows, ["a", "b", "c", "d", "e"])
    assert text.splitlines()[1] == "'=HYPERLINK(1),-0.5,'-2+3+cmd|' /C calc'!A0,'@SUM(1),'\tx"
    assert text.splitlines()[2].startswith("'+1,-3,")
    assert "plain - text,'=kept" in text


def test_read_table_gives_back_the_text(tmp_path):
    from analysis.io import read_table, write_text_atomic

    rows = [{"study": "=x", "quote": "-2+3", "yi": -0.5}]
    path = tmp_path / "t.csv"
    write_text_atomic(path, csv_text(rows, ["study", "quote", "yi"]))
    frame = read_table(path)
    assert frame.loc[0, "study"] == "=x" and frame.loc[0, "quote"] == "-2+3" and frame.loc[0, "yi"] == -0.5


def test_read_table_reads_only_the_columns_asked_for_that_it_has(tmp_path):
    from analysis.io import read_table, write_text_atomic

    path = tmp_path / "t.csv"
    write_text_atomic(
        path, csv_text([{"study": "a", "quote": "long text", "yi": 0.5}], ["study", "quote", "yi"])
    )
    frame = read_table(path, columns=["study", "yi", "not_there"])
    assert list(frame.columns) == ["study", "yi"] and frame.loc[0, "yi"] == 0.5


def test_one_build_per_folder(tmp_path):
    import pytest

    from analysis.io import BuildLocked, build_lock

    first = build_lock(tmp_path / "results")
    with pytest.raises(BuildLocked, match="another build of this folder is running"):
        build_lock(tmp_path / "results")
    first.close()  # a build that ends (or is killed) releases it
    build_lock(tmp_path / "results").close()


def test_leftovers_are_removed(tmp_path):
    from analysis.io import remove_leftovers, write_text_atomic

    (tmp_path / "figures").mkdir()
    stale = tmp_path / "figures" / ".forest-b.svg.abcd_123.tmp"
    stale.write_bytes(b"")
    scratch = tmp_path / "brief" / ".render-pdf.tmp"
    scratch.mkdir(parents=True)
    keep = tmp_path / "figures" / "forest-a.svg"
    write_text_atomic(keep, "<svg/>")
    (tmp_path / "notes.tmp").write_text("a user's file, not ours")
    assert remove_leftovers(tmp_path) == sorted([stale, scratch])
    assert keep.read_text() == "<svg/>" and (tmp_path / "notes.tmp").exists()
