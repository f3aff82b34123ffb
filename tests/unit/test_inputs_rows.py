"""analysis.inputs.rows reads what analysis.io.read_table reads (without pandas), for the cells
that count_records and rate_certainty use; and both jobs give what the pandas tables give."""

import math

from analysis.inputs.records import pooled_studies
from analysis.inputs.rows import read_rows
from analysis.io import csv_text, read_table
from analysis.rating.table import rate_analyses, read_inputs


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _write(tmp_path, name, rows, columns):
    path = tmp_path / name
    path.write_text(csv_text(rows, columns), encoding="utf-8")
    return path


def test_rows_are_typed_as_read_table_types_them(tmp_path):
    rows = [
        {"study": "=a", "k": 3, "x": 0.1234567890123, "y": None, "t": "-minus", "n": 12, "z": "7"},
        {"study": "b", "k": 0, "x": float("inf"), "y": 2.5, "t": "plain, with comma", "n": None, "z": "q"},
        {"study": "c", "k": 11, "x": -1e-05, "y": None, "t": "", "n": 3, "z": "8"},
    ]
    columns = ["study", "k", "x", "y", "t", "n", "z", "unused"]
    path = _write(tmp_path, "t.csv", rows, columns)
    numeric = ["k", "x", "y", "n", "z"]
    got = read_rows(path, ["study", *numeric, "t", "absent"], numeric)
    frame = read_table(path).to_dict("records")
    assert [set(r) for r in got] == [{"study", "k", "x", "y", "n", "z", "t"}] * 3
    for mine, theirs in zip(got, frame, strict=True):
        for name in ("study", "k", "x", "y", "n"):
            assert _same(
                mine[name], theirs[name] if not hasattr(theirs[name], "item") else theirs[name].item()
            )
        assert mine["t"] == (theirs["t"] if isinstance(theirs["t"], str) else "")
    assert got[0]["study"] == "=a" and got[0]["t"] == "-minus"  # the apostrophe removed
    assert [r["z"] for r in got] == ["7", "q", "8"]  # a column with words stays text
    assert isinstance(got[0]["k"], int) and isinstance(got[0]["n"], float)


def test_pooled_studies_from_rows_equals_from_frames(tmp_path):
    pooled = [
        {"analysis_id": "a1", "n_studies": 2, "pooled": True},
        {"analysis_id": "a2", "n_studies": 1, "pooled": True},
        {"analysis_id": "a3", "n_studies": 3, "pooled": False},
    ]
    units = [
        {"analysis_id": a, "study": s} for a, s in [("a1", "s1"), ("a1", "s2"), ("a2", "s3"), ("a3", "s4")]
    ]
    p = _write(tmp_path, "pooled.csv", pooled, ["analysis_id", "n_studies", "pooled"])
    u = _write(tmp_path, "units.csv", units, ["analysis_id", "study"])
    mine = pooled_studies(
        read_rows(p, ["analysis_id", "n_studies", "pooled"]), read_rows(u, ["analysis_id", "study"])
    )
    assert mine == pooled_studies(read_table(p), read_table(u)) == {"s1", "s2"}


def test_rating_from_rows_equals_rating_from_frames(tmp_path):
    pooled = [
        {"analysis_id": "x", "measure": "SMD", "theme": "bridging", "outcome": "education", "construct": "",
         "k": 3, "n_studies": 3, "estimate": 0.21, "ci_low": 0.05, "ci_high": 0.37, "pi_low": -0.2,
         "pi_high": 0.6, "i2": 41.5, "egger_p": None},
        {"analysis_id": "y", "measure": "r", "theme": "bonding", "outcome": "income", "construct": "c",
         "k": 1, "n_studies": 1, "estimate": None, "ci_low": None, "ci_high": None, "pi_low": None,
         "pi_high": None, "i2": None, "egger_p": None},
    ]  # fmt: skip
    units = [
        {"analysis_id": "x", "study": "s1", "country": "GB", "n": 100, "weight": 0.5},
        {"analysis_id": "x", "study": "s2", "country": "", "n": None, "weight": 0.3},
        {"analysis_id": "x", "study": "s3", "country": "US", "n": 50, "weight": 0.2},
        {"analysis_id": "y", "study": "s1", "country": "GB", "n": 100, "weight": None},
    ]
    studies = [
        {"study": f"s{i}", "design": "cohort", "country": c} for i, c in ((1, "GB"), (2, "US"), (3, "US"))
    ]
    paths = [
        _write(tmp_path, "pooled.csv", pooled, list(pooled[0])),
        _write(tmp_path, "units.csv", units, list(units[0])),
        _write(tmp_path, "studies.csv", studies, list(studies[0])),
    ]
    from_rows = rate_analyses(*read_inputs(*paths))
    from_frames = rate_analyses(*(read_table(p) for p in paths))
    assert csv_text(from_rows, list(from_rows[0])) == csv_text(from_frames, list(from_frames[0]))
    assert [r["analysis_id"] for r in from_rows] == ["x", "y"]
