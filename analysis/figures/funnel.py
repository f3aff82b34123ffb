"""Contour-enhanced funnel plots (metafor ``funnel(level = c(90, 95, 99))``).

Effects on the analysis scale, where the funnel is symmetric, against their
standard error (0 at the top).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib.ticker import MaxNLocator

from analysis.figures.scales import Z95, analysis_scale_label, is_pooled, measure_of, num, prepare_units
from analysis.figures.style import DARK_BLUE, FIG_WIDTH_IN, FUNNEL_SHADES, NULL_GREY, style
from analysis.figures.words import BIAS_MIN_STUDIES, EGGER_MIN_STUDIES, p_text, unit_words

# Contour levels of the funnel (metafor funnel(level = c(90, 95, 99))):
# two-sided p thresholds and their normal quantiles.
CONTOUR_P: tuple[float, ...] = (0.10, 0.05, 0.01)
CONTOUR_Z: tuple[float, ...] = (1.6448536269514722, 1.959963984540054, 2.5758293035489004)
_AX_H_IN = 3.85  # height of the plot area


def funnel_plot(pooled_row: Mapping[str, Any] | pd.Series, units: pd.DataFrame) -> Figure:
    """A contour-enhanced funnel plot of one analysis.

    Grey bands, centred on no effect, show where a study alone would be
    significant at p < 0.10, 0.05 and 0.01; dashed lines give the 95%
    pseudo-confidence funnel around the pooled estimate.

    Parameters
    ----------
    pooled_row : dict or pandas.Series
        One row of ``pooled.csv``.
    units : pandas.DataFrame, shape (k, >= 2)
        ``yi`` with ``se`` or ``vi``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    with style():
        return _funnel(pooled_row, units)


def _notes(row: Mapping[str, Any] | pd.Series, units: pd.DataFrame) -> list[str]:
    notes: list[str] = []
    k, n_studies = len(units), unit_words(units).n_studies
    if n_studies < BIAS_MIN_STUDIES:
        notes.append(
            f"{n_studies} {'study' if n_studies == 1 else 'studies'}: publication bias compares studies, "
            "so this plot cannot show it."
        )
    elif k < 10:
        notes.append(f"k = {k}: too few studies to judge asymmetry (10 or more advised).")
    egger_p = num(row, "egger_p")
    if math.isfinite(egger_p) and n_studies >= EGGER_MIN_STUDIES:
        notes.append(f"Egger's test for funnel asymmetry: {p_text(egger_p)}")
    return notes


def _x_range(yi: np.ndarray, se_max: float, est: float, pooled: bool) -> tuple[float, float]:
    """Every point, the 99% contour and (when pooled) the pseudo-CI at the largest se."""
    z99 = CONTOUR_Z[-1]
    x_candidates = np.concatenate([yi[np.isfinite(yi)], [-z99 * se_max, z99 * se_max]])
    if pooled:
        x_candidates = np.append(x_candidates, [est - Z95 * se_max, est + Z95 * se_max])
    x_lo, x_hi = float(x_candidates.min()), float(x_candidates.max())
    pad = 0.04 * (x_hi - x_lo)
    return x_lo - pad, x_hi + pad


def _bands(ax: Any, x_lo: float, x_hi: float, se_max: float) -> None:
    """Bands, darkest (p < 0.01, the whole area) first, each lighter triangle
    on top, down to white inside the 90% contour."""
    ax.add_patch(
        Polygon(
            [(x_lo, 0.0), (x_hi, 0.0), (x_hi, se_max), (x_lo, se_max)],
            closed=True,
            facecolor=FUNNEL_SHADES[3],
            edgecolor="none",
            zorder=0,
            gid="contour-p<0.01",
        )
    )
    # Inside the 99% contour 0.01 < p < 0.05, inside 95% 0.05 < p < 0.10,
    # inside 90% p > 0.10.
    band_gids = ("contour-p<0.05", "contour-p<0.10", "contour-p>0.10")
    for i, z in enumerate(reversed(CONTOUR_Z)):  # 99%, 95%, 90%
        ax.add_patch(
            Polygon(
                [(-z * se_max, se_max), (0.0, 0.0), (z * se_max, se_max)],
                closed=True,
                facecolor=FUNNEL_SHADES[2 - i],
                edgecolor="none",
                zorder=0,
                gid=band_gids[i],
            )
        )


def _pooled_lines(ax: Any, est: float, se_max: float) -> None:
    ax.plot([est, est], [0.0, se_max], color="black", linewidth=1.0, zorder=2, gid="pooled-line")
    ax.plot(
        [est - Z95 * se_max, est, est + Z95 * se_max],
        [se_max, 0.0, se_max],
        color="black",
        linewidth=0.9,
        linestyle=(0, (4, 3)),
        zorder=2,
        gid="pseudo-ci",
    )


def _legend(fig: Figure, pooled: bool, top: float) -> None:
    handles: list[Any] = [
        Patch(facecolor=FUNNEL_SHADES[0], edgecolor="#999999", linewidth=0.5, label="p > 0.10"),
        Patch(facecolor=FUNNEL_SHADES[1], edgecolor="none", label="0.05 < p < 0.10"),
        Patch(facecolor=FUNNEL_SHADES[2], edgecolor="none", label="0.01 < p < 0.05"),
        Patch(facecolor=FUNNEL_SHADES[3], edgecolor="none", label="p < 0.01"),
        Line2D([], [], marker="o", linestyle="none", color=DARK_BLUE, markeredgecolor="white", label="Study"),
    ]
    if pooled:
        handles += [
            Line2D([], [], color="black", linewidth=1.0, label="Pooled estimate"),
            Line2D(
                [],
                [],
                color="black",
                linewidth=0.9,
                linestyle=(0, (4, 3)),
                label="95% pseudo-confidence limits",
            ),
        ]
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(5.45 / FIG_WIDTH_IN, top),
        frameon=False,
        title="Significance of a single study\n(two-sided, against no effect)",
        title_fontsize=9,
        alignment="left",
    )


def _funnel(row: Mapping[str, Any] | pd.Series, units: pd.DataFrame) -> Figure:
    u = prepare_units(units)
    yi = u["yi"].to_numpy(dtype=float)
    se = u["se"].to_numpy(dtype=float)
    est = num(row, "estimate")
    pooled = is_pooled(row) and math.isfinite(est)
    notes = _notes(row, u)

    height = 4.6 + 0.2 * len(notes)
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    bottom_in = 0.6 + 0.2 * len(notes)
    ax = fig.add_axes((0.8 / FIG_WIDTH_IN, bottom_in / height, 4.5 / FIG_WIDTH_IN, _AX_H_IN / height))

    finite_se = se[np.isfinite(se)]
    se_max = float(finite_se.max()) * 1.08 if finite_se.size else 1.0
    x_lo, x_hi = _x_range(yi, se_max, est, pooled)
    _bands(ax, x_lo, x_hi, se_max)
    ax.axvline(0.0, color=NULL_GREY, linewidth=0.6, zorder=1)
    if pooled:
        _pooled_lines(ax, est, se_max)
    ax.scatter(yi, se, s=30, color=DARK_BLUE, edgecolors="white", linewidths=0.6, zorder=3, gid="unit-points")
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(se_max, 0.0)
    ax.set_xlabel(analysis_scale_label(measure_of(row)))
    ax.set_ylabel("Standard error")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    _legend(fig, pooled, (bottom_in + _AX_H_IN) / height)
    for j, line in enumerate(notes):
        y_in = 0.08 + 0.2 * (len(notes) - 1 - j)
        fig.text(0.15 / FIG_WIDTH_IN, y_in / height, line, fontsize=9)
    return fig
