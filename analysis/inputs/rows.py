"""A few columns of a results CSV as plain rows, without pandas (issue 14: an add-one rebuild runs
each job in a fresh process, and importing pandas costs ~0.5 s where a job reads a few cells).

The rows are what :func:`analysis.io.read_table` gives for the same file and columns, as far
as the callers use them: text cells as written (the apostrophe of
:func:`analysis.io.neutralise` removed), and the ``numeric`` columns typed as pandas types
them (int when every cell is an integer, else float with NaN for an empty cell; a column with
any other text stays text).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path

from analysis.io import unneutralise


def read_rows(path: str | Path, columns: Iterable[str], numeric: Iterable[str] = ()) -> list[dict]:
    """The rows of a CSV written by analysis.io, each a dict of the ``columns`` the file has.

    ``numeric``: columns typed as numbers (see the module's docstring); the others are text,
    an empty cell ``""``."""
    wanted = set(columns)
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        places = [(i, name) for i, name in enumerate(header) if name in wanted]
        rows = [{name: unneutralise(cells[i]) for i, name in places} for cells in reader if cells]
    for name in set(numeric) & {name for _, name in places}:
        _type_column(rows, name)
    return rows


def _type_column(rows: list[dict], name: str) -> None:
    """The cells of column ``name`` as pandas types them: int, else float (NaN for empty)."""
    cells = [row[name] for row in rows]
    try:
        values: list = [int(cell) for cell in cells]
    except ValueError:
        try:
            values = [float(cell) if cell != "" else math.nan for cell in cells]
        except ValueError:
            return  # text: pandas keeps it as text too
    for row, value in zip(rows, values, strict=True):
        row[name] = value


def records(table) -> list:
    """The rows of ``table``: a DataFrame's records, or the list of rows itself (as
    :func:`read_rows` gives it)."""
    return table.to_dict("records") if hasattr(table, "to_dict") else table
