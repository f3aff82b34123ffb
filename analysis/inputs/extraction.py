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
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from analysis.inputs import guards, yaml12
from analysis.inputs.problem import ExtractionError, Problem
from analysis.inputs.schema import (
    NOT_ISO_CODES,
    SCHEMA_PATH,
    describe,
    extraction_schema,
    schema_errors,
    schema_problem,
    schema_validator,
)

# Defined elsewhere, used from here by the review command, the release and the tests.
__all__ = ["ExtractionError", "Problem", "SCHEMA_PATH", "extraction_schema", "schema_validator"]


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


# ---------------------------------------------------------------- YAML loading


def load_yaml_text(text: str) -> Any:
    """Parse YAML strictly, with YAML 1.2 core semantics (see analysis.inputs.yaml12)."""
    return yaml12.load(text)


def read_extraction(path: Path) -> tuple[Any, list[Problem]]:
    """Read one file; return its content (or None) and the problems of reading it."""
    name = str(path)
    study = path.stem

    def problem(message: str, fix: str) -> tuple[None, list[Problem]]:
        return None, [Problem(name, study, "", "", message, fix)]

    if path.is_symlink() and not path.exists():
        return problem(
            "is a symbolic link to a file that does not exist",
            "replace the link with the extraction file itself, or delete the link",
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return problem(
                f"is {size:,} bytes, far more than an extraction file holds",
                "split the study or remove pasted material; keep quotes short",
            )
        raw = path.read_bytes()
    except OSError as err:
        return problem(
            f"cannot be read ({err.strerror or err})",
            "check that the file exists and that you may read it (its permissions)",
        )
    return parse_extraction(raw, path)


def parse_extraction(raw: bytes, path: Path) -> tuple[Any, list[Problem]]:
    """The content of one file's bytes (or None), and the problems of reading them."""
    name = str(path)
    study = path.stem

    def problem(message: str, fix: str) -> tuple[None, list[Problem]]:
        return None, [Problem(name, study, "", "", message, fix)]

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
    except RecursionError:  # hostile-input guard (issue 7): see analysis.inputs.guards
        return problem(*guards.TOO_DEEP)
    except yaml.reader.ReaderError as err:  # hostile-input guard (issue 7)
        return problem(*guards.unacceptable_character(err, text))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = getattr(err, "problem", None) or str(err)
        context = getattr(err, "context", None)
        detail = f"{what} ({context})" if context and "alias" not in str(what) else what
        fix = "fix the YAML syntax there (indent with spaces, not tabs; quote text containing ': ' or '#')"
        if "not text" in str(what) or "used as a key" in str(what):
            fix = (
                "field names are words (study:, design:, ...); put a number or date used as a name in quotes"
            )
        elif "duplicate key" in str(what):
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


# ---------------------------------------------------------------- semantic checks


def effect_form(effect: dict) -> list[str]:
    """The input-form keys present in one effect (a valid effect has exactly one)."""
    return [key for key in INPUT_FORMS if key in effect]


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# Over 80 lines on purpose: one flat rule per input form, read top to bottom like the codebook.
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
            add(needed, f"is needed with '{form}'", f"add `{needed}:` ({describe(needed)})")
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
    # A standardised difference needs n1 + n2 > 2 (Hedges' correction divides by it).
    sizes = {"groups": effect.get("groups"), "d": effect}.get(form)
    if isinstance(sizes, dict):
        n1, n2 = sizes.get("n1"), sizes.get("n2")
        if isinstance(n1, int) and isinstance(n2, int) and n1 + n2 <= 2:
            add(
                "groups" if form == "groups" else "n1",
                "n1 + n2 must exceed 2 for a standardised difference",
                "check the group sizes against the source",
            )
    if "quote" not in effect and "computed" not in effect:
        add("quote", "is missing", "copy the sentence or table row of the source that shows the numbers")
    return out


def conversion_problems(effect: dict, name: str, study: str, effect_id: str) -> list[Problem]:
    """The effect converted as the workflow will convert it: refused unless usable (issue 16)."""
    found = guards.conversion_problem(effect)
    return [Problem(name, study, effect_id, effect_form(effect)[0], *found)] if found else []


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


# Over 80 lines on purpose: the file-level rules in the order a reviewer fixes them.
def validate_document(data: dict, path: Path, bib_keys: Iterable[str] | None) -> list[Problem]:
    """Every problem of one parsed extraction file."""
    name = str(path)
    study = data.get("study") if isinstance(data.get("study"), str) else path.stem
    problems = [schema_problem(e, name, study, data) for e in schema_errors(data)]
    problems += guards.value_problems(data, name, study)  # hostile-input guards (issues 7, 16)
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
        problems.append(bib_key_problem(name, data["study"]))
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
        found = _effect_problems(effect, name, study, effect_id)
        if not found and not any(p.effect_id == effect_id for p in problems):
            found = conversion_problems(effect, name, study, effect_id)  # as the workflow will convert it
        problems.extend(found)
    if not problems:
        from analysis.inputs import moderators  # imports this module: import on use

        problems += moderators.document_problems(data, name, study)
    return problems


def bib_key_problem(name: str, study: str) -> Problem:
    """The problem of a file whose study key is not in the bibliography."""
    return Problem(
        name,
        study,
        "",
        "study",
        f"{study!r} is not a key in the bibliography",
        "add the study's entry to references/ or correct the key",
    )


def check_file(path: Path, bib_keys: Iterable[str] | None) -> tuple[dict | None, list[Problem]]:
    """Read and validate one extraction file: (content or None, every problem)."""
    data, problems = read_extraction(path)
    if data is not None:
        problems = validate_document(data, path, bib_keys)
    return data, problems


def extraction_files(folder: str | Path) -> list[Path]:
    """The extraction files of a folder (*.yaml and *.yml, not in subfolders), sorted.

    A symbolic link that leads nowhere is listed too (reading it gives the
    problem), so that a study is never dropped silently."""
    folder = Path(folder)
    with os.scandir(folder) as listing:  # the folder's own file types: no stat per file
        names = [
            e.name
            for e in listing
            if os.path.splitext(e.name)[1] in (".yaml", ".yml")
            and (e.is_file() or (e.is_symlink() and not os.path.exists(e.path)))
        ]
    return [folder / name for name in sorted(names)]  # one folder: the order of Path's sort


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
