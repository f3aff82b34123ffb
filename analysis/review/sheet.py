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
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from analysis.inputs import extraction
from analysis.inputs.extraction import Problem, extraction_schema, load_yaml_text, validate_document

# A hand-made sheet of a few thousand effects is well under a megabyte; a
# larger file is almost certainly not the sheet the reviewer meant.
MAX_SHEET_BYTES = 20_000_000

# Sheet column names that differ from the field's name (as in a release's extractions.csv).
STUDY_RENAMED = {"notes": "study_notes", "moderators": "study_moderators"}
EFFECT_RENAMED = {"id": "effect_id", "notes": "effect_notes", "moderators": "effect_moderators"}
# Other names accepted for a column (the contract's own key).
ALIASES = {"id": "effect_id"}
# Columns of a release's extractions.csv that say nothing the import needs.
IGNORED = {"file"}
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
# Values spreadsheets write for "no number"; never a number to code.
MISSING_MARKERS = {
    "nan",
    "na",
    "n/a",
    "none",
    "null",
    "-",
    "--",
    "inf",
    "-inf",
    "+inf",
    "infinity",
    "-infinity",
    ".nan",
    ".inf",
    "-.inf",
}
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
TRUE_WORDS, FALSE_WORDS = {"true", "yes"}, {"false", "no"}
# A key names a file; file systems refuse names over 255 bytes, and no BibTeX
# key is anywhere near this long.
MAX_KEY_LENGTH = 120


@dataclass(frozen=True)
class Column:
    """One spreadsheet column: where its value goes and how it is typed."""

    name: str
    level: str  # "study" or "effect"
    field: str  # the extraction file's field
    key: Any  # key inside a nested field (ci, counts, groups), or None
    kind: str  # "text", "number", "integer", "boolean" or "list"
    description: str


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


def _resolve(spec: dict) -> dict:
    ref = spec.get("$ref")
    if ref:
        return {
            **extraction_schema()["$defs"][ref.rsplit("/", 1)[-1]],
            **{k: v for k, v in spec.items() if k != "$ref"},
        }
    return spec


def _kind(spec: dict) -> str:
    spec = _resolve(spec)
    kind = spec.get("type")
    if kind == "array":
        return "list"
    if kind in ("number", "integer", "boolean"):
        return kind
    if kind == "object":  # moderators: name=value; name=value
        return "mapping"
    return "text"


def columns() -> dict[str, Column]:
    """Every column a sheet may have, in the codebook's order: study fields, then effect fields."""
    schema = extraction_schema()
    out: dict[str, Column] = {}
    levels = (
        ("study", {k: v for k, v in schema["properties"].items() if k != "effects"}, STUDY_RENAMED),
        ("effect", schema["$defs"]["effect"]["properties"], EFFECT_RENAMED),
    )
    for level, properties, renamed in levels:
        for name, raw in properties.items():
            spec = _resolve(raw)
            description = str(spec.get("description", "")).strip()
            column = renamed.get(name, name)
            if name == "ci":
                for key, bound in ((0, "low"), (1, "high")):
                    out[f"ci_{bound}"] = Column(
                        f"ci_{bound}",
                        level,
                        name,
                        key,
                        "number",
                        f"{'Lower' if key == 0 else 'Upper'} bound: {description}",
                    )
            elif spec.get("type") == "object" and "properties" in spec:
                for key, sub in spec["properties"].items():
                    sub = _resolve(sub)
                    text = str(sub.get("description") or f"{key}: {description}").strip()
                    out[f"{column}_{key}"] = Column(f"{column}_{key}", level, name, key, _kind(sub), text)
            else:
                out[column] = Column(column, level, name, None, _kind(spec), description)
    return out


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


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a study key (it becomes a file name), or None."""
    pattern = extraction_schema()["properties"]["study"]["pattern"]
    if not isinstance(key, str) or not re.fullmatch(pattern, key):
        return (
            f"{_show(str(key))} cannot be a study key: a key is also a file name, so it may "
            "hold only letters, digits, '_', ':' and '-', and must start with a letter or digit"
        )
    if len(key) > MAX_KEY_LENGTH:
        return f"the key is {len(key)} characters long; a study key has at most {MAX_KEY_LENGTH}"
    return None


# ---------------------------------------------------------------- cells


class CellError(ValueError):
    """A cell that cannot be typed: the message and the fix."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message, self.fix = message, fix


def _show(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _control_characters(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t"]


def parse_number(text: str, integer: bool = False) -> int | float:
    """A plain number as a reviewer types it; raise CellError for anything ambiguous."""
    wanted = "a whole number" if integer else "a number"
    if _INTEGER.match(text):
        return int(text)
    if _NUMBER.match(text):
        if integer:
            raise CellError(
                f"{_show(text)} is not a whole number",
                "write the count without decimals (e.g. 120), as printed in the source",
            )
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise CellError(
                f"{_show(text)} is too large to be a number", "check the number against the source"
            )
        return value
    if "," in text:
        raise CellError(
            f"{_show(text)} is not {wanted}: a comma is either a thousands separator (1,234) or a "
            "decimal comma (0,5), and the two cannot be told apart",
            "write the number with a dot for decimals and no separators (1234, or 0.5), "
            "exactly as meant in the source",
        )
    if text.endswith("%"):
        raise CellError(
            f"{_show(text)} is not {wanted}: it has a percent sign",
            "write the statistic as the source reports it, without '%' "
            "(a proportion as 0.12, a percentage point difference as 12)",
        )
    if text.startswith("#"):
        raise CellError(
            f"{_show(text)} is a spreadsheet error, not {wanted}",
            "fix the formula in the spreadsheet, or type the number from the source",
        )
    if text.lower() in MISSING_MARKERS:
        raise CellError(
            f"{_show(text)} is not {wanted}",
            "leave the cell empty when the source gives no number; never type NaN or infinity",
        )
    if any(c in text for c in "\u2212\u2013\u2014"):
        raise CellError(
            f"{_show(text)} uses a typographic minus or dash",
            "type the number with a plain hyphen-minus (-0.5)",
        )
    if any(c.isspace() for c in text):
        raise CellError(
            f"{_show(text)} is not {wanted}: it contains a space",
            "write the number without spaces or thousands separators (1234)",
        )
    raise CellError(
        f"{_show(text)} is not {wanted}", f"write {wanted} (e.g. {'1234' if integer else '0.57'})"
    )


def parse_cell(column: Column, text: str) -> Any:
    """The typed value of one non-empty cell."""
    if column.kind in ("number", "integer"):
        return parse_number(text, integer=column.kind == "integer")
    if column.kind == "boolean":
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise CellError(f"{_show(text)} is not true or false", "write true or false (or leave it empty)")
    bad = _control_characters(text)
    if bad:
        raise CellError(
            f"contains the control character #x{ord(bad[0]):04x}",
            "delete it (it often comes from copying out of a PDF or a terminal)",
        )
    if column.kind == "list":
        return [part.strip() for part in re.split(r"[;,]", text) if part.strip()]
    if column.kind == "mapping":
        from analysis.inputs.moderators import parse_moderators

        try:
            return parse_moderators(text)
        except ValueError as error:
            raise CellError(*error.args) from None
    return text


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


class _Dumper(yaml.SafeDumper):
    """Short lists of numbers or codes on one line (country: [GB], ci: [1.2, 3.4])."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(item, (dict, list)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)


def dump_study(doc: dict, comment: str = "") -> str:
    """YAML text of one study file, fields in the codebook's order."""
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _ordered(values: dict, order: Iterable[str]) -> dict:
    order = list(order)
    return {k: values[k] for k in sorted(values, key=lambda k: order.index(k) if k in order else len(order))}


def _first_difference(old: Any, new: Any, where: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if key not in new:
                return f"{where}{key} is in the file but not in the sheet"
            if key not in old:
                return f"{where}{key} is in the sheet but not in the file"
            if old[key] != new[key]:
                return _first_difference(old[key], new[key], f"{where}{key}.")
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                label = a.get("id") if isinstance(a, dict) and a.get("id") else index + 1
                return _first_difference(a, b, f"{where}{label}.")
    what = where.rstrip(".") or "the content"
    return f"{what}: {_show(str(old), 30)} in the file, {_show(str(new), 30)} in the sheet"


_SHEET_FIELDS = {"ci": "ci_low/ci_high", "ci.0": "ci_low", "ci.1": "ci_high"}


def _for_sheet(problem: Problem) -> Problem:
    """Name fields as the sheet's columns (ci_low, counts_ai, effect_id) rather than the file's."""
    name = problem.field
    renamed = EFFECT_RENAMED if problem.effect_id else STUDY_RENAMED
    if name in _SHEET_FIELDS:
        name = _SHEET_FIELDS[name]
    elif "." in name and not name.split(".", 1)[1].isdigit():
        name = name.replace(".", "_", 1)  # counts.ai -> counts_ai, groups.m1 -> groups_m1
    else:
        name = renamed.get(name, name)
    return replace(problem, field=name)


def plan_import(sheet: Path, extracted_dir: Path, bib_keys: set[str] | None) -> ImportPlan:
    """Read, type and validate a sheet; decide what each study file would be."""
    name = str(sheet)
    plan = ImportPlan()
    header, rows, problems = read_rows(sheet)
    plan.problems += problems
    if problems:
        return plan
    known = columns()
    plan.problems += _check_header(name, header, known)
    if plan.problems:
        return plan
    if not rows:
        plan.problems.append(
            SheetProblem(
                name,
                None,
                "",
                "has column names but no rows",
                "add one row per effect below the column names",
            )
        )
        return plan
    schema = extraction_schema()
    study_order = list(schema["properties"])
    effect_order = list(schema["$defs"]["effect"]["properties"])
    studies: dict[str, dict] = {}  # key -> {"fields": {}, "from": {field: row}, "effects": [], "rows": []}
    for number, record in rows:
        if len(record) > len(header):
            plan.problems.append(
                SheetProblem(
                    name,
                    number,
                    "",
                    f"has {len(record)} cells but there are {len(header)} column names",
                    "a value containing a comma or semicolon must be in quotes; delete stray cells",
                )
            )
            continue
        cells = {header[i]: record[i].strip() for i in range(len(record)) if record[i].strip()}
        if "" in cells:
            position = next(i for i in range(len(record)) if not header[i] and record[i].strip()) + 1
            plan.problems.append(
                SheetProblem(
                    name,
                    number,
                    f"#{position}",
                    f"{_show(cells[''])} has no column name",
                    "give the column a name in row 1, or move the value to its column",
                )
            )
            continue
        key = cells.get("study", "")
        if not key:
            plan.problems.append(
                SheetProblem(name, number, "study", "is empty", "give the study's BibTeX key on every row")
            )
            continue
        why = key_problem(key)
        if why:
            plan.problems.append(
                SheetProblem(
                    name,
                    number,
                    "study",
                    why,
                    "use the study's BibTeX key (no spaces, slashes or other symbols)",
                )
            )
            continue
        entry = studies.setdefault(
            key, {"fields": {}, "from": {}, "effects": [], "rows": [], "broken": False}
        )
        entry["rows"].append(number)
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
        for parent, parts in nested.items():
            if parent == "ci":
                effect["ci"] = [parts.get(0), parts.get(1)]
            else:
                order = list(_resolve(schema["$defs"]["effect"]["properties"][parent])["properties"])
                effect[parent] = _ordered(parts, order)
        for key_field, value in study_fields.items():
            if key_field in entry["fields"] and entry["fields"][key_field] != value:
                first_row = entry["from"][key_field]
                column_name = STUDY_RENAMED.get(key_field, key_field)
                plan.problems.append(
                    SheetProblem(
                        name,
                        number,
                        column_name,
                        f"{_show(str(value))} differs from row {first_row} "
                        f"({_show(str(entry['fields'][key_field]))}) for study {key}",
                        "give a study's columns the same value on every row, or fill them on one row only",
                    )
                )
                row_ok = False
            elif key_field not in entry["fields"]:
                entry["fields"][key_field] = value
                entry["from"][key_field] = number
        entry["broken"] |= not row_ok
        if effect:
            entry["effects"].append((number, _ordered(effect, effect_order)))
    for key, entry in studies.items():
        doc = _ordered({**entry["fields"], "study": key}, study_order)
        effects = [e for _, e in entry["effects"]]
        if effects:
            doc["effects"] = effects
        rows_of = entry["rows"]
        span = f"row {rows_of[0]}" if len(rows_of) == 1 else f"rows {rows_of[0]}-{rows_of[-1]}"
        text = dump_study(doc, f"Imported by `review import` from {_safe_name(sheet)} ({span}).")
        target = Path(extracted_dir) / f"{key}.yaml"
        planned = PlannedFile(key, target, text, rows_of)
        plan.files.append(planned)
        if entry["broken"]:
            continue  # the cell's own problem is reported; validating the rest would repeat it
        parsed = load_yaml_text(text)
        if parsed != doc:  # pragma: no cover - the dumper round-trips every value we build
            plan.problems.append(
                SheetProblem(
                    name,
                    rows_of[0],
                    "",
                    f"study {key} cannot be written faithfully as YAML",
                    "report this to the developers",
                )
            )
            continue
        effect_rows = {str(e.get("id") or f"#{i + 1}"): n for i, (n, e) in enumerate(entry["effects"])}
        for problem in validate_document(parsed, target, bib_keys):
            problem = _for_sheet(problem)
            row = effect_rows.get(problem.effect_id, rows_of[0])
            rest = str(replace(problem, file=""))[2:]
            plan.problems.append(
                SheetProblem(name, row, "", rest.split(". Fix: ")[0], rest.split(". Fix: ", 1)[1])
            )
        _compare_existing(planned, parsed, plan)
    return plan


def _safe_name(path: Path) -> str:
    return "".join(c if c.isprintable() else "?" for c in path.name)


def comparable(value: Any, spec: dict | None = None) -> Any:
    """A parsed file as the analysis reads it: schema defaults filled in, empty fields
    dropped, text on one line, effects in id order.

    Two files that are equal here give the same results; ``review import`` leaves
    such an existing file alone (a release's table writes text on one line and
    spells out defaults such as ``kind: study``).
    """
    spec = _resolve(spec if spec is not None else extraction_schema())
    if isinstance(value, dict) and "properties" in spec:
        out = {k: v["default"] for k, v in spec["properties"].items() if "default" in v}
        out.update({k: comparable(v, spec["properties"].get(k, {})) for k, v in value.items()})
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}  # empty = absent
    if isinstance(value, list):
        items = [comparable(v, spec.get("items", {})) for v in value]
        if all(isinstance(v, dict) and "id" in v for v in items):  # effects: order is not meaning
            items.sort(key=lambda v: str(v["id"]))
        return items
    if isinstance(value, str):
        return " ".join(value.split())
    return value


def _compare_existing(planned: PlannedFile, parsed: dict, plan: ImportPlan) -> None:
    for existing in (planned.path, planned.path.with_suffix(".yml")):
        if not existing.exists():
            continue
        data, problems = extraction.read_extraction(existing)
        if data is not None and comparable(data) == comparable(parsed) and existing == planned.path:
            planned.state = "same"
            return
        planned.state = "conflict"
        why = "cannot be read" if data is None else _first_difference(data, parsed)
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


def write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to a new file atomically; never replace an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; extraction files are shared
        try:
            os.link(tmp, path)  # atomic, and fails if the file appeared meanwhile
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links
            if path.exists():
                raise FileExistsError(path) from None
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


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
