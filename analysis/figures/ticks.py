"""Ticks of a forest plot's x axis: as many as fit without their labels touching.

The labels are measured in the figures' font (:func:`analysis.figures.style.text_width_in`),
so a wide range of correlations ("−0.75 −0.50 ...") gets fewer ticks instead of labels
that run into each other.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import MaxNLocator

from analysis.figures.style import STYLE, text_width_in
from analysis.figures.words import fmt

# Least space between two tick labels, in inches (about a 9 pt space and a half).
TICK_GAP_IN = 0.1
# Linear tick counts tried, most first (matplotlib's MaxNLocator nbins).
LINEAR_BINS = (6, 5, 4, 3, 2, 1)
_STEPS = [1, 2, 2.5, 5, 10]


def _log_candidates(lo: float, hi: float) -> list[list[float]]:
    """1-2-5, then 1-3, then 1 ticks spanning [lo, hi] (natural scale, lo > 0), at most 7."""
    out: list[list[float]] = []
    span: list[float] = []
    for steps in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10.0**e for e in range(-6, 7) for m in steps]
        below = max([t for t in ticks if t <= lo * (1 + 1e-9)], default=min(ticks))
        above = min([t for t in ticks if t >= hi * (1 - 1e-9)], default=max(ticks))
        span = [t for t in ticks if below <= t <= above]
        if len(span) <= 7:
            out.append(span)
    return out or [span]


def log_label(t: float) -> str:
    if t >= 1:
        return f"{t:g}"
    return fmt(t, max(0, -math.floor(math.log10(t))))


def _places(ticks: list[float]) -> int:
    """Fewest decimals that print every tick exactly (0.25 steps need 2)."""
    for places in range(0, 7):
        if all(abs(round(t, places) - t) < 1e-9 for t in ticks):
            return places
    return 6


def _linear_candidates(lo: float, hi: float, bounded: bool) -> list[tuple[float, float, list[float]]]:
    """(axis start, axis end, ticks), from the most ticks to the fewest."""
    out: list[tuple[float, float, list[float]]] = []
    for nbins in LINEAR_BINS:
        ticks = [float(t) for t in MaxNLocator(nbins=nbins, steps=_STEPS).tick_values(lo, hi)]
        lo_t = max([t for t in ticks if t <= lo + 1e-12], default=ticks[0])
        hi_t = min([t for t in ticks if t >= hi - 1e-12], default=ticks[-1])
        if bounded:  # correlations end at -1 and 1
            lo_t, hi_t = max(lo_t, -1.0), min(hi_t, 1.0)
        span = [0.0 if abs(t) < 1e-12 else t for t in ticks if lo_t - 1e-12 <= t <= hi_t + 1e-12]
        if len(span) >= 2 and all(span != c[2] for c in out):
            out.append((lo_t, hi_t, span))
    return out


def _fits(positions_in: np.ndarray, labels: list[str]) -> bool:
    size = float(STYLE["xtick.labelsize"])
    widths = np.array([text_width_in(s, size) for s in labels])
    gaps = np.diff(positions_in) - (widths[:-1] + widths[1:]) / 2
    return bool((gaps >= TICK_GAP_IN).all())


def choose_ticks(
    lo: float, hi: float, *, log_axis: bool, bounded: bool, width_in: float
) -> tuple[tuple[float, float], list[float], list[str]]:
    """Axis limits, ticks and tick labels for an axis covering ``lo`` to ``hi`` (natural
    scale) that is ``width_in`` inches wide: the densest candidate whose labels keep apart.

    Parameters
    ----------
    lo, hi : the range to cover (``lo > 0`` on a log axis)
    log_axis : ratios (1-2-5 ticks on a log scale) or a linear axis
    bounded : a correlation axis, kept within -1 and 1
    width_in : the axis' width
    """
    if log_axis:
        candidates = [(t[0], t[-1], t, [log_label(x) for x in t]) for t in _log_candidates(lo, hi)]
    else:
        candidates = [
            (a, b, t, [fmt(x, _places(t)) for x in t]) for a, b, t in _linear_candidates(lo, hi, bounded)
        ]
    if not candidates:  # a zero-width range
        return (lo, hi), [lo, hi], [fmt(lo), fmt(hi)]
    for start, end, ticks, labels in candidates:
        scale = np.log10 if log_axis else np.asarray
        positions = (scale(ticks) - scale(start)) / (scale(end) - scale(start)) * width_in
        if _fits(positions, labels):
            return (start, end), ticks, labels
    # Nothing fits (a very narrow axis): the two outer ticks only.
    start, end, ticks, labels = candidates[-1]
    return (start, end), [ticks[0], ticks[-1]], [labels[0], labels[-1]]
