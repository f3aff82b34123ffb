"""Small helpers every section of the brief uses: reading table cells, study labels,
the order of analyses, and keeping long tables short."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.codebook.citations import author_year, study_labels  # noqa: F401 - one home for citations
from analysis.codebook.vocabulary import OUTCOME_NAME, OUTCOMES, THEMES, construct_words

# Citation keys that can be written as [@key] without escaping.
KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_:-]*$")

# The study key of our own reanalysis of the public Social Capital Atlas.
ATLAS_STUDY = "sca2022"


def rows(frame) -> list[dict]:
    """A table's rows as dicts, the values ``frame.to_dict("records")`` gives; a list of
    rows is returned as it is (the brief converts each table once and passes the rows on).

    Column by column: ``to_dict`` boxes every cell on its own, which at 100,000 studies took
    10 s for effects.csv alone (2 s this way; the values are the same, tested)."""
    if frame is None:
        return []
    if isinstance(frame, list):
        return frame
    names = list(frame.columns)
    if not names or len(set(names)) != len(names):
        return frame.to_dict("records")
    columns = [_shared(frame[c]) for c in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _shared(column) -> list:
    """A column's values; equal texts as one object (a theme, a measure or a country
    repeated 200,000 times costs one string, not 200,000)."""
    import pandas as pd

    values = column.tolist()
    if pd.api.types.is_numeric_dtype(column):
        return values
    seen: dict = {}
    return [seen.setdefault(v, v) if type(v) is str else v for v in values]


def study_labels_of(references) -> dict[str, str]:
    """Study key -> 'Author (year)' (:func:`study_labels`) from references.csv as a frame or
    its rows."""
    return {text(r["key"]): author_year(r) for r in rows(references)}


def text(value: Any) -> str:
    if type(value) is str:  # most cells: one test, not three (called millions of times)
        return value.strip()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def citable(key: str, keys) -> bool:
    return bool(key) and bool(KEY.match(key)) and (keys is None or key in keys)


def analysis_label(row: Mapping[str, Any]) -> str:
    """'Health: high versus low social capital' (outcome, then construct in words)."""
    outcome = OUTCOME_NAME.get(text(row.get("outcome")), text(row.get("outcome")).capitalize())
    construct = text(row.get("construct"))
    return f"{outcome}: {construct_words(construct)}" if construct else outcome


def sort_key(row: Mapping[str, Any]) -> tuple:
    theme, outcome = text(row.get("theme")), text(row.get("outcome"))
    return (
        THEMES.index(theme) if theme in THEMES else len(THEMES),
        OUTCOMES.index(outcome) if outcome in OUTCOMES else len(OUTCOMES),
        -int(row.get("k") or 0),
        text(row.get("analysis_id")),
    )


def relative(path: str | Path, start: str | Path) -> str:
    """``path`` relative to ``start`` (the .qmd's folder: pandoc and Quarto resolve from it)."""
    return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()


def year(value: Any) -> int:
    match = re.search(r"\d{4}", text(value))
    return int(match.group()) if match else 0


# --- keeping the brief short ---------------------------------------------------------

# Most rows of any list in the brief (studies, coded numbers, analyses, ...). A longer
# table is scanned, not read, and it is what made the brief heavy: at 10,000 studies the
# uncapped brief had 33,558 table rows (84 MB of HTML, a 91 MB PDF, 11 GB for typst).
# 100 rows are about three A4 pages, and keep the PDF's typst under 550 MB at 10,000
# studies (150 rows: 630 MB); the seed corpus' longest list has 48. The results files
# (effects.csv, studies.csv, pooled.csv, units.csv) hold every row, and each capped
# table says so.
TABLE_ROWS = 100
# Most rows of a table inside a theme section (the theme's other analyses, its studies with
# findings only): those sections are read from start to end, five of them, and 40 rows are
# about one page. The lists at the end of the brief keep TABLE_ROWS.
THEME_TABLE_ROWS = 40
# Per theme, the analyses shown in full (text, forest and funnel plot): the ones that rest
# on the most studies. The seed corpus has at most four per theme, so all are shown; at
# 10,000 studies a theme has up to 76 and 452 embedded figures made the brief 84 MB. The
# other analyses of the theme are listed in one compact table; every figure is still
# drawn, in the figures folder of the results.
FIGURE_ANALYSES = 8
# Most rows of a pooled analysis' table of studies (each sample's value, weight and the pool
# without it): the ones that weigh most. At 10,000 studies one pool has 494 samples and the
# 40 tables shown held 7,313 rows, which took pandoc's HTML render to 1.6 GB; units.csv and
# sensitivity/leave_one_out.csv hold every sample of every analysis.
POOL_ROWS = 30
# Most studies cited by name for one analysis: those with the largest weight. An analysis
# of 10,000 studies would otherwise cite them all in one sentence (units.csv lists them).
CITED_STUDIES = 10


def capped(items: list, limit: int | None = None, rank=None) -> tuple[list, int]:
    """(rows shown, number left out): every row when they fit; otherwise the ``limit``
    (default TABLE_ROWS) first by ``rank`` (a sort key; ties keep their order), shown in
    their original order."""
    limit = TABLE_ROWS if limit is None else limit
    if len(items) <= limit:
        return list(items), 0
    order = sorted(range(len(items)), key=lambda i: (rank(items[i]), i) if rank else i)
    keep = sorted(order[:limit])
    return [items[i] for i in keep], len(items) - limit


# The PDF is for printing, and typst's memory grows with every row it lays out (at 1,000
# studies the uncapped pool tables and lists took it to 700 MB): its tables keep fewer rows
# than the HTML's. A pool's table of studies keeps the PDF_POOL_ROWS that weigh most (as
# many as the studies cited by name), the other long tables PDF_ROWS (about one page).
# report/pdf.lua drops the other rows from the PDF only; each shortened table says how many
# rows it leaves out and where they all are.
PDF_POOL_ROWS = 10
PDF_ROWS = 30
# In a theme section (the theme's other analyses, its studies with findings only).
PDF_THEME_ROWS = 15


def pdf_cap(items: list, limit: int, rank, noun: str, which: str, file: str) -> str:
    """The attributes of the div of a table the PDF shows shorter, for report/pdf.lua:
    ' pdf-keep="0 4 9" pdf-note="..."' (the 0-based rows kept: the ``limit`` first by
    ``rank``, ties in their order, as :func:`capped`), '' when every row fits.

    ``noun`` names the rows (plural), ``which`` says which are kept, ``file`` is the
    results file that holds them all."""
    if len(items) <= limit:
        return ""
    order = sorted(range(len(items)), key=lambda i: (rank(items[i]), i))
    keep = " ".join(str(i) for i in sorted(order[:limit]))
    note = (
        f"*The PDF shows {limit:,} of these {len(items):,} {noun}: {which}. The HTML brief "
        f"(`brief.html`) shows them all, and `{file}` in the release holds every one.*"
    )
    if '"' in note:
        raise ValueError(f"pdf_cap: a double quote cannot go in a table's attribute: {note}")
    return f' pdf-keep="{keep}" pdf-note="{note}"'


def left_out_note(
    left: int, shown: int, noun: tuple[str, str], which: str, file: str, extra: str = ""
) -> str:
    """'124 more pooled analyses are not shown: the table below keeps the 100 with the most
    independent samples. All 224 are in the results file `pooled.csv`.' ('' when none).

    ``noun`` is (singular, plural); ``which`` says which rows are kept, with ``{n}`` for
    their number."""
    if not left:
        return ""
    noun = f"{noun[0]} is" if left == 1 else f"{noun[1]} are"
    return (
        f"{left:,} more {noun} not shown: the table below "
        f"keeps {which.format(n=f'{shown:,}')}. All {left + shown:,} are in the results "
        f"file `{file}`{extra}."
    )
