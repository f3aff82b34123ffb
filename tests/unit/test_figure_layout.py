"""What a reader sees in the figures: no text on text or on a mark, ticks that keep
apart, colour contrast of every text at least 4.5:1 (WCAG 2 AA), and rows named as
what they are (states of one study are not studies).

Layout is measured on the drawn figure: every Text artist's bounding box from the Agg
renderer, the same one that writes the PNG.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from analysis.codebook.vocabulary import US_STATE_NAME
from analysis.figures import draw, plots
from analysis.figures.style import MIN_CONTRAST, contrast_ratio
from analysis.figures.words import unit_words
from tests.figure_units import units_frame

# Two boxes closer than this (display pixels at 100 dpi, ~0.01 in) count as touching.
TOUCH_PX = 1.0
STATES = sorted(US_STATE_NAME)[:40]


def _units(k: int, *, one_study: bool = False, seed: int = 1) -> pd.DataFrame:
    """k units; ``one_study``: the samples (US states) of one study, as the Atlas reanalysis."""
    rng = np.random.default_rng(seed)
    yi = rng.normal(0.25, 0.35, k)  # Fisher's z, spread like the Atlas states
    vi = rng.uniform(0.01, 0.05, k)
    return units_frame(
        yi,
        vi,
        0.1,
        study=["sca2022"] * k if one_study else [f"study{i:02d}" for i in range(k)],
        sample=STATES[:k] if one_study else [""] * k,
        n_effects=[1] * k,
        n=60,
    )


def _pooled(units: pd.DataFrame, measure: str = "ZCOR") -> dict:
    """A pooled row around the units; the prediction interval is wide, as at k = 40 in the
    seed (it reaches under the summary row's label when the label is too long)."""
    k = len(units)
    est = float(np.average(units["yi"], weights=units["weight"]))
    return {
        "analysis_id": "bonding-mobility-zcor-clustering",
        "theme": "bonding",
        "outcome": "mobility",
        "measure": measure,
        "k": k,
        "pooled": True,
        "estimator": "REML",
        "ci_method": "knha",
        "estimate": est,
        "ci_low": est - 0.15,
        "ci_high": est + 0.15,
        "pi_low": est - 0.95,
        "pi_high": est + 0.95,
        "tau2": 0.2121,
        "i2": 93.8,
        "q": 524.41,
        "q_df": k - 1,
        "q_p": 1e-9,
        "egger_p": 0.183,
    }


def _drawn(fig):
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    return renderer


def _text_boxes(fig, renderer) -> list[tuple[Text, Bbox]]:
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip():
            box = t.get_window_extent(renderer)
            if box.width > 0 and box.height > 0:
                out.append((t, box))
    return out


def _mark_boxes(fig, renderer) -> list[tuple[str, Bbox]]:
    """Lines, patches and the squares of every axes (not the axis lines and ticks)."""
    out = []
    for ax in fig.axes:
        for line in ax.lines:
            out.append((f"line {line.get_gid()}", line.get_window_extent(renderer)))
        for patch in ax.patches:
            out.append((f"patch {patch.get_gid()}", patch.get_window_extent(renderer)))
        for coll in ax.collections:
            if not isinstance(coll, PathCollection):
                continue
            xy = ax.transData.transform(coll.get_offsets())
            half = np.sqrt(coll.get_sizes()) / 2 * fig.dpi / 72
            half = np.broadcast_to(half, (len(xy),))
            for (x, y), h in zip(xy, half):
                out.append((f"marker {coll.get_gid()}", Bbox([[x - h, y - h], [x + h, y + h]])))
    return out


def _overlap(a: Bbox, b: Bbox) -> bool:
    return (
        a.x0 < b.x1 - TOUCH_PX
        and b.x0 < a.x1 - TOUCH_PX
        and a.y0 < b.y1 - TOUCH_PX
        and b.y0 < a.y1 - TOUCH_PX
    )


def _layout_faults(fig) -> list[str]:
    renderer = _drawn(fig)
    texts = _text_boxes(fig, renderer)
    faults = []
    for i, (t1, b1) in enumerate(texts):
        for t2, b2 in texts[i + 1 :]:
            if _overlap(b1, b2):
                faults.append(f"text {t1.get_text()!r} on text {t2.get_text()!r}")
        for name, box in _mark_boxes(fig, renderer):
            if _overlap(b1, box):
                faults.append(f"text {t1.get_text()!r} on {name}")
    return faults


def _seed_k40() -> tuple[pd.DataFrame, dict]:
    """The spread of the seed's clustering analysis (40 states, r from -0.33 to 0.71,
    prediction interval -0.58 to 0.84), where 6 ticks from -0.75 to 1.00 collided."""
    units = _units(40, one_study=True)
    r = np.linspace(-0.33, 0.71, 40)
    units["yi"] = np.arctanh(r)
    units["ci_low"] = units["yi"] - 1.96 * units["se"]
    units["ci_high"] = units["yi"] + 1.96 * units["se"]
    row = dict(_pooled(units), estimate=np.arctanh(0.27), pi_low=np.arctanh(-0.58), pi_high=np.arctanh(0.84))
    return units, row


CASES = {
    "k=40 states of one study": (_units(40, one_study=True), None),
    "k=40 as in the seed": _seed_k40(),
    "k=2 studies": (_units(2), None),
    "k=2 odds ratios": (_units(2), "OR"),
    "k=12 studies": (_units(12, seed=3), "SMD"),
}


def _case(case: str) -> tuple[pd.DataFrame, dict]:
    units, spec = CASES[case]
    row = spec if isinstance(spec, dict) else _pooled(units, spec or "ZCOR")
    return units, row


@pytest.mark.parametrize("case", sorted(CASES))
def test_forest_text_never_touches_other_text_or_a_mark(case):
    units, row = _case(case)
    fig = plots.forest_plot(row, units, None)
    assert _layout_faults(fig) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_forest_tick_labels_keep_apart(case):
    units, row = _case(case)
    fig = plots.forest_plot(row, units, None)
    renderer = _drawn(fig)
    boxes = sorted(
        (t.get_window_extent(renderer) for t in fig.axes[0].get_xticklabels() if t.get_text()),
        key=lambda b: b.x0,
    )
    assert len(boxes) >= 2
    gaps = [b.x0 - a.x1 for a, b in zip(boxes, boxes[1:])]
    assert min(gaps) >= 0.05 * fig.dpi  # at least 0.05 in of air between labels


def test_forest_label_column_ends_before_the_plot_area():
    units = _units(40, one_study=True)
    fig = plots.forest_plot(_pooled(units), units, None)
    renderer = _drawn(fig)
    area = fig.axes[0].get_window_extent(renderer)
    rows = [
        (t.get_text(), box)
        for t, box in _text_boxes(fig, renderer)
        if t.get_horizontalalignment() == "left" and box.x0 < area.x0 and area.y0 <= box.y0 <= area.y1
    ]
    assert len(rows) >= 30  # header, 29 states, the other states, the summary rows
    assert [s for s, b in rows if b.x1 > area.x0] == []


def test_a_long_study_label_is_cut_to_the_column():
    units = _units(3)
    labels = {"study00": "W" * 40}
    fig = plots.forest_plot(_pooled(units, "OR"), units, labels)
    assert _layout_faults(fig) == []
    assert any(t.endswith("…") for t in (x.get_text() for x in fig.findobj(Text)))


# --- contrast ------------------------------------------------------------------------


def _background(fig, text: Text) -> object:
    """The fill behind a text: its gap-map cell, or the white page (the figures are saved
    on white and no other text sits on a fill; see the funnel test)."""
    ax = text.axes
    if ax is not None and str(text.get_gid()).startswith("cell-"):
        mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
        x, y = text.get_position()
        values = np.asarray(mesh.get_array()).reshape(len(ax.get_yticks()), len(ax.get_xticks()))
        return mesh.to_rgba(values[int(y), int(x)])
    return "white"


def _gap_counts() -> pd.DataFrame:
    # Every total from 0 to 12, so the cells run through the whole colour scale.
    themes = ["bonding", "bridging", "linking", "education", "workplace"]
    outcomes = ["mobility", "income", "employment", "education", "health", "crime", "other"]
    rows, n = [], 0
    for theme in themes:
        for outcome in outcomes:
            rows.append({"theme": theme, "outcome": outcome, "coded": n % 13, "narrative": 0})
            n += 1
    return pd.DataFrame(rows)


def _all_figures():
    units = _units(6)
    row = _pooled(units, "OR")
    one = _units(1).assign(weight=float("nan"))
    return {
        "forest": plots.forest_plot(row, units, None),
        "forest k=40": plots.forest_plot(_pooled(_units(40, one_study=True)), _units(40, one_study=True)),
        "single study": plots.forest_plot({"measure": "SMD", "k": 1, "pooled": False}, one, None),
        "funnel": plots.funnel_plot(row, units),
        "gap map": plots.draw_gap_map(_gap_counts()),
        "empty gap map": plots.draw_gap_map(_gap_counts().assign(coded=0)),
    }


def test_every_text_in_every_figure_has_at_least_4_5_to_1_contrast():
    low = []
    for name, fig in _all_figures().items():
        renderer = _drawn(fig)
        for text, _ in _text_boxes(fig, renderer):
            ratio = contrast_ratio(text.get_color(), _background(fig, text))
            if ratio < MIN_CONTRAST:
                low.append(f"{name}: {text.get_text()!r} {ratio:.2f}:1")
    assert low == []


def test_empty_gap_map_cells_pass_contrast():
    fig = plots.draw_gap_map(_gap_counts().assign(coded=0))
    cells = [t for t in fig.axes[0].texts if t.get_text() == "0 / 0"]
    assert len(cells) == 35
    assert min(contrast_ratio(t.get_color(), _background(fig, t)) for t in cells) >= MIN_CONTRAST


def test_funnel_text_lies_off_the_shaded_bands():
    units = _units(6)
    fig = plots.funnel_plot(_pooled(units, "OR"), units)
    renderer = _drawn(fig)
    area = fig.axes[0].get_window_extent(renderer)
    ticks = {id(t) for t in fig.axes[0].get_xticklabels() + fig.axes[0].get_yticklabels()}
    inside = [
        t.get_text() for t, box in _text_boxes(fig, renderer) if id(t) not in ticks and _overlap(box, area)
    ]
    assert inside == []


# --- naming: states of one study are not studies --------------------------------------


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_states_of_one_study_are_named_states_and_the_study_once():
    units = _units(40, one_study=True)
    source = "Opportunity Insights (2022), Social Capital Atlas"
    fig = plots.forest_plot(_pooled(units), units, None, source=source)
    texts = _texts(fig)
    assert "State" in texts and "Study" not in texts
    assert "Alabama" in texts and not any("[AL]" in t for t in texts)
    assert f"Rows: 40 states of one study ({source}), not 40 studies." in texts
    assert any(t.startswith("11 other states") for t in texts)
    assert not any("studies (" in t and "weight" in t for t in texts)
    # Publication bias compares studies: no Egger line for the states of one study.
    assert not any("Egger" in t for t in texts)
    alt = plots.alt_text_forest(_pooled(units), units, None, source=source)
    assert alt.startswith(f"Forest plot of 40 states of one study ({source})")
    assert "40 studies" not in alt


def test_state_rows_are_in_alphabetical_order_of_their_names():
    units = _units(12, one_study=True).iloc[::-1]
    fig = plots.forest_plot(_pooled(units), units, None, max_rows=30)
    names = [US_STATE_NAME[s] for s in units["sample"]]
    shown = [t for t in _texts(fig) if t in names]
    assert shown == sorted(names)


def test_samples_of_one_study_that_are_not_states_are_samples():
    units = _units(3).assign(study="cohort2020", sample=["wave 1", "wave 2", "wave 3"])
    words = unit_words(units)
    assert (words.one, words.many, words.header, words.n_studies) == ("sample", "samples", "Sample", 1)
    texts = _texts(plots.forest_plot(_pooled(units), units, {"cohort2020": "Croll (2020)"}))
    assert "Sample" in texts and "wave 2" in texts
    assert "Rows: 3 samples of one study (Croll (2020)), not 3 studies." in texts


def test_several_samples_of_several_studies_keep_study_labels():
    units = _units(4).assign(study=["a", "a", "b", "c"], sample=["x", "y", "", ""])
    alt = plots.alt_text_forest(_pooled(units), units, None)
    assert "4 independent samples from 3 studies" in alt
    texts = _texts(plots.forest_plot(_pooled(units), units, None))
    assert "Study" in texts and "a [x]" in texts
    assert not any("Egger" in t for t in texts)  # 3 studies: too few to read Egger's test


def test_egger_is_shown_from_ten_studies_as_the_certainty_rules_say():
    for k, shown in ((9, False), (10, True)):
        units = _units(k)
        texts = _texts(plots.forest_plot(_pooled(units, "OR"), units, None))
        assert any("Egger" in t for t in texts) is shown
        assert any("Egger" in t for t in _texts(plots.funnel_plot(_pooled(units, "OR"), units))) is shown
        assert ("Egger" in plots.alt_text_funnel(_pooled(units, "OR"), units)) is shown


def test_egger_in_funnel_needs_studies_not_samples():
    units = _units(12)
    assert any("Egger" in t for t in _texts(plots.funnel_plot(_pooled(units, "OR"), units)))
    two = _units(6).assign(study=["a", "a", "a", "b", "b", "b"])
    texts = _texts(plots.funnel_plot(_pooled(two, "OR"), two))
    assert not any("Egger" in t for t in texts)
    assert any("publication bias compares studies" in t for t in texts)
    assert "Egger" not in plots.alt_text_funnel(_pooled(two, "OR"), two)


def test_no_funnel_for_the_samples_of_one_or_two_studies(tmp_path):
    atlas = _units(40, one_study=True).assign(analysis_id="bonding-mobility-zcor-clustering")
    two = _units(4).assign(analysis_id="bonding-health-or-x", study=["a", "a", "b", "b"])
    three = _units(3).assign(analysis_id="bonding-health-or-y")
    units = pd.concat([atlas, two, three], ignore_index=True)
    pooled = pd.DataFrame(
        [
            _pooled(atlas),
            dict(_pooled(two, "OR"), analysis_id="bonding-health-or-x", outcome="health", k=4),
            dict(_pooled(three, "OR"), analysis_id="bonding-health-or-y", outcome="health", k=3),
        ]
    )
    references = pd.DataFrame(
        [
            {
                "key": "sca2022",
                "author": "Opportunity Insights",
                "year": 2022,
                "title": "Social Capital Atlas: data",
            }
        ]
    )
    studies = pd.DataFrame({"study": ["sca2022"], "kind": ["study"], "status": ["coded"]})
    index = draw.draw_all(pooled, units, studies, references, tmp_path)
    kinds = set(zip(index["analysis_id"], index["kind"]))
    assert ("bonding-health-or-y", "funnel") in kinds  # 3 studies
    assert ("bonding-health-or-x", "funnel") not in kinds  # 4 samples of 2 studies
    assert ("bonding-mobility-zcor-clustering", "funnel") not in kinds
    assert not list(tmp_path.glob("funnel-bonding-mobility*"))
    alt = index.set_index(["analysis_id", "kind"]).loc[("bonding-mobility-zcor-clustering", "forest"), "alt"]
    assert "40 states of one study (Opportunity Insights (2022), Social Capital Atlas)" in alt


def test_alt_text_counts_samples_not_studies():
    from analysis.figures.alt import units_phrase

    assert units_phrase(pd.DataFrame({"study": ["s"] * 3})) == "3 samples of one study (s)"
    assert units_phrase(pd.DataFrame({"study": ["s", "s", "t"]})) == "3 independent samples from 2 studies"
    assert units_phrase(pd.DataFrame({"study": ["s", "t"]})) == "2 studies"
