"""Figures for the brief: forest plots, funnel plots and the evidence gap map.

Every drawing function returns a :class:`matplotlib.figure.Figure` built
without pyplot (no global figure registry, safe to call from several rules at
once); :func:`save_figure` writes it as SVG and PNG, byte-identical from run to
run on the same machine and package versions.

Inputs are the tables written by :mod:`analysis.pooling.analyses`: one row of
``pooled.csv`` (a dict or a pandas Series) and the units of that analysis (one
row per independent sample, with ``study``, ``sample``, ``n_effects``, ``yi``,
``vi``, ``se``, ``ci_low``, ``ci_high``, ``weight`` in percent and ``n``).
All effect sizes arrive on the analysis scale (log OR, Fisher z, g, ...);
forest plots show them on the natural scale (OR, r, ...), funnel plots on the
analysis scale, where the funnel is symmetric.

Colours are chosen to read in greyscale and for every common form of colour
blindness: dark blue marks, grey intervals, grey shading for significance.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

# Headless, and the same rasteriser everywhere; must run before pyplot is
# imported anywhere in the process.
matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import transforms  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Polygon  # noqa: E402
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator  # noqa: E402

__all__ = [
    "THEMES",
    "OUTCOMES",
    "natural_scale",
    "analysis_scale_label",
    "forest_plot",
    "funnel_plot",
    "draw_gap_map",
    "save_figure",
    "alt_text_forest",
    "alt_text_funnel",
]

# --- constants ---------------------------------------------------------------

# Row and column order of the gap map: the themes and outcomes of the codebook.
from analysis.codebook.vocabulary import OUTCOMES, THEMES  # noqa: E402

# Two-sided 95% normal quantile, for unit CIs missing from the input and the
# funnel's pseudo-confidence lines (metafor's funnel() uses the same).
Z95 = 1.959963984540054
# Contour levels of the funnel (metafor funnel(level = c(90, 95, 99))):
# two-sided p thresholds and their normal quantiles.
CONTOUR_P: tuple[float, ...] = (0.10, 0.05, 0.01)
CONTOUR_Z: tuple[float, ...] = (1.6448536269514722, 1.959963984540054, 2.5758293035489004)

DARK_BLUE = "#08306b"  # points and squares: strong contrast on white and grey
CI_GREY = "#4d4d4d"  # interval lines: readable, quieter than the point
NULL_GREY = "#7f7f7f"  # the no-effect line
# Funnel shading, light to dark as p falls; greys survive print and every
# colour-vision deficiency. Index 0 is p > 0.10.
FUNNEL_SHADES: tuple[str, ...] = ("#ffffff", "#e6e6e6", "#cccccc", "#adadad")

FIG_WIDTH_IN = 8.0  # fits an A4/Letter text column at 100%
PNG_DPI = 150  # sharp on screen, modest file size
SVG_HASHSALT = "social-capital-meta-analysis"  # fixed ids inside the SVG

# rcParams used while building and while saving figures. Text properties are
# fixed when an artist is created, so the same context wraps both steps.
_STYLE: dict[str, Any] = {
    # DejaVu Sans ships inside matplotlib, so the glyphs are the same on every
    # machine with the pinned matplotlib.
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.labelsize": 10,
    "axes.titlesize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "axes.linewidth": 0.8,
    "axes.edgecolor": "#333333",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "svg.hashsalt": SVG_HASHSALT,
    # Glyphs as paths: the SVG renders identically without the font installed
    # and is byte-identical across machines; text is not selectable, which
    # the alt text (also written into the file's metadata) makes up for.
    "svg.fonttype": "path",
    "path.simplify": True,
    "savefig.dpi": PNG_DPI,
}

_NATURAL_LABEL: dict[str, str] = {
    "OR": "Odds ratio",
    "RR": "Risk ratio",
    "RD": "Risk difference",
    "ZCOR": "Correlation (r)",
    "ZPCOR": "Partial correlation",
    "SMD": "Hedges' g",
    "MD": "Mean difference",
    "GEN": "Effect (as coded)",
}

_ANALYSIS_LABEL: dict[str, str] = {
    "OR": "Log odds ratio",
    "RR": "Log risk ratio",
    "RD": "Risk difference",
    "ZCOR": "Fisher's z (correlation)",
    "ZPCOR": "Fisher's z (partial correlation)",
    "SMD": "Hedges' g",
    "MD": "Mean difference",
    "GEN": "Effect (as coded)",
}

_ESTIMATOR_NAME: dict[str, str] = {
    "REML": "REML",
    "ML": "ML",
    "DL": "DerSimonian–Laird",
    "HE": "Hedges",
    "PM": "Paule–Mandel",
    "EE": "equal effects",
}

_CI_METHOD_NAME: dict[str, str] = {
    "knha": "Knapp–Hartung",
    "wald": "Wald z",
}

_MINUS = "\u2212"  # typographic minus, as matplotlib's own tick labels use


# --- scales ------------------------------------------------------------------


def _identity(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _exp(x: Any) -> np.ndarray:
    return np.exp(np.asarray(x, dtype=float))


def _tanh(x: Any) -> np.ndarray:
    return np.tanh(np.asarray(x, dtype=float))


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
        scale, elementwise (exp for ratios, tanh for Fisher z, else identity).
    label : str
        Axis label on the natural scale, e.g. ``"Odds ratio"``.
    null : float
        No effect on the natural scale (1 for ratios, else 0).
    log_axis : bool
        Whether the natural-scale axis is logarithmic (ratios).
    """
    key = str(measure).upper()
    if key not in _NATURAL_LABEL:
        known = ", ".join(_NATURAL_LABEL)
        raise ValueError(f"Unknown effect measure {measure!r}; expected one of {known}.")
    if key in ("OR", "RR"):
        return _exp, _NATURAL_LABEL[key], 1.0, True
    if key in ("ZCOR", "ZPCOR"):
        return _tanh, _NATURAL_LABEL[key], 0.0, False
    return _identity, _NATURAL_LABEL[key], 0.0, False


def analysis_scale_label(measure: str) -> str:
    """Axis label on the analysis scale, e.g. ``"Log odds ratio"``."""
    key = str(measure).upper()
    if key not in _ANALYSIS_LABEL:
        known = ", ".join(_ANALYSIS_LABEL)
        raise ValueError(f"Unknown effect measure {measure!r}; expected one of {known}.")
    return _ANALYSIS_LABEL[key]


# --- small helpers -----------------------------------------------------------


def _get(row: Mapping[str, Any] | pd.Series, key: str, default: Any = None) -> Any:
    try:
        value = row[key]
    except (KeyError, IndexError):
        return default
    return value


def _num(row: Mapping[str, Any] | pd.Series, key: str) -> float:
    """A float from the row; NaN when absent or empty."""
    value = _get(row, key)
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _is_pooled(row: Mapping[str, Any] | pd.Series) -> bool:
    value = _get(row, "pooled", True)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def _text(value: Any) -> str:
    """A label field as text; '' for None/NaN."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def _decimals(values: np.ndarray) -> int:
    """Decimals for a column of natural-scale numbers: 2, or 3 when all are tiny."""
    finite = np.abs(values[np.isfinite(values)])
    if finite.size and finite.max() < 0.1:
        return 3
    return 2


def _fmt(x: float, decimals: int = 2) -> str:
    if not math.isfinite(x):
        return "NA"
    s = f"{x:.{decimals}f}"
    if s.startswith("-"):
        # "-0.00" is noise, not a negative number.
        s = s[1:] if float(s) == 0 else _MINUS + s[1:]
    return s


def _fmt_ci(est: float, lo: float, hi: float, decimals: int) -> str:
    return f"{_fmt(est, decimals)} [{_fmt(lo, decimals)}, {_fmt(hi, decimals)}]"


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "p = NA"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def _ascii(s: str) -> str:
    """Plain text for screen readers: hyphen-minus instead of the typographic one."""
    return s.replace(_MINUS, "-")


def _model_name(row: Mapping[str, Any] | pd.Series, *, spelled_out: bool = False) -> str:
    """'RE model (REML, Knapp–Hartung)', or 'EE model (Wald z)' for equal
    effects; ``spelled_out`` gives 'random-effects model ...' for alt text."""
    estimator = _text(_get(row, "estimator")).upper()
    method_raw = _text(_get(row, "ci_method"))
    method = _CI_METHOD_NAME.get(method_raw.lower(), method_raw)
    if estimator in ("EE", "FE", "CE"):
        model, parts = ("equal-effects model" if spelled_out else "EE model"), [method]
    else:
        model = "random-effects model" if spelled_out else "RE model"
        parts = [_ESTIMATOR_NAME.get(estimator, estimator), method]
    parts = [p for p in parts if p]
    return f"{model} ({', '.join(parts)})" if parts else model


def _unit_label(unit: pd.Series, labels: Mapping[str, str] | None) -> str:
    study = _text(unit.get("study"))
    label = (labels or {}).get(study, study) or study
    sample = _text(unit.get("sample"))
    if sample:
        label = f"{label} [{sample}]"
    if len(label) > 40:  # keeps the label column from running into the plot
        label = label[:39] + "…"
    return label


def _prepare_units(units: pd.DataFrame) -> pd.DataFrame:
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


def _nice_log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks spanning [lo, hi] (natural scale, lo > 0), at most 7 of them."""
    out: list[float] = []
    for steps in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10.0**e for e in range(-6, 7) for m in steps]
        below = max([t for t in ticks if t <= lo * (1 + 1e-9)], default=min(ticks))
        above = min([t for t in ticks if t >= hi * (1 - 1e-9)], default=max(ticks))
        out = [t for t in ticks if below <= t <= above]
        if len(out) <= 7:
            return out
    return out


def _tick_label(t: float) -> str:
    if t >= 1:
        return f"{t:g}"
    return _fmt(t, max(0, -math.floor(math.log10(t))))


def _axis_limits(
    unit_lo: np.ndarray,
    unit_hi: np.ndarray,
    core: list[float],
) -> tuple[float, float]:
    """Analysis-scale x range: all of the 'core' points (estimates, pooled CI,
    PI, null), and unit CIs unless they stretch far beyond it (then clipped,
    with an arrow)."""
    core_arr = np.asarray([c for c in core if math.isfinite(c)], dtype=float)
    lo, hi = float(core_arr.min()), float(core_arr.max())
    ok = np.isfinite(unit_lo) & np.isfinite(unit_hi)
    ulo, uhi = unit_lo[ok], unit_hi[ok]
    if not ulo.size:
        return lo, hi
    # CIs may extend past the core by half its span or by a typical CI width,
    # whichever is more; beyond that one imprecise study would squeeze every
    # other row into a sliver, so its CI is clipped and gets an arrow.
    slack = max(0.5 * (hi - lo), float(np.median(uhi - ulo)), 1e-6)
    lo = max(min(lo, float(ulo.min())), lo - slack)
    hi = min(max(hi, float(uhi.max())), hi + slack)
    return lo, hi


# --- forest plot -------------------------------------------------------------

_ROW_IN = 0.26  # height of one study row; fits 10 pt text with air
_LABEL_X_IN = 0.15  # left edge of the study column
_AX_LEFT_IN = 2.95  # plot area starts after a 40-character study label
_AX_RIGHT_IN = 5.55
_EST_RIGHT_IN = 7.1  # right edge of the "estimate [95% CI]" column
_WEIGHT_RIGHT_IN = 7.85  # right edge of the weight column
_MAX_SQUARE_PT = 13.0  # side of the heaviest study's square (row is ~19 pt)
_MIN_SQUARE_PT = 4.0  # lightest square stays visible


def forest_plot(
    pooled_row: Mapping[str, Any] | pd.Series,
    units: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    *,
    max_rows: int = 30,
) -> Figure:
    """A forest plot of one analysis, in the style of RevMan and metafor.

    One row per unit (study, or study sample) with a square sized by its
    weight and its 95% CI; the pooled diamond with the 95% prediction
    interval as a line through it; estimate [95% CI] and weight printed to
    the right on the natural scale; a heterogeneity footer.

    Parameters
    ----------
    pooled_row : dict or pandas.Series
        One row of ``pooled.csv``.
    units : pandas.DataFrame, shape (k, >= 4)
        The analysis' units; ``study`` and ``yi`` with ``vi`` or ``se`` are
        required, the other columns are filled in or left blank.
    labels : mapping, optional
        Study key -> ``"Author (year)"``; keys without a label show as is.
    max_rows : int
        Most unit rows drawn. Above it the ``max_rows - 1`` heaviest units
        are drawn and the rest are counted in one text row, without a CI.

    Returns
    -------
    matplotlib.figure.Figure
        8 inches wide; taller with more rows.
    """
    if max_rows < 2:
        raise ValueError("max_rows must be at least 2 (one study row and the 'other studies' row).")
    with matplotlib.rc_context(_STYLE):
        return _forest(pooled_row, units, labels, max_rows)


def _select_units(u: pd.DataFrame, max_rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(shown, hidden): all units, or the heaviest max_rows - 1 in input order."""
    if len(u) <= max_rows:
        return u, u.iloc[0:0]
    w = u["weight"].where(u["weight"].notna(), 1.0 / u["se"] ** 2)
    # Stable sort: equal weights keep their input order.
    order = (-w.fillna(0.0)).sort_values(kind="mergesort").index
    keep = sorted(order[: max_rows - 1])
    shown = u.loc[keep]
    hidden = u.drop(index=keep)
    return shown, hidden


def _forest(
    row: Mapping[str, Any] | pd.Series,
    units: pd.DataFrame,
    labels: Mapping[str, str] | None,
    max_rows: int,
) -> Figure:
    measure = _text(_get(row, "measure")) or "GEN"
    transform, nat_label, null, log_axis = natural_scale(measure)
    pooled = _is_pooled(row)
    u = _prepare_units(units)
    shown, hidden = _select_units(u, max_rows)
    has_weight = pooled and shown["weight"].notna().any()

    est, ci_lo, ci_hi = _num(row, "estimate"), _num(row, "ci_low"), _num(row, "ci_high")
    pi_lo, pi_hi = _num(row, "pi_low"), _num(row, "pi_high")
    has_pi = pooled and math.isfinite(pi_lo) and math.isfinite(pi_hi)

    # Row layout (y grows downwards, one unit = one row height).
    y = 0.0
    header_y = y
    y += 1.0
    unit_ys = []
    for _ in range(len(shown)):
        unit_ys.append(y)
        y += 1.0
    hidden_y = None
    if len(hidden):
        hidden_y = y + 0.5  # two-line row
        y += 2.0
    last_study_y = y - 1.0
    y += 0.5  # gap between studies and summary
    pooled_y = pi_y = note_y = None
    if pooled:
        pooled_y = y
        y += 1.0
        if has_pi:
            pi_y = y
            y += 1.0
    else:
        note_y = y
        y += 1.0
    n_rows = y  # rows inside the axes

    footers: list[str] = []
    if pooled:
        tau2, i2 = _num(row, "tau2"), _num(row, "i2")
        q, q_df, q_p = _num(row, "q"), _num(row, "q_df"), _num(row, "q_p")
        df_txt = f"{int(q_df)}" if math.isfinite(q_df) else "NA"
        footers.append(
            f"Heterogeneity: τ² = {_fmt(tau2, 4)}, I² = {_fmt(i2, 1)}%, "
            f"Q({df_txt}) = {_fmt(q, 2)}, {_fmt_p(q_p)}"
        )
        egger_p = _num(row, "egger_p")
        if math.isfinite(egger_p):
            footers.append(f"Egger's test for funnel asymmetry: {_fmt_p(egger_p)}")
    if (shown["n_effects"] > 1).any():
        footers.append("† several effects from one sample, combined before pooling")

    top_in, xaxis_in, footer_line_in = 0.15, 0.62, 0.22
    ax_h_in = n_rows * _ROW_IN
    height = top_in + ax_h_in + xaxis_in + footer_line_in * len(footers) + 0.1
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    ax_bottom_in = height - top_in - ax_h_in
    ax = fig.add_axes(
        (
            _AX_LEFT_IN / FIG_WIDTH_IN,
            ax_bottom_in / height,
            (_AX_RIGHT_IN - _AX_LEFT_IN) / FIG_WIDTH_IN,
            ax_h_in / height,
        )
    )
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.yaxis.set_major_locator(NullLocator())
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    row_tf = transforms.blended_transform_factory(fig.transFigure, ax.transData)

    def put(x_in: float, yy: float, s: str, **kw: Any) -> None:
        kw.setdefault("va", "center")
        kw.setdefault("fontsize", 10)
        fig.text(x_in / FIG_WIDTH_IN, yy, s, transform=row_tf, clip_on=False, **kw)

    # x range, on the analysis scale, then mapped to the natural scale.
    core = [float(v) for v in shown["yi"]] + [0.0]
    if pooled:
        core += [est, ci_lo, ci_hi] + ([pi_lo, pi_hi] if has_pi else [])
    a_lo, a_hi = _axis_limits(shown["ci_low"].to_numpy(), shown["ci_high"].to_numpy(), core)
    n_lo, n_hi = float(transform(a_lo)), float(transform(a_hi))
    if log_axis:
        ax.set_xscale("log")
        ticks = _nice_log_ticks(n_lo, n_hi)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([_tick_label(t) for t in ticks])
        ax.set_xlim(ticks[0], ticks[-1])
    else:
        ticks = list(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(n_lo, n_hi))
        lo_t = max([t for t in ticks if t <= n_lo + 1e-12], default=ticks[0])
        hi_t = min([t for t in ticks if t >= n_hi - 1e-12], default=ticks[-1])
        if measure.upper() in ("ZCOR", "ZPCOR"):
            lo_t, hi_t = max(lo_t, -1.0), min(hi_t, 1.0)
        ax.set_xlim(lo_t, hi_t)
        ax.xaxis.set_major_locator(FixedLocator([t for t in ticks if lo_t <= t <= hi_t]))
    x_min, x_max = ax.get_xlim()
    ax.set_xlabel(nat_label + (" (log scale)" if log_axis else ""))
    ax.tick_params(axis="x", direction="out", length=3)

    # No-effect line through the study and summary rows.
    ax.plot(
        [null, null],
        [header_y + 0.5, n_rows - 0.5],
        color=NULL_GREY,
        linewidth=0.8,
        zorder=1,
        gid="null-line",
    )

    # Header row.
    put(_LABEL_X_IN, header_y, "Study", fontweight="bold")
    put(_EST_RIGHT_IN, header_y, f"{nat_label} [95% CI]", fontweight="bold", ha="right")
    if has_weight:
        put(_WEIGHT_RIGHT_IN, header_y, "Weight", fontweight="bold", ha="right")

    # Units.
    nat_est = transform(shown["yi"].to_numpy())
    nat_lo = transform(shown["ci_low"].to_numpy())
    nat_hi = transform(shown["ci_high"].to_numpy())
    summary_vals = [transform(v) for v in (est, ci_lo, ci_hi, pi_lo, pi_hi)]
    decimals = _decimals(np.concatenate([nat_est, nat_lo, nat_hi, np.array(summary_vals)]))
    weights = shown["weight"].to_numpy(dtype=float)
    w_ref = np.nanmax(weights) if has_weight else 1.0
    sides = []
    for i, (_, unit) in enumerate(shown.iterrows()):
        yy = unit_ys[i]
        label = _unit_label(unit, labels)
        if unit["n_effects"] > 1:
            label += " †"
        put(_LABEL_X_IN, yy, label)
        put(_EST_RIGHT_IN, yy, _fmt_ci(nat_est[i], nat_lo[i], nat_hi[i], decimals), ha="right")
        if has_weight:
            w = weights[i]
            put(_WEIGHT_RIGHT_IN, yy, f"{w:.1f}%" if math.isfinite(w) else "—", ha="right")
        lo_c, hi_c = max(nat_lo[i], x_min), min(nat_hi[i], x_max)
        ax.plot([lo_c, hi_c], [yy, yy], color=CI_GREY, linewidth=1.0, zorder=2)
        # An arrow head where the CI runs past the axis.
        if nat_lo[i] < x_min:
            ax.plot([x_min], [yy], marker="<", color=CI_GREY, markersize=4, zorder=2)
        if nat_hi[i] > x_max:
            ax.plot([x_max], [yy], marker=">", color=CI_GREY, markersize=4, zorder=2)
        if has_weight and math.isfinite(weights[i]):
            side = _MAX_SQUARE_PT * math.sqrt(max(weights[i], 0.0) / w_ref)
        else:
            side = 0.6 * _MAX_SQUARE_PT
        sides.append(max(side, _MIN_SQUARE_PT))
    if len(shown):
        xs = np.clip(nat_est, x_min, x_max)
        ax.scatter(
            xs,
            unit_ys,
            s=np.square(sides),
            marker="s",
            color=DARK_BLUE,
            linewidths=0,
            zorder=3,
            gid="unit-squares",
        )

    if hidden_y is not None:
        hidden_w = float(hidden["weight"].sum(min_count=1)) if pooled else math.nan
        n_hidden = len(hidden)
        noun = "study" if n_hidden == 1 else "studies"
        share = f" ({hidden_w:.1f}% of weight)" if math.isfinite(hidden_w) else ""
        put(
            _LABEL_X_IN,
            hidden_y,
            f"{n_hidden} other {noun}{share},\nnot shown individually; see units CSV",
            style="italic",
            color="#333333",
            linespacing=1.3,
            gid="other-studies",
        )
        if has_weight and math.isfinite(hidden_w):
            put(_WEIGHT_RIGHT_IN, hidden_y, f"{hidden_w:.1f}%", ha="right", style="italic")

    # Separator between studies and the summary.
    ax.plot(
        [x_min, x_max],
        [last_study_y + 0.75, last_study_y + 0.75],
        color="#bbbbbb",
        linewidth=0.6,
        zorder=1,
    )

    if pooled and pooled_y is not None:
        n_est, n_clo, n_chi, n_plo, n_phi = summary_vals
        if has_pi:
            # metafor's addpred: the prediction interval as a line through the diamond.
            ax.plot(
                [max(n_plo, x_min), min(n_phi, x_max)],
                [pooled_y, pooled_y],
                color=CI_GREY,
                linewidth=1.0,
                zorder=2,
                gid="prediction-interval",
            )
            for x_end in (n_plo, n_phi):
                if x_min <= x_end <= x_max:
                    ax.plot(
                        [x_end, x_end],
                        [pooled_y - 0.22, pooled_y + 0.22],
                        color=CI_GREY,
                        linewidth=1.0,
                        zorder=2,
                    )
        diamond = Polygon(
            [
                (n_clo, pooled_y),
                (n_est, pooled_y - 0.38),
                (n_chi, pooled_y),
                (n_est, pooled_y + 0.38),
            ],
            closed=True,
            facecolor=DARK_BLUE,
            edgecolor=DARK_BLUE,
            linewidth=0.8,
            zorder=4,
            gid="pooled-diamond",
        )
        ax.add_patch(diamond)
        k = int(_num(row, "k")) if math.isfinite(_num(row, "k")) else len(u)
        put(_LABEL_X_IN, pooled_y, f"{_model_name(row)}, k = {k}", fontweight="bold")
        put(
            _EST_RIGHT_IN,
            pooled_y,
            _fmt_ci(n_est, n_clo, n_chi, decimals),
            ha="right",
            fontweight="bold",
            gid="pooled-estimate",
        )
        if has_weight:
            put(_WEIGHT_RIGHT_IN, pooled_y, "100%", ha="right", fontweight="bold")
        if has_pi and pi_y is not None:
            put(_LABEL_X_IN, pi_y, "95% prediction interval")
            put(
                _EST_RIGHT_IN,
                pi_y,
                f"[{_fmt(n_plo, decimals)}, {_fmt(n_phi, decimals)}]",
                ha="right",
                gid="prediction-interval-text",
            )
    elif note_y is not None:
        note = (
            "Single study: reported, not pooled" if len(u) == 1 else "Not pooled: studies reported one by one"
        )
        put(_LABEL_X_IN, note_y, note, style="italic", gid="not-pooled-note")

    for j, line in enumerate(footers):
        y_in = ax_bottom_in - xaxis_in - footer_line_in * j
        fig.text(_LABEL_X_IN / FIG_WIDTH_IN, y_in / height, line, fontsize=9, va="top")
    return fig


# --- funnel plot -------------------------------------------------------------


def funnel_plot(pooled_row: Mapping[str, Any] | pd.Series, units: pd.DataFrame) -> Figure:
    """A contour-enhanced funnel plot (metafor ``funnel(level = c(90, 95, 99))``).

    Effects on the analysis scale against their standard error (0 at the
    top). Grey bands, centred on no effect, show where a study alone would be
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
    with matplotlib.rc_context(_STYLE):
        return _funnel(pooled_row, units)


def _funnel(row: Mapping[str, Any] | pd.Series, units: pd.DataFrame) -> Figure:
    measure = _text(_get(row, "measure")) or "GEN"
    x_label = analysis_scale_label(measure)
    u = _prepare_units(units)
    yi = u["yi"].to_numpy(dtype=float)
    se = u["se"].to_numpy(dtype=float)
    est = _num(row, "estimate")
    pooled = _is_pooled(row) and math.isfinite(est)
    k = len(u)

    notes: list[str] = []
    if k < 10:
        notes.append(f"k = {k}: too few studies to judge asymmetry (10 or more advised).")
    egger_p = _num(row, "egger_p")
    if math.isfinite(egger_p):
        notes.append(f"Egger's test for funnel asymmetry: {_fmt_p(egger_p)}")

    height = 4.6 + 0.2 * len(notes)
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    bottom_in = 0.6 + 0.2 * len(notes)
    ax = fig.add_axes((0.8 / FIG_WIDTH_IN, bottom_in / height, 4.5 / FIG_WIDTH_IN, 3.85 / height))

    finite_se = se[np.isfinite(se)]
    se_max = float(finite_se.max()) * 1.08 if finite_se.size else 1.0
    z99 = CONTOUR_Z[-1]
    x_candidates = np.concatenate([yi[np.isfinite(yi)], [-z99 * se_max, z99 * se_max]])
    if pooled:
        x_candidates = np.append(x_candidates, [est - Z95 * se_max, est + Z95 * se_max])
    x_lo, x_hi = float(x_candidates.min()), float(x_candidates.max())
    pad = 0.04 * (x_hi - x_lo)
    x_lo, x_hi = x_lo - pad, x_hi + pad

    # Bands, darkest (p < 0.01, the whole area) first, each lighter triangle
    # on top, down to white inside the 90% contour.
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
    ax.axvline(0.0, color=NULL_GREY, linewidth=0.6, zorder=1)

    if pooled:
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
    ax.scatter(
        yi,
        se,
        s=30,
        color=DARK_BLUE,
        edgecolors="white",
        linewidths=0.6,
        zorder=3,
        gid="unit-points",
    )
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(se_max, 0.0)
    ax.set_xlabel(x_label)
    ax.set_ylabel("Standard error")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)

    handles: list[Any] = [
        Patch(facecolor=FUNNEL_SHADES[0], edgecolor="#999999", linewidth=0.5, label="p > 0.10"),
        Patch(facecolor=FUNNEL_SHADES[1], edgecolor="none", label="0.05 < p < 0.10"),
        Patch(facecolor=FUNNEL_SHADES[2], edgecolor="none", label="0.01 < p < 0.05"),
        Patch(facecolor=FUNNEL_SHADES[3], edgecolor="none", label="p < 0.01"),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            color=DARK_BLUE,
            markeredgecolor="white",
            label="Study",
        ),
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
        bbox_to_anchor=(5.45 / FIG_WIDTH_IN, (bottom_in + 3.85) / height),
        frameon=False,
        title="Significance of a single study\n(two-sided, against no effect)",
        title_fontsize=9,
        alignment="left",
    )
    for j, line in enumerate(notes):
        y_in = 0.08 + 0.2 * (len(notes) - 1 - j)
        fig.text(0.15 / FIG_WIDTH_IN, y_in / height, line, fontsize=9)
    return fig


# --- evidence gap map --------------------------------------------------------


def draw_gap_map(counts: pd.DataFrame) -> Figure:
    """The evidence gap map: themes (rows) by outcomes (columns).

    Parameters
    ----------
    counts : pandas.DataFrame, shape (m, 4)
        Columns ``theme``, ``outcome``, ``coded``, ``narrative``; repeated
        (theme, outcome) pairs are summed, missing ones count as 0. Themes
        and outcomes outside the codebook are added after the known ones.

    Returns
    -------
    matplotlib.figure.Figure
        Each cell reads "coded / narrative"; its shade is the total.
    """
    with matplotlib.rc_context(_STYLE):
        return _gap_map(counts)


def _gap_map(counts: pd.DataFrame) -> Figure:
    c = counts.copy()
    for col in ("coded", "narrative"):
        c[col] = pd.to_numeric(c[col], errors="coerce").fillna(0).astype(int)
    c["theme"] = c["theme"].astype(str)
    c["outcome"] = c["outcome"].astype(str)
    themes = list(THEMES) + sorted(set(c["theme"]) - set(THEMES))
    outcomes = list(OUTCOMES) + sorted(set(c["outcome"]) - set(OUTCOMES))
    summed = c.groupby(["theme", "outcome"])[["coded", "narrative"]].sum()
    coded = np.zeros((len(themes), len(outcomes)), dtype=int)
    narrative = np.zeros_like(coded)
    for (theme, outcome), vals in summed.iterrows():
        i, j = themes.index(theme), outcomes.index(outcome)
        coded[i, j], narrative[i, j] = int(vals["coded"]), int(vals["narrative"])
    total = coded + narrative
    vmax = max(int(total.max()), 1)

    cell_w, cell_h = 0.92, 0.5  # room for "Employment" at 10 pt
    left_in, top_in, bottom_in = 1.35, 0.7, 0.5
    grid_w, grid_h = cell_w * len(outcomes), cell_h * len(themes)
    width = max(FIG_WIDTH_IN, left_in + grid_w + 0.15)
    height = top_in + grid_h + bottom_in
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((left_in / width, bottom_in / height, grid_w / width, grid_h / height))
    # Sequential single-hue blues: ordered lightness reads in greyscale and
    # for all colour-vision deficiencies. The counts are printed in every
    # cell, so the shade only guides the eye and needs no colour bar.
    cmap = matplotlib.colormaps["Blues"]
    mesh = ax.pcolormesh(
        np.arange(len(outcomes) + 1),
        np.arange(len(themes) + 1),
        total,
        cmap=cmap,
        vmin=0,
        vmax=vmax * 1.15,  # keep the fullest cell from going near-black
        edgecolors="white",
        linewidth=2.0,
        gid="gap-map-cells",
    )
    ax.set_xlim(0, len(outcomes))
    ax.set_ylim(len(themes), 0)
    norm = mesh.norm
    for i in range(len(themes)):
        for j in range(len(outcomes)):
            r, g, b, _ = cmap(norm(total[i, j]))
            luminance = 0.299 * r + 0.587 * g + 0.114 * b
            if luminance < 0.5:
                colour = "white"
            else:
                colour = "#222222" if total[i, j] else "#8c8c8c"  # gaps in grey
            ax.text(
                j + 0.5,
                i + 0.5,
                f"{coded[i, j]} / {narrative[i, j]}",
                ha="center",
                va="center",
                fontsize=10,
                color=colour,
                gid=f"cell-{themes[i]}-{outcomes[j]}",
            )
    ax.set_xticks(np.arange(len(outcomes)) + 0.5)
    ax.set_xticklabels([o.capitalize() for o in outcomes], fontsize=10)
    ax.set_yticks(np.arange(len(themes)) + 0.5)
    ax.set_yticklabels([t.capitalize() for t in themes], fontsize=10)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.tick_params(length=0)
    ax.set_xlabel("Outcome", labelpad=8, fontweight="bold")
    ax.set_ylabel("Social capital theme", labelpad=8, fontweight="bold")
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.text(
        left_in / width,
        0.15 / height,
        "Each cell: studies with coded effects / narrative-only studies; darker = more studies in total.",
        fontsize=9,
        color="#333333",
    )
    return fig


# --- saving ------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    from analysis.io import atomic_output  # the project's one atomic writer

    with atomic_output(path) as handle:
        write(handle)


def save_figure(
    fig: Figure,
    path_without_suffix: str | os.PathLike[str],
    *,
    alt_text: str | None = None,
) -> list[Path]:
    """Write ``<path>.svg`` and ``<path>.png``, byte-identical on every run.

    Fixed SVG hash salt, no dates or software names in the files, a fixed
    resolution (150 dpi), each file written to a temporary name and renamed
    so a half-written figure never appears. The figure is closed afterwards.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path_without_suffix : path-like
        E.g. ``results/figures/forest-bonding-health-or``; folders are made.
    alt_text : str, optional
        Stored as the SVG description and the PNG ``Description`` chunk.

    Returns
    -------
    list of pathlib.Path
        The SVG and the PNG, in that order.
    """
    base = Path(path_without_suffix)
    base.parent.mkdir(parents=True, exist_ok=True)
    svg_path = base.with_name(base.name + ".svg")
    png_path = base.with_name(base.name + ".png")
    svg_meta: dict[str, Any] = {"Date": None, "Creator": None}
    png_meta: dict[str, Any] = {"Software": None}
    if alt_text:
        svg_meta["Description"] = alt_text
        png_meta["Description"] = alt_text
    with matplotlib.rc_context(_STYLE):
        _atomic_write(
            svg_path,
            lambda fh: fig.savefig(fh, format="svg", metadata=svg_meta, facecolor="white"),
        )
        _atomic_write(
            png_path,
            lambda fh: fig.savefig(fh, format="png", dpi=PNG_DPI, metadata=png_meta, facecolor="white"),
        )
    import matplotlib.pyplot as plt  # late: only to release a pyplot-made figure

    plt.close(fig)
    return [svg_path, png_path]


# --- alt text ----------------------------------------------------------------


def _scale_phrase(measure: str) -> str:
    _, label, _, _ = natural_scale(measure)
    return label[0].lower() + label[1:] if not label.startswith("Hedges") else label


def alt_text_forest(
    pooled_row: Mapping[str, Any] | pd.Series,
    units: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
) -> str:
    """One to three sentences describing the forest plot, with its numbers."""
    measure = _text(_get(pooled_row, "measure")) or "GEN"
    transform, _, _, _ = natural_scale(measure)
    phrase = _scale_phrase(measure)
    u = _prepare_units(units)
    k_val = _num(pooled_row, "k")
    k = int(k_val) if math.isfinite(k_val) else len(u)
    analysis = _text(_get(pooled_row, "analysis_id"))
    about = f" for {analysis}" if analysis else ""
    if not _is_pooled(pooled_row) or not math.isfinite(_num(pooled_row, "estimate")):
        if len(u) == 1:
            unit = u.iloc[0]
            e, lo, hi = (float(transform(unit[c])) for c in ("yi", "ci_low", "ci_high"))
            d = _decimals(np.array([e, lo, hi]))
            return _ascii(
                f"Forest plot of a single study{about} (k = 1), {_unit_label(unit, labels)}: "
                f"{phrase} {_fmt(e, d)} (95% CI {_fmt(lo, d)} to {_fmt(hi, d)}); "
                "reported, not pooled."
            )
        return f"Forest plot of {k} studies{about} (k = {k}), reported one by one, not pooled."
    est, lo, hi = (float(transform(_num(pooled_row, c))) for c in ("estimate", "ci_low", "ci_high"))
    d = _decimals(np.array([est, lo, hi]))
    text = (
        f"Forest plot of {k} studies{about} (k = {k}). "
        f"Pooled {phrase} {_fmt(est, d)} (95% CI {_fmt(lo, d)} to {_fmt(hi, d)}"
    )
    pi_lo, pi_hi = _num(pooled_row, "pi_low"), _num(pooled_row, "pi_high")
    if math.isfinite(pi_lo) and math.isfinite(pi_hi):
        text += (
            f"; 95% prediction interval {_fmt(float(transform(pi_lo)), d)} "
            f"to {_fmt(float(transform(pi_hi)), d)}"
        )
    text += f"), {_model_name(pooled_row, spelled_out=True)}."
    i2 = _num(pooled_row, "i2")
    if math.isfinite(i2):
        text += f" Heterogeneity I-squared = {i2:.1f}%."
    return _ascii(text)


def alt_text_funnel(pooled_row: Mapping[str, Any] | pd.Series, units: pd.DataFrame) -> str:
    """One to three sentences describing the funnel plot, with its numbers."""
    measure = _text(_get(pooled_row, "measure")) or "GEN"
    transform, _, _, _ = natural_scale(measure)
    scale = analysis_scale_label(measure).lower()
    k = len(units)
    text = (
        f"Contour-enhanced funnel plot of {k} studies (k = {k}): {scale} "
        "against standard error, with bands where a single study is significant "
        "at p < 0.10, 0.05 and 0.01."
    )
    est = _num(pooled_row, "estimate")
    if _is_pooled(pooled_row) and math.isfinite(est):
        nat = float(transform(est))
        natural = "" if transform is _identity else f" ({_scale_phrase(measure)} {_fmt(nat, 2)})"
        text += f" Pooled estimate {_fmt(est, 2)}{natural}"
        i2 = _num(pooled_row, "i2")
        if math.isfinite(i2):
            text += f", I-squared = {i2:.1f}%"
        egger_p = _num(pooled_row, "egger_p")
        if math.isfinite(egger_p):
            text += f", Egger's test {_fmt_p(egger_p)}"
        text += "."
    return _ascii(text)
