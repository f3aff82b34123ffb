"""Turn a spreadsheet (CSV, one effect per row) into extraction files.

The columns are the extraction file's own field names (the codebook,
``schemas/extraction.schema.yaml``), so the sheet and the files never drift
apart, and they are the columns of a release's ``extractions.csv`` (so a
release's table can be imported back). Only these differ from the file:

- ``effect_id`` is the effect's ``id`` (``id`` is accepted too);
- ``study_notes`` and ``effect_notes`` are the study's and the effect's ``notes``;
- ``ci_low``, ``ci_high`` give ``ci: [low, high]`` (with ``or`` or ``rr``);
- ``counts_ai`` ... ``counts_di`` give ``counts:``, ``groups_m1`` ...
  ``groups_n2`` give ``groups:`` (``n1`` and ``n2`` are the ``d`` form's);
- ``country``, ``themes`` and ``outcomes`` hold several codes separated by
  ``;`` (``GB;US``);
- ``file`` (in a release's table) is ignored.

Study-level columns (``study``, ``design``, ``country``, ``status``, ...) may
be repeated on every row of a study or given once; a row without effect
columns is a study without effects (a narrative record).

Every cell is typed from the codebook: numbers, whole numbers, true/false.
Spreadsheet habits that change a number's meaning (``1,234``, ``0,5``,
``12%``, ``#DIV/0!``, a typographic minus) are refused with the row and
column, never converted silently. Nothing is written unless the whole sheet is
valid, and an existing file is never overwritten: an identical one is left
alone, a different one stops the import.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from analysis.codebook.columns import (
    SOURCE_FILE,
    STUDY_RENAMED,
    Column,
    column_of_field,
    resolve,
    sheet_columns,
)
from analysis.inputs import extraction
from analysis.inputs.extraction import (
    MAX_FILE_BYTES,
    Problem,
    extraction_schema,
    load_yaml_text,
    validate_document,
)
from analysis.review.cells import CellError, key_problem, parse_cell, shown
from analysis.review.studyfile import comparable, dump_study, first_difference, ordered, write_new_file

# A hand-made sheet of a few thousand effects is well under a megabyte; a
# larger file is almost certainly not the sheet the reviewer meant.
MAX_SHEET_BYTES = 20_000_000

# Other names accepted for a column (the contract's own key).
ALIASES = {"id": "effect_id"}
# Columns of a release's extractions.csv that say nothing the import needs.
IGNORED = {SOURCE_FILE}
# Names that are not columns, and what to use instead.
RENAMED = {
    "ci": "ci_low and ci_high",
    "notes": "study_notes (the study's) or effect_notes (the effect's)",
    "ai": "counts_ai",
    "bi": "counts_bi",
    "di": "counts_di",
    "m1": "groups_m1",
    "sd1": "groups_sd1",
    "m2": "groups_m2",
    "sd2": "groups_sd2",
    "effect": "effect_id",
    "key": "study",
}


@dataclass(frozen=True)
class SheetProblem:
    """One problem of a sheet; ``row`` is the spreadsheet's row number (header = 1)."""

    file: str
    row: int | None
    column: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}. Fix: {self.fix}"


@dataclass
class PlannedFile:
    """One study file the import would write."""

    study: str
    path: Path
    text: str
    rows: list[int]
    state: str = "new"  # new | same (identical file exists) | conflict


@dataclass
class ImportPlan:
    """What an import would do; nothing is written while ``problems`` is not empty."""

    files: list[PlannedFile] = field(default_factory=list)
    problems: list[SheetProblem] = field(default_factory=list)


# ---------------------------------------------------------------- columns from the codebook


def columns() -> dict[str, Column]:
    """Every column a sheet may have, in the codebook's order (analysis.codebook.columns)."""
    return sheet_columns(extraction_schema())


def column_help() -> str:
    """The columns, one per line, for ``review import --help`` and the README."""
    lines = []
    for column in columns().values():
        kind = {
            "number": "number",
            "integer": "whole number",
            "boolean": "true/false",
            "list": "codes separated by ;",
            "mapping": "name=value; ...",
            "text": "text",
        }[column.kind]
        lines.append(f"  {column.name:<15} {kind:<20} {column.description}")
    return "\n".join(lines)


# ---------------------------------------------------------------- reading the sheet


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]], list[SheetProblem]]:
    """Header and rows (with their spreadsheet row numbers) of a CSV file."""
    name = str(path)

    def fail(message: str, fix: str, row: int | None = None):
        return [], [], [SheetProblem(name, row, "", message, fix)]

    try:
        size = path.stat().st_size
        if size > MAX_SHEET_BYTES:
            return fail(
                f"is {size:,} bytes, far more than a sheet of coded effects",
                "check that this is the right file",
            )
        raw = path.read_bytes()
    except OSError as err:
        return fail(f"cannot be read ({err.strerror})", "check the file name")
    if b"\x00" in raw:
        return fail(
            "is not a CSV text file (it contains binary data; is it an .xlsx file?)",
            "in the spreadsheet, use 'Save as' and choose 'CSV UTF-8 (comma delimited)'",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return fail(
            f"is not UTF-8 text (byte {err.start})",
            "in the spreadsheet, use 'Save as' and choose 'CSV UTF-8 (comma delimited)'",
        )
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    if not first.strip():
        return fail(
            "is empty (no column names in the first row)",
            "put the column names (study, design, ...) in the first row",
        )
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as err:
        return fail(
            f"cannot be read as CSV ({err})",
            "check the quotes: a cell with a quote mark inside must be quoted as a whole",
        )
    header = [h.strip().lower() for h in records[0]]
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if any(cell.strip() for cell in record):
            rows.append((number, record))
    return header, rows, []


def _check_header(name: str, header: list[str], known: dict[str, Column]) -> list[SheetProblem]:
    problems = []
    seen: set[str] = set()
    for column in header:
        canonical = ALIASES.get(column, column)
        if not column:
            continue  # an empty column is harmless; a value under it is reported with its row
        if canonical in seen:
            problems.append(SheetProblem(name, 1, column, "appears twice", "keep one column of that name"))
        elif canonical not in known and column not in IGNORED:
            fix = (
                f"use {RENAMED[column]}" if column in RENAMED else "rename it to one of: " + ", ".join(known)
            )
            problems.append(SheetProblem(name, 1, column, "is not a known column", fix))
        seen.add(canonical)
    if "study" not in header:
        problems.append(
            SheetProblem(name, 1, "study", "is missing", "add a column 'study' holding each row's BibTeX key")
        )
    return problems


# ---------------------------------------------------------------- building study files


@dataclass
class _Study:
    """One study's rows of the sheet, typed."""

    fields: dict[str, Any] = field(default_factory=dict)
    first_row: dict[str, int] = field(default_factory=dict)  # field -> the row that gave it
    effects: list[tuple[int, dict]] = field(default_factory=list)  # (row, effect)
    rows: list[int] = field(default_factory=list)
    broken: bool = False  # a cell could not be typed: its problem is reported already


def _for_sheet(problem: Problem) -> Problem:
    """Name fields as the sheet's columns (ci_low, counts_ai, effect_id) rather than the file's."""
    return replace(problem, field=column_of_field(problem.field, effect=bool(problem.effect_id)))


def _row_cells(name: str, number: int, record: list[str], header: list[str]) -> dict | SheetProblem:
    """The row's non-empty cells by column name, or the problem that stops the row."""
    if len(record) > len(header):
        return SheetProblem(
            name,
            number,
            "",
            f"has {len(record)} cells but there are {len(header)} column names",
            "a value containing a comma or semicolon must be in quotes; delete stray cells",
        )
    cells = {header[i]: record[i].strip() for i in range(len(record)) if record[i].strip()}
    if "" in cells:
        position = next(i for i in range(len(record)) if not header[i] and record[i].strip()) + 1
        return SheetProblem(
            name,
            number,
            f"#{position}",
            f"{shown(cells[''])} has no column name",
            "give the column a name in row 1, or move the value to its column",
        )
    key = cells.get("study", "")
    if not key:
        return SheetProblem(name, number, "study", "is empty", "give the study's BibTeX key on every row")
    why = key_problem(key)
    if why:
        fix = "use the study's BibTeX key (no spaces, slashes or other symbols)"
        return SheetProblem(name, number, "study", why, fix)
    return cells


def _type_row(
    name: str, number: int, cells: dict[str, str], known: dict[str, Column], plan: ImportPlan
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(study fields, the effect, whether every cell could be typed) of one row."""
    study_fields: dict[str, Any] = {}
    effect: dict[str, Any] = {}
    nested: dict[str, dict] = {}
    row_ok = True
    for column_name, text in cells.items():
        column = known.get(ALIASES.get(column_name, column_name))
        if column is None:  # an ignored column
            continue
        try:
            value = parse_cell(column, text)
        except CellError as err:
            plan.problems.append(SheetProblem(name, number, column_name, err.message, err.fix))
            row_ok = False
            continue
        if column.level == "study":
            study_fields[column.field] = value
        elif column.key is None:
            effect[column.field] = value
        else:
            nested.setdefault(column.field, {})[column.key] = value
    schema = extraction_schema()
    for parent, parts in nested.items():
        if parent == "ci":
            effect["ci"] = [parts.get(0), parts.get(1)]
        else:
            order = list(resolve(schema, schema["$defs"]["effect"]["properties"][parent])["properties"])
            effect[parent] = ordered(parts, order)
    return study_fields, effect, row_ok


def _merge_study_fields(
    name: str, number: int, key: str, entry: _Study, study_fields: dict, plan: ImportPlan
) -> bool:
    """Add a row's study fields to the study; False when one differs from an earlier row's."""
    ok = True
    for key_field, value in study_fields.items():
        if key_field in entry.fields and entry.fields[key_field] != value:
            first_row = entry.first_row[key_field]
            plan.problems.append(
                SheetProblem(
                    name,
                    number,
                    STUDY_RENAMED.get(key_field, key_field),
                    f"{shown(str(value))} differs from row {first_row} "
                    f"({shown(str(entry.fields[key_field]))}) for study {key}",
                    "give a study's columns the same value on every row, or fill them on one row only",
                )
            )
            ok = False
        elif key_field not in entry.fields:
            entry.fields[key_field] = value
            entry.first_row[key_field] = number
    return ok


def _read_studies(name: str, header: list[str], rows: list, plan: ImportPlan) -> dict[str, _Study]:
    """The sheet's rows, typed and grouped by study (problems go to the plan)."""
    known = columns()
    effect_order = list(extraction_schema()["$defs"]["effect"]["properties"])
    studies: dict[str, _Study] = {}
    for number, record in rows:
        cells = _row_cells(name, number, record, header)
        if isinstance(cells, SheetProblem):
            plan.problems.append(cells)
            continue
        key = cells["study"]
        entry = studies.setdefault(key, _Study())
        entry.rows.append(number)
        study_fields, effect, row_ok = _type_row(name, number, cells, known, plan)
        row_ok &= _merge_study_fields(name, number, key, entry, study_fields, plan)
        entry.broken |= not row_ok
        if effect:
            entry.effects.append((number, ordered(effect, effect_order)))
    return studies


def _least_length(value: Any) -> int:
    """Fewer characters than the YAML of ``value`` has (every key and value is written out)."""
    if isinstance(value, dict):
        return sum(len(str(k)) + _least_length(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_least_length(v) for v in value)
    return len(str(value))


def _too_large(name: str, key: str, size: int, rows: list[int]) -> SheetProblem:
    return SheetProblem(
        name,
        rows[0],
        "",
        f"study {key} ({len(rows):,} rows) would be an extraction file of more than {size:,} bytes, "
        f"and `review check` and the workflow read files of at most {MAX_FILE_BYTES:,} bytes; "
        "nothing was written",
        "check that these rows are one study's effects (was the study column filled down by "
        "mistake?); a study this large cannot be imported as one file",
    )


def _plan_file(sheet: Path, extracted_dir: Path, key: str, entry: _Study, bib_keys, plan: ImportPlan) -> None:
    """The study's file: written out, size-checked, validated and compared with an existing one."""
    name = str(sheet)
    schema = extraction_schema()
    doc = ordered({**entry.fields, "study": key}, list(schema["properties"]))
    if entry.effects:
        doc["effects"] = [e for _, e in entry.effects]
    if _least_length(doc) > MAX_FILE_BYTES:  # refused before writing megabytes of YAML
        plan.problems.append(_too_large(name, key, MAX_FILE_BYTES, entry.rows))
        return
    span = f"row {entry.rows[0]}" if len(entry.rows) == 1 else f"rows {entry.rows[0]}-{entry.rows[-1]}"
    text = dump_study(doc, f"Imported by `review import` from {_safe_name(sheet)} ({span}).")
    target = Path(extracted_dir) / f"{key}.yaml"
    planned = PlannedFile(key, target, text, entry.rows)
    plan.files.append(planned)
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        plan.problems.append(_too_large(name, key, MAX_FILE_BYTES, entry.rows))
        return
    if entry.broken:
        return  # the cell's own problem is reported; validating the rest would repeat it
    parsed = load_yaml_text(text)
    if parsed != doc:  # pragma: no cover - the dumper round-trips every value we build
        message = f"study {key} cannot be written faithfully as YAML"
        plan.problems.append(SheetProblem(name, entry.rows[0], "", message, "report this to the developers"))
        return
    effect_rows = {str(e.get("id") or f"#{i + 1}"): n for i, (n, e) in enumerate(entry.effects)}
    for problem in validate_document(parsed, target, bib_keys):
        problem = _for_sheet(problem)
        row = effect_rows.get(problem.effect_id, entry.rows[0])
        rest = str(replace(problem, file=""))[2:]
        plan.problems.append(
            SheetProblem(name, row, "", rest.split(". Fix: ")[0], rest.split(". Fix: ", 1)[1])
        )
    _compare_existing(planned, parsed, plan)


def plan_import(sheet: Path, extracted_dir: Path, bib_keys: set[str] | None) -> ImportPlan:
    """Read, type and validate a sheet; decide what each study file would be."""
    name = str(sheet)
    plan = ImportPlan()
    header, rows, problems = read_rows(sheet)
    plan.problems += problems
    if problems:
        return plan
    plan.problems += _check_header(name, header, columns())
    if plan.problems:
        return plan
    if not rows:
        fix = "add one row per effect below the column names"
        plan.problems.append(SheetProblem(name, None, "", "has column names but no rows", fix))
        return plan
    for key, entry in _read_studies(name, header, rows, plan).items():
        _plan_file(sheet, extracted_dir, key, entry, bib_keys, plan)
    return plan


def _safe_name(path: Path) -> str:
    return "".join(c if c.isprintable() else "?" for c in path.name)


def _compare_existing(planned: PlannedFile, parsed: dict, plan: ImportPlan) -> None:
    for existing in (planned.path, planned.path.with_suffix(".yml")):
        if not existing.exists():
            continue
        data, problems = extraction.read_extraction(existing)
        if data is not None and comparable(data) == comparable(parsed) and existing == planned.path:
            planned.state = "same"
            return
        planned.state = "conflict"
        why = "cannot be read" if data is None else first_difference(data, parsed)
        plan.problems.append(
            SheetProblem(
                str(existing),
                None,
                "",
                f"already exists and differs from the sheet's study {planned.study} ({why}); "
                "nothing was written",
                "if the sheet is right, move the old file out of the folder and import again; "
                "otherwise correct the sheet",
            )
        )
        return


def apply_import(plan: ImportPlan) -> tuple[list[PlannedFile], list[PlannedFile]]:
    """Write the plan's new files (only when it has no problem); return (written, unchanged)."""
    if plan.problems:
        raise ValueError("an import with problems writes nothing")
    written = []
    for planned in plan.files:
        if planned.state == "new":
            write_new_file(planned.path, planned.text)
            written.append(planned)
    return written, [p for p in plan.files if p.state == "same"]
