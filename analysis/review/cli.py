"""The reviewer's command: ``review new | check | import | status | agreement``.

Installed as the console script ``review`` (``.venv/bin/review``). Every
message is written for a reviewer, not a programmer: what happened, where, and
what to do next. Expected problems exit with status 1; anything unexpected
prints one short line and exits with status 2, never a traceback (set
``REVIEW_DEBUG=1`` to see it).

Paths default to the project's ``config/config.yaml`` (``extracted_dir``,
``bibliography``), found from the current folder or any folder above it.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import math
import os
import re
import sys
import textwrap
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.inputs import agreement as agreement_module
from analysis.inputs import bibliography, extraction
from analysis.inputs.extraction import (
    FORM_MEASURES,
    INPUT_FORMS,
    Problem,
    duplicate_studies,
    extraction_schema,
    read_extraction,
    validate_document,
)
from analysis.review import sheet

# `review check` shows a progress line only for corpora this large, and only on
# a terminal: a few hundred files are checked in about a second.
PROGRESS_MIN_FILES = 500
# Seconds between two progress updates (a terminal redraw per file is slow).
PROGRESS_INTERVAL = 0.2
# Fields `review new` writes out even though the schema does not require them:
# nearly every study needs them (they are in the README's example).
TEMPLATE_SHOWN = ("findings", "coder", "outcome_label", "exposure", "quote")
# Fields only the workflow writes.
TEMPLATE_WORKFLOW_ONLY = ("computed",)
COMMENT_WIDTH = 88


def vocabulary(field_name: str) -> tuple[str, ...]:
    """The allowed values of an effect field (theme, outcome), read from the codebook when needed."""
    return tuple(extraction_schema()["$defs"]["effect"]["properties"][field_name]["enum"])


class ReviewError(Exception):
    """An expected problem: the message is shown as it is, and review exits with 1."""


# ---------------------------------------------------------------- project paths


@dataclass(frozen=True)
class Project:
    root: Path
    extracted: Path
    bibliography: Path
    releases: Path


def find_root(start: Path) -> Path:
    """The project folder: the nearest folder holding Snakefile and config/config.yaml."""
    for folder in (start, *start.parents):
        if (folder / "Snakefile").is_file() and (folder / "config" / "config.yaml").is_file():
            return folder
    return start


def project(args: argparse.Namespace) -> Project:
    root = find_root(Path.cwd())
    config: dict = {}
    try:
        loaded = yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))
        config = loaded if isinstance(loaded, dict) else {}
    except (OSError, yaml.YAMLError):
        pass

    def choose(given: str | None, key: str, default: str) -> Path:
        if given:
            return Path(given)
        return root / str(config.get(key) or default)

    return Project(
        root,
        choose(getattr(args, "extracted", None), "extracted_dir", "extracted"),
        choose(getattr(args, "bibliography", None), "bibliography", "references"),
        Path(args.releases) if getattr(args, "releases", None) else root / "releases",
    )


def show_path(path: Path | str) -> str:
    """A path as the reviewer would type it: relative to the current folder when shorter."""
    path = Path(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return relative if len(relative) <= len(str(path)) else str(path)


def _printable(text: str) -> str:
    """Text safe to print or to put in a comment: no control or line-separator characters."""
    return "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)


# ---------------------------------------------------------------- review new


def _describe(spec: dict) -> str:
    schema = extraction_schema()
    if "$ref" in spec:
        spec = {**schema["$defs"][spec["$ref"].rsplit("/", 1)[-1]], **spec}
    text = str(spec.get("description", "")).strip()
    if "enum" in spec:
        text += " One of: " + ", ".join(map(str, spec["enum"])) + "."
    items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
    if "enum" in items:
        text += " Any of: " + ", ".join(map(str, items["enum"])) + "."
    if "default" in spec:
        text += f" Default: {spec['default']}."
    return text


def _comment(text: str, indent: str) -> list[str]:
    width = max(40, COMMENT_WIDTH - len(indent) - 2)
    # break_on_hyphens=False: a slug such as report-references is never split across lines
    return [f"{indent}# {line}" for line in textwrap.wrap(_printable(text), width, break_on_hyphens=False)]


def _placeholder(spec: dict) -> str:
    if spec.get("type") == "array":
        return " []"
    if "enum" in spec:
        return ""  # left empty: `review check` lists the allowed values
    return ' ""'


def _form_lines(indent: str) -> list[str]:
    """The input forms, commented out, from extraction.INPUT_FORMS and the schema."""
    props = extraction_schema()["$defs"]["effect"]["properties"]
    out = _comment(
        "The numbers: exactly ONE input form. Uncomment the key lines of one form "
        "(delete the '# ' before the key, keeping the indentation) and fill them in "
        "exactly as printed in the source. n (below) is needed with r and t.",
        indent,
    )
    for form, companions in INPUT_FORMS.items():
        keys = [form, *(("vi", "se") if form == "yi" else ()), *companions]
        keys = [k for k in keys if k != "n"]
        label = " + ".join([form, *(["vi or se"] if form == "yi" else []), *companions])
        out.append(f"{indent}#")
        out.append(f"{indent}# --- form: {label}")
        for key in keys:
            spec = props[key]
            text = _describe(spec)
            if key == "measure":
                text = f"{spec['description']} With '{form}': one of {', '.join(FORM_MEASURES[form])}."
            if key == "ci":
                out += _comment(text, indent)
                out.append(f"{indent}# ci: [lower, upper]")
                continue
            if key in ("counts", "groups"):
                subkeys = list(props[key]["properties"])
                out += _comment(text, indent)
                out.append(f"{indent}# {key}: {{{', '.join(f'{k}: ' for k in subkeys)}}}")
                continue
            out += _comment(text, indent)
            out.append(f"{indent}# {key}:")
    out.append(f"{indent}#")
    return out


def template(key: str, reference: bibliography.Reference | None = None) -> str:
    """A new extraction file for ``key``: every field of the codebook, described in comments.

    Generated from ``schemas/extraction.schema.yaml`` and ``extraction.INPUT_FORMS``,
    so it cannot drift from the codebook. Required fields are written with an
    empty value (``review check`` says what each needs); optional ones are
    commented out.
    """
    schema = extraction_schema()
    lines = [f"# Extraction file for {key}."]
    if reference is not None:
        lines += _comment(f"Authors: {reference.get('author', 'unknown')}", "")
        lines += _comment(f"Title: {reference.get('title', 'unknown')}", "")
        lines += _comment(f"Year: {reference.get('year', 'unknown')}", "")
    lines += _comment(
        "Lines starting with '#' are comments and are ignored. Fill in the fields, delete what "
        "you do not need, then run `review check`. Every field is described in "
        "schemas/extraction.schema.yaml (the codebook). Text with ': ' or ' #' in it must be "
        "in quotes.",
        "",
    )
    lines.append("")
    required = set(schema["required"])
    for name, spec in schema["properties"].items():
        if name == "effects":
            continue
        lines += _comment(_describe(spec), "")
        if name == "study":
            lines.append(f"study: {key}")
        elif name in required or name in TEMPLATE_SHOWN:
            lines.append(f"{name}:{_placeholder(spec)}")
        else:
            lines.append(f"# {name}:")
    effect = schema["$defs"]["effect"]
    effect_required = set(effect["required"])
    lines += _comment(
        _describe(schema["properties"]["effects"]) + " Copy the block that starts "
        "with '- id:' once per effect. For a narrative record, delete everything "
        "from 'effects:' on.",
        "",
    )
    lines.append("effects:")
    indent = "    "
    first = True
    forms_written = False
    for name, spec in effect["properties"].items():
        if name in extraction.FORM_KEYS:
            if not forms_written:
                lines += _form_lines(indent)
                forms_written = True
            continue
        if name in TEMPLATE_WORKFLOW_ONLY:
            lines += _comment(_describe(spec) + " Written by the workflow, never by hand.", indent)
            lines.append(f"{indent}# {name}:")
            continue
        prefix = "  - " if first else indent
        if first:
            lines += _comment(_describe(spec), indent)
            lines.append(f"{prefix}{name}:{_placeholder(spec)}")
            first = False
            continue
        lines += _comment(_describe(spec), indent)
        if name in effect_required or name in TEMPLATE_SHOWN:
            lines.append(f"{indent}{name}:{_placeholder(spec)}")
        else:
            lines.append(f"{indent}# {name}:")
    return "\n".join(lines) + "\n"


def _read_bibliography(path: Path) -> list[bibliography.Reference]:
    try:
        return bibliography.read_bibliography(path)
    except bibliography.BibliographyError as err:
        raise ReviewError(
            f"The bibliography ({show_path(path)}) has {len(err.problems)} problem(s); fix them "
            "first:\n" + "\n".join(f"  - {p}" for p in err.problems)
        ) from None


def existing_file(folder: Path, key: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        if (folder / f"{key}{suffix}").exists():
            return folder / f"{key}{suffix}"
    return None


def command_new(args: argparse.Namespace) -> int:
    paths = project(args)
    key = args.key
    why = sheet.key_problem(key)
    if why:
        raise ReviewError(
            f"{why}.\nFix: use the study's BibTeX key (e.g. rothon2012). If the "
            "BibTeX key itself has other characters, change it in the bibliography "
            "first."
        )
    references = {r.key: r for r in _read_bibliography(paths.bibliography)}
    if key not in references:
        close = difflib.get_close_matches(key, list(references), n=3)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise ReviewError(
            f"{key} is not in the bibliography ({show_path(paths.bibliography)}).{hint}\n"
            "Fix: add the study's BibTeX entry to the bibliography first (its key is the "
            "study's name everywhere), or correct the key."
        )
    existing = existing_file(paths.extracted, key)
    if existing:
        raise ReviewError(
            f"{show_path(existing)} already exists; nothing was changed.\n"
            "Open it to go on coding, or move it away first to start again."
        )
    target = paths.extracted / f"{key}.yaml"
    try:
        sheet.write_new_file(target, template(key, references[key]))
    except FileExistsError:
        raise ReviewError(f"{show_path(target)} already exists; nothing was changed.") from None
    ref = references[key]
    print(
        f"Created {show_path(target)} for {_printable(ref.get('author', key))[:80]} "
        f"({_printable(ref.get('year', 'n.d.'))})."
    )
    print(
        "Next: open it, fill in the fields (the comments say what each one means), then run `review check`."
    )
    return 0


# ---------------------------------------------------------------- review check


@dataclass
class Report:
    """Problems and warnings, grouped by file."""

    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    warnings: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    files_checked: int = 0

    def add_problem(self, problem: Problem | bibliography.BibProblem) -> None:
        file, text = _split(problem)
        self.problems[file].append(text)

    def add_warning(self, file: str, text: str) -> None:
        self.warnings[file].append(text)

    @property
    def n_problems(self) -> int:
        return sum(map(len, self.problems.values()))

    @property
    def n_warnings(self) -> int:
        return sum(map(len, self.warnings.values()))


def _split(problem: Problem | bibliography.BibProblem) -> tuple[str, str]:
    """(file, the rest of the one-line message)."""
    text = _printable(str(problem))
    if isinstance(problem, bibliography.BibProblem):
        prefix = f"{problem.file}:{problem.line}:"
        rest = text[len(prefix) :].strip() if text.startswith(prefix) else text
        return show_path(problem.file), (f"line {problem.line}: {rest}" if problem.line else rest)
    prefix = f"{problem.file}: "
    return show_path(problem.file), text[len(prefix) :] if text.startswith(prefix) else text


class Progress:
    """A progress line on stderr, for long runs on a terminal only."""

    def __init__(self, total: int, what: str, stream=None):
        self.stream = stream or sys.stderr
        self.total, self.what = total, what
        self.enabled = total > PROGRESS_MIN_FILES and self.stream.isatty()
        self.last = 0.0

    def update(self, done: int) -> None:
        if self.enabled and (time.monotonic() - self.last > PROGRESS_INTERVAL or done == self.total):
            self.last = time.monotonic()
            self.stream.write(f"\r{self.what}: {done:,} of {self.total:,}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (len(self.what) + 30) + "\r")
            self.stream.flush()


def document_warnings(data: dict) -> list[str]:
    """Things that are allowed but usually a mistake (shown, never failing)."""
    out = []
    for index, effect in enumerate(data.get("effects") or []):
        if not isinstance(effect, dict):
            continue
        effect_id = effect.get("id") or f"#{index + 1}"
        if effect.get("reverse") is True and not str(effect.get("reverse_reason") or "").strip():
            out.append(
                f"effect {effect_id}, field 'reverse_reason': reverse is true but no reason "
                "is given. Suggestion: say why the sign is flipped (e.g. the source "
                "compares low with high social capital)"
            )
    return out


def _ignored_files(folder: Path, files: Sequence[Path]) -> list[Path]:
    if not folder.is_dir():
        return []
    read = set(files)
    return sorted(p for p in folder.iterdir() if p.is_file() and p not in read and not p.name.startswith("."))


def check_folder(folder: Path, keys: set[str] | None, report: Report, progress_label: str) -> None:
    """Validate every extraction file of one folder into ``report``."""
    if not folder.is_dir() or not extraction.extraction_files(folder):
        for problem in extraction.load_corpus(folder, keys)[1]:
            report.add_problem(problem)
        return
    files = extraction.extraction_files(folder)
    progress = Progress(len(files), progress_label)
    for done, path in enumerate(files, start=1):
        data, problems = read_extraction(path)
        if data is not None:
            problems = validate_document(data, path, keys)
            for warning in document_warnings(data):
                report.add_warning(show_path(path), warning)
        for problem in problems:
            report.add_problem(problem)
        report.files_checked += 1
        progress.update(done)
    progress.close()
    for problem in duplicate_studies(files):
        report.add_problem(problem)
    for path in _ignored_files(folder, files):
        report.add_warning(
            show_path(path),
            "is not read by the workflow (only .yaml and .yml files "
            "are). Suggestion: rename it to <study-key>.yaml if it is an "
            "extraction file, or move it out of the folder",
        )


def run_check(paths: Project) -> Report:
    report = Report()
    keys: set[str] | None
    try:
        keys = {r.key for r in bibliography.read_bibliography(paths.bibliography)}
    except bibliography.BibliographyError as err:
        keys = None
        for problem in err.problems:
            report.add_problem(problem)
    check_folder(paths.extracted, keys, report, "Checking extraction files")
    second = paths.extracted / agreement_module.SECOND_CODER_FOLDER
    if second.is_dir() and extraction.extraction_files(second):
        check_folder(second, keys, report, "Checking the second coder's files")
    return report


def print_report(report: Report, out=None) -> None:
    out = out or sys.stdout
    files = sorted(set(report.problems) | set(report.warnings))
    for file in files:
        print(file, file=out)
        for text in report.problems.get(file, []):
            print(f"  - {text}", file=out)
        for text in report.warnings.get(file, []):
            print(f"  - warning: {text}", file=out)
        print(file=out)


def command_check(args: argparse.Namespace) -> int:
    paths = project(args)
    report = run_check(paths)
    print_report(report)
    checked = f"{report.files_checked} extraction file(s) and the bibliography checked"
    warnings = f", {report.n_warnings} warning(s)" if report.n_warnings else ""
    if report.n_problems:
        print(
            f"{report.n_problems} problem(s) in {len(report.problems)} file(s){warnings} "
            f"({checked}). Fix them, then run `review check` again."
        )
        return 1
    print(f"No problems ({checked}){warnings}.")
    return 0


# ---------------------------------------------------------------- review import


def command_import(args: argparse.Namespace) -> int:
    paths = project(args)
    keys = {r.key for r in _read_bibliography(paths.bibliography)}
    plan = sheet.plan_import(Path(args.sheet), paths.extracted, keys)
    if plan.problems:
        for problem in plan.problems:
            print(f"  - {_printable(str(problem))}")
        print(
            f"{len(plan.problems)} problem(s) in {show_path(args.sheet)}; nothing was written. "
            "Fix them, then import again."
        )
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
        rows = ", ".join(map(str, planned.rows))
        print(f"Wrote {show_path(planned.path)} (row{'s' if len(planned.rows) > 1 else ''} {rows})")
        for warning in document_warnings(extraction.load_yaml_text(planned.text)):
            print(f"  - warning: {warning}")
    for planned in same:
        print(f"{show_path(planned.path)} is already up to date")
    print(
        f"Imported {len(written)} new study file(s); {len(same)} already up to date. "
        "Run `review check`, then rebuild with `make brief`."
    )
    return 0


# ---------------------------------------------------------------- review status


def _version_key(path: Path) -> tuple:
    return tuple(int(x) if x.isdigit() else x for x in re.split(r"[.\-]", path.name[1:]))


def latest_release(releases: Path) -> Path | None:
    if not releases.is_dir():
        return None
    found = [p for p in releases.iterdir() if p.is_dir() and re.match(r"^v\d", p.name)]
    return max(found, key=_version_key) if found else None


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _differ(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is not b
    return not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def release_changes(release: Path, documents: list[tuple[Path, dict]]) -> list[str]:
    """Plain-English lines: what changed in the extraction files since ``release``."""
    from analysis.inputs.effects import effect_rows

    old_effects = _read_csv(release / "effects.csv")
    old_studies_rows = _read_csv(release / "extractions.csv")
    old_studies = {r["study"] for r in old_studies_rows if r.get("study")} | {
        r["study"] for r in old_effects if r.get("study")
    }
    now = {doc["study"]: doc for _, doc in documents}
    added = sorted(set(now) - old_studies)
    removed = sorted(old_studies - set(now))
    old = {(r.get("study"), r.get("effect_id")): r for r in old_effects}
    new = {(r["study"], r["effect_id"]): r for r in effect_rows(documents)}
    effects_added = sorted(k for k in new if k not in old and k[0] not in added)
    effects_removed = sorted(k for k in old if k not in new and k[0] not in removed)
    changed = sorted(
        k
        for k in set(old) & set(new)
        if old[k].get("measure") != new[k]["measure"]
        or _differ(_number(old[k].get("yi")), new[k]["yi"])
        or _differ(_number(old[k].get("vi")), new[k]["vi"])
    )
    recoded = set(k[0] for k in effects_added + effects_removed + changed)
    first_row = {}
    for row in old_studies_rows:
        first_row.setdefault(row.get("study"), row)
    for study, row in first_row.items():
        if study in now:
            for name in ("design", "status"):
                if name in row and row[name] != str(now[study].get(name, "")):
                    recoded.add(study)

    def listing(items: Sequence[Any], limit: int = 12) -> str:
        shown = [i if isinstance(i, str) else f"{i[0]}/{i[1]}" for i in items[:limit]]
        more = f" and {len(items) - limit} more" if len(items) > limit else ""
        return ", ".join(shown) + more

    lines = [f"Since release {release.name} ({show_path(release)}):"]
    lines.append(f"  studies added: {len(added)}" + (f" ({listing(added)})" if added else ""))
    lines.append(f"  studies removed: {len(removed)}" + (f" ({listing(removed)})" if removed else ""))
    lines.append(f"  studies recoded: {len(recoded)}" + (f" ({listing(sorted(recoded))})" if recoded else ""))
    lines.append(
        f"  effects added to earlier studies: {len(effects_added)}; removed: "
        f"{len(effects_removed)}; with a changed value: {len(changed)}"
        + (f" ({listing(changed)})" if changed else "")
    )
    if not old_effects and not old_studies_rows:
        lines.append("  (the release has no effects.csv or extractions.csv to compare with)")
    return lines


def status_lines(paths: Project) -> list[str]:
    lines: list[str] = []
    try:
        references = bibliography.read_bibliography(paths.bibliography)
        keys: set[str] | None = {r.key for r in references}
    except bibliography.BibliographyError:
        keys = None
    documents, problems = extraction.load_corpus(paths.extracted, keys)
    bad_files = len({p.file for p in problems})
    studies = [d for _, d in documents if d.get("kind", "study") == "study"]
    context = [d for _, d in documents if d.get("kind", "study") == "context"]
    status = Counter(d["status"] for d in studies)
    lines.append(f"Extraction files in {show_path(paths.extracted)}: {len(documents) + bad_files}")
    lines.append(
        f"  studies: {len(studies)} (coded, with effects: {status['coded']}; "
        f"narrative, findings only: {status['narrative']})"
    )
    if context:
        lines.append(f"  context documents (reports, policy papers; not counted as studies): {len(context)}")
    if bad_files:
        lines.append(f"  files with problems, left out below: {bad_files} (run `review check`)")
    if keys is None:
        lines.append("  the bibliography has problems (run `review check`)")
    else:
        coded = {d["study"] for _, d in documents} | {Path(p.file).stem for p in problems}
        missing = sorted(keys - coded)
        sample = f" (e.g. {', '.join(missing[:8])})" if missing else ""
        lines.append(f"  bibliography entries without an extraction file: {len(missing)}{sample}")
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    by_theme: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for doc in studies:
        if doc["status"] == "coded":
            effects = [e for e in doc.get("effects") or [] if e.get("role", "primary") == "primary"]
            pairs = {(e["theme"], e["outcome"]) for e in effects}
            slot = 0
        else:
            pairs = {(t, o) for t in doc.get("themes", []) for o in doc.get("outcomes", [])}
            pairs |= {(t, "") for t in doc.get("themes", [])}
            slot = 1
        for pair in pairs:
            if pair[1]:
                cells[pair][slot] += 1
        for theme in {t for t, _ in pairs}:
            by_theme[theme][slot] += 1
    themes, outcomes = vocabulary("theme"), vocabulary("outcome")
    lines.append("")
    lines.append("Studies by theme (coded / narrative):")
    for theme in themes:
        coded_n, narrative_n = by_theme.get(theme, [0, 0])
        lines.append(f"  {theme:<10} {coded_n:>4} / {narrative_n}")
    lines.append("")
    lines.append("Evidence gaps: studies per theme and outcome (coded/narrative; '.' = none)")
    width = max(len(o) for o in outcomes) + 1
    lines.append("  " + " " * 11 + "".join(f"{o:>{width}}" for o in outcomes))
    for theme in themes:
        row = ""
        for outcome in outcomes:
            c, n = cells.get((theme, outcome), [0, 0])
            row += f"{(f'{c}/{n}' if c or n else '.'):>{width}}"
        lines.append(f"  {theme:<11}{row}")
    lines.append("")
    release = latest_release(paths.releases)
    if release is None:
        lines.append(
            f"No release yet ({show_path(paths.releases)}/v*/ does not exist), so there "
            "is nothing to compare with."
        )
    else:
        lines += release_changes(release, documents)
        if bad_files:
            lines.append("  (files with problems are left out of this comparison)")
    return lines


def command_status(args: argparse.Namespace) -> int:
    print("\n".join(status_lines(project(args))))
    return 0


# ---------------------------------------------------------------- review agreement


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def command_agreement(args: argparse.Namespace) -> int:
    paths = project(args)
    second = Path(args.second) if args.second else paths.extracted / agreement_module.SECOND_CODER_FOLDER
    result = agreement_module.compare_folders(paths.extracted, second)
    if not result.second_coder:
        print(
            f"No second coder's files yet: put them in {show_path(second)}/ (same format and "
            "file names as the first coder's, same effect ids), then run `review agreement`."
        )
        return 0
    print(
        f"Double coding: {len(result.studies_both)} study(ies) coded by both coders "
        f"({show_path(paths.extracted)}/ and {show_path(second)}/); "
        f"{len(result.first_only)} by the first coder only, "
        f"{len(result.second_only)} by the second only."
    )
    if result.problems:
        files = sorted({show_path(p.file) for p in result.problems})
        print(f"Left out because they have problems (run `review check`): {', '.join(files)}")
    print()
    print("Agreement on categories (Cohen's kappa: 1 = perfect, 0 = no better than chance):")
    for f in result.fields:
        unit = "studies" if f.unit == "study" else "effects"
        percent = "n/a" if f.percent is None else f"{f.percent:.0f}%"
        words = agreement_module.kappa_words(f.kappa)
        if f.kappa is None:
            words = "nothing to compare" if not f.items else "every rating in one category"
        print(
            f"  {f.field:<8} {f.items:>5} {unit:<8} agree {percent:>5}   kappa {_fmt(f.kappa):>5} ({words})"
        )
    print()
    compared = result.effects
    differing = [c for c in compared if not c.agrees]
    gaps = [abs(c.yi_difference) for c in compared if c.yi_difference is not None]
    largest = f"; largest yi difference {max(gaps):.4g}" if gaps and max(gaps) > 0 else ""
    print(
        f"Effect sizes (on the analysis scale, after reverse): {len(compared)} effect(s) coded "
        f"by both; {len(compared) - len(differing)} identical, {len(differing)} differ{largest}. "
        f"{result.effects_unmatched} effect(s) coded by one coder only."
    )
    print()
    if result.disagreements:
        print(f"To resolve ({len(result.disagreements)}):")
        for item in result.disagreements:
            print(f"  - {_printable(str(item))}")
        print("Agree on each, correct the files, and run `review agreement` again.")
    else:
        print("Nothing to resolve: the two coders agree on everything compared.")
    return 0


# ---------------------------------------------------------------- command line


EXAMPLES = """\
examples:
  review new rothon2012          start extracted/rothon2012.yaml from the bibliography entry
  review check                   check the bibliography and every extraction file
  review import effects.csv      turn a spreadsheet (one effect per row) into study files
  review status                  studies by status and theme, evidence gaps, changes since
                                 the last release
  review agreement               compare extracted/second-coder/ with extracted/
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="review",
        description="Tools for the reviewers of the evidence brief: add, check, import and "
        "compare extraction files.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str, description: str, epilog: str = "") -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=description,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument(
            "--extracted",
            metavar="DIR",
            help="folder of extraction files (default: extracted_dir in config/config.yaml)",
        )
        sub.add_argument(
            "--bibliography",
            metavar="PATH",
            help="BibTeX file or folder (default: bibliography in config/config.yaml)",
        )
        return sub

    new = add(
        "new",
        "start an extraction file for a study in the bibliography",
        "Create extracted/KEY.yaml for the bibliography entry KEY, with every field of the "
        "codebook described in comments. Never overwrites a file.",
        "example:\n  review new rothon2012",
    )
    new.add_argument("key", metavar="KEY", help="the study's BibTeX key")
    new.set_defaults(run=command_new)

    check = add(
        "check",
        "check the bibliography and every extraction file",
        "Check the bibliography and every extraction file (and extracted/second-coder/ "
        "if present). Problems are listed by file, each with its fix; warnings are shown "
        "but do not fail. Exit status 1 when there is a problem.",
        "example:\n  review check",
    )
    check.set_defaults(run=command_check)

    imp = add(
        "import",
        "turn a spreadsheet (CSV, one effect per row) into study files",
        "Turn a spreadsheet saved as CSV (UTF-8; comma, semicolon or tab separated), one "
        "effect per row, into one extraction file per study. Nothing is written unless the "
        "whole sheet is valid; an existing file is never overwritten (an identical one is "
        "left as it is). Row numbers in messages are the spreadsheet's (the column names "
        "are row 1). Numbers must be plain: 1234 and 0.5, not 1,234, 0,5 or 12%.",
        "columns (any order; names as in the codebook, schemas/extraction.schema.yaml):\n"
        + sheet.column_help()
        + "\n\nstudy-level columns may be repeated on each row of a study or given once;"
        "\na row with no effect column filled is a study without effects (narrative)."
        "\n\nexample:\n  review import coding-sheet.csv",
    )
    imp.add_argument("sheet", metavar="SHEET.csv", help="the spreadsheet, saved as CSV")
    imp.add_argument("--dry-run", action="store_true", help="check the sheet, write nothing")
    imp.set_defaults(run=command_import)

    status = add(
        "status",
        "studies by status and theme, evidence gaps, changes since the last release",
        "Count studies by status and theme, show the evidence gaps (theme x outcome) and "
        "what changed since the last release in releases/.",
        "example:\n  review status",
    )
    status.add_argument("--releases", metavar="DIR", help="folder of releases (default: releases)")
    status.set_defaults(run=command_status)

    agree = add(
        "agreement",
        "compare a second coder's files with the first coder's",
        "Compare the second coder's files (extracted/second-coder/, same format and file "
        "names; same effect ids) with the first coder's: Cohen's kappa on design, status, "
        "theme, outcome and reverse, each effect's value, and the list of disagreements.",
        "example:\n  review agreement",
    )
    agree.add_argument(
        "--second",
        metavar="DIR",
        help="the second coder's folder (default: <extracted>/second-coder)",
    )
    agree.set_defaults(run=command_agreement)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ReviewError as err:
        print(str(err), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The output went to a program that stopped reading (`review status | head`):
        # nothing to tell. Point stdout at /dev/null so the exit flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as err:
        where = f" ({show_path(err.filename)})" if err.filename else ""
        print(
            f"review {args.command}: could not read or write a file{where}: "
            f"{err.strerror or err}. Check that it exists and that you may change it.",
            file=sys.stderr,
        )
        return 1
    except Exception as err:  # noqa: BLE001 - a reviewer never sees a traceback
        if os.environ.get("REVIEW_DEBUG"):
            raise
        detail = _printable(f"{type(err).__name__}: {err}")[:200]
        print(
            f"review {args.command}: something unexpected went wrong ({detail}). This is a "
            "fault of the review tool, not of your files; please report it with the command "
            "you ran.",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
