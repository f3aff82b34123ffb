"""Check all reviewer inputs before the workflow runs any job.

Called while Snakemake reads the workflow, so that bad input stops everything
before a single output is deleted or written. Files that have not changed
since the last successful check (same size and modification time) are not
read again: the check of a 10,000-study corpus with one new file reads one
file, which keeps the no-op rebuild fast. The record of checked files lives in
``<results_dir>/.cache/inputs.json``; deleting it only costs time.
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis.inputs import bibliography, extraction
from analysis.io import write_text_atomic

CACHE_VERSION = 1


class InputError(ValueError):
    """Every problem of the inputs, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _schema_stamp() -> list[list[int]]:
    # A change of the codebook or of the checks invalidates every earlier check.
    return [_stamp(extraction.SCHEMA_PATH), _stamp(Path(extraction.__file__))]


def _load_cache(path: Path) -> dict:
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if cache.get("version") != CACHE_VERSION or cache.get("schema") != _schema_stamp():
        return {}
    return cache


def bibliography_keys(bib_path: str | Path, cache: dict) -> tuple[list[Path], set[str]]:
    """The bibliography's files and keys; raises BibliographyError on any problem."""
    files = bibliography.bib_files(bib_path)
    stamps = {str(f): _stamp(f) for f in files if f.is_file()}
    cached = cache.get("bibliography", {})
    if cached.get("stamps") == stamps and stamps:
        return files, set(cached["keys"])
    references = bibliography.read_bibliography(bib_path)
    keys = {r.key for r in references}
    cache["bibliography"] = {"stamps": stamps, "keys": sorted(keys)}
    return files, keys


def check_inputs(
    extracted_dir: str | Path, bib_path: str | Path, results_dir: str | Path
) -> tuple[list[str], list[str]]:
    """Validate bibliography and extraction files; return their paths (as strings).

    Raises :class:`InputError` listing every problem found.
    """
    cache_path = Path(results_dir) / ".cache" / "inputs.json"
    cache = _load_cache(cache_path)
    problems: list[str] = []
    try:
        bib_files, keys = bibliography_keys(bib_path, cache)
    except bibliography.BibliographyError as err:
        problems.extend(str(p) for p in err.problems)
        bib_files, keys = [], None
    folder = Path(extracted_dir)
    if not folder.is_dir():
        raise InputError(problems + [str(p) for p in extraction.load_corpus(folder, keys)[1]])
    files = extraction.extraction_files(folder)
    if not files:
        problems.extend(str(p) for p in extraction.load_corpus(folder, keys)[1])
    problems.extend(str(p) for p in extraction.duplicate_studies(files))
    checked = cache.get("extractions", {})
    fresh: dict[str, dict] = {}
    for path in files:
        name = str(path)
        stamp = _stamp(path)
        entry = checked.get(name)
        if entry and entry["stamp"] == stamp:
            if keys is not None and entry["study"] not in keys:
                problems.append(
                    str(
                        extraction.Problem(
                            name,
                            entry["study"],
                            "",
                            "study",
                            f"{entry['study']!r} is not a key in the bibliography",
                            "add the study's entry to references/ or correct the key",
                        )
                    )
                )
            fresh[name] = entry
            continue
        data, found = extraction.read_extraction(path)
        if data is not None:
            found = extraction.validate_document(data, path, keys)
        problems.extend(str(p) for p in found)
        if not found:
            fresh[name] = {"stamp": stamp, "study": data["study"]}
    if problems:
        raise InputError(problems)
    cache.update(version=CACHE_VERSION, schema=_schema_stamp(), extractions=fresh)
    try:
        write_text_atomic(cache_path, json.dumps(cache, sort_keys=True))
    except OSError:
        pass  # the cache only saves time
    return [str(p) for p in files], [str(f) for f in bib_files]
