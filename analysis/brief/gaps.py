"""Where the evidence is missing: studies per theme and outcome (the gap map)."""

from __future__ import annotations

from pathlib import Path

from analysis.brief.common import relative, rows, text
from analysis.codebook.vocabulary import OUTCOME_NAME, OUTCOMES, THEME_SHORT, THEMES
from analysis.inputs.gaps import gap_counts


def gap_table(counts: list[dict]) -> dict:
    themes = list(THEMES) + sorted({c["theme"] for c in counts} - set(THEMES))
    outcomes = list(OUTCOMES) + sorted({c["outcome"] for c in counts} - set(OUTCOMES))
    cell = {(c["theme"], c["outcome"]): c for c in counts}
    table = []
    for t in themes:
        cells = []
        for o in outcomes:
            c = cell.get((t, o))
            cells.append(f"{c['coded']} / {c['narrative']}" if c else "·")
        table.append({"theme": THEME_SHORT.get(t, t), "cells": cells})
    empty = sum(1 for t in THEMES for o in OUTCOMES if (t, o) not in cell)
    return {
        "outcomes": [OUTCOME_NAME.get(o, o) for o in outcomes],
        "rows": table,
        "empty": empty,
        "cells": len(THEMES) * len(OUTCOMES),
    }


def gap_section(effects, studies, figures, coded_studies: list[dict], figures_dir: Path, qmd_dir: Path):
    """The gap map's table, its figure and the narrative studies it cannot place."""
    gap = gap_table(gap_counts(effects, studies))
    gap_figure = next((f for f in rows(figures) if text(f.get("kind")) == "gapmap"), None)
    gap["figure"] = None
    if gap_figure is not None and text(gap_figure.get("svg")):
        gap["figure"] = {
            "path": relative(figures_dir / text(gap_figure["svg"]), qmd_dir),
            "alt": text(gap_figure.get("alt")),
            "id": "fig-gapmap",
        }
    unplaced = [
        s
        for s in coded_studies
        if text(s.get("status")) == "narrative" and not (text(s.get("themes")) and text(s.get("outcomes")))
    ]
    gap["unplaced"] = str(len(unplaced))
    return gap
