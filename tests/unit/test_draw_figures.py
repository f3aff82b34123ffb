"""draw_all redraws only the figures whose inputs changed, and a run that draws nothing
imports no matplotlib; incremental and cold runs give the same files and index."""

from __future__ import annotations

import filecmp
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.figures import draw
from tests.conftest import ROOT


def _tables(shift: float = 0.0) -> tuple[pd.DataFrame, ...]:
    """Two pooled analyses of four studies each; ``shift`` moves analysis b's first unit."""
    rng = np.random.default_rng(3)
    pooled, units = [], []
    for aid, theme in (("a-health-or", "bonding"), ("b-income-smd", "bridging")):
        yi = rng.normal(0.3, 0.2, 4)
        if aid.startswith("b"):
            yi[0] += shift
        vi = rng.uniform(0.02, 0.1, 4)
        for i in range(4):
            se = math.sqrt(vi[i])
            units.append(
                {
                    "analysis_id": aid,
                    "study": f"s{theme}{i}",
                    "sample": "",
                    "n_effects": 1,
                    "yi": yi[i],
                    "vi": vi[i],
                    "se": se,
                    "ci_low": yi[i] - 1.96 * se,
                    "ci_high": yi[i] + 1.96 * se,
                    "weight": 25.0,
                    "n": 100,
                }
            )
        est = float(np.mean(yi))
        pooled.append(
            {
                "analysis_id": aid,
                "theme": theme,
                "outcome": aid.split("-")[1],
                "measure": aid.split("-")[2].upper(),
                "construct": "",
                "k": 4,
                "n_studies": 4,
                "n_effects": 4,
                "estimator": "REML",
                "ci_method": "knha",
                "pooled": True,
                "estimate": est,
                "se": 0.1,
                "ci_low": est - 0.2,
                "ci_high": est + 0.2,
                "pi_low": est - 0.4,
                "pi_high": est + 0.4,
                "tau2": 0.01,
                "tau": 0.1,
                "i2": 20.0,
                "h2": 1.25,
                "q": 3.0,
                "q_df": 3,
                "q_p": 0.39,
                "egger_p": 0.5,
            }
        )
    units_df = pd.DataFrame(units)
    studies = pd.DataFrame(
        {"study": units_df["study"], "kind": "study", "status": "coded", "themes": "", "outcomes": ""}
    )
    references = pd.DataFrame({"key": units_df["study"], "author": "Smith, A.", "year": 2020, "title": "T"})
    effects = units_df.merge(pd.DataFrame(pooled)[["analysis_id", "theme", "outcome"]], on="analysis_id")
    return pd.DataFrame(pooled), units_df, studies, references, effects


def _draw(outdir, shift: float = 0.0) -> pd.DataFrame:
    pooled, units, studies, references, effects = _tables(shift)
    return draw.draw_all(pooled, units, studies, references, outdir, effects=effects)


def _stamps(outdir) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in outdir.iterdir() if p.suffix in (".svg", ".png")}


def test_second_run_draws_nothing_and_keeps_the_index(tmp_path, monkeypatch):
    first = _draw(tmp_path)
    before = _stamps(tmp_path)
    assert len(before) == 2 * len(first) == 2 * 5  # 2 forests, 2 funnels, the gap map
    drawn: list = []
    monkeypatch.setattr(draw, "_draw", lambda job: drawn.append(job) or "")
    again = _draw(tmp_path)
    assert drawn == []
    assert _stamps(tmp_path) == before
    pd.testing.assert_frame_equal(first, again)


def test_a_changed_analysis_redraws_its_figures_and_the_gap_map_stays(tmp_path, monkeypatch):
    _draw(tmp_path)
    drawn: list = []
    real = draw._draw
    monkeypatch.setattr(draw, "_draw", lambda job: drawn.append(real(job)) or "")
    _draw(tmp_path, shift=0.5)
    assert sorted(drawn) == ["forest-b-income-smd", "funnel-b-income-smd"]


@pytest.mark.parametrize("workers", [1, 2])
def test_incremental_files_and_index_equal_a_cold_run(tmp_path, workers):
    incremental, cold = tmp_path / "incremental", tmp_path / "cold"
    _draw(incremental)
    pooled, units, studies, references, effects = _tables(0.5)
    changed = draw.draw_all(pooled, units, studies, references, incremental, effects=effects, workers=workers)
    fresh = draw.draw_all(pooled, units, studies, references, cold, effects=effects, workers=workers)
    pd.testing.assert_frame_equal(changed, fresh)
    names = sorted(p.name for p in cold.iterdir())
    assert names == sorted(p.name for p in incremental.iterdir())
    assert all(filecmp.cmp(cold / n, incremental / n, shallow=False) for n in names)


def test_a_run_that_draws_nothing_imports_no_matplotlib(tmp_path):
    _draw(tmp_path)
    code = (
        "import sys\n"
        "from tests.unit.test_draw_figures import _draw\n"
        f"_draw({str(tmp_path)!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_missing_file_is_drawn_again(tmp_path, monkeypatch):
    _draw(tmp_path)
    (tmp_path / "funnel-a-health-or.png").unlink()
    drawn: list = []
    real = draw._draw
    monkeypatch.setattr(draw, "_draw", lambda job: drawn.append(real(job)) or "")
    _draw(tmp_path)
    assert drawn == ["funnel-a-health-or"]
