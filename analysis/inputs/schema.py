"""The extraction schema (the codebook) and its problems in a reviewer's words."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from analysis.inputs.problem import Problem

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "extraction.schema.yaml"


@lru_cache(maxsize=1)
def extraction_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def _whole_text_pattern(validator, pattern, instance, schema):
    """JSON Schema `pattern`, but the whole text must match (re.fullmatch).

    The jsonschema library applies `pattern` with re.search, and Python's `$`
    also matches before a final newline: "high-vs-low\\n" passed ^[a-z-]+$ and
    silently split a pool (issue 16). Every pattern of our schemas is anchored
    (^...$), so under fullmatch it means what JSON Schema (ECMA-262) means."""
    if validator.is_type(instance, "string") and not re.fullmatch(pattern, instance):
        import jsonschema

        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def schema_validator(schema: dict):
    """A Draft 2020-12 validator for ``schema`` whose patterns match whole texts."""
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema)
    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _whole_text_pattern})
    return cls(schema)


@lru_cache(maxsize=1)
def validator():
    return schema_validator(extraction_schema())


@lru_cache(maxsize=1)
def fast_check():
    """The schema compiled once per process (analysis.inputs.fastschema), or None when it
    uses something the fast path does not implement. Builds :func:`validator` first, so a
    broken schema is refused as before."""
    from analysis.inputs import fastschema

    validator()
    try:
        return fastschema.compile_schema(extraction_schema())
    except fastschema.Unsupported:
        return None


def schema_errors(data: Any) -> list:
    """jsonschema's errors of one document, sorted by where they are ([] when valid).
    A document the fast path calls valid is not walked by jsonschema (it has no error)."""
    from analysis.inputs.fastschema import known_valid

    if known_valid(fast_check(), data):
        return []
    return sorted(validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))


# Common look-alikes of ISO 3166-1 alpha-2 codes, and the code meant.
NOT_ISO_CODES = {
    "UK": "GB for the United Kingdom",
    "EN": "GB for England (the UK's code)",
    "EL": "GR for Greece",
    "KO": "KR for South Korea",
}

# JSON Schema bounds in a reviewer's words (jsonschema's own message repeats the
# whole value: a 400-digit number made a 400-character line).
RANGE_WORDS = {
    "minimum": "is less than the minimum of",
    "exclusiveMinimum": "is less than or equal to the minimum of",
    "maximum": "is greater than the maximum of",
    "exclusiveMaximum": "is greater than or equal to the maximum of",
}

# JSON Schema types in a reviewer's words.
TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list ([a, b])",
    "object": "a set of fields",
}


def _short(value: Any, limit: int = 60) -> str:
    if value is None:
        return "an empty value"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Over 80 lines on purpose: one flat branch per JSON Schema keyword, each building its message.
def schema_problem(error, name: str, study: str, data: dict) -> Problem:
    path = list(error.absolute_path)
    effect_id = ""
    if len(path) >= 2 and path[0] == "effects" and isinstance(path[1], int):
        effects = data.get("effects") or []
        effect = effects[path[1]] if path[1] < len(effects) else None
        effect_id = (
            str(effect.get("id")) if isinstance(effect, dict) and effect.get("id") else f"#{path[1] + 1}"
        )
        field_path = path[2:]
    else:
        field_path = path
    field = ".".join(str(p) for p in field_path)
    if field_path and field_path[0] == "moderators":
        from analysis.inputs import moderators  # imports extraction: import on use

        return moderators.schema_problem(error, name, study, effect_id, field)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    value = error.instance
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = ".".join([*map(str, field_path), missing]) if field_path else missing
        return Problem(name, study, effect_id, field, "is missing", f"add `{missing}:` ({describe(missing)})")
    if kind == "additionalProperties":
        extra = sorted(set(value) - set(schema.get("properties", {})))
        allowed = ", ".join(sorted(schema.get("properties", {})))
        return Problem(
            name,
            study,
            effect_id,
            field or (extra[0] if extra else ""),
            f"unknown field(s) {', '.join(extra)}",
            f"remove or rename it; allowed fields here: {allowed}",
        )
    if kind == "enum":
        return Problem(
            name,
            study,
            effect_id,
            field,
            f"{_short(value)} is not an allowed value",
            f"use one of: {', '.join(map(str, schema['enum']))}",
        )
    if kind == "type":
        wanted = schema.get("type")
        fix = f"write {TYPE_WORDS.get(wanted, wanted)}"
        if wanted == "string" and isinstance(value, bool):
            fix = "put the value in quotes (YAML reads NO, yes, on, off as true/false)"
        elif wanted in ("number", "integer") and isinstance(value, str):
            fix = (
                f"write {TYPE_WORDS[wanted]} without quotes, thousands separators, "
                "percent signs or decimal commas (e.g. 1234 or 0.5)"
            )
        return Problem(
            name, study, effect_id, field, f"{_short(value)} is not {TYPE_WORDS.get(wanted, wanted)}", fix
        )
    if kind == "pattern":
        return Problem(
            name,
            study,
            effect_id,
            field,
            f"{_short(value)} has a form that is not allowed",
            _pattern_fix(field_path, schema.get("pattern", "")),
        )
    if kind in ("exclusiveMinimum", "minimum", "exclusiveMaximum", "maximum"):
        return Problem(
            name,
            study,
            effect_id,
            field,
            f"{_short(value)} is out of range ({_short(value)} {RANGE_WORDS[kind]} {error.validator_value:g})",
            "check the number against the source",
        )
    if kind == "maxLength":
        return Problem(
            name,
            study,
            effect_id,
            field,
            f"{_short(value)} is longer than {error.validator_value} characters",
            "use a shorter name (it becomes part of file names and identifiers)",
        )
    if kind in ("minItems", "maxItems"):
        fix = (
            "write the CI as [lower, upper]"
            if field_path and field_path[-1] == "ci"
            else "list at least one two-letter country code, e.g. [GB]"
        )
        return Problem(name, study, effect_id, field, f"{_short(value)} has the wrong number of items", fix)
    if kind == "minLength":
        return Problem(name, study, effect_id, field, "is empty", "fill it in from the source")
    return Problem(name, study, effect_id, field, error.message, "see schemas/extraction.schema.yaml")


def _pattern_fix(field_path: list, pattern: str) -> str:
    last = str(field_path[-1]) if field_path else ""
    if last == "id" or last == "construct":
        return "use lower-case letters, digits and hyphens only (e.g. gcse-benchmark)"
    if "country" in map(str, field_path):
        return "use two-letter ISO 3166-1 codes in capitals, e.g. GB, US (XX for several)"
    if last == "study":
        return "use the BibTeX key: letters, digits, '_', ':' or '-', no spaces or slashes"
    return f"the value must match {pattern}"


def describe(field: str) -> str:
    props = extraction_schema()["properties"]
    effect_props = extraction_schema()["$defs"]["effect"]["properties"]
    spec = props.get(field) or effect_props.get(field) or {}
    return str(spec.get("description", "see the schema")).rstrip(".")
