"""``review check``: the bibliography and every extraction file, problems listed file by file.

Also checks ``extracted/second-coder/`` when present. Each problem has its fix;
warnings (allowed, but usually a mistake) are shown and do not fail. Exit
status 1 when there is a problem.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from analysis.inputs import agreement as agreement_module
from analysis.inputs import bibliography, extraction
from analysis.inputs.extraction import Problem, duplicate_studies, read_extraction, validate_document
from analysis.review.common import Project, printable, project, show_path

# `review check` shows a progress line only for corpora this large, and only on
# a terminal: a few hundred files are checked in about a second.
PROGRESS_MIN_FILES = 500
# Seconds between two progress updates (a terminal redraw per file is slow).
PROGRESS_INTERVAL = 0.2


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
    text = printable(str(problem))
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


def run(args: argparse.Namespace) -> int:
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
