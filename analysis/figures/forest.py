"""Forest plots, in the style of RevMan and metafor.

One row per unit (study, or study sample) with a square sized by its weight
and its 95% CI; the pooled diamond with the 95% prediction interval as a line
through it; estimate [95% CI] and weight printed to the right on the natural
scale; a heterogeneity footer. Drawn in named steps (:class:`_Forest`): the
row layout, the canvas, the x axis, the rows, the summary and the footer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator, NullLocator

from analysis.codebook.vocabulary import US_STATE_NAME
from analysis.figures.scales import as_text, is_pooled, measure_of, natural_scale, num, prepare_units
from analysis.figures.style import (
    CI_GREY,
    DARK_BLUE,
    FIG_WIDTH_IN,
    NULL_GREY,
    TEXT_GREY,
    style,
    text_width_in,
)
from analysis.figures.ticks import choose_ticks
from analysis.figures.words import (
    EGGER_MIN_STUDIES,
    decimals,
    fit_width,
    fmt,
    fmt_ci,
    model_name,
    p_text,
    row_label,
    unit_words,
)

_ROW_IN = 0.26  # height of one study row; fits 10 pt text with air
_LABEL_X_IN = 0.15  # left edge of the study column
_AX_LEFT_IN = 2.95  # plot area starts after a 40-character study label
_AX_RIGHT_IN = 5.55
_EST_RIGHT_IN = 7.1  # right edge of the "estimate [95% CI]" column
_WEIGHT_RIGHT_IN = 7.85  # right edge of the weight column
_MAX_SQUARE_PT = 13.0  # side of the heaviest study's square (row is ~19 pt)
_MIN_SQUARE_PT = 4.0  # lightest square stays visible
_TOP_IN, _XAXIS_IN, _FOOTER_LINE_IN = 0.15, 0.62, 0.22  # margins above, x axis, footer lines
_COLUMN_GAP_IN = 0.12  # clear space between the label column and the plot area
_FOOTER_WIDTH_IN = FIG_WIDTH_IN - 2 * _LABEL_X_IN


def forest_plot(
    pooled_row: Mapping[str, Any] | pd.Series,
    units: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    *,
    max_rows: int = 30,
    source: str | None = None,
) -> Figure:
    """A forest plot of one analysis.

    When every unit comes from one study (a dataset split into areas), the rows are named
    as samples of that study, or as states when the samples are US states, and a line
    under the plot names the study; Egger's test is printed only for units from at least
    ``BIAS_MIN_STUDIES`` studies.

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
    source : str, optional
        How to name the one study that all units come from
        (``"Opportunity Insights (2022), Social Capital Atlas"``); its label by default.

    Returns
    -------
    matplotlib.figure.Figure
        8 inches wide; taller with more rows.
    """
    if max_rows < 2:
        raise ValueError("max_rows must be at least 2 (one study row and the 'other studies' row).")
    with style():
        return _Forest(pooled_row, units, labels, max_rows, source).draw()


def axis_limits(unit_lo: np.ndarray, unit_hi: np.ndarray, core: list[float]) -> tuple[float, float]:
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


def select_units(u: pd.DataFrame, max_rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(shown, hidden): all units, or the heaviest max_rows - 1 in input order."""
    if len(u) <= max_rows:
        return u, u.iloc[0:0]
    w = u["weight"].where(u["weight"].notna(), 1.0 / u["se"] ** 2)
    # Stable sort: equal weights keep their input order.
    order = (-w.fillna(0.0)).sort_values(kind="mergesort").index
    keep = sorted(order[: max_rows - 1])
    return u.loc[keep], u.drop(index=keep)


@dataclass
class _Rows:
    """Where each row sits (y grows downwards, one unit = one row height)."""

    header: float = 0.0
    units: list[float] = field(default_factory=list)
    hidden: float | None = None
    last_study: float = 0.0
    pooled: float | None = None
    pi: float | None = None
    note: float | None = None
    total: float = 0.0


def _row_layout(n_shown: int, n_hidden: int, pooled: bool, has_pi: bool) -> _Rows:
    rows = _Rows()
    y = 1.0
    for _ in range(n_shown):
        rows.units.append(y)
        y += 1.0
    if n_hidden:
        rows.hidden = y + 0.5  # two-line row
        y += 2.0
    rows.last_study = y - 1.0
    y += 0.5  # gap between studies and summary
    if pooled:
        rows.pooled = y
        y += 1.0
        if has_pi:
            rows.pi = y
            y += 1.0
    else:
        rows.note = y
        y += 1.0
    rows.total = y
    return rows


class _Forest:
    """One forest plot, drawn step by step by :meth:`draw`."""

    def __init__(
        self,
        row: Mapping[str, Any] | pd.Series,
        units: pd.DataFrame,
        labels: Mapping[str, str] | None,
        max_rows: int,
        source: str | None = None,
    ) -> None:
        self.row, self.labels = row, labels
        self.measure = measure_of(row)
        self.transform, self.nat_label, self.null, self.log_axis = natural_scale(self.measure)
        self.pooled = is_pooled(row)
        self.u = prepare_units(units)
        self.words = unit_words(self.u)
        if self.words.one == "state":  # a reader looks a state up by its name
            names = self.u["sample"].map(lambda code: US_STATE_NAME[as_text(code)])
            self.u = self.u.iloc[names.argsort(kind="mergesort")].reset_index(drop=True)
        self.shown, self.hidden = select_units(self.u, max_rows)
        self.has_weight = self.pooled and self.shown["weight"].notna().any()
        self.est, self.ci_lo, self.ci_hi = num(row, "estimate"), num(row, "ci_low"), num(row, "ci_high")
        self.pi_lo, self.pi_hi = num(row, "pi_low"), num(row, "pi_high")
        self.has_pi = self.pooled and math.isfinite(self.pi_lo) and math.isfinite(self.pi_hi)
        self.rows = _row_layout(len(self.shown), len(self.hidden), self.pooled, self.has_pi)
        study = self.words.study
        self.source = source or (labels or {}).get(study, study)

    @property
    def label_width_in(self) -> float:
        """Width of the label column, up to the gap before the plot area."""
        return _AX_LEFT_IN - _COLUMN_GAP_IN - _LABEL_X_IN

    def draw(self) -> Figure:
        footers = self._footers()
        self._canvas(len(footers))
        self._x_axis()
        self._null_line()
        self._header()
        self._unit_rows()
        self._hidden_row()
        self._summary()
        for j, line in enumerate(footers):
            y_in = self.ax_bottom_in - _XAXIS_IN - _FOOTER_LINE_IN * j
            self.fig.text(_LABEL_X_IN / FIG_WIDTH_IN, y_in / self.height, line, fontsize=9, va="top")
        return self.fig

    def _footers(self) -> list[str]:
        footers: list[str] = []
        row, words = self.row, self.words
        if words.of_one_study:
            footers.append(
                fit_width(
                    f"Rows: {words.count(words.k)} of one study ({self.source}), not {words.k} studies.",
                    _FOOTER_WIDTH_IN,
                    9,
                )
            )
        if self.pooled:
            tau2, i2 = num(row, "tau2"), num(row, "i2")
            q, q_df, q_p = num(row, "q"), num(row, "q_df"), num(row, "q_p")
            df_txt = f"{int(q_df)}" if math.isfinite(q_df) else "NA"
            footers.append(
                f"{model_name(row)}. Heterogeneity: τ² = {fmt(tau2, 4)}, I² = {fmt(i2, 1)}%, "
                f"Q({df_txt}) = {fmt(q, 2)}, {p_text(q_p)}"
            )
            egger_p = num(row, "egger_p")
            if math.isfinite(egger_p) and words.n_studies >= EGGER_MIN_STUDIES:
                footers.append(f"Egger's test for funnel asymmetry: {p_text(egger_p)}")
        if (self.shown["n_effects"] > 1).any():
            footers.append("† several effects from one sample, combined before pooling")
        return footers

    def _canvas(self, n_footers: int) -> None:
        ax_h_in = self.rows.total * _ROW_IN
        self.height = _TOP_IN + ax_h_in + _XAXIS_IN + _FOOTER_LINE_IN * n_footers + 0.1
        self.fig = Figure(figsize=(FIG_WIDTH_IN, self.height))
        self.ax_bottom_in = self.height - _TOP_IN - ax_h_in
        self.ax = self.fig.add_axes(
            (
                _AX_LEFT_IN / FIG_WIDTH_IN,
                self.ax_bottom_in / self.height,
                (_AX_RIGHT_IN - _AX_LEFT_IN) / FIG_WIDTH_IN,
                ax_h_in / self.height,
            )
        )
        self.ax.set_ylim(self.rows.total - 0.5, -0.5)
        self.ax.yaxis.set_major_locator(NullLocator())
        for side in ("left", "right", "top"):
            self.ax.spines[side].set_visible(False)
        self.row_tf = transforms.blended_transform_factory(self.fig.transFigure, self.ax.transData)

    def put(self, x_in: float, yy: float, s: str, **kw: Any) -> None:
        """Text at ``x_in`` inches from the left, on row ``yy``."""
        kw.setdefault("va", "center")
        kw.setdefault("fontsize", 10)
        self.fig.text(x_in / FIG_WIDTH_IN, yy, s, transform=self.row_tf, clip_on=False, **kw)

    def _x_axis(self) -> None:
        """x range on the analysis scale, then mapped to the natural scale, with its ticks."""
        ax, shown = self.ax, self.shown
        core = [float(v) for v in shown["yi"]] + [0.0]
        if self.pooled:
            core += [self.est, self.ci_lo, self.ci_hi] + ([self.pi_lo, self.pi_hi] if self.has_pi else [])
        a_lo, a_hi = axis_limits(shown["ci_low"].to_numpy(), shown["ci_high"].to_numpy(), core)
        n_lo, n_hi = float(self.transform(a_lo)), float(self.transform(a_hi))
        if self.log_axis:
            ax.set_xscale("log")
            ax.xaxis.set_minor_locator(NullLocator())
        limits, ticks, labels = choose_ticks(
            n_lo,
            n_hi,
            log_axis=self.log_axis,
            bounded=self.measure.upper() in ("ZCOR", "ZPCOR"),
            width_in=_AX_RIGHT_IN - _AX_LEFT_IN,
        )
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xticklabels(labels)
        ax.set_xlim(*limits)
        self.x_min, self.x_max = ax.get_xlim()
        ax.set_xlabel(self.nat_label + (" (log scale)" if self.log_axis else ""))
        ax.tick_params(axis="x", direction="out", length=3)

    def _null_line(self) -> None:
        """The no-effect line through the study and summary rows."""
        self.ax.plot(
            [self.null, self.null],
            [self.rows.header + 0.5, self.rows.total - 0.5],
            color=NULL_GREY,
            linewidth=0.8,
            zorder=1,
            gid="null-line",
        )

    def _header(self) -> None:
        y = self.rows.header
        self.put(_LABEL_X_IN, y, self.words.header, fontweight="bold")
        self.put(_EST_RIGHT_IN, y, f"{self.nat_label} [95% CI]", fontweight="bold", ha="right")
        if self.has_weight:
            self.put(_WEIGHT_RIGHT_IN, y, "Weight", fontweight="bold", ha="right")

    def _unit_rows(self) -> None:
        """Label, estimate [CI] and weight of each unit; its CI line and its square."""
        shown, ax, tf = self.shown, self.ax, self.transform
        nat_est, nat_lo, nat_hi = (tf(shown[c].to_numpy()) for c in ("yi", "ci_low", "ci_high"))
        self.summary_vals = [tf(v) for v in (self.est, self.ci_lo, self.ci_hi, self.pi_lo, self.pi_hi)]
        self.decimals = decimals(np.concatenate([nat_est, nat_lo, nat_hi, np.array(self.summary_vals)]))
        weights = shown["weight"].to_numpy(dtype=float)
        w_ref = np.nanmax(weights) if self.has_weight else 1.0
        x_min, x_max = self.x_min, self.x_max
        sides = []
        for i, (_, unit) in enumerate(shown.iterrows()):
            yy = self.rows.units[i]
            dagger = " †" if unit["n_effects"] > 1 else ""
            room = self.label_width_in - (text_width_in(dagger) if dagger else 0.0)
            label = fit_width(row_label(unit, self.labels, self.words), room) + dagger
            self.put(_LABEL_X_IN, yy, label)
            self.put(_EST_RIGHT_IN, yy, fmt_ci(nat_est[i], nat_lo[i], nat_hi[i], self.decimals), ha="right")
            if self.has_weight:
                w = weights[i]
                self.put(_WEIGHT_RIGHT_IN, yy, f"{w:.1f}%" if math.isfinite(w) else "—", ha="right")
            ax.plot(
                [max(nat_lo[i], x_min), min(nat_hi[i], x_max)],
                [yy, yy],
                color=CI_GREY,
                linewidth=1.0,
                zorder=2,
            )
            # An arrow head where the CI runs past the axis.
            if nat_lo[i] < x_min:
                ax.plot([x_min], [yy], marker="<", color=CI_GREY, markersize=4, zorder=2)
            if nat_hi[i] > x_max:
                ax.plot([x_max], [yy], marker=">", color=CI_GREY, markersize=4, zorder=2)
            if self.has_weight and math.isfinite(weights[i]):
                side = _MAX_SQUARE_PT * math.sqrt(max(weights[i], 0.0) / w_ref)
            else:
                side = 0.6 * _MAX_SQUARE_PT
            sides.append(max(side, _MIN_SQUARE_PT))
        if len(shown):
            ax.scatter(
                np.clip(nat_est, x_min, x_max),
                self.rows.units,
                s=np.square(sides),
                marker="s",
                color=DARK_BLUE,
                linewidths=0,
                zorder=3,
                gid="unit-squares",
            )

    def _hidden_row(self) -> None:
        """One text row for the units not drawn; then the line above the summary."""
        if self.rows.hidden is not None:
            hidden = self.hidden
            hidden_w = float(hidden["weight"].sum(min_count=1)) if self.pooled else math.nan
            other = self.words.count(len(hidden)).replace(" ", " other ", 1)
            share = f" ({hidden_w:.1f}% of weight)" if math.isfinite(hidden_w) else ""
            self.put(
                _LABEL_X_IN,
                self.rows.hidden,
                f"{other}{share},\nnot shown individually; see units CSV",
                style="italic",
                color=TEXT_GREY,
                linespacing=1.3,
                gid="other-studies",
            )
            if self.has_weight and math.isfinite(hidden_w):
                self.put(_WEIGHT_RIGHT_IN, self.rows.hidden, f"{hidden_w:.1f}%", ha="right", style="italic")
        sep = self.rows.last_study + 0.75
        self.ax.plot([self.x_min, self.x_max], [sep, sep], color="#bbbbbb", linewidth=0.6, zorder=1)

    def _summary(self) -> None:
        if self.pooled and self.rows.pooled is not None:
            self._pooled_rows()
        elif self.rows.note is not None:
            note = (
                "Single study: reported, not pooled"
                if len(self.u) == 1
                else f"Not pooled: {self.words.many} reported one by one"
            )
            self.put(_LABEL_X_IN, self.rows.note, note, style="italic", gid="not-pooled-note")

    def _prediction_line(self, y: float, n_plo: float, n_phi: float) -> None:
        """metafor's addpred: the prediction interval as a line through the diamond."""
        x_min, x_max = self.x_min, self.x_max
        self.ax.plot(
            [max(n_plo, x_min), min(n_phi, x_max)],
            [y, y],
            color=CI_GREY,
            linewidth=1.0,
            zorder=2,
            gid="prediction-interval",
        )
        for x_end in (n_plo, n_phi):
            if x_min <= x_end <= x_max:
                self.ax.plot([x_end, x_end], [y - 0.22, y + 0.22], color=CI_GREY, linewidth=1.0, zorder=2)

    def _pooled_rows(self) -> None:
        """The diamond, the model and k, the pooled estimate, and the prediction interval."""
        y = self.rows.pooled
        n_est, n_clo, n_chi, n_plo, n_phi = self.summary_vals
        if self.has_pi:
            self._prediction_line(y, n_plo, n_phi)
        diamond = Polygon(
            [(n_clo, y), (n_est, y - 0.38), (n_chi, y), (n_est, y + 0.38)],
            closed=True,
            facecolor=DARK_BLUE,
            edgecolor=DARK_BLUE,
            linewidth=0.8,
            zorder=4,
            gid="pooled-diamond",
        )
        self.ax.add_patch(diamond)
        k = int(num(self.row, "k")) if math.isfinite(num(self.row, "k")) else len(self.u)
        model = "EE model" if model_name(self.row).startswith("EE") else "RE model"
        self.put(_LABEL_X_IN, y, f"{model}, k = {k}", fontweight="bold")
        self.put(
            _EST_RIGHT_IN,
            y,
            fmt_ci(n_est, n_clo, n_chi, self.decimals),
            ha="right",
            fontweight="bold",
            gid="pooled-estimate",
        )
        if self.has_weight:
            self.put(_WEIGHT_RIGHT_IN, y, "100%", ha="right", fontweight="bold")
        if self.has_pi and self.rows.pi is not None:
            self.put(_LABEL_X_IN, self.rows.pi, "95% prediction interval")
            self.put(
                _EST_RIGHT_IN,
                self.rows.pi,
                f"[{fmt(n_plo, self.decimals)}, {fmt(n_phi, self.decimals)}]",
                ha="right",
                gid="prediction-interval-text",
            )
