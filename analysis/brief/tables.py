"""Reading the results tables the brief is written from: the large ones (one row per effect,
sample or study) as rows, with only the columns the brief reads.

At 100,000 studies effects.csv is 213,000 rows and 93 MB; read whole and converted to dicts
it held 470 MB, with the columns below and shared strings (:func:`common.rows`) 270 MB.
A section that starts reading another column of one of these tables adds it here (the
column is otherwise missing from every row, which reads as empty)."""

from __future__ import annotations

from pathlib import Path

from analysis.brief.common import rows

# Table -> the columns the brief reads (None: every column).
COLUMNS: dict[str, tuple[str, ...] | None] = {
    # pools.effects_by_unit and number_note, evidence.coded_effects, atlas.atlas_columns,
    # methods.formulas, inputs.gaps.gap_counts, the count of effects.
    "effects": (
        "study", "sample", "theme", "outcome", "outcome_label", "exposure", "construct", "role",
        "measure", "input_form", "formula", "printed", "reverse", "kind", "locator", "quote",
        "computed_by",
    ),
    # results.analyses, the pool tables, the weights, participants (rating.table).
    "units": None,
    # The studies' list, results.analyses, the gap map, the counts of records.
    "studies": (
        "study", "kind", "design", "country", "status", "themes", "outcomes", "n_effects",
        "findings", "not_poolable",
    ),
    # The labels (author, year), the years, the seed report (title).
    "references": ("key", "author", "year", "title"),
    # The pool tables' "without it" and the robustness table's range.
    "leave_one_out": ("analysis_id", "study", "sample", "estimate", "ci_low", "ci_high"),
}  # fmt: skip


def read_rows(path: str | Path, table: str) -> list[dict]:
    """The rows of results table ``table`` (a key of :data:`COLUMNS`) at ``path``, with the
    columns the brief reads; the frame is dropped once converted."""
    from analysis.io import read_table

    columns = COLUMNS[table]
    return rows(read_table(path, columns=None if columns is None else list(columns)))
