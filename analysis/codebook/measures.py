"""The measures (analysis metrics): symbols, names and the natural scale."""

from __future__ import annotations

import math
from typing import Any

MEASURE_SYMBOL = {
    "OR": "OR",
    "RR": "RR",
    "RD": "RD",
    "ZCOR": "r",
    "ZPCOR": "partial r",
    "SMD": "g",
    "MD": "MD",
    "GEN": "coef.",
}
MEASURE_NAME = {
    "OR": "odds ratio",
    "RR": "risk ratio",
    "RD": "risk difference",
    "ZCOR": "correlation (r)",
    "ZPCOR": "partial correlation (r)",
    "SMD": "standardised mean difference (Hedges' g)",
    "MD": "mean difference",
    "GEN": "coefficient as coded by the study",
}
# Ratio measures are pooled as logs; correlations as Fisher's z.
RATIO_MEASURES = ("OR", "RR")
Z_MEASURES = ("ZCOR", "ZPCOR")


def _is_number(value: Any) -> bool:
    try:
        return value is not None and value != "" and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def null_value(measure: str) -> float:
    """No association, on the natural scale: 1 for ratios, 0 otherwise."""
    return 1.0 if str(measure).upper() in RATIO_MEASURES else 0.0


def natural(measure: str, value: float) -> float:
    """An analysis-scale value on the scale a reader sees (exp for ratios, tanh for z)."""
    if not _is_number(value):
        return math.nan
    measure = str(measure).upper()
    if measure in RATIO_MEASURES:
        return math.exp(float(value))
    if measure in Z_MEASURES:
        return math.tanh(float(value))
    return float(value)


# Axis labels of the figures: on the natural scale (forest plots) and on the
# analysis scale (funnel plots, where the funnel is symmetric).
MEASURE_AXIS = {
    "OR": "Odds ratio",
    "RR": "Risk ratio",
    "RD": "Risk difference",
    "ZCOR": "Correlation (r)",
    "ZPCOR": "Partial correlation",
    "SMD": "Hedges' g",
    "MD": "Mean difference",
    "GEN": "Effect (as coded)",
}
MEASURE_ANALYSIS_AXIS = {
    "OR": "Log odds ratio",
    "RR": "Log risk ratio",
    "RD": "Risk difference",
    "ZCOR": "Fisher's z (correlation)",
    "ZPCOR": "Fisher's z (partial correlation)",
    "SMD": "Hedges' g",
    "MD": "Mean difference",
    "GEN": "Effect (as coded)",
}
