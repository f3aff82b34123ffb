"""The evidence gap map: themes (rows) by outcomes (columns), each cell giving
the studies with coded effects and those with narrative findings only.

Its counts come from :func:`analysis.inputs.gaps.gap_counts`.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.codebook.vocabulary import OUTCOMES, THEMES
from analysis.figures.style import (
    FIG_WIDTH_IN,
    GAP_TEXT,
    MIN_CONTRAST,
    TEXT_GREY,
    contrast_ratio,
    style,
    text_on,
)

_CELL_W_IN, _CELL_H_IN = 0.92, 0.5  # room for "Employment" at 10 pt
_LEFT_IN, _TOP_IN, _BOTTOM_IN = 1.35, 0.7, 0.5
# Row and column headings: 9.5 pt leaves "Employment" and "Education" 0.15 in apart.
_HEADING_PT = 9.5


def draw_gap_map(counts: pd.DataFrame) -> Figure:
    """The evidence gap map.

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
    with style():
        return _gap_map(counts)


def grid(counts: pd.DataFrame) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """(themes, outcomes, coded, narrative): the counts as two theme x outcome arrays."""
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
    return themes, outcomes, coded, narrative


def cell_text_colour(fill: tuple[float, ...], total: int) -> str:
    """Counts in black or white, whichever contrasts more with the cell (at least 4.5:1);
    a gap's "0 / 0" in a quieter grey that still passes on the lightest fill."""
    if not total and contrast_ratio(GAP_TEXT, fill) >= MIN_CONTRAST:
        return GAP_TEXT
    return text_on(fill)


def _cells(ax, themes, outcomes, coded, narrative) -> None:
    """The shaded cells and their "coded / narrative" counts."""
    total = coded + narrative
    vmax = max(int(total.max()), 1)
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
    for i in range(len(themes)):
        for j in range(len(outcomes)):
            ax.text(
                j + 0.5,
                i + 0.5,
                f"{coded[i, j]} / {narrative[i, j]}",
                ha="center",
                va="center",
                fontsize=10,
                color=cell_text_colour(cmap(mesh.norm(total[i, j])), int(total[i, j])),
                gid=f"cell-{themes[i]}-{outcomes[j]}",
            )


def _gap_map(counts: pd.DataFrame) -> Figure:
    themes, outcomes, coded, narrative = grid(counts)
    grid_w, grid_h = _CELL_W_IN * len(outcomes), _CELL_H_IN * len(themes)
    width = max(FIG_WIDTH_IN, _LEFT_IN + grid_w + 0.15)
    height = _TOP_IN + grid_h + _BOTTOM_IN
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((_LEFT_IN / width, _BOTTOM_IN / height, grid_w / width, grid_h / height))
    _cells(ax, themes, outcomes, coded, narrative)
    ax.set_xticks(np.arange(len(outcomes)) + 0.5)
    ax.set_xticklabels([o.capitalize() for o in outcomes], fontsize=_HEADING_PT)
    ax.set_yticks(np.arange(len(themes)) + 0.5)
    ax.set_yticklabels([t.capitalize() for t in themes], fontsize=_HEADING_PT)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.tick_params(length=0)
    ax.set_xlabel("Outcome", labelpad=8, fontweight="bold")
    ax.set_ylabel("Social capital theme", labelpad=8, fontweight="bold")
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.text(
        _LEFT_IN / width,
        0.15 / height,
        "Each cell: studies with coded effects / narrative-only studies; darker = more studies in total.",
        fontsize=9,
        color=TEXT_GREY,
    )
    return fig
