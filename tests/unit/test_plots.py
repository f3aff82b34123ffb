"""Behaviour tests for analysis.figures.plots: what a reader sees, and reproducible files.

Text is checked on the Figure's Text artists before saving, because the SVG
stores glyphs as paths (svg.fonttype = "path") and holds no searchable text.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Polygon
from matplotlib.text import Text

from analysis.figures import plots
from tests.figure_units import units_frame


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _units(k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    yi = rng.normal(0.4, 0.3, k)
    vi = rng.uniform(0.02, 0.2, k)
    return units_frame(
        yi,
        vi,
        0.05,
        study=[f"study{i:02d}" for i in range(k)],
        sample=["" for _ in range(k)],
        n_effects=[1] * k,
        n=200,
    )


@pytest.fixture
def units() -> pd.DataFrame:
    u = _units(3)
    u.loc[2, "sample"] = "CA"
    return u


@pytest.fixture
def labels() -> dict[str, str]:
    return {"study00": "Rothon (2012)", "study01": "Putnam (2000)", "study02": "Chetty (2022)"}


@pytest.fixture
def pooled_row() -> dict:
    # log OR 0.4055 -> OR 1.50; CI log(1.2), log(1.875); PI log(0.9), log(2.5).
    return {
        "analysis_id": "bonding-health-or",
        "theme": "bonding",
        "outcome": "health",
        "measure": "OR",
        "construct": "",
        "k": 3,
        "n_studies": 3,
        "n_effects": 3,
        "estimator": "REML",
        "ci_method": "knha",
        "pooled": True,
        "estimate": math.log(1.5),
        "se": 0.1,
        "ci_low": math.log(1.2),
        "ci_high": math.log(1.875),
        "pi_low": math.log(0.9),
        "pi_high": math.log(2.5),
        "tau2": 0.0123,
        "tau": 0.0123**0.5,
        "i2": 34.5,
        "h2": 1.53,
        "q": 3.05,
        "q_df": 2,
        "q_p": 0.2176,
        "egger_p": float("nan"),
    }


# --- scales ------------------------------------------------------------------


def test_natural_scale_ratios_are_exponentiated_on_a_log_axis():
    transform, label, null, log_axis = plots.natural_scale("OR")
    assert transform(0.0) == pytest.approx(1.0)
    assert transform(math.log(2)) == pytest.approx(2.0)
    assert (label, null, log_axis) == ("Odds ratio", 1.0, True)
    assert plots.natural_scale("RR")[1:] == ("Risk ratio", 1.0, True)


def test_natural_scale_fisher_z_back_to_correlation_and_linear_measures():
    transform, label, null, log_axis = plots.natural_scale("ZCOR")
    assert transform(np.arctanh(0.3)) == pytest.approx(0.3)
    assert (label, null, log_axis) == ("Correlation (r)", 0.0, False)
    assert plots.natural_scale("ZPCOR")[1] == "Partial correlation"
    for measure, label in [
        ("SMD", "Hedges' g"),
        ("MD", "Mean difference"),
        ("RD", "Risk difference"),
        ("GEN", "Effect (as coded)"),
    ]:
        transform, got, null, log_axis = plots.natural_scale(measure)
        assert transform(0.25) == pytest.approx(0.25)
        assert (got, null, log_axis) == (label, 0.0, False)


def test_natural_scale_rejects_unknown_measure_with_the_known_ones_listed():
    with pytest.raises(ValueError, match="OR, RR"):
        plots.natural_scale("HR")


# --- forest plot -------------------------------------------------------------


def test_forest_shows_each_study_label_and_the_pooled_estimate(pooled_row, units, labels):
    texts = _texts(plots.forest_plot(pooled_row, units, labels))
    assert "Rothon (2012)" in texts
    assert "Putnam (2000)" in texts
    assert "Chetty (2022) [CA]" in texts  # sample appended in brackets
    assert "1.50 [1.20, 1.88]" in texts  # pooled OR and CI on the natural scale
    assert "[0.90, 2.50]" in texts  # prediction interval printed
    assert any(t.startswith("RE model (REML, Knapp–Hartung)") for t in texts)


def test_forest_footer_reports_heterogeneity(pooled_row, units, labels):
    texts = _texts(plots.forest_plot(pooled_row, units, labels))
    # The model in full opens the footer; the summary row says only "RE model, k = 3".
    assert (
        "RE model (REML, Knapp–Hartung). Heterogeneity: τ² = 0.0123, I² = 34.5%, Q(2) = 3.05, p = 0.218"
    ) in texts
    assert "RE model, k = 3" in texts


def test_forest_prints_each_unit_on_natural_scale_with_weight(pooled_row, units, labels):
    texts = _texts(plots.forest_plot(pooled_row, units, labels))
    u = units.iloc[0]
    expected = (f"{math.exp(u.yi):.2f} [{math.exp(u.ci_low):.2f}, {math.exp(u.ci_high):.2f}]").replace(
        "-", "\u2212"
    )
    assert expected in texts
    assert f"{u.weight:.1f}%" in texts


def test_forest_has_diamond_and_log_axis_for_odds_ratios(pooled_row, units, labels):
    fig = plots.forest_plot(pooled_row, units, labels)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Odds ratio (log scale)"
    diamonds = [p for p in ax.patches if p.get_gid() == "pooled-diamond"]
    assert len(diamonds) == 1


def test_forest_linear_axis_for_standardised_mean_difference(pooled_row, units, labels):
    row = dict(pooled_row, measure="SMD")
    ax = plots.forest_plot(row, units, labels).axes[0]
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "Hedges' g"


def test_forest_unlabelled_study_falls_back_to_its_key(pooled_row, units):
    texts = _texts(plots.forest_plot(pooled_row, units, {"study00": "Rothon (2012)"}))
    assert "study01" in texts


def test_forest_aggregates_rows_above_max_rows(pooled_row):
    units = _units(12)
    row = dict(pooled_row, k=12)
    fig = plots.forest_plot(row, units, None, max_rows=5)
    ax = fig.axes[0]
    squares = [c for c in ax.collections if c.get_gid() == "unit-squares"]
    assert len(squares) == 1 and len(squares[0].get_offsets()) == 4  # max_rows - 1
    heaviest = units.sort_values("weight", ascending=False).study.iloc[:4]
    texts = _texts(fig)
    assert all(s in texts for s in heaviest)
    hidden_weight = units.weight.sum() - units.weight.nlargest(4).sum()
    assert (
        f"8 other studies ({hidden_weight:.1f}% of weight),\nnot shown individually; see units CSV"
    ) in texts
    # At the limit nothing is aggregated.
    fig = plots.forest_plot(row, units, None, max_rows=12)
    assert not any("other studies" in t for t in _texts(fig))


def test_forest_height_grows_with_rows(pooled_row):
    small = plots.forest_plot(pooled_row, _units(3), None)
    large = plots.forest_plot(dict(pooled_row, k=20), _units(20), None)
    assert large.get_figheight() > small.get_figheight()
    assert small.get_figwidth() == pytest.approx(8.0)


def test_single_study_plot_has_no_diamond_and_says_why(units, labels):
    row = {
        "analysis_id": "linking-crime-smd",
        "measure": "SMD",
        "k": 1,
        "pooled": False,
        "estimate": float("nan"),
    }
    one = units.iloc[:1].assign(weight=float("nan"))
    fig = plots.forest_plot(row, one, labels)
    assert not [p for p in fig.axes[0].patches if p.get_gid() == "pooled-diamond"]
    texts = _texts(fig)
    assert "Single study: reported, not pooled" in texts
    assert "Rothon (2012)" in texts
    assert not any(t.startswith("Heterogeneity") for t in texts)


def test_all_text_is_at_least_9_point(pooled_row, units, labels):
    for fig in (
        plots.forest_plot(pooled_row, units, labels),
        plots.funnel_plot(pooled_row, units),
        plots.draw_gap_map(
            pd.DataFrame({"theme": ["bonding"], "outcome": ["health"], "coded": [1], "narrative": [0]})
        ),
    ):
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text()]
        assert min(sizes) >= 9


# --- alt text ----------------------------------------------------------------


def test_alt_text_forest_gives_k_estimate_ci_and_i2(pooled_row, units, labels):
    text = plots.alt_text_forest(pooled_row, units, labels)
    assert "k = 3" in text
    assert "odds ratio 1.50 (95% CI 1.20 to 1.88" in text
    assert "I-squared = 34.5%" in text
    assert len(text.rstrip(".").split(". ")) <= 3  # one to three sentences


def test_alt_text_forest_single_study(units, labels):
    row = {"measure": "OR", "k": 1, "pooled": False, "estimate": float("nan")}
    text = plots.alt_text_forest(row, units.iloc[:1], labels)
    assert "k = 1" in text and "Rothon (2012)" in text and "not pooled" in text


def test_alt_text_funnel_gives_k_and_estimate(pooled_row, units):
    text = plots.alt_text_funnel(pooled_row, units)
    assert "k = 3" in text
    assert "0.41" in text and "odds ratio 1.50" in text


# --- funnel plot -------------------------------------------------------------


def test_funnel_has_three_contour_bands_over_a_p_below_001_background(pooled_row, units):
    fig = plots.funnel_plot(pooled_row, units)
    ax = fig.axes[0]
    contours = [p for p in ax.patches if isinstance(p, Polygon) and str(p.get_gid()).startswith("contour-")]
    assert sorted(p.get_gid() for p in contours) == [
        "contour-p<0.01",
        "contour-p<0.05",
        "contour-p<0.10",
        "contour-p>0.10",
    ]
    # The 95% band reaches +-1.96 se_max around zero (no effect).
    band = next(p for p in contours if p.get_gid() == "contour-p<0.10")
    xs = band.get_xy()[:, 0]
    se_max = ax.get_ylim()[0]
    assert xs.max() == pytest.approx(1.959964 * se_max, rel=1e-5)
    assert xs.min() == pytest.approx(-1.959964 * se_max, rel=1e-5)


def test_funnel_axes_scale_points_and_legend(pooled_row, units):
    fig = plots.funnel_plot(pooled_row, units)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Log odds ratio"
    assert ax.get_ylabel() == "Standard error"
    bottom, top = ax.get_ylim()
    assert top == 0.0 and bottom > units.se.max()  # inverted: 0 at the top
    points = next(c for c in ax.collections if c.get_gid() == "unit-points")
    assert len(points.get_offsets()) == len(units)
    legend_labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "p < 0.01" in legend_labels and "Pooled estimate" in legend_labels
    assert any(line.get_gid() == "pseudo-ci" for line in ax.lines)
    assert any("too few studies" in t for t in _texts(fig))


# --- gap map -----------------------------------------------------------------


def test_gap_map_cells_show_coded_over_narrative():
    counts = pd.DataFrame(
        {
            "theme": ["bonding", "bonding", "education", "workplace"],
            "outcome": ["mobility", "mobility", "education", "employment"],
            "coded": [2, 1, 12, 0],
            "narrative": [1, 1, 4, 3],
        }
    )
    fig = plots.draw_gap_map(counts)
    ax = fig.axes[0]
    cells = {t.get_gid(): t.get_text() for t in ax.texts}
    assert len(cells) == len(plots.THEMES) * len(plots.OUTCOMES)
    assert cells["cell-bonding-mobility"] == "3 / 2"  # repeated pairs are summed
    assert cells["cell-education-education"] == "12 / 4"
    assert cells["cell-workplace-employment"] == "0 / 3"
    assert cells["cell-linking-crime"] == "0 / 0"
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Bonding",
        "Bridging",
        "Linking",
        "Education",
        "Workplace",
    ]
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["Mobility", "Income", "Employment"]
    assert ax.get_xlabel() == "Outcome" and ax.get_ylabel() == "Social capital theme"


# --- saving ------------------------------------------------------------------


def test_save_figure_is_byte_identical_across_runs(pooled_row, units, labels, tmp_path):
    first = plots.save_figure(plots.forest_plot(pooled_row, units, labels), tmp_path / "a" / "forest")
    second = plots.save_figure(plots.forest_plot(pooled_row, units, labels), tmp_path / "b" / "forest")
    assert [p.suffix for p in first] == [".svg", ".png"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()
    svg = first[0].read_bytes()
    assert b"<dc:date>" not in svg and b"Matplotlib" not in svg
    assert b"Software" not in first[1].read_bytes()
    assert first[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Ordinary permissions (not mkstemp's private 0600), and no temporary
    # files left beside the outputs.
    umask = os.umask(0)
    os.umask(umask)
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~umask for p in first)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["forest.png", "forest.svg"]


def test_save_figure_funnel_is_deterministic_and_carries_alt_text(pooled_row, units, tmp_path):
    alt = plots.alt_text_funnel(pooled_row, units)
    a = plots.save_figure(plots.funnel_plot(pooled_row, units), tmp_path / "f1", alt_text=alt)
    b = plots.save_figure(plots.funnel_plot(pooled_row, units), tmp_path / "f2", alt_text=alt)
    assert a[0].read_bytes() == b[0].read_bytes()
    assert a[1].read_bytes() == b[1].read_bytes()
    assert b"Contour-enhanced funnel plot" in a[0].read_bytes()
