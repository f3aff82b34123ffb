"""PNG copies of the SVG figures (analysis/figures/raster.py): a picture of the SVG at
150 dpi, with the alt text, the same bytes drawn alone or in a batch."""

from __future__ import annotations

import pandas as pd
import pytest
from PIL import Image

from analysis.figures import raster
from analysis.figures.plots import forest_plot, save_figure
from analysis.figures.style import PNG_DPI


def _figure(tmp_path, name: str, k: int):
    units = pd.DataFrame(
        {
            "study": [f"s{i}" for i in range(k)],
            "unit": [f"s{i}" for i in range(k)],
            "yi": [0.1 * (i + 1) for i in range(k)],
            "vi": [0.01] * k,
            "measure": ["zcor"] * k,
        }
    )
    row = {"analysis_id": name, "measure": "zcor", "k": k, "estimate": 0.2, "ci_lower": 0.1,
           "ci_upper": 0.3, "pi_lower": 0.0, "pi_upper": 0.4}  # fmt: skip
    fig = forest_plot(row, units, {f"s{i}": f"Study {i} (2020)" for i in range(k)})
    return save_figure(fig, tmp_path / name, alt_text=f"Forest plot of {name} – τ² shown", png=False)[0]


@pytest.fixture
def svgs(tmp_path):
    return [_figure(tmp_path, f"fig{k}", k) for k in (1, 3, 6)]


def test_png_is_the_svg_at_150_dpi_with_its_alt_text(svgs):
    svg = svgs[1]
    png = svg.with_suffix(".png")
    raster.rasterise([(svg, png, "Forest plot – τ² shown")], PNG_DPI)
    width_pt, height_pt = (float(v) for v in raster.svg_size(svg))
    image = Image.open(png)
    assert image.size == (round(width_pt / 72 * PNG_DPI), round(height_pt / 72 * PNG_DPI))
    assert image.text["Description"] == "Forest plot – τ² shown"
    low, high = image.convert("L").getextrema()
    assert high == 255 and low < 80  # white ground, dark marks: not blank


def test_batch_equals_one_by_one_and_reruns_equal(svgs, tmp_path, monkeypatch):
    alone = {}
    for svg in svgs:
        raster.rasterise([(svg, svg.with_suffix(".png"), "alt")], PNG_DPI)
        alone[svg.name] = svg.with_suffix(".png").read_bytes()
    monkeypatch.setattr(raster, "BATCH", 2)  # two compiles: one of 2 pages, one of 1
    raster.rasterise([(svg, tmp_path / f"b-{svg.stem}.png", "alt") for svg in svgs], PNG_DPI)
    assert {svg.name: (tmp_path / f"b-{svg.stem}.png").read_bytes() for svg in svgs} == alone
    # In fresh processes (BATCH is theirs: 12, one compile of 3 pages), the same bytes.
    raster.rasterise([(svg, tmp_path / f"b-{svg.stem}.png", "alt") for svg in svgs], PNG_DPI, workers=2)
    assert {svg.name: (tmp_path / f"b-{svg.stem}.png").read_bytes() for svg in svgs} == alone
    assert len(set(alone.values())) == 3
    assert not list(tmp_path.glob(".*.tmp")), "the scratch folder outlived the compile"


def test_save_figure_writes_both_by_default(tmp_path):
    svg = _figure(tmp_path, "one", 2)
    assert not svg.with_suffix(".png").exists()  # png=False: the SVG only
    from analysis.figures.plots import forest_plot as again

    units = pd.DataFrame({"study": ["a"], "unit": ["a"], "yi": [0.1], "vi": [0.01], "measure": ["zcor"]})
    row = {"analysis_id": "x", "measure": "zcor", "k": 1, "estimate": 0.1, "ci_lower": 0.0, "ci_upper": 0.2}
    written = save_figure(again(row, units, {"a": "A (2020)"}), tmp_path / "two")
    assert [p.suffix for p in written] == [".svg", ".png"] and all(p.is_file() for p in written)


def test_svg_without_a_size_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.svg"
    bad.write_text('<svg xmlns="http://www.w3.org/2000/svg"></svg>', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.svg: no width/height"):
        raster.svg_size(bad)
