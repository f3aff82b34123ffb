"""Load and validate extraction files (``extracted/<study-key>.yaml``).

The JSON Schema in ``schemas/extraction.schema.yaml`` is the codebook: it says
which fields exist and what values they take. This module adds what a schema
cannot say (exactly one input form, CI contains the estimate, n large enough,
study key in the bibliography, unique effect ids) and turns every problem into
one line a reviewer can act on: file, study, effect id, field, what is wrong,
and how to fix it. Validation never stops at the first problem.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "extraction.schema.yaml"

# Larger files are not hand-written extraction files; refuse before parsing.
MAX_FILE_BYTES = 2_000_000

# The key that identifies each input form, and the keys it needs with it.
# Order matters only for messages.
INPUT_FORMS: dict[str, tuple[str, ...]] = {
    "yi": ("measure",),  # plus exactly one of vi / se
    "or": ("ci",),
    "rr": ("ci",),
    "counts": ("measure",),
    "r": ("n",),
    "t": ("n", "predictors"),
    "groups": ("measure",),
    "d": ("n1", "n2"),
}
FORM_MEASURES: dict[str, tuple[str, ...]] = {
    "counts": ("OR", "RR", "RD"),
    "groups": ("SMD", "MD"),
    "yi": ("OR", "RR", "RD", "ZCOR", "ZPCOR", "SMD", "MD", "GEN"),
}
# Keys that belong to some input form (anything else is descriptive).
FORM_KEYS = {
    "yi",
    "vi",
    "se",
    "or",
    "rr",
    "ci",
    "counts",
    "r",
    "t",
    "predictors",
    "groups",
    "d",
    "n1",
    "n2",
    "measure",
}


@dataclass(frozen=True)
class Problem:
    """One problem in one extraction file."""

    file: str
    study: str
    effect_id: str
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = [f"study {self.study}"] if self.study else []
        where += [f"effect {self.effect_id}"] if self.effect_id else []
        where += [f"field '{self.field}'"] if self.field else []
        prefix = f"{self.file}: " + (", ".join(where) + ": " if where else "")
        return f"{prefix}{self.message}. Fix: {self.fix}"


class ExtractionError(ValueError):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ---------------------------------------------------------------- YAML loading


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys and aliases (no billion laughs)."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "YAML aliases (*name) are not allowed in extraction files",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark
                )
            seen.add(key)
        return yaml.constructor.SafeConstructor.construct_mapping(self, node, deep=deep)


# YAML 1.1 reads 1e-3 (no dot) as text; reviewers mean a number.
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


class _FastStrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser (about 4x faster) with the same duplicate-key refusal."""

    construct_mapping = _StrictLoader.construct_mapping


_FastStrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_yaml_text(text: str) -> Any:
    """Parse YAML strictly (raises yaml.YAMLError).

    Plain files (no anchors, aliases, tabs or deep brackets) take libyaml's fast
    parser; anything else, and anything the fast parser rejects, goes through
    the pure-Python strict loader, so that messages are always the same.
    """
    if not any(mark in text for mark in ("*", "&", "\t", "[[", "{{")):
        try:
            return yaml.load(text, Loader=_FastStrictLoader)  # noqa: S506 - safe loader
        except (yaml.YAMLError, RecursionError):
            pass
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def read_extraction(path: Path) -> tuple[Any, list[Problem]]:
    """Read one file; return its content (or None) and the problems of reading it."""
    name = str(path)
    study = path.stem

    def problem(message: str, fix: str) -> tuple[None, list[Problem]]:
        return None, [Problem(name, study, "", "", message, fix)]

    try:
        size = path.stat().st_size
    except OSError as err:
        return problem(f"cannot be read ({err.strerror})", "check that the file exists")
    if size > MAX_FILE_BYTES:
        return problem(
            f"is {size:,} bytes, far more than an extraction file holds",
            "split the study or remove pasted material; keep quotes short",
        )
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return problem("is UTF-16 text", "save the file as UTF-8 (most editors offer it under 'Save as')")
    if b"\x00" in raw:
        return problem("is not a text file (it contains binary data)", "replace it with a YAML text file")
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark is harmless: drop it
    except UnicodeDecodeError as err:
        return problem(f"is not UTF-8 text (byte {err.start})", "save the file as UTF-8")
    try:
        data = load_yaml_text(text)
    except RecursionError:  # hostile-input guard (issue 7): see below
        return problem(*_TOO_DEEP)
    except yaml.reader.ReaderError as err:  # hostile-input guard (issue 7): see below
        return problem(*_unacceptable_character(err, text))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = getattr(err, "problem", None) or str(err)
        context = getattr(err, "context", None)
        detail = f"{what} ({context})" if context and "alias" not in str(what) else what
        fix = "fix the YAML syntax there (indent with spaces, not tabs; quote text containing ': ' or '#')"
        if "duplicate key" in str(what):
            fix = "keep one value for that key and delete the other"
        elif "alias" in str(what):
            fix = "write the value out in full instead of using &anchor / *alias"
        return problem(f"is not valid YAML: {where}{detail}", fix)
    if not isinstance(data, dict):
        return problem(
            "does not hold a mapping of fields (study:, design:, ...)",
            "start from the template of `review new KEY` or the README example",
        )
    return data, []


# ---------------------------------------------------------------- schema checks


@lru_cache(maxsize=1)
def extraction_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = extraction_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


# Common look-alikes of ISO 3166-1 alpha-2 codes, and the code meant.
NOT_ISO_CODES = {
    "UK": "GB for the United Kingdom",
    "EN": "GB for England (the UK's code)",
    "EL": "GR for Greece",
    "KO": "KR for South Korea",
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


def _schema_problem(error, name: str, study: str, data: dict) -> Problem:
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
        from analysis.inputs import moderators  # imports this module: import on use

        return moderators.schema_problem(error, name, study, effect_id, field)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    value = error.instance
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = ".".join([*map(str, field_path), missing]) if field_path else missing
        return Problem(
            name, study, effect_id, field, "is missing", f"add `{missing}:` ({_describe(missing)})"
        )
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
            f"{_short(value)} is out of range ({error.message})",
            "check the number against the source",
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


def _describe(field: str) -> str:
    props = extraction_schema()["properties"]
    effect_props = extraction_schema()["$defs"]["effect"]["properties"]
    spec = props.get(field) or effect_props.get(field) or {}
    return str(spec.get("description", "see the schema")).rstrip(".")


# ---------------------------------------------------------------- semantic checks


def effect_form(effect: dict) -> list[str]:
    """The input-form keys present in one effect (a valid effect has exactly one)."""
    return [key for key in INPUT_FORMS if key in effect]


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _effect_problems(effect: dict, name: str, study: str, effect_id: str) -> list[Problem]:
    out: list[Problem] = []

    def add(field: str, message: str, fix: str) -> None:
        out.append(Problem(name, study, effect_id, field, message, fix))

    forms = effect_form(effect)
    if len(forms) == 0:
        add(
            "",
            "has no input form",
            "give exactly one of: yi + vi/se + measure; or + ci; rr + ci; counts + measure; "
            "r + n; t + n + predictors; groups + measure; d + n1 + n2",
        )
        return out
    if len(forms) > 1:
        add(
            ", ".join(forms),
            f"has {len(forms)} input forms ({', '.join(forms)})",
            "keep exactly one input form per effect; code another form as a separate effect",
        )
        return out
    form = forms[0]
    for needed in INPUT_FORMS[form]:
        if needed not in effect:
            add(needed, f"is needed with '{form}'", f"add `{needed}:` ({_describe(needed)})")
    allowed_measures = FORM_MEASURES.get(form)
    measure = effect.get("measure")
    if measure is not None and allowed_measures is None:
        add(
            "measure", f"is not used with the '{form}' form (the metric follows from it)", "remove `measure:`"
        )
    elif measure is not None and measure not in allowed_measures:
        add(
            "measure",
            f"{measure!r} cannot be computed from '{form}'",
            f"use one of: {', '.join(allowed_measures)}",
        )
    stray = sorted((FORM_KEYS - {form, *INPUT_FORMS[form], "vi", "se", "n"}) & set(effect))
    if form != "yi":
        stray += [k for k in ("vi", "se") if k in effect]
    for key in stray:
        add(key, f"does not belong to the '{form}' input form", f"remove `{key}:` or code it separately")
    if form == "yi":
        has = [k for k in ("vi", "se") if k in effect]
        if len(has) != 1:
            add("vi/se", "needs exactly one of vi or se with yi", "give either `vi:` or `se:`")
    if form in ("or", "rr"):
        _check_ratio_ci(effect, form, add)
    if form == "counts":
        _check_counts(effect, add)
    if form == "r":
        n = effect.get("n")
        if isinstance(n, int) and n <= 3:
            add(
                "n",
                f"n = {n} is too small for a correlation (Fisher z needs n > 3)",
                "check n against the source",
            )
    if form == "t":
        n, k = effect.get("n"), effect.get("predictors")
        if isinstance(n, int) and isinstance(k, int) and n - k - 2 <= 0:
            add(
                "n",
                f"n = {n} is too small for {k} predictors (needs n > predictors + 2)",
                "check n and the number of predictors against the source",
            )
    if form == "groups":
        groups = effect.get("groups")
        if isinstance(groups, dict):
            n1, n2 = groups.get("n1"), groups.get("n2")
            if isinstance(n1, int) and isinstance(n2, int) and n1 + n2 <= 2:
                add(
                    "groups",
                    "n1 + n2 must exceed 2 for a standardised difference",
                    "check the group sizes against the source",
                )
    if form == "d":
        n1, n2 = effect.get("n1"), effect.get("n2")
        if isinstance(n1, int) and isinstance(n2, int) and n1 + n2 <= 2:
            add(
                "n1",
                "n1 + n2 must exceed 2 for a standardised difference",
                "check the group sizes against the source",
            )
    if "quote" not in effect and "computed" not in effect:
        add("quote", "is missing", "copy the sentence or table row of the source that shows the numbers")
    return out


def _check_ratio_ci(effect: dict, form: str, add) -> None:
    estimate, ci = effect.get(form), effect.get("ci")
    if not (_is_num(estimate) and isinstance(ci, list) and len(ci) == 2 and all(map(_is_num, ci))):
        return
    low, high = ci
    if estimate <= 0 or low <= 0 or high <= 0:
        return  # reported by the schema
    if low >= high:
        add("ci", f"lower bound {low} is not below upper bound {high}", "write the CI as [lower, upper]")
    elif not (math.log(low) <= math.log(estimate) <= math.log(high)):
        add(
            "ci",
            f"[{low}, {high}] does not contain the estimate {estimate}",
            "check the estimate and both bounds against the source",
        )


def _check_counts(effect: dict, add) -> None:
    counts = effect.get("counts")
    if not isinstance(counts, dict) or not all(isinstance(counts.get(c), int) for c in "ai bi ci di".split()):
        return
    if counts["ai"] + counts["bi"] == 0 or counts["ci"] + counts["di"] == 0:
        add(
            "counts",
            "a group has no participants (ai + bi or ci + di is 0)",
            "check the 2x2 table against the source",
        )


def validate_document(data: dict, path: Path, bib_keys: Iterable[str] | None) -> list[Problem]:
    """Every problem of one parsed extraction file."""
    name = str(path)
    study = data.get("study") if isinstance(data.get("study"), str) else path.stem
    problems = [
        _schema_problem(e, name, study, data)
        for e in sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]
    problems += non_finite_problems(data, name, study)  # hostile-input guard (issue 7)
    for code in data.get("country") or [] if isinstance(data.get("country"), list) else []:
        if code in NOT_ISO_CODES:
            problems.append(
                Problem(
                    name,
                    study,
                    "",
                    "country",
                    f"{code!r} is not an ISO 3166-1 code",
                    f"use {NOT_ISO_CODES[code]}",
                )
            )
    safe_key = re.fullmatch(extraction_schema()["properties"]["study"]["pattern"], str(data.get("study")))
    if isinstance(data.get("study"), str) and data["study"] != path.stem and safe_key:
        problems.append(
            Problem(
                name,
                study,
                "",
                "study",
                f"the file is named {path.name} but holds study {data['study']!r}",
                f"rename the file to {data['study']}.yaml or correct `study:`",
            )
        )
    if bib_keys is not None and isinstance(data.get("study"), str) and data["study"] not in bib_keys:
        problems.append(
            Problem(
                name,
                study,
                "",
                "study",
                f"{data['study']!r} is not a key in the bibliography",
                "add the study's entry to references/ or correct the key",
            )
        )
    status = data.get("status")
    effects = data.get("effects") or []
    if not isinstance(effects, list):
        return problems
    if status == "narrative":
        if not str(data.get("findings") or "").strip():
            problems.append(
                Problem(
                    name,
                    study,
                    "",
                    "findings",
                    "is required for a narrative record",
                    "summarise what the study found in plain words",
                )
            )
        if effects:
            problems.append(
                Problem(
                    name,
                    study,
                    "",
                    "effects",
                    "a narrative record has no effects",
                    "set `status: coded`, or remove the effects",
                )
            )
    if status == "coded" and not effects:
        problems.append(
            Problem(
                name,
                study,
                "",
                "effects",
                "a coded study needs at least one effect",
                "add the effects, or set `status: narrative` with findings",
            )
        )
    seen: set[str] = set()
    for index, effect in enumerate(effects):
        if not isinstance(effect, dict):
            continue
        effect_id = str(effect.get("id") or f"#{index + 1}")
        if effect_id in seen:
            problems.append(
                Problem(
                    name,
                    study,
                    effect_id,
                    "id",
                    "is used by another effect of this study",
                    "give each effect its own id",
                )
            )
        seen.add(effect_id)
        problems.extend(_effect_problems(effect, name, study, effect_id))
    if not problems:
        from analysis.inputs import moderators  # imports this module: import on use

        problems += moderators.document_problems(data, name, study)
    return problems


def extraction_files(folder: str | Path) -> list[Path]:
    """The extraction files of a folder (*.yaml and *.yml, not in subfolders), sorted."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def duplicate_studies(files: Iterable[Path]) -> list[Problem]:
    """A study with two files (rothon2012.yaml and rothon2012.yml) would be counted twice."""
    by_study: dict[str, list[Path]] = {}
    for path in files:
        by_study.setdefault(path.stem, []).append(path)
    return [
        Problem(
            str(paths[1]),
            study,
            "",
            "",
            f"is a second file for study {study} (also {paths[0].name}); its effects would be counted twice",
            "keep one file per study and delete the other",
        )
        for study, paths in sorted(by_study.items())
        if len(paths) > 1
    ]


def load_corpus(
    folder: str | Path, bib_keys: Iterable[str] | None, *, validate: bool = True
) -> tuple[list[tuple[Path, dict]], list[Problem]]:
    """Read and validate every extraction file; return (documents, problems)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], [
            Problem(
                str(folder),
                "",
                "",
                "",
                "is not a folder of extraction files",
                "set `extracted_dir` to the folder holding <study-key>.yaml files",
            )
        ]
    files = extraction_files(folder)
    if not files:
        return [], [
            Problem(
                str(folder),
                "",
                "",
                "",
                "holds no extraction files (*.yaml)",
                "add one <study-key>.yaml per study (see README: adding a study)",
            )
        ]
    keys = set(bib_keys) if bib_keys is not None else None
    documents, problems = [], duplicate_studies(files)
    for path in files:
        data, read_problems = read_extraction(path)
        problems.extend(read_problems)
        if data is None:
            continue
        found = validate_document(data, path, keys) if validate else []
        problems.extend(found)
        if not found:
            documents.append((path, data))
    if validate:
        from analysis.inputs import moderators  # imports this module: import on use

        problems += moderators.corpus_problems(documents)
    return documents, problems


# ---------------------------------------------------------------- hostile-input guards
# Added for issue 7 (the bad-input corpus, tests/data/bad/). What the schema and
# the YAML parser let through or crash on:
# - YAML reads `.nan`, `.inf` and overflowing numbers (1.0e+400) as floats, and
#   JSON Schema's `exclusiveMinimum: 0` lets NaN and infinity through;
# - PyYAML parses nesting recursively: `[[[[...` a few thousand deep raises
#   RecursionError, not a YAMLError;
# - a control character gives a ReaderError whose text spans two lines and
#   counts characters, not lines.

_TOO_DEEP = (
    "is nested far too deeply to be an extraction file",
    "start from the template of `review new KEY`; an extraction file is a few levels deep",
)


def _unacceptable_character(err: yaml.reader.ReaderError, text: str) -> tuple[str, str]:
    """One line for a character YAML refuses (control characters such as ESC)."""
    line = text.count("\n", 0, max(err.position, 0)) + 1
    char = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "?")
    return (
        f"is not valid YAML: line {line}: contains the control character #x{char:04x}, "
        "which is not allowed in text",
        "delete the character (it often comes from copying out of a PDF or a terminal)",
    )


def non_finite_problems(data: Any, name: str, study: str) -> list[Problem]:
    """A problem for every NaN or infinite number anywhere in one parsed file."""
    out: list[Problem] = []

    def walk(value: Any, effect_id: str, field: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            written = ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
            out.append(
                Problem(
                    name,
                    study,
                    effect_id,
                    field,
                    f"{written} is not a finite number",
                    "write the number as printed in the source (a huge value such as 1.0e+400 is "
                    "read as infinity); if the source gives none, leave the field or effect out",
                )
            )
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, effect_id, f"{field}.{key}" if field else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, effect_id, f"{field}.{index}" if field else str(index))

    for key, value in data.items():
        if key == "effects" and isinstance(value, list):
            for index, effect in enumerate(value):
                effect_id = (
                    str(effect.get("id"))
                    if isinstance(effect, dict) and effect.get("id")
                    else f"#{index + 1}"
                )
                if isinstance(effect, dict):
                    for field, item in effect.items():
                        walk(item, effect_id, str(field))
        else:
            walk(value, "", str(key))
    return out
