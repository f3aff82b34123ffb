"""A release's ``extractions.csv``: every extraction file as one table.

One row per effect, or one per narrative record, with the study's fields; the
columns are the codebook's flat columns (analysis.codebook.columns), the same a
``review import`` sheet has, so the table imports back to the same studies.
"""

from __future__ import annotations

from pathlib import Path

from analysis.codebook.columns import SOURCE_FILE, Column, table_columns, value_of
from analysis.release.repo import ReleaseError


def extraction_columns(schema: dict) -> list[Column]:
    """The columns of extractions.csv, in codebook order: study fields, file, effect fields."""
    return table_columns(schema)


def cell(document: dict | None, column: Column, file_name: str):
    """The table cell of ``column`` for a study or one of its effects (schema default if absent)."""
    if column.name == SOURCE_FILE:
        return file_name
    value = value_of(document, column)
    if value is None:
        value = column.default
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):  # moderators: one cell, as `review import` reads it
        from analysis.inputs.moderators import moderators_text

        return moderators_text(value)
    if isinstance(value, str):
        return " ".join(value.split())  # YAML folded text: one line in a table
    return value


def extraction_rows(folder: Path, schema: dict) -> tuple[list[Column], list[dict]]:
    """One row per effect (or one per narrative record) with the study's fields, sorted."""
    from analysis.inputs.extraction import extraction_files, read_extraction

    columns = extraction_columns(schema)
    rows = []
    for path in extraction_files(folder):
        document, problems = read_extraction(path)
        if document is None:
            raise ReleaseError(f"{path}: {problems[0] if problems else 'cannot be read'}")
        file_name = f"{folder.name}/{path.name}"
        study = {c.name: cell(document, c, file_name) for c in columns if c.level == "study"}
        effects = [e for e in (document.get("effects") or []) if isinstance(e, dict)]
        for effect in effects or [None]:
            row = dict(study)
            for column in (c for c in columns if c.level == "effect"):
                row[column.name] = cell(effect, column, "") if effect is not None else None
            rows.append(row)
    rows.sort(key=lambda r: (str(r["study"]), str(r.get("effect_id") or "")))
    return columns, rows


def extraction_table_schema(columns: list[Column]) -> dict:
    """The Table Schema of extractions.csv: types, descriptions and allowed values from the codebook."""
    fields = []
    for c in columns:
        field: dict = {"name": c.name, "type": c.table_type, "description": c.description or c.name}
        if c.enum:
            field["constraints"] = {"enum": list(c.enum)}
        fields.append(field)
    return {"fields": fields, "missingValues": [""]}
