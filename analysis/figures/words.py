"""The words and numbers printed in figures: fixed decimals, p-values, the model
name and the row labels. Number formats build on :mod:`analysis.codebook.formats`
(a figure prints 'NA' where the brief leaves a blank)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.codebook.formats import MINUS, fmt_p
from analysis.codebook.formats import fmt as _codebook_fmt
from analysis.codebook.vocabulary import CI_METHOD_SHORT, ESTIMATOR_SHORT, US_STATE_NAME
from analysis.figures.scales import as_text, get
from analysis.rating.certainty import EGGER_MIN_K

# Small-study and publication-bias statistics (Egger's test, funnel plots, trim-and-fill)
# compare studies: figures show them only where the units come from at least this many
# studies (the samples of one study cannot be selectively published; CONTRACT.md).
BIAS_MIN_STUDIES = 3
# Egger's test is shown (and judged) only from this many studies, as the certainty rules
# say (analysis/rating/certainty.py): below it the test has too little power to read.
EGGER_MIN_STUDIES = EGGER_MIN_K
# A study label longer than this is cut, so the label column stays clear of the plot.
LABEL_CHARS = 40


def decimals(values: np.ndarray) -> int:
    """Decimals for a column of natural-scale numbers: 2, or 3 when all are tiny."""
    finite = np.abs(values[np.isfinite(values)])
    if finite.size and finite.max() < 0.1:
        return 3
    return 2


def fmt(x: float, places: int = 2) -> str:
    """Fixed decimals with a typographic minus; 'NA' when missing."""
    return _codebook_fmt(x, places) if math.isfinite(x) else "NA"


def fmt_ci(est: float, lo: float, hi: float, places: int) -> str:
    return f"{fmt(est, places)} [{fmt(lo, places)}, {fmt(hi, places)}]"


def p_text(p: float) -> str:
    """'p = 0.218', 'p < 0.001' or 'p = NA'."""
    if not math.isfinite(p):
        return "p = NA"
    value = fmt_p(p)
    return f"p {value}" if value.startswith("<") else f"p = {value}"


def ascii_text(s: str) -> str:
    """Plain text for screen readers: hyphen-minus instead of the typographic one."""
    return s.replace(MINUS, "-")


def model_name(row: Mapping[str, Any] | pd.Series, *, spelled_out: bool = False) -> str:
    """'RE model (REML, Knapp–Hartung)', or 'EE model (Wald z)' for equal
    effects; ``spelled_out`` gives 'random-effects model ...' for alt text."""
    estimator = as_text(get(row, "estimator")).upper()
    method_raw = as_text(get(row, "ci_method"))
    method = CI_METHOD_SHORT.get(method_raw.lower(), method_raw)
    if estimator in ("EE", "FE", "CE"):
        model, parts = ("equal-effects model" if spelled_out else "EE model"), [method]
    else:
        model = "random-effects model" if spelled_out else "RE model"
        parts = [ESTIMATOR_SHORT.get(estimator, estimator), method]
    parts = [p for p in parts if p]
    return f"{model} ({', '.join(parts)})" if parts else model


def unit_label(unit: pd.Series, labels: Mapping[str, str] | None) -> str:
    """'Rothon et al. (2012)', with the sample in brackets when the unit has one."""
    study = as_text(unit.get("study"))
    label = (labels or {}).get(study, study) or study
    sample = as_text(unit.get("sample"))
    if sample:
        label = f"{label} [{sample}]"
    if len(label) > LABEL_CHARS:
        label = label[: LABEL_CHARS - 1] + "…"
    return label


def fit_width(label: str, width_in: float, fontsize: float = 10.0, weight: str = "normal") -> str:
    """The label, cut with '…' until it is at most ``width_in`` inches wide."""
    # Imported here: the rest of this module is plain text, and alt text (analysis.figures.alt)
    # is written without importing matplotlib, for the runs of draw_figures that draw nothing.
    from analysis.figures.style import text_width_in

    if text_width_in(label, fontsize, weight) <= width_in:
        return label
    while len(label) > 1 and text_width_in(label + "…", fontsize, weight) > width_in:
        label = label[:-1].rstrip()
    return label + "…"


@dataclass(frozen=True)
class UnitWords:
    """What the rows of a figure are: studies, or the samples (states) of one study.

    A dataset split into areas is one study, not a set of studies: when every unit comes
    from one study its rows are named as samples of that study, and as states when the
    samples are US states (postal codes).
    """

    one: str  # "study", "sample" or "state"
    many: str  # "studies", "samples" or "states"
    k: int  # number of units
    n_studies: int
    study: str = ""  # the one study's key, when all units come from one

    @property
    def header(self) -> str:
        return self.one.capitalize()

    @property
    def of_one_study(self) -> bool:
        return bool(self.study)

    def count(self, n: int) -> str:
        return f"{n} {self.one if n == 1 else self.many}"


def unit_words(units: pd.DataFrame) -> UnitWords:
    """The words for the units (rows) of one analysis; see :class:`UnitWords`."""
    studies = [as_text(s) for s in units["study"]] if "study" in units.columns else []
    n_studies = len(set(studies))
    k = len(units)
    if n_studies != 1 or k < 2:
        return UnitWords("study", "studies", k, n_studies)
    samples = [as_text(s) for s in units["sample"]] if "sample" in units.columns else []
    states = bool(samples) and all(s in US_STATE_NAME for s in samples)
    one, many = ("state", "states") if states else ("sample", "samples")
    return UnitWords(one, many, k, 1, studies[0])


def row_label(unit: pd.Series, labels: Mapping[str, str] | None, words: UnitWords) -> str:
    """A forest plot row: the study (with its sample), or, for samples of one study
    (named once in the caption), the sample: 'Alabama' for a state."""
    if not words.of_one_study:
        return unit_label(unit, labels)
    sample = as_text(unit.get("sample"))
    return US_STATE_NAME.get(sample, sample) if words.one == "state" else sample or unit_label(unit, labels)
