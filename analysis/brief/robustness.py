"""How robust are the results: per pooled analysis, the estimate under every variation
(leave one out, estimators, rho, trim-and-fill) and a verdict in words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.brief.common import analysis_label, rows, text
from analysis.brief.results import Analysis
from analysis.codebook.formats import fmt, is_number
from analysis.codebook.measures import MEASURE_SYMBOL, natural
from analysis.codebook.vocabulary import THEME_SHORT
from analysis.rating.verdicts import crosses


def interval_range(values: list[float], measure: str) -> str:
    finite = [v for v in values if is_number(v)]
    if not finite:
        return ""
    return f"{fmt(natural(measure, min(finite)))} to {fmt(natural(measure, max(finite)))}"


def _grouped(tables: Mapping[str, Any]) -> dict[str, dict[str, list[dict]]]:
    grouped = {}
    for name, frame in tables.items():
        # A frame or its rows (common.rows): one pass over the table, then grouped (a
        # to_dict per group costs ~1 ms each).
        table = rows(frame)
        groups: dict = {}
        if table and "analysis_id" in table[0]:
            for r in table:
                groups.setdefault(r["analysis_id"], []).append(r)
        grouped[name] = groups
    return grouped


def _changes(a: Analysis, variations: list[tuple[list[dict], str]]) -> list[str]:
    main_sig = not crosses(a.row["ci_low"], a.row["ci_high"])
    main_sign = 1 if float(a.row["estimate"]) > 0 else -1
    changes: list[str] = []
    for table, what in variations:
        for r in table:
            if not is_number(r.get("estimate")):
                continue
            sign = 1 if float(r["estimate"]) > 0 else -1
            sig = not crosses(r.get("ci_low"), r.get("ci_high"))
            if sign != main_sign and sig:
                changes.append(f"{what} reverses the direction")
            elif sig != main_sig:
                changes.append(f"{what} changes whether the CI includes no effect")
    return sorted(set(changes), key=changes.index)


def _trim_words(tf: list[dict], measure: str) -> str:
    if not tf:
        return ""
    t = tf[0]
    k0 = t.get("k0")
    filled = int(float(k0)) if is_number(k0) else 0
    if filled and is_number(t.get("estimate")):
        side = text(t.get("side"))
        return (
            f"{filled} filled{' on the ' + side if side else ''}: {fmt(natural(measure, t.get('estimate')))}"
        )
    return "none filled" if is_number(k0) else ""


def sensitivity_rows(headline: list[Analysis], tables: Mapping[str, Any]) -> list[dict]:
    """Per pooled analysis: estimates under every variation, and a robustness verdict."""
    out = []
    grouped = _grouped(tables)
    for a in headline:
        if not a.pooled:
            continue
        measure = text(a.row.get("measure"))
        loo = grouped.get("leave_one_out", {}).get(a.id, [])
        est = grouped.get("estimators", {}).get(a.id, [])
        rho = grouped.get("rho", {}).get(a.id, [])
        tf = grouped.get("trimfill", {}).get(a.id, [])
        unique = _changes(
            a,
            [
                (loo, "leaving out one sample"),
                (est, "another estimator"),
                (rho, "another rho"),
                (tf, "trim-and-fill"),
            ],
        )

        def shown(r: Mapping[str, Any]) -> str:
            return fmt(natural(measure, r.get("estimate")))

        by_estimator = "; ".join(
            f"{text(r.get('estimator'))} {shown(r)}" for r in est if is_number(r.get("estimate"))
        )
        by_rho = "; ".join(
            f"{fmt(float(r['rho']), 1)}: {shown(r)}"
            for r in sorted(rho, key=lambda r: float(r.get("rho") or 0))
            if is_number(r.get("estimate")) and is_number(r.get("rho"))
        )
        if not (loo or est or rho or tf):
            words = "Not run."
        elif unique:
            words = "Sensitive: " + "; ".join(unique) + "."
        else:
            words = "Robust: no variation changes the direction or whether the CI includes no effect."
        out.append(
            {
                "analysis_id": a.id,
                "label": f"{THEME_SHORT.get(text(a.row.get('theme')), '')}: {analysis_label(a.row)}",
                "measure": MEASURE_SYMBOL.get(measure, measure),
                "main": fmt(natural(measure, a.row.get("estimate"))),
                "loo": interval_range([r.get("estimate") for r in loo], measure),
                "estimators": by_estimator,
                "rho": by_rho,
                "trimfill": _trim_words(tf, measure),
                "robust": not unique,
                "words": words,
            }
        )
    return out
