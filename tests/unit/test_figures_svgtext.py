"""The figures' SVG writer (analysis/figures/svgtext.py): each string laid out once per
process, and the files byte for byte what matplotlib's own SVG canvas writes."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from analysis.figures import draw, plots, svgtext
from analysis.figures.style import style
from tests.figure_units import units_frame


def _units(k: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    yi = rng.normal(0.3, 0.4, k)
    vi = rng.uniform(0.01, 0.06, k)
    return units_frame(
        yi,
        vi,
        0.05,
        study=[f"s{i}" for i in range(k)],
        sample=[""] * k,
        n_effects=[1 + (i % 3 == 0) for i in range(k)],  # some rows get the dagger
        n=100,
    )


def _row(k: int) -> dict:
    return {
        "analysis_id": "bonding-health-or", "theme": "bonding", "outcome": "health", "measure": "OR",
        "k": k, "pooled": True, "estimator": "REML", "ci_method": "knha", "estimate": 0.3,
        "ci_low": 0.1, "ci_high": 0.5, "pi_low": -0.4, "pi_high": 1.0, "tau2": 0.0421, "i2": 61.2,
        "q": 80.5, "q_df": k - 1, "q_p": 0.0004, "egger_p": 0.21,
    }  # fmt: skip


# Kerning (AV, To), a ligature (fi), spaces, an empty string, and the non-ASCII signs the
# figures print (minus, dagger, ellipsis, tau squared, en dash, accents).
LABELS = {
    f"s{i}": name
    for i, name in enumerate(
        ["AVATAR Wave (2019)", "Office fit-out (2020)", "Ødegård & Müller (2018)", "Tōkyō  panel (2021)",
         "W" * 45, "Smith et al. (2017)", "O’Brien – Łukasz (2016)", "Ivy (2015)"]
    )
}  # fmt: skip


def _figures():
    units = _units(8)
    counts = pd.DataFrame(
        [{"theme": "bonding", "outcome": "health", "coded": 3, "narrative": 1}],
        columns=["theme", "outcome", "coded", "narrative"],
    )
    return {
        "forest": lambda: plots.forest_plot(_row(8), units, LABELS),
        "forest, rows cut": lambda: plots.forest_plot(_row(8), units, LABELS, max_rows=4),
        "funnel": lambda: plots.funnel_plot(_row(8), units),
        "gap map": lambda: plots.draw_gap_map(counts),
    }


def _svg(fig, canvas) -> bytes:
    canvas(fig)
    buffer = io.BytesIO()
    meta = {"Date": None, "Creator": None, "Description": "alt – τ²"}
    with style():
        fig.savefig(buffer, format="svg", metadata=meta, facecolor="white")
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(_figures()))
def test_svg_is_byte_for_byte_matplotlibs(name):
    make = _figures()[name]
    ours = _svg(make(), svgtext.SVGCanvas)
    again = _svg(make(), svgtext.SVGCanvas)  # now every string comes from the cache
    stock = _svg(make(), FigureCanvasSVG)
    assert ours == stock
    assert again == stock
    assert b"<use xlink:href=" in ours  # text written as glyph paths


STRINGS = ["", " ", "  x  ", "AV", "To", "fi", "office", "−0.25", "1.00 [0.95, 1.07]", "τ² = 0.0421",
           "† several effects", "W" * 40 + "…", "Ødegård – Łukasz", "p < 0.01", "Weight", "100%"]  # fmt: skip


@pytest.mark.parametrize("weight, slant", [("normal", "normal"), ("bold", "normal"), ("normal", "italic")])
def test_metrics_equal_freetypes_set_text(weight, slant):
    cached, stock = svgtext.CachedTextToPath(), TextToPath()
    for size in (9, 10, 12.5):
        prop = FontProperties(family="DejaVu Sans", size=size, weight=weight, style=slant)
        for s in STRINGS:
            assert cached.get_text_width_height_descent(
                s, prop, False
            ) == stock.get_text_width_height_descent(s, prop, False), (s, size)
            info, paths, rects = cached.get_glyphs_with_font(cached._get_font(prop), s)
            info_0, paths_0, rects_0 = stock.get_glyphs_with_font(stock._get_font(prop), s)
            assert (info, list(paths), rects) == (info_0, list(paths_0), rects_0), s
            for glyph, (verts, codes) in paths.items():
                assert np.array_equal(verts, paths_0[glyph][0]) and np.array_equal(codes, paths_0[glyph][1])


def test_each_string_is_laid_out_once_per_process(monkeypatch):
    cache = svgtext.CachedTextToPath()
    monkeypatch.setattr(svgtext, "TEXT_PATHS", cache)
    make = _figures()["forest"]
    _svg(make(), svgtext.SVGCanvas)
    seen = dict(cache._strings)
    assert len(seen) > 25
    _svg(make(), svgtext.SVGCanvas)
    assert cache._strings.keys() == seen.keys()  # the second figure laid out nothing new
    assert all(cache._strings[key] is value for key, value in seen.items())


def test_draw_tables_equals_draw_all_in_one_or_two_processes(tmp_path):
    from tests.unit.test_draw_figures import _tables

    pooled, units, studies, references, effects = _tables()
    tables = dict(pooled=pooled, units=units, studies=studies, references=references, effects=effects)
    index_a = draw.draw_all(pooled, units, studies, references, tmp_path / "a", effects=effects)

    def read(name: str) -> pd.DataFrame:  # only the columns the figures read, as the rule reads them
        wanted = draw.TABLE_COLUMNS.get(name)
        return tables[name] if wanted is None else tables[name][[c for c in wanted if c in tables[name]]]

    index_b = draw.draw_tables(read, tmp_path / "b", workers=2)
    pd.testing.assert_frame_equal(index_a, index_b)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len([f for f in files if f.endswith(".png")]) >= 3
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
