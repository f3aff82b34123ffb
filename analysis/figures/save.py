"""Saving figures: SVG (matplotlib) and PNG (a picture of that SVG, by Typst:
:mod:`analysis.figures.raster`), byte-identical from run to run on the same
machine and package versions, never half-written."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from analysis.figures.style import PNG_DPI, style


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    from analysis.io import atomic_output  # the project's one atomic writer

    with atomic_output(path) as handle:
        write(handle)


def save_figure(
    fig: Figure,
    path_without_suffix: str | os.PathLike[str],
    *,
    alt_text: str | None = None,
    png: bool = True,
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
    png : bool
        False: the SVG only (the caller rasterises many at once, which is faster).

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
    if alt_text:
        svg_meta["Description"] = alt_text
    from analysis.figures.svgtext import SVGCanvas

    SVGCanvas(fig)  # matplotlib's SVG output, each string laid out once per process
    with style():
        _atomic_write(
            svg_path,
            lambda fh: fig.savefig(fh, format="svg", metadata=svg_meta, facecolor="white"),
        )
    import matplotlib.pyplot as plt  # late: only to release a pyplot-made figure

    plt.close(fig)
    if not png:
        return [svg_path]
    from analysis.figures.raster import rasterise

    rasterise([(svg_path, png_path, alt_text)], PNG_DPI)
    return [svg_path, png_path]
