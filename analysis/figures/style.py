"""The look of every figure: colours, fonts, sizes, and the matplotlib set-up.

Colours are chosen to read in greyscale and for every common form of colour
blindness: dark blue marks, grey intervals, grey shading for significance.

Importing this module selects matplotlib's headless Agg backend (the same
rasteriser everywhere), so every drawing module imports it before pyplot can be
imported anywhere in the process.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.colors import to_rgb  # noqa: E402

DARK_BLUE = "#08306b"  # points and squares: strong contrast on white and grey
CI_GREY = "#4d4d4d"  # interval lines: readable, quieter than the point
NULL_GREY = "#7f7f7f"  # the no-effect line
# Funnel shading, light to dark as p falls; greys survive print and every
# colour-vision deficiency. Index 0 is p > 0.10.
FUNNEL_SHADES: tuple[str, ...] = ("#ffffff", "#e6e6e6", "#cccccc", "#adadad")

TEXT_GREY = "#333333"  # secondary text (footers, notes): 12.6:1 on white
# Text on a shaded gap-map cell: black or white, whichever contrasts more; one of
# the two always reaches 4.58:1 (WCAG 2 relative luminance), above the 4.5:1 of AA.
DARK_TEXT = "#000000"
LIGHT_TEXT = "#ffffff"
# An empty gap-map cell's "0 / 0": quieter than the counts, still 6:1 on the
# lightest cell colour.
GAP_TEXT = "#5f5f5f"
MIN_CONTRAST = 4.5  # WCAG 2.1 AA for normal text (success criterion 1.4.3)

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
    "axes.edgecolor": TEXT_GREY,
    "xtick.color": TEXT_GREY,
    "ytick.color": TEXT_GREY,
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


def relative_luminance(colour: Any) -> float:
    """WCAG 2 relative luminance of a matplotlib colour (0 black to 1 white)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in to_rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: Any, background: Any) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21."""
    a, b = relative_luminance(foreground), relative_luminance(background)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def text_on(background: Any) -> str:
    """Black or white, whichever reads better on ``background``."""
    if contrast_ratio(DARK_TEXT, background) >= contrast_ratio(LIGHT_TEXT, background):
        return DARK_TEXT
    return LIGHT_TEXT


@lru_cache(maxsize=4096)
def text_width_in(text: str, fontsize: float = 10.0, weight: str = "normal") -> float:
    """Width in inches of one line of text in the figures' font, as the Agg renderer lays it out."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(family=STYLE["font.family"], size=fontsize, weight=weight)
    width, _, _ = RendererAgg(1, 1, 72).get_text_width_height_descent(text, prop, ismath=False)
    return width / 72.0
