"""The codebook as flat columns: one extraction file <-> one table row per effect.

The extraction file nests (``ci: [low, high]``, ``counts: {ai, ...}``); a table
cannot. This module is the one mapping between the two, read from
``schemas/extraction.schema.yaml``: a release's ``extractions.csv`` is written
with it, and ``review import`` reads a spreadsheet with it, so a release's
table imports back to the same studies.

- a nested field becomes one column per part: ``ci_low``, ``ci_high``,
  ``counts_ai`` ... ``groups_n2``, ``computed_by``, ``computed_from``;
- the effect's ``id`` is ``effect_id``; the study's and the effect's ``notes``
  are ``study_notes`` and ``effect_notes`` (one row holds both);
- lists (``country``, ``themes``, ``outcomes``) are one cell, codes separated
  by ``;``; a mapping (the study's and the effect's ``moderators``, as
  ``study_moderators`` and ``effect_moderators``) is one cell too,
  ``name=value; name=value`` (analysis.inputs.moderators reads and writes it);
- a release's table also has ``file`` (where the row came from), which says
  nothing a study file needs.

The functions take the schema as an argument: a release build reads the schema
of the commit it builds, the review tool that of the working tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Column names that differ from the field's name.
STUDY_RENAMED = {"notes": "study_notes", "moderators": "study_moderators"}
EFFECT_RENAMED = {"id": "effect_id", "notes": "effect_notes", "moderators": "effect_moderators"}
# The release table's column naming the extraction file of the row.
SOURCE_FILE = "file"
# The two bounds of ``ci: [low, high]``: (index, column suffix, words).
CI_BOUNDS = ((0, "low", "Lower"), (1, "high", "Upper"))
# Problem field paths named as columns (the rest: ``counts.ai`` -> ``counts_ai``).
_FIELD_COLUMNS = {"ci": "ci_low/ci_high", "ci.0": "ci_low", "ci.1": "ci_high"}
KINDS = ("text", "number", "integer", "boolean", "list", "mapping")


@dataclass(frozen=True)
class Column:
    """One flat column: where its value is in an extraction file, and how it is typed.

    ``key`` is the part inside a nested field (0 or 1 for ``ci``, ``"ai"`` for
    ``counts``...) or None for the field itself. ``kind`` is one of KINDS.
    """

    name: str
    level: str  # "study" or "effect"
    field: str  # the extraction file's field ("" for the source file column)
    key: str | int | None
    kind: str
    description: str
    enum: tuple[str, ...] = ()
    default: object = None

    @property
    def table_type(self) -> str:
        """The Frictionless Table Schema type of the column."""
        return self.kind if self.kind in ("number", "integer", "boolean") and not self.enum else "string"


def resolve(schema: dict, spec: dict) -> dict:
    """A property spec with its local ``$ref`` (``#/$defs/...``) merged in."""
    if "$ref" in spec:
        target: dict = schema
        for part in spec["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return {**resolve(schema, target), **{k: v for k, v in spec.items() if k != "$ref"}}
    return spec


def _kind(spec: dict) -> str:
    kind = spec.get("type")
    if kind == "array":
        return "list"
    if kind == "object":  # moderators: name=value; name=value
        return "mapping"
    return kind if kind in ("number", "integer", "boolean") else "text"


def _level(schema: dict, properties: dict, level: str, renamed: dict[str, str]) -> list[Column]:
    columns = []
    for field, raw in properties.items():
        spec = resolve(schema, raw)
        name = renamed.get(field, field)
        description = str(spec.get("description", "")).strip()
        if spec.get("type") == "object" and "properties" in spec:
            for key, sub_raw in spec["properties"].items():
                sub = resolve(schema, sub_raw)
                text = str(sub.get("description") or f"{description} ({key})").strip()
                columns.append(Column(f"{name}_{key}", level, field, key, _kind(sub), text))
        elif field == "ci":
            for index, suffix, words in CI_BOUNDS:
                text = f"{description} {words} bound."
                columns.append(Column(f"ci_{suffix}", level, field, index, "number", text))
        elif spec.get("type") == "array":
            text = f"{description} Several are separated by ';'."
            columns.append(Column(name, level, field, None, "list", text))
        else:
            enum = tuple(str(v) for v in spec.get("enum", ()))
            columns.append(
                Column(name, level, field, None, _kind(spec), description, enum, spec.get("default"))
            )
    return columns


def study_columns(schema: dict) -> list[Column]:
    """The study's fields as columns, in the codebook's order."""
    top = {k: v for k, v in schema["properties"].items() if k != "effects"}
    return _level(schema, top, "study", STUDY_RENAMED)


def effect_columns(schema: dict) -> list[Column]:
    """An effect's fields as columns, in the codebook's order."""
    return _level(schema, schema["$defs"]["effect"]["properties"], "effect", EFFECT_RENAMED)


def sheet_columns(schema: dict) -> dict[str, Column]:
    """Every column a spreadsheet may have, by name: study fields, then effect fields."""
    return {c.name: c for c in [*study_columns(schema), *effect_columns(schema)]}


def table_columns(schema: dict) -> list[Column]:
    """The columns of a release's extractions.csv: study fields, the source file, effect fields."""
    file = Column(SOURCE_FILE, "study", "", None, "text", "The extraction file (extracted/<study>.yaml).")
    return [*study_columns(schema), file, *effect_columns(schema)]


def value_of(document: Any, column: Column) -> Any:
    """The value of ``column`` in an extraction file (the study, or one effect), or None."""
    value = document.get(column.field) if isinstance(document, dict) else None
    if column.key is None:
        return value
    if isinstance(value, list):
        index = column.key if isinstance(column.key, int) else -1
        return value[index] if 0 <= index < len(value) else None
    if isinstance(value, dict):
        return value.get(column.key)
    return None


def column_of_field(field: str, effect: bool) -> str:
    """The column of a problem's field path (``ci.0`` -> ``ci_low``, ``counts.ai`` -> ``counts_ai``)."""
    if field in _FIELD_COLUMNS:
        return _FIELD_COLUMNS[field]
    if "." in field and not field.split(".", 1)[1].isdigit():
        return field.replace(".", "_", 1)
    return (EFFECT_RENAMED if effect else STUDY_RENAMED).get(field, field)
