"""Alt text of forest and funnel plots: one to three sentences with their numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.figures.scales import (
    analysis_scale_label,
    as_text,
    get,
    identity,
    is_pooled,
    natural_scale,
    num,
    prepare_units,
)
from analysis.figures.words import (
    EGGER_MIN_STUDIES,
    ascii_text,
    decimals,
    fmt,
    model_name,
    p_text,
    unit_label,
    unit_words,
)


def _lower(label: str) -> str:
    """'Odds ratio' -> 'odds ratio'; names stay capitalised ("Hedges' g", "Fisher's z")."""
    return label if label.startswith(("Hedges", "Fisher")) else label[0].lower() + label[1:]


def _scale_phrase(measure: str) -> str:
    return _lower(natural_scale(measure)[1])


def units_phrase(units: pd.DataFrame, labels: Mapping[str, str] | None = None, source: str = "") -> str:
    """'6 studies', '12 independent samples from 4 studies', or '40 states of one study
    (Opportunity Insights (2022), Social Capital Atlas)': what the rows are."""
    words = unit_words(units)
    k = words.k
    if words.of_one_study:
        name = source or (labels or {}).get(words.study, words.study)
        return f"{words.count(k)} of one study ({name})"
    if k > words.n_studies:
        return f"{k} independent samples from {words.n_studies} studies"
    return words.count(k)


def alt_text_forest(
    pooled_row: Mapping[str, Any] | pd.Series,
    units: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    *,
    source: str = "",
) -> str:
    """One to three sentences describing the forest plot, with its numbers; ``source``
    names the one study when all units come from it (see :func:`units_phrase`)."""
    measure = as_text(get(pooled_row, "measure")) or "GEN"
    transform, _, _, _ = natural_scale(measure)
    phrase = _scale_phrase(measure)
    u = prepare_units(units)
    k_val = num(pooled_row, "k")
    k = int(k_val) if math.isfinite(k_val) else len(u)
    analysis = as_text(get(pooled_row, "analysis_id"))
    about = f" for {analysis}" if analysis else ""
    if not is_pooled(pooled_row) or not math.isfinite(num(pooled_row, "estimate")):
        if len(u) == 1:
            unit = u.iloc[0]
            e, lo, hi = (float(transform(unit[c])) for c in ("yi", "ci_low", "ci_high"))
            d = decimals(np.array([e, lo, hi]))
            return ascii_text(
                f"Forest plot of a single study{about} (k = 1), {unit_label(unit, labels)}: "
                f"{phrase} {fmt(e, d)} (95% CI {fmt(lo, d)} to {fmt(hi, d)}); "
                "reported, not pooled."
            )
        rows = units_phrase(units, labels, source)
        return f"Forest plot of {rows}{about} (k = {k}), reported one by one, not pooled."
    est, lo, hi = (float(transform(num(pooled_row, c))) for c in ("estimate", "ci_low", "ci_high"))
    d = decimals(np.array([est, lo, hi]))
    text = (
        f"Forest plot of {units_phrase(units, labels, source)}{about} (k = {k}). "
        f"Pooled {phrase} {fmt(est, d)} (95% CI {fmt(lo, d)} to {fmt(hi, d)}"
    )
    pi_lo, pi_hi = num(pooled_row, "pi_low"), num(pooled_row, "pi_high")
    if math.isfinite(pi_lo) and math.isfinite(pi_hi):
        text += (
            f"; 95% prediction interval {fmt(float(transform(pi_lo)), d)} "
            f"to {fmt(float(transform(pi_hi)), d)}"
        )
    text += f"), {model_name(pooled_row, spelled_out=True)}."
    i2 = num(pooled_row, "i2")
    if math.isfinite(i2):
        text += f" Heterogeneity I-squared = {i2:.1f}%."
    return ascii_text(text)


def alt_text_funnel(pooled_row: Mapping[str, Any] | pd.Series, units: pd.DataFrame) -> str:
    """One to three sentences describing the funnel plot, with its numbers."""
    measure = as_text(get(pooled_row, "measure")) or "GEN"
    transform, _, _, _ = natural_scale(measure)
    scale = _lower(analysis_scale_label(measure))
    k = len(units)
    text = (
        f"Contour-enhanced funnel plot of {units_phrase(units)} (k = {k}): {scale} "
        "against standard error, with bands where a single study is significant "
        "at p < 0.10, 0.05 and 0.01."
    )
    est = num(pooled_row, "estimate")
    if is_pooled(pooled_row) and math.isfinite(est):
        nat = float(transform(est))
        natural = "" if transform is identity else f" ({_scale_phrase(measure)} {fmt(nat, 2)})"
        text += f" Pooled estimate {fmt(est, 2)}{natural}"
        i2 = num(pooled_row, "i2")
        if math.isfinite(i2):
            text += f", I-squared = {i2:.1f}%"
        egger_p = num(pooled_row, "egger_p")
        if math.isfinite(egger_p) and unit_words(units).n_studies >= EGGER_MIN_STUDIES:
            text += f", Egger's test {p_text(egger_p)}"
        text += "."
    return ascii_text(text)
