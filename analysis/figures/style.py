"""The look of every figure: colours, fonts, sizes, and the matplotlib set-up.

Colours are chosen to read in greyscale and for every common form of colour
blindness: dark blue marks, grey intervals, grey shading for significance.

Importing this module selects matplotlib's headless Agg backend (the same
rasteriser everywhere), so every drawing module imports it before pyplot can be
imported anywhere in the process.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

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
STYLE: dict[str, Any] = {
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


def style() -> Any:
    """The context in which every figure is built and saved."""
    return matplotlib.rc_context(STYLE)
