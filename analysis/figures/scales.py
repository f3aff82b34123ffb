"""Scales and the rows a figure reads: natural-scale transforms, fields of a
pooled.csv row, and the units of an analysis with their intervals filled in.

Which measure is shown how (exp for ratios, tanh for Fisher's z, the null value)
is the codebook's (:mod:`analysis.codebook.measures`); here it is applied to
arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.codebook.measures import (
    MEASURE_ANALYSIS_AXIS,
    MEASURE_AXIS,
    RATIO_MEASURES,
    Z_MEASURES,
    null_value,
)

# Two-sided 95% normal quantile, for unit CIs missing from the input and the
# funnel's pseudo-confidence lines (metafor's funnel() uses the same).
Z95 = 1.959963984540054


def identity(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _exp(x: Any) -> np.ndarray:
    return np.exp(np.asarray(x, dtype=float))


def _tanh(x: Any) -> np.ndarray:
    return np.tanh(np.asarray(x, dtype=float))


def _known(measure: str, labels: Mapping[str, str]) -> str:
    key = str(measure).upper()
    if key not in labels:
        known = ", ".join(labels)
        raise ValueError(f"Unknown effect measure {measure!r}; expected one of {known}.")
    return key


def natural_scale(measure: str) -> tuple[Callable[[Any], np.ndarray], str, float, bool]:
    """How to show an analysis-scale effect to a reader.

    Parameters
    ----------
    measure : str
        One of OR, RR, RD, ZCOR, ZPCOR, SMD, MD, GEN.

    Returns
    -------
    transform : callable
        Maps analysis-scale values (array-like, any shape) to the natural
        scale, elementwise (exp for ratios, tanh for Fisher z, else identity),
        as :func:`analysis.codebook.measures.natural` does for one value.
    label : str
        Axis label on the natural scale, e.g. ``"Odds ratio"``.
    null : float
        No effect on the natural scale (1 for ratios, else 0).
    log_axis : bool
        Whether the natural-scale axis is logarithmic (ratios).
    """
    key = _known(measure, MEASURE_AXIS)
    if key in RATIO_MEASURES:
        transform = _exp
    elif key in Z_MEASURES:
        transform = _tanh
    else:
        transform = identity
    return transform, MEASURE_AXIS[key], null_value(key), key in RATIO_MEASURES


def analysis_scale_label(measure: str) -> str:
    """Axis label on the analysis scale, e.g. ``"Log odds ratio"``."""
    return MEASURE_ANALYSIS_AXIS[_known(measure, MEASURE_ANALYSIS_AXIS)]


def get(row: Mapping[str, Any] | pd.Series, key: str, default: Any = None) -> Any:
    try:
        value = row[key]
    except (KeyError, IndexError):
        return default
    return value


def num(row: Mapping[str, Any] | pd.Series, key: str) -> float:
    """A float from the row; NaN when absent or empty."""
    value = get(row, key)
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def is_pooled(row: Mapping[str, Any] | pd.Series) -> bool:
    value = get(row, "pooled", True)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def as_text(value: Any) -> str:
    """A label field as text; '' for None/NaN."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def measure_of(row: Mapping[str, Any] | pd.Series) -> str:
    return as_text(get(row, "measure")) or "GEN"


def prepare_units(units: pd.DataFrame) -> pd.DataFrame:
    """Units with se, ci_low, ci_high filled in from yi/vi where missing."""
    u = units.reset_index(drop=True).copy()
    for col in ("yi", "vi", "se", "ci_low", "ci_high", "weight", "n_effects"):
        if col not in u.columns:
            u[col] = np.nan
        u[col] = pd.to_numeric(u[col], errors="coerce")
    se = u["se"].where(u["se"].notna(), np.sqrt(u["vi"]))
    u["se"] = se
    u["ci_low"] = u["ci_low"].where(u["ci_low"].notna(), u["yi"] - Z95 * se)
    u["ci_high"] = u["ci_high"].where(u["ci_high"].notna(), u["yi"] + Z95 * se)
    return u
