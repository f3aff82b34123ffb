"""The figures of the brief in one import: forest plots, funnel plots, the
evidence gap map, their alt text, and saving.

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

The code lives in small modules: :mod:`~analysis.figures.style` (colours,
fonts, sizes), :mod:`~analysis.figures.scales`, :mod:`~analysis.figures.words`,
:mod:`~analysis.figures.forest`, :mod:`~analysis.figures.funnel`,
:mod:`~analysis.figures.gapmap`, :mod:`~analysis.figures.alt` and
:mod:`~analysis.figures.save`.
"""

from __future__ import annotations

from analysis.codebook.vocabulary import OUTCOMES, THEMES
from analysis.figures.alt import alt_text_forest, alt_text_funnel
from analysis.figures.forest import forest_plot
from analysis.figures.funnel import funnel_plot
from analysis.figures.gapmap import draw_gap_map
from analysis.figures.save import save_figure
from analysis.figures.scales import analysis_scale_label, natural_scale
from analysis.figures.style import STYLE

__all__ = [
    "THEMES",
    "OUTCOMES",
    "STYLE",
    "natural_scale",
    "analysis_scale_label",
    "forest_plot",
    "funnel_plot",
    "draw_gap_map",
    "save_figure",
    "alt_text_forest",
    "alt_text_funnel",
]
