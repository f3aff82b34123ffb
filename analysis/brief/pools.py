"""Every shown number is what it says: a study's own value in a pool (with the value as
printed where rounding differs, or the number of effects it combines) and the pool
without it (leave one out, the with-and-without analysis an extraction file can ask for)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from analysis.brief import common
from analysis.brief.common import capped, left_out_note, pdf_cap, rows, text, truthy
from analysis.brief.results import Analysis
from analysis.codebook.formats import fmt, fmt_interval, is_number
from analysis.codebook.measures import natural

# "OR 1.3 [1.0, 1.76]": a printed estimate with its CI (effects.csv column `printed`).
_PRINTED = re.compile(
    r"\A(?P<name>[A-Za-z ]+?) (?P<est>-?[\d.]+) \[(?P<low>-?[\d.]+), (?P<high>-?[\d.]+)\]\Z"
)
# Shown values have two decimals: a printed bound further than half a unit of the last
# shown digit from the harmonised one is a difference a reader could see.
_SHOWN_TOL = 0.005


def effects_by_unit(effects) -> dict[tuple, list[dict]]:
    """(study, sample, theme, outcome, measure, construct) -> its primary effects."""
    out: dict[tuple, list[dict]] = {}
    for e in rows(effects):
        if text(e.get("role")) == "sensitivity":
            continue
        key = tuple(text(e.get(c)) for c in ("study", "sample", "theme", "outcome", "measure", "construct"))
        out.setdefault(key, []).append(e)
    return out


def _unit_key(a: Analysis, unit: Mapping[str, Any]) -> tuple:
    return (
        text(unit.get("study")),
        text(unit.get("sample")),
        *(text(a.row.get(c)) for c in ("theme", "outcome", "measure", "construct")),
    )


def printed_interval(effect: Mapping[str, Any]) -> tuple[str, float, float, float] | None:
    """(printed text, estimate, low, high) on the harmonised natural scale, or None when the
    printed form is not an estimate with a bracketed CI on a ratio or correlation scale."""
    found = _PRINTED.fullmatch(text(effect.get("printed")))
    measure = text(effect.get("measure")).upper()
    if not found or measure not in ("OR", "RR", "ZCOR"):
        return None
    est, low, high = (float(found.group(g)) for g in ("est", "low", "high"))
    if truthy(effect.get("reverse")):
        if measure == "ZCOR":
            est, low, high = -est, -high, -low
        elif min(est, low, high) > 0:
            est, low, high = 1 / est, 1 / high, 1 / low
        else:
            return None
    return text(effect.get("printed")), est, low, high


def number_note(a: Analysis, unit: Mapping[str, Any], by_unit: Mapping[tuple, list[dict]]) -> str:
    """What one sample's shown value is: combined from several effects, or a single effect
    whose printed CI rounds differently from the harmonised one ('' when neither)."""
    n = int(float(unit.get("n_effects") or 0)) if is_number(unit.get("n_effects")) else 0
    if n > 1:
        return f"combined from {n} effects of one sample"
    mine = by_unit.get(_unit_key(a, unit), [])
    if len(mine) != 1:
        return ""
    printed = printed_interval(mine[0])
    if printed is None:
        return ""
    shown_text, _, low, high = printed
    measure = text(a.row.get("measure"))
    shown = [natural(measure, unit.get(c)) for c in ("ci_low", "ci_high")]
    if all(math.isfinite(v) for v in shown) and max(abs(shown[0] - low), abs(shown[1] - high)) > _SHOWN_TOL:
        flipped = " before reversing" if truthy(mine[0].get("reverse")) else ""
        return f"printed{flipped} as {shown_text}; the CI shown is recomputed from it"
    return ""


def leave_one_out_index(leave_one_out) -> dict[str, dict[tuple[str, str], dict]]:
    """analysis id -> (study, sample) -> its row of sensitivity/leave_one_out.csv, in one
    pass over the table (a later row for the same sample wins, as a dict built per analysis did)."""
    out: dict[str, dict[tuple[str, str], dict]] = {}
    for r in rows(leave_one_out):
        out.setdefault(text(r.get("analysis_id")), {})[(text(r.get("study")), text(r.get("sample")))] = r
    return out


def weight_text(value: Any) -> str:
    """A sample's weight in its pool, in percent: whole numbers from 1%, one decimal below
    (in a pool of hundreds of samples each weighs under 1%, and 0% would hide which weigh most)."""
    if not is_number(value):
        return ""
    weight = float(value)
    if weight == 0 or round(weight, 1) >= 1:
        return f"{weight:.0f}%"
    return f"{weight:.1f}%" if weight >= 0.05 else "<0.1%"


def _ordered_units(a: Analysis) -> list[dict]:
    return sorted(a.units, key=lambda u: (text(u.get("study")), text(u.get("sample"))))


def _weight_value(unit: Mapping[str, Any]) -> float:
    return float(unit["weight"]) if is_number(unit.get("weight")) else 0.0


def _pool_row(a: Analysis, unit: Mapping[str, Any], by_unit, without: Mapping, labels) -> dict:
    measure = text(a.row.get("measure"))
    key = (text(unit.get("study")), text(unit.get("sample")))
    loo = without.get(key, {})
    return {
        "study": key[0],
        "sample": key[1],
        "effect": fmt(natural(measure, unit.get("yi"))),
        "ci": fmt_interval(measure, unit.get("ci_low"), unit.get("ci_high")),
        "note": number_note(a, unit, by_unit),
        "weight": weight_text(unit.get("weight")),
        "weight_value": _weight_value(unit),
        "without": fmt(natural(measure, loo.get("estimate"))) if loo else "",
        "without_ci": fmt_interval(measure, loo.get("ci_low"), loo.get("ci_high")) if loo else "",
        "label": labels.get(key[0], key[0]),
    }


def pool_studies(a: Analysis, by_unit, without_by_id, labels: Mapping[str, str]) -> list[dict]:
    """Each sample of a pooled analysis: its own value, what that value is, its weight, and
    the pooled value without it (``without_by_id``: :func:`leave_one_out_index`)."""
    without = without_by_id.get(a.id, {})
    return [_pool_row(a, unit, by_unit, without, labels) for unit in _ordered_units(a)]


def _heaviest(p: Mapping[str, Any]) -> tuple:
    return (-p["weight_value"],)


def pool_table(a: Analysis, by_unit, without_by_id, labels: Mapping[str, str]) -> dict:
    """A pooled analysis' table of studies: the ``common.POOL_ROWS`` samples that weigh most
    (every one when they fit), in :func:`pool_studies`' order; the note that says how many
    are left out and which results files hold them all ('' when none); and the attributes of
    the PDF's shorter table (:func:`analysis.brief.common.pdf_cap`, by the same ranking)."""
    # The samples to show are picked by weight first, and only their rows are written (the
    # rows of every sample, at 100,000 studies 150,000 of them for 30 a pool, took 10 s).
    units = _ordered_units(a)
    kept, left = capped(list(range(len(units))), common.POOL_ROWS, rank=lambda i: (-_weight_value(units[i]),))
    without = without_by_id.get(a.id, {})
    shown = [_pool_row(a, units[i], by_unit, without, labels) for i in kept]
    note = left_out_note(
        left, len(shown), ("sample", "samples"), "the {n} that weigh most", "units.csv",
        " (each one's value and weight); `sensitivity/leave_one_out.csv` has the pool without each",
    )  # fmt: skip
    n = common.PDF_POOL_ROWS
    pdf = pdf_cap(shown, n, _heaviest, "samples", f"the {n} that weigh most", "units.csv")
    return {"rows": shown, "note": note, "pdf": pdf}
