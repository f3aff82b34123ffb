"""The per-file work on extraction files, done once per changed file (issue 14).

Reading, validating and converting one extraction file gives one *entry*: its
problems (as found without the bibliography), its study key, and for a valid
file what the corpus checks and the tables need of it: the summary of
:mod:`analysis.inputs.check`, its ``studies.csv`` row, its ``effects.csv`` rows
and its PRISMA record fields (:mod:`analysis.inputs.records`). The rule
check_inputs keeps the entries in one pack, ``<results_dir>/.cache/studies.pack``;
convert_effects and count_records read them from there, so a file is parsed
once per change in all (``parsed`` counts the parses).

- Key = sha256 of (the file's path, the sha256 of its bytes, the code digest:
  the schema's bytes and the bytes of every analysis/ file the rule
  check_inputs imports). The entries read no setting.
- Stamps first: a file whose (size, mtime_ns, ctime_ns, inode) equals its entry's
  stamp is not read (ctime: an edit that restores the old mtime, touch -r, changes it). A stamp is recorded only for a file last changed more than
  ``RACY_NS`` before it was looked at (an edit within the same clock tick could
  keep size and time).
- A damaged or unreadable pack is a miss, never an error; the pack is rewritten
  atomically with only the entries of this run's files.
- Problems are part of an entry: a bad file is reported again on every run until
  it is fixed. The bibliography check (study key known) and every corpus-wide
  check run on the entries at each run, never from the cache.
- Nothing in an entry is used as a path: entries are looked up by the paths of
  the folder's listing, and a value is used only when its key matches.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

from analysis.inputs import effects, extraction, records
from analysis.inputs.problem import ExtractionError, Problem

VERSION = 1
PACK = Path(".cache") / "studies.pack"
# A file changed less than this before it was stamped gets no stamp (it is hashed again).
RACY_NS = 2_000_000_000
_ROOT = Path(__file__).resolve().parents[2]


def code_digest() -> str:
    """sha256 of the extraction schema and of the analysis/ files the rule check_inputs runs."""
    from analysis.codepaths import imported_files

    script = _ROOT / "analysis" / "scripts" / "check_inputs.py"
    files = (
        imported_files(_ROOT, script)
        if script.is_file()
        else sorted(map(str, Path(__file__).parent.glob("*.py")))
    )
    digest = hashlib.sha256(Path(extraction.SCHEMA_PATH).read_bytes())
    for name in sorted(files):
        digest.update(b"\0" + os.path.relpath(name, _ROOT).encode() + b"\0" + Path(name).read_bytes())
    return digest.hexdigest()


def summary(data: dict) -> dict:
    """What the corpus-wide checks need of one valid file: its constructs, and its
    moderators as a reduced document (for moderators.corpus_problems)."""
    found = [e for e in data.get("effects") or [] if isinstance(e, dict)]
    constructs = sorted({str(e["construct"]) for e in found if e.get("construct")})
    reduced = {"study": data["study"], "moderators": data.get("moderators")}
    reduced["effects"] = [
        {"id": e.get("id"), "moderators": e["moderators"]} for e in found if "moderators" in e
    ]
    return {"study": data["study"], "constructs": constructs, "moderators": reduced}


def compute(path: Path, raw: bytes | None) -> tuple[dict, dict | None]:
    """(entry value, the content when valid) of one file, from its bytes (None: read it here)."""
    data, problems = (
        extraction.read_extraction(path) if raw is None else extraction.parse_extraction(raw, path)
    )
    study = None
    if data is not None:
        problems = extraction.validate_document(data, path, None)
        study = data["study"] if isinstance(data.get("study"), str) else None
    value: dict = {
        "problems": [[str(getattr(p, f)) for f in _PROBLEM_FIELDS] for p in problems],
        "study": study,
    }
    if data is None or problems:
        return value, None
    value["summary"] = summary(data)
    value["study_row"] = effects.study_rows([(path, data)])[0]
    value["effects"] = effects.effect_rows([(path, data)])
    value["record"] = records.record_fields(data, path)
    return value, data


_PROBLEM_FIELDS = ("file", "study", "effect_id", "field", "message", "fix")
# Fewer files to parse than this: parsed in this process (a pool costs more than it saves).
PREFETCH_MIN = 200


def _compute_file(name: str) -> tuple[dict, dict | None] | None:
    """In a worker: ({"sha256", "value"}, content) of one file, or None when it cannot be read."""
    path = Path(name)
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    value, data = compute(path, raw)
    return {"sha256": hashlib.sha256(raw).hexdigest(), "value": value}, data


def problems_of(value: dict, keys: set[str] | None) -> list[Problem]:
    """The problems of one file: its own (from the entry) and, with ``keys``, an unknown study key."""
    found = [Problem(*item) for item in value["problems"]]
    if keys is not None and value.get("study") is not None and value["study"] not in keys:
        found.append(extraction.bib_key_problem(value["file"], value["study"]))
    return found


def _stamp(path: Path) -> tuple[os.stat_result | None, list[int] | None]:
    try:
        st = path.stat()
    except OSError:
        return None, None
    # ctime too: an edit that puts the old modification time back (touch -r) still changes it.
    racy = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_NS
    return st, None if racy else [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class StudyCache:
    """The entries of one pack (``path`` None: no pack, every file is parsed)."""

    def __init__(self, path: str | Path | None = None, workers: int = 1):
        self.path = Path(path) if path is not None else None
        self._code: str | None = None
        self.entries: dict[str, dict] = self._load() if self.path is not None else {}
        self.used: dict[str, dict] = {}
        self.parsed = 0
        self.workers = workers
        self._ready: dict[str, tuple[dict, dict | None]] = {}

    @property
    def code(self) -> str:
        if self._code is None:
            self._code = code_digest()
        return self._code

    def _load(self) -> dict[str, dict]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
            header = json.loads(lines[0])
            if header != {"version": VERSION, "code": self.code}:
                return {}
            entries = {}
            for line in lines[1:]:
                name, entry = json.loads(line)
                if not (isinstance(name, str) and isinstance(entry, dict)):
                    return {}
                entries[name] = entry
            return entries
        except (OSError, ValueError, IndexError, TypeError):
            return {}  # a damaged pack is a miss

    def key(self, path: Path, digest: str) -> str:
        return hashlib.sha256(json.dumps([VERSION, str(path), digest, self.code]).encode()).hexdigest()

    def entry(self, path: Path) -> tuple[dict, dict | None]:
        """(entry value, the content when it was parsed now and is valid) of one file."""
        st, stamp = _stamp(path)
        if st is None or st.st_size > extraction.MAX_FILE_BYTES:
            return self._parse(path, None)  # the reading problem, never cached
        old = self.entries.get(str(path)) if self.path is not None else None
        if old is not None and stamp is not None and old.get("stamp") == stamp:
            if _valid(old) and old.get("key") == self.key(path, str(old.get("sha256"))):
                self.used[str(path)] = old
                return old["value"], None
        try:
            raw = path.read_bytes()
        except OSError:
            return self._parse(path, None)
        digest = hashlib.sha256(raw).hexdigest()
        key = self.key(path, digest) if self.path is not None else ""
        if old is not None and _valid(old) and old.get("key") == key:
            self.used[str(path)] = {**old, "stamp": stamp}
            return old["value"], None
        value, data = self._parse(path, raw)
        if self.path is not None:
            self.used[str(path)] = {"key": key, "sha256": digest, "stamp": stamp, "value": value}
        return value, data

    def _parse(self, path: Path, raw: bytes | None) -> tuple[dict, dict | None]:
        self.parsed += 1
        ready = self._ready.pop(str(path), None) if raw is not None else None
        if ready is not None and ready[0].get("sha256") == hashlib.sha256(raw).hexdigest():
            value, data = ready[0]["value"], ready[1]
        else:
            value, data = compute(path, raw)
        return {**value, "file": str(path)}, data

    def prefetch(self, paths: list[Path]) -> None:
        """Parse the files that :meth:`entry` would parse, in ``workers`` processes at once
        (a cold check of 10,000 files is mostly parsing). Only speed changes: each result is
        used by :meth:`entry` only for the same bytes, in the same order as without it."""
        if self.workers <= 1:
            return
        misses = [str(p) for p in paths if self._would_parse(p)]
        if len(misses) < PREFETCH_MIN:
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context(
            "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        )
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
            chunk = max(1, len(misses) // (self.workers * 8))
            for name, result in zip(misses, pool.map(_compute_file, misses, chunksize=chunk)):
                if result is not None:
                    self._ready[name] = result

    def _would_parse(self, path: Path) -> bool:
        st, stamp = _stamp(path)
        if st is None or st.st_size > extraction.MAX_FILE_BYTES:
            return False
        old = self.entries.get(str(path)) if self.path is not None else None
        return not (old is not None and stamp is not None and old.get("stamp") == stamp and _valid(old))

    def save(self) -> None:
        """Write the pack with the entries this run used (atomically; a failure only costs time)."""
        # Equal when every file hit with its old stamp and no file left: no write.
        if self.path is None or self.used == self.entries:
            return  # nothing changed: the pack on disk is this run's already
        from analysis.io import write_text_atomic

        lines = [json.dumps({"version": VERSION, "code": self.code})]
        lines += [json.dumps([name, self.used[name]], sort_keys=True) for name in sorted(self.used)]
        try:
            write_text_atomic(self.path, "\n".join(lines) + "\n")
        except OSError:
            pass


def _valid(entry: dict) -> bool:
    """The shape of a cached entry (anything else is a miss)."""
    value = entry.get("value")
    if not isinstance(value, dict) or not isinstance(value.get("problems"), list):
        return False
    if not all(isinstance(p, list) and len(p) == len(_PROBLEM_FIELDS) for p in value["problems"]):
        return False
    whole = all(k in value for k in ("summary", "study_row", "effects", "record"))
    return isinstance(value.get("file"), str) and (bool(value["problems"]) or whole)


def valid_entries(
    extracted_dir: str | Path, cache_path: str | Path | None, keys: Iterable[str] | None = None
) -> list[dict]:
    """The entries of every extraction file of ``extracted_dir`` (not second-coder/), from the
    pack where it holds them; raises ExtractionError when any file has a problem."""
    from analysis.inputs.check import check_corpus

    checked = check_corpus(extracted_dir, keys=keys, second_coder=False, cache=StudyCache(cache_path))
    if checked.problems:
        raise ExtractionError(checked.problems)
    return checked.entries


def cached_records(extracted_dir: str | Path, cache_path: str | Path | None) -> list[dict]:
    """The PRISMA record fields of every extraction file (rule count_records)."""
    return [entry["record"] for entry in valid_entries(extracted_dir, cache_path)]
