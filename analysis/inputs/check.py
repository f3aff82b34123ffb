"""The one checker of the reviewers' inputs, and the workflow's check of its settings.

:func:`check_corpus` checks a corpus: the bibliography, every extraction file
of ``extracted_dir`` and of its ``second-coder/`` folder, studies with two
files, and constructs that look like a mistyped existing one. The workflow's
rule ``check_inputs`` (through :func:`check_inputs`), ``review check`` and
``convert_effects`` all call it, so a file is valid in one place exactly when
it is valid in the others.

The rule keeps a cache keyed on each file's content (sha256) and on the
content of the schema and of the checking code, in
``<results_dir>/.cache/inputs.json``: adding one study to 10,000 reads one
file. Deleting the cache only costs time.

:func:`check_config` is what runs while Snakemake reads the workflow: it looks
at the settings and at paths only, and reads no input.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analysis.inputs import bibliography, extraction
from analysis.inputs.agreement import SECOND_CODER_FOLDER
from analysis.inputs.bibcache import CACHE as BIB_CACHE
from analysis.inputs.bibcache import BibCache
from analysis.inputs.studycache import PACK, StudyCache, problems_of
from analysis.io import write_text_atomic

# The cache of before issue 14 (check_inputs only), removed when found.
OLD_CACHE_FILE = Path(".cache") / "inputs.json"


class InputError(ValueError):
    """Every problem of the inputs, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class InputWarning:
    """Something allowed but usually a mistake, in one file (shown, never failing)."""

    file: str
    text: str

    def __str__(self) -> str:
        return f"{self.file}: warning: {self.text}"


@dataclass
class CorpusCheck:
    """What :func:`check_corpus` found.

    ``problems`` are Problem / BibProblem objects (``str()`` is the one line);
    ``documents`` and ``second_coder`` are the valid files as (path, content),
    except files the cache vouched for, which are not read at all (and none
    with ``documents=False``);
    ``entries`` are (study, file) of the valid files of ``extracted_dir``, in file
    order (their entries, with the rows of the tables, are in the cache).
    """

    problems: list = field(default_factory=list)
    warnings: list[InputWarning] = field(default_factory=list)
    documents: list[tuple[Path, dict]] = field(default_factory=list)
    second_coder: list[tuple[Path, dict]] = field(default_factory=list)
    entries: list[tuple[str, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    second_coder_files: list[Path] = field(default_factory=list)
    bib_files: list[Path] = field(default_factory=list)
    keys: set[str] | None = None
    files_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------- the checker


class _Corpus:
    """What the corpus-wide checks need of the valid files, gathered one file at a time."""

    def __init__(self) -> None:
        from analysis.inputs.moderators import CorpusModerators

        self.moderators = CorpusModerators()
        self.constructs = ConstructUses()

    def add(self, value: dict) -> None:
        found = value["summary"]
        self.moderators.add(Path(value["file"]), found.get("moderators") or {})
        self.constructs.add(found.get("constructs", []), value["file"])


def _check_folder(
    folder: Path,
    files: list[Path],
    keys: set[str] | None,
    cache: StudyCache,
    progress: Callable[[int, int], None] | None,
    corpus: _Corpus | None,
    documents: bool,
) -> tuple[list[Path], list[tuple[Path, dict]], list[tuple[str, str]], list]:
    """(files, documents parsed now and valid, (study, file) of valid files, problems) of one
    folder (``files``: its extraction files); each valid file's summary goes to ``corpus``."""
    if not files:
        return [], [], [], list(extraction.load_corpus(folder, keys)[1])
    parsed: list[tuple[Path, dict]] = []
    entries: list[tuple[str, str]] = []
    problems: list = list(extraction.duplicate_studies(files))
    for done, path in enumerate(files, start=1):
        value, data = cache.entry(path)
        found = problems_of(value, keys)
        problems.extend(found)
        if not found:
            entries.append((value["study"], value["file"]))
            if corpus is not None:
                corpus.add(value)
            if documents and data is not None:
                parsed.append((path, data))
        if progress is not None:
            progress(done, len(files))
    return files, parsed, entries, problems


def check_corpus(
    extracted_dir: str | Path,
    bib_path: str | Path | None = None,
    *,
    keys: Iterable[str] | None = None,
    second_coder: bool = True,
    cache: StudyCache | None = None,
    progress: Callable[[int, int], None] | None = None,
    documents: bool = True,
    bib_cache=None,
) -> CorpusCheck:
    """Check a corpus; never raises on bad input (every problem is in the result).

    Parameters
    ----------
    extracted_dir : folder of extraction files (and of ``second-coder/``)
    bib_path : the bibliography (file or folder); its keys are the valid study keys.
    keys : the valid study keys, when the bibliography was read already
        (``bib_path`` None). With neither, study keys are not checked.
    second_coder : also check ``<extracted_dir>/second-coder/*.yaml`` (when present)
    cache : a :class:`~analysis.inputs.studycache.StudyCache`; files it vouches for are not
        read again (None: every file is read)
    progress : called as ``progress(done, total)`` after each file of a folder
    documents : keep the content of the valid files parsed now (``documents``,
        ``second_coder``); the workflow's rules need none of it
    bib_cache : a :class:`~analysis.inputs.bibcache.BibCache` for the bibliography's entries
    """
    result = CorpusCheck()
    cache = cache if cache is not None else StudyCache(None, hold=False)
    folder = Path(extracted_dir)
    files = extraction.extraction_files(folder) if folder.is_dir() else []
    corpus = _Corpus()
    # With workers, the files are parsed in other processes while the bibliography is read here.
    with cache.prefetching(files):
        if bib_path is not None:
            result.bib_files = [f for f in bibliography.bib_files(bib_path) if f.is_file()]
            try:
                found = bibliography.read_bibliography(bib_path, fields=False, cache=bib_cache)
                result.keys = {r.key for r in found}
            except bibliography.BibliographyError as err:
                result.problems.extend(err.problems)
        elif keys is not None:
            result.keys = set(keys)
        result.files, result.documents, result.entries, found = _check_folder(
            folder, files, result.keys, cache, progress, corpus, documents
        )
    result.problems.extend(found)
    second = folder / SECOND_CODER_FOLDER
    files = extraction.extraction_files(second) if second_coder and second.is_dir() else []
    if files:
        with cache.prefetching(files):
            result.second_coder_files, result.second_coder, _, found = _check_folder(
                second, files, result.keys, cache, progress, None, documents
            )
        result.problems.extend(found)
    result.files_checked = len(result.files) + len(result.second_coder_files)
    if not result.problems:
        result.problems.extend(corpus.moderators.problems())
    result.warnings.extend(corpus.constructs.warnings())
    return result


# ---------------------------------------------------------------- near-duplicate names

# Words that are spelled several ways in slugs.
_SAME_WORD = {"versus": "vs", "v": "vs", "vs.": "vs", "and": "", "the": "", "of": ""}
# difflib ratio above which two slugs look like one mistyped (high-vs-low / high-vs-lo).
CLOSE_RATIO = 0.8


def _normal(slug: str) -> str:
    words = [_SAME_WORD.get(w, w) for w in re.split(r"[-_]+", slug.lower())]
    return "-".join(w for w in words if w)


def close_names(name: str, existing: Iterable[str]) -> list[str]:
    """The existing names that ``name`` is probably a mistyped form of (not ``name`` itself)."""
    others = sorted(set(existing) - {name})
    same = [o for o in others if _normal(o) == _normal(name)]
    near = difflib.get_close_matches(name, others, n=3, cutoff=CLOSE_RATIO)
    return sorted(set(same) | set(near))


def near_duplicates(used: dict[str, set[str]]) -> list[tuple[str, list[str]]]:
    """(name, close existing names) for each name used by one file only that is close to another.

    ``used`` maps each name to the files using it."""
    uses = ConstructUses()
    for name, files in used.items():
        for file in sorted(files):
            uses.add([name], file)
    return uses.near_duplicates()


class ConstructUses:
    """Per construct the first file using it and whether another file uses it too: all that
    :meth:`near_duplicates` needs of "the files using each name"."""

    def __init__(self) -> None:
        self.first: dict[str, str] = {}
        self.shared: dict[str, bool] = {}

    def add(self, constructs: Iterable[str], file: str) -> None:
        for name in constructs:
            if name not in self.first:
                self.first[name], self.shared[name] = file, False
            elif self.first[name] != file:
                self.shared[name] = True

    def near_duplicates(self) -> list[tuple[str, list[str]]]:
        """(name, close existing names) for each name used by one file only that is close to another."""
        out = []
        for name in sorted(self.first):
            if self.shared[name]:
                continue  # used by several studies: established, not a slip
            # Names the same file uses too are deliberate (two doses of one index), not a slip.
            mine = self.first[name]
            others = {other for other, file in self.first.items() if self.shared[other] or file != mine}
            close = close_names(name, others)
            if close:
                out.append((name, close))
        return out

    def warnings(self) -> list[InputWarning]:
        """A warning for each construct of one study that looks like a mistyped existing construct."""
        warnings = []
        for name, close in self.near_duplicates():
            existing = ", ".join(sorted(self.first))
            warnings.append(
                InputWarning(
                    self.first[name],
                    f"construct {name!r} is used by no other study but is close to "
                    f"{', '.join(repr(c) for c in close)}; effects with different constructs are never "
                    f"pooled together. Suggestion: use the existing spelling if it is the same construct "
                    f"(constructs in use: {existing})",
                )
            )
        return warnings


def construct_warnings(summaries: list[dict]) -> list[InputWarning]:
    """A warning for each construct of one study that looks like a mistyped existing construct."""
    uses = ConstructUses()
    for entry in summaries:
        uses.add(entry.get("constructs", []), entry["file"])
    return uses.warnings()


# ---------------------------------------------------------------- the workflow's check


def check_inputs(
    extracted_dir: str | Path, bib_path: str | Path, results_dir: str | Path | None
) -> tuple[list[str], list[str]]:
    """The rule check_inputs: check the corpus with the results folder's cache.

    Returns the extraction files and the .bib files (as strings); raises
    :class:`InputError` listing every problem, and then writes nothing.
    """
    result = checked_inputs(extracted_dir, bib_path, results_dir)
    return [str(p) for p in result.files], [str(f) for f in result.bib_files]


def checked_inputs(
    extracted_dir: str | Path, bib_path: str | Path, results_dir: str | Path | None
) -> CorpusCheck:
    return checked_with_pack(extracted_dir, bib_path, Path(results_dir) / PACK if results_dir else None)


def checked_with_pack(
    extracted_dir: str | Path, bib_path: str | Path, pack: str | Path | None, workers: int = 1
) -> CorpusCheck:
    """check_corpus with the per-file cache ``pack`` (rewritten) and the bibliography's block
    cache beside it (rewritten when the check passes), files parsed in ``workers`` processes;
    raises InputError on any problem."""
    bib_cache = BibCache(Path(pack).parent / BIB_CACHE.name if pack is not None else None, write=True)
    with StudyCache(pack, workers=workers, write=True) as cache:
        result = check_corpus(extracted_dir, bib_path, cache=cache, documents=False, bib_cache=bib_cache)
        cache.save()  # bad files too: their problems are reported again from their entries
    if pack is not None:
        _remove_old_cache(Path(pack).parent.parent / OLD_CACHE_FILE)
    if result.problems:
        raise InputError([str(p) for p in result.problems])
    bib_cache.save()  # a failed check writes no result but the pack
    return result


def _remove_old_cache(path: Path) -> None:
    """The earlier cache (a folder where the rule passed its file as the results folder)."""
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def listed_inputs(extracted_dir: str | Path, bib_path: str | Path) -> tuple[list[str], list[str], list[str]]:
    """(extraction files, second-coder files, .bib files) that exist, for Snakemake's inputs.

    Only lists folders: reads no file. Broken entries (a dangling link) are left
    out here and reported by the check rule, which lists the folder itself."""

    def listing(folder: Path) -> list[str]:
        if not folder.is_dir():
            return []
        return sorted(str(p) for p in extraction.extraction_files(folder) if p.is_file())

    bib = [str(f) for f in bibliography.bib_files(bib_path) if f.is_file()]
    folder = Path(extracted_dir)
    return listing(folder), listing(folder / SECOND_CODER_FOLDER), bib


# ---------------------------------------------------------------- the settings


def _inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or lies inside it (both resolved)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _repository_entries(root: Path) -> list[str]:
    """The repository's own top-level entries (tracked by git, or all but results/ without git)."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "ls-files", "-z"], cwd=root, capture_output=True, timeout=20, check=True
        )
        names = {p.split("/", 1)[0] for p in done.stdout.decode("utf-8", "replace").split("\0") if p}
    except (OSError, subprocess.SubprocessError):
        names = {p.name for p in root.iterdir() if p.name != "results"}
    return sorted(names | {p.name for p in root.iterdir() if p.name.startswith(".")})


def results_dir_problem(config: dict, root: str | Path) -> str | None:
    """One line when ``results_dir`` would overlap an input or the repository, else None.

    The contract: results_dir may not be, contain or lie inside extracted_dir,
    the bibliography, the repository root or any other input (it may lie in the
    repository, in a folder of its own such as results/)."""
    root = os.path.realpath(root)
    results = os.path.realpath(config["results_dir"])
    shown = config["results_dir"]
    fix = "set results_dir to a folder of its own, e.g. --config results_dir=results"
    if os.path.exists(results) and not os.path.isdir(results):
        return f"results_dir {shown!r} is an existing file, not a folder. Fix: {fix}"
    if _inside(root, results):
        return f"results_dir {shown!r} is or contains the repository {root}. Fix: {fix}"
    inputs = {
        "extracted_dir": config["extracted_dir"],
        "bibliography": config["bibliography"],
        "atlas.dir": (config.get("atlas") or {}).get("dir", ""),
    }
    for name, value in inputs.items():
        if not value:
            continue
        other = os.path.realpath(value)
        if _inside(results, other) or _inside(other, results):
            return (
                f"results_dir {shown!r} overlaps {name} {value!r} (the workflow would overwrite or delete "
                f"its inputs). Fix: {fix}"
            )
    if _inside(results, root):
        top = os.path.relpath(results, root).split(os.sep)[0]
        if top in _repository_entries(Path(root)):
            return (
                f"results_dir {shown!r} lies inside the repository's own {top!r}, which the workflow "
                f"reads. Fix: {fix}"
            )
    return None


def check_config(config: dict, root: str | Path) -> list[str]:
    """Every problem of the settings that the JSON Schema cannot see, one line each."""
    problems = []

    def numbers(value, key: str):
        if isinstance(value, dict):
            for name, item in value.items():
                yield from numbers(item, f"{key}.{name}" if key else str(name))
        elif isinstance(value, float):
            yield key, value

    for key, value in numbers(config, ""):
        if not math.isfinite(value):  # NaN passes every bound of a JSON Schema
            problems.append(f"config: {key} = {value} is not a number. Fix: give a finite number")
    atlas = config.get("atlas") or {}
    for name, digest in (atlas.get("sha256") or {}).items():
        if not re.fullmatch(r"[0-9a-f]{64}", str(digest)):
            problems.append(f"config: atlas.sha256.{name} is not 64 hex digits. Fix: copy the sha256 again")
    overlap = results_dir_problem(config, root)
    if overlap:
        problems.append(overlap)
    return problems


def report_check(
    extracted_dir: str, bib_path: str, cache_file: str, settings: dict, checked_path: str, workers: int = 1
) -> None:
    """The rule check_inputs: on bad input print every problem as one plain line and exit 1
    (no traceback, nothing written); else write the input fingerprint to ``checked_path``."""
    import logging
    import sys

    from analysis.provenance import fingerprint

    try:
        result = checked_with_pack(extracted_dir, bib_path, cache_file, workers)
    except InputError as err:
        print(
            f"The inputs have {len(err.problems)} problem(s); nothing was run and earlier results "
            "are unchanged:\n" + "\n".join(err.problems),
            file=sys.stderr,
        )
        logging.error("%d problem(s):\n%s", len(err.problems), "\n".join(err.problems))
        sys.exit(1)
    for warning in result.warnings:
        logging.warning("%s", warning)
    inputs = [str(p) for p in (*result.files, *result.bib_files)]
    record = {
        "extraction_files": len(result.files),
        "second_coder_files": len(result.second_coder_files),
        "bib_files": len(result.bib_files),
        "fingerprint": fingerprint(inputs, settings),
    }
    write_text_atomic(checked_path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    logging.info("checked %d file(s)", result.files_checked)
