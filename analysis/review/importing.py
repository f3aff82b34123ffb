"""``review import SHEET.csv``: a spreadsheet (one effect per row) into one file per study.

The sheet is read, typed and checked as a whole first (analysis.review.sheet);
nothing is written unless all of it is valid, and an existing file is never
overwritten.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.inputs import extraction
from analysis.review import sheet
from analysis.review.check import document_warnings
from analysis.review.common import ReviewError, printable, project, read_bibliography, show_path

# A sheet can have thousands of problems (one per row); the first ones say what to fix.
MAX_PROBLEMS_SHOWN = 50
# No line of the report is longer than this (a cell's value is shown cut short anyway).
MAX_LINE = 600
# Runs of rows shown for one study file ("rows 2-40, 45, 50-61").
MAX_ROW_RUNS = 8


def _line(text: str) -> str:
    text = printable(text)
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "..."


def row_span(rows: list[int]) -> str:
    """``rows 2-40, 45`` for the spreadsheet rows of one study, at most MAX_ROW_RUNS runs."""
    runs: list[list[int]] = []
    for row in sorted(rows):
        if runs and row == runs[-1][1] + 1:
            runs[-1][1] = row
        else:
            runs.append([row, row])
    shown = [
        f"{a}-{b}" if b > a + 1 else ", ".join(map(str, range(a, b + 1))) for a, b in runs[:MAX_ROW_RUNS]
    ]
    more = f" and {len(runs) - MAX_ROW_RUNS} more" if len(runs) > MAX_ROW_RUNS else ""
    return f"row{'s' if len(rows) > 1 else ''} {', '.join(shown)}{more}"


def _print_problems(plan: sheet.ImportPlan, name: str) -> None:
    for problem in plan.problems[:MAX_PROBLEMS_SHOWN]:
        print(f"  - {_line(str(problem))}")
    hidden = len(plan.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        print(f"  ... and {hidden:,} more (the first {MAX_PROBLEMS_SHOWN} are shown)")
    print(
        f"{len(plan.problems):,} problem(s) in {show_path(name)}; nothing was written. "
        "Fix them, then import again."
    )


def run(args: argparse.Namespace) -> int:
    paths = project(args)
    keys = {r.key for r in read_bibliography(paths.bibliography)}
    plan = sheet.plan_import(Path(args.sheet), paths.extracted, keys)
    if plan.problems:
        _print_problems(plan, args.sheet)
        return 1
    if args.dry_run:
        for planned in plan.files:
            state = "would be written" if planned.state == "new" else "is already up to date"
            print(f"{show_path(planned.path)} {state}")
        print(f"The sheet is valid ({len(plan.files)} study file(s)); nothing was written (--dry-run).")
        return 0
    try:
        written, same = sheet.apply_import(plan)
    except FileExistsError as err:
        raise ReviewError(
            f"{show_path(str(err))} appeared while importing; the import stopped. Run it again."
        ) from None
    for planned in written:
        print(f"Wrote {show_path(planned.path)} ({row_span(planned.rows)})")
        for warning in document_warnings(extraction.load_yaml_text(planned.text)):
            print(f"  - warning: {_line(warning)}")
    for planned in same:
        print(f"{show_path(planned.path)} is already up to date")
    print(
        f"Imported {len(written)} new study file(s); {len(same)} already up to date. "
        "Run `review check`, then rebuild with `make brief`."
    )
    return 0
