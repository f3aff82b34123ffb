"""Rule rate_certainty: every analysis of pooled.csv rated (GRADE-like certainty, with its
reasons), read in words and judged against the seed report's claim: results/certainty.csv.

The brief, CHANGES.md and the release read this table; none of them rates again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analysis.codebook.formats import is_number
from analysis.inputs.rows import records
from analysis.rating import certainty as grade
from analysis.rating import verdicts

COLUMNS = [
    "analysis_id",
    "certainty",
    "downgrades",
    "start",
    "notes",
    "small_study_assessed",
    "non_uk_share",
    "reading",
    "verdict",
    "verdict_text",
]
# Reasons and notes are joined with this; no reason contains it (checked when written).
SEPARATOR = "; "


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def participants(units: list[dict], designs: set[str]) -> tuple[str, int | None]:
    """(display, total) of the units' sample sizes; 'areas' for ecological analyses."""
    sizes = [u.get("n") for u in units]
    known = [float(s) for s in sizes if is_number(s)]
    what = " areas" if designs and designs <= {"ecological"} else ""
    if not known:
        return "not reported", None
    total = int(round(sum(known)))
    if len(known) < len(sizes):
        return f"≥ {total:,}{what}", None
    return f"{total:,}{what}", total


def non_uk(units: list[dict], study_rows: Mapping[str, dict]) -> tuple[float, int]:
    """(share 0-1 of the model weight, number of samples) with no UK country (equal weights
    when the weights are unknown); (NaN, -1) without units."""
    if not units:
        return math.nan, -1
    weights = [float(u["weight"]) if is_number(u.get("weight")) else math.nan for u in units]
    if not all(math.isfinite(w) for w in weights) or sum(weights) <= 0:
        weights = [1.0] * len(units)

    def country(u: dict) -> str:
        return _text(u.get("country")) or _text(study_rows.get(_text(u.get("study")), {}).get("country"))

    flags = [grade.UK not in country(u).split(";") for u in units]
    outside = sum(w for flag, w in zip(flags, weights, strict=True) if flag)
    return outside / sum(weights), sum(flags)


def evidence(row: Mapping[str, Any], units: list[dict], study_rows: Mapping[str, dict]) -> grade.Evidence:
    """What the GRADE rules need to know about one row of pooled.csv."""
    keys = sorted({_text(u.get("study")) for u in units})
    designs = tuple(sorted({_text(study_rows[s]["design"]) for s in keys if s in study_rows}))
    countries = tuple(sorted({_text(study_rows[s]["country"]) for s in keys if s in study_rows}))
    _, total = participants(units, set(designs))
    share, samples = non_uk(units, study_rows)
    k = int(row.get("k") or len(units) or 0)
    ci = (row.get("ci_low"), row.get("ci_high"))
    pi = (row.get("pi_low"), row.get("pi_high"))
    pi = pi if k >= 2 and all(is_number(v) for v in pi) else (math.nan, math.nan)
    return grade.Evidence(
        measure=_text(row.get("measure")),
        k=k,
        designs=designs,
        countries=countries,
        ci=tuple(float(v) if is_number(v) else math.nan for v in ci),
        pi=tuple(float(v) for v in pi),
        i2=float(row["i2"]) if k >= 2 and is_number(row.get("i2")) else math.nan,
        participants=total,
        egger_p=float(row["egger_p"]) if is_number(row.get("egger_p")) else math.nan,
        n_studies=int(row.get("n_studies") or len(keys) or 0),
        non_uk_share=share,
        non_uk_samples=samples,
    )


def rate_row(
    row: Mapping[str, Any], units: list[dict], study_rows: Mapping[str, dict], claims: verdicts.Claims
) -> dict:
    """One row of certainty.csv."""
    ev = evidence(row, units, study_rows)
    rating = grade.rate(ev)
    estimate = float(row["estimate"]) if is_number(row.get("estimate")) else math.nan
    theme, outcome, construct = (_text(row.get(c)) for c in ("theme", "outcome", "construct"))
    if is_number(estimate):
        text = verdicts.reading(theme, outcome, estimate, ev.ci, ev.pi, ev.i2, ev.k, construct)
        expected = verdicts.expected_direction(theme, outcome, construct, claims)
        judged = verdicts.verdict(expected, estimate, ev.ci, ev.pi, rating.level, ev.k)
    else:
        text = "No estimate could be computed."
        judged = verdicts.Verdict("inconclusive", "no estimate could be computed")
    for part in (*rating.downgrades, *rating.notes):
        if SEPARATOR in part:
            raise ValueError(f"a certainty reason may not contain {SEPARATOR!r}: {part!r}")
    return {
        "analysis_id": _text(row["analysis_id"]),
        "certainty": rating.level,
        "downgrades": SEPARATOR.join(rating.downgrades),
        "start": rating.start,
        "notes": SEPARATOR.join(rating.notes),
        "small_study_assessed": grade.small_study_assessed(ev),
        "non_uk_share": ev.non_uk_share,
        "reading": text,
        "verdict": judged.label,
        "verdict_text": judged.text,
    }


def rate_analyses(pooled, units, studies, claims: verdicts.Claims | None = None) -> list[dict]:
    """certainty.csv: one row per analysis of pooled.csv, sorted by analysis_id (the tables as
    DataFrames or as the rows of :func:`read_inputs`)."""
    claims = claims or verdicts.default_claims()
    study_rows = {_text(s["study"]): s for s in records(studies)}
    by_analysis: dict[str, list[dict]] = {}
    for unit in records(units):
        by_analysis.setdefault(_text(unit.get("analysis_id")), []).append(unit)
    out = [
        rate_row(row, by_analysis.get(_text(row["analysis_id"]), []), study_rows, claims)
        for row in records(pooled)
    ]
    return sorted(out, key=lambda r: r["analysis_id"])


def rating_of(row: Mapping[str, Any]) -> grade.Rating:
    """The Rating of one certainty.csv row (as read back by the brief)."""

    def parts(name: str) -> tuple[str, ...]:
        return tuple(p for p in _text(row.get(name)).split(SEPARATOR) if p)

    return grade.Rating(
        start=_text(row.get("start")) or "low",
        level=_text(row.get("certainty")),
        downgrades=parts("downgrades"),
        notes=parts("notes"),
    )


# The columns rating reads of each table, and those of them it reads as numbers.
POOLED_COLUMNS = ("analysis_id", "measure", "theme", "outcome", "construct", "k", "n_studies", "estimate")
POOLED_NUMBERS = ("k", "n_studies", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2", "egger_p")
UNIT_COLUMNS = ("analysis_id", "study", "country", "n", "weight")
STUDY_COLUMNS = ("study", "design", "country")


def read_inputs(pooled, units, studies) -> tuple[list[dict], list[dict], list[dict]]:
    """The rows rating reads of pooled.csv, units.csv and studies.csv: only the columns it
    uses, typed as :func:`analysis.io.read_table` types them (no pandas: a fresh job saves
    its import)."""
    from analysis.inputs.rows import read_rows

    return (
        read_rows(pooled, POOLED_COLUMNS + POOLED_NUMBERS, POOLED_NUMBERS),
        read_rows(units, UNIT_COLUMNS, ("n", "weight")),
        read_rows(studies, STUDY_COLUMNS),
    )


def write_certainty(*, pooled, units, studies, claims, output) -> int:
    """Rule rate_certainty: read the results, write certainty.csv; returns its rows."""
    from analysis.io import csv_text, write_text_atomic

    found = rate_analyses(*read_inputs(pooled, units, studies), verdicts.load_claims(claims))
    write_text_atomic(output, csv_text(found, COLUMNS))
    return len(found)
