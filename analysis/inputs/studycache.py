"""The per-file work on extraction files, done once per changed file (issue 14).

Reading, validating and converting one extraction file gives one *entry*: its
problems (as found without the bibliography), its study key, and for a valid
file what the corpus checks and the tables need of it: the summary of
:mod:`analysis.inputs.check`, its ``studies.csv`` row and its ``effects.csv``
rows as the CSV text those tables hold (:func:`analysis.inputs.effects.csv_body`)
and its PRISMA record fields (:mod:`analysis.inputs.records`). The rule
check_inputs keeps the entries in one pack, ``<results_dir>/.cache/studies.pack``;
convert_effects and count_records read them from there, so a file is parsed
once per change in all (``parsed`` counts the parses).

- Key = sha256 of (the file's path, the sha256 of its bytes, the code digest:
  the schema's bytes and the bytes of every analysis/ file the rule
  check_inputs imports). The entries read no setting.
- Stamps first: a file whose (size, mtime_ns, ctime_ns, inode) equals its entry's
  stamp is not read (ctime: an edit that restores the old mtime, touch -r, changes it).
  A stamp is recorded only for a file last changed more than ``RACY_NS`` before it
  was looked at (an edit within the same clock tick could keep size and time).
- A damaged pack is a miss, never an error (a job that only reads it reads each line's start until it
  uses the entry: a damaged value is that entry's miss); check_inputs rewrites it atomically with only
  the entries of this run's files, in the order looked at (the listing): cold and warm runs agree.
- Memory follows what a job holds, not the corpus: the pack is indexed (per entry
  its digest, stamp and place in the file) and an entry's value is read from the
  file when it is used; check_inputs writes the new pack as it goes.
- Problems are part of an entry: a bad file is reported again on every run until
  it is fixed. The bibliography check (study key known) and every corpus-wide
  check run on the entries at each run, never from the cache.
- Nothing in an entry is used as a path: entries are looked up by the paths of
  the folder's listing, and a value is used only when its key matches.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from analysis.inputs import effects, extraction, records
from analysis.inputs.problem import ExtractionError, Problem

VERSION = 2
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
    value["study_row"] = effects.csv_body(effects.study_rows([(path, data)]), effects.STUDY_COLUMNS)
    value["effects"] = effects.csv_body(effects.effect_rows([(path, data)]), effects.COLUMNS)
    value["record"] = records.record_fields(data, path)
    return value, data


_PROBLEM_FIELDS = ("file", "study", "effect_id", "field", "message", "fix")
# Fewer files to parse than this: parsed in this process (a pool costs more than it saves).
PREFETCH_MIN = 200


def _stamp(path: Path) -> tuple[os.stat_result | None, list[int] | None]:
    try:
        st = path.stat()
    except OSError:
        return None, None
    # ctime too: an edit that puts the old modification time back (touch -r) still changes it.
    racy = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_NS
    return st, None if racy else [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _compute_file(name: str) -> tuple[list[int] | None, str, dict] | None:
    """In a worker: (stamp taken before reading, sha256, entry value) of one file, or None when
    it cannot be read (then the caller reads it and reports the problem)."""
    path = Path(name)
    st, stamp = _stamp(path)
    if st is None or st.st_size > extraction.MAX_FILE_BYTES:
        return None
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    value, _ = compute(path, raw)
    return stamp, hashlib.sha256(raw).hexdigest(), {**value, "file": name}


def problems_of(value: dict, keys: set[str] | None) -> list[Problem]:
    """The problems of one file: its own (from the entry) and, with ``keys``, an unknown study key."""
    found = [Problem(*item) for item in value["problems"]]
    if keys is not None and value.get("study") is not None and value["study"] not in keys:
        found.append(extraction.bib_key_problem(value["file"], value["study"]))
    return found


class Stored(NamedTuple):
    """Where one entry of the pack on disk is, and what decides a hit."""

    sha256: str
    stamp: list[int] | None
    offset: int
    length: int


class _Unchanged(Exception):
    """Thrown into the pack's writer when this run's pack is the one on disk already."""


class StudyCache:
    """The entries of one pack (``path`` None: no pack, every file is parsed).

    ``write``: the pack is rewritten (:meth:`save`) with the entries looked at; else it is
    only read, and with ``hold`` the values parsed now are held here (for :meth:`value`).
    Close it (or use ``with``) at the end.
    """

    def __init__(
        self, path: str | Path | None = None, workers: int = 1, write: bool = False, hold: bool = True
    ):
        self.path = Path(path) if path is not None else None
        self.workers = workers
        self.write = write and self.path is not None
        self.hold = hold and not self.write
        self.parsed = 0
        self._code: str | None = None
        self._pool = None
        if workers > 1 and self.path is not None:
            self._pool = _fork_pool(workers)  # before the index: small workers
        self._reader = None
        if self.path is not None:
            self.code  # noqa: B018 - the code as this run starts (keys and header agree)
        self.entries: dict[str, Stored] = self._load() if self.path is not None else {}
        self._names = list(self.entries)
        self._fresh: dict[str, dict] = {}  # values parsed now (read-only cache)
        self._ready: Iterator | None = None
        self._pending: tuple | None = None
        self._seen: set[str] = set()
        self._same = 0  # entries used so far that are the pack's first entries, unchanged
        self._diverged = False
        self._out = None
        self._stack = contextlib.ExitStack()

    @property
    def code(self) -> str:
        if self._code is None:
            self._code = code_digest()
        return self._code

    def _header(self) -> bytes:
        return (json.dumps({"version": VERSION, "code": self.code}) + "\n").encode()

    def _load(self) -> dict[str, Stored]:
        """The index of the pack ({} when it is missing, damaged or of other code)."""
        try:
            reader = open(self.path, "rb")  # noqa: SIM115 - kept open: values are read on use
        except OSError:
            return {}
        try:
            entries = self._index(reader)
        except (OSError, ValueError, IndexError, TypeError, KeyError):
            entries = {}  # a damaged pack is a miss
        if entries:
            self._reader = reader
        else:
            reader.close()
        return entries

    def _index(self, reader) -> dict[str, Stored]:
        header = reader.readline()
        if header != self._header():
            return {}
        entries: dict[str, Stored] = {}
        offset = len(header)
        for line in reader:
            if self.write:  # check_inputs: any bad line makes the whole pack a miss
                name, entry = json.loads(line)
                if not (isinstance(name, str) and isinstance(entry, dict) and _valid(entry)):
                    return {}
            else:  # a job that only reads: a line's value is checked when it is used (_decoded)
                name, entry = _head(line)
            if name in entries or entry["key"] != self.key(name, entry["sha256"]):
                return {}
            entries[name] = Stored(entry["sha256"], entry["stamp"], offset, len(line))
            offset += len(line)
        return entries

    def key(self, path: str | Path, digest: str) -> str:
        return hashlib.sha256(json.dumps([VERSION, str(path), digest, self.code]).encode()).hexdigest()

    def _line(self, stored: Stored) -> bytes:
        self._reader.seek(stored.offset)
        return self._reader.read(stored.length)

    def _decoded(self, name: str, stored: Stored, line: bytes | None = None) -> dict | None:
        """The value of a stored entry; None when its line is not the entry the index holds."""
        try:
            found, entry = json.loads(self._line(stored) if line is None else line)
        except (ValueError, TypeError):
            return None
        if not (found == name and isinstance(entry, dict) and _valid(entry)):
            return None
        return entry["value"] if (entry["sha256"], entry["stamp"]) == stored[:2] else None

    def value(self, name: str) -> dict:
        """The entry value of a file :meth:`entry` looked at (read from the pack when cached)."""
        if name in self._fresh:
            return self._fresh[name]
        value = self._decoded(name, self.entries[name])
        if value is None:
            raise ValueError(f"{self.path}: the entry of {name} changed while in use")
        return value

    def entry(self, path: Path) -> tuple[dict, dict | None]:
        """(entry value, the content when it was parsed now in this process and is valid)."""
        name = str(path)
        ready = self._take_ready(name)
        old = self.entries.get(name) if self.path is not None else None
        if ready is None:
            st, stamp = _stamp(path)
            if st is None or st.st_size > extraction.MAX_FILE_BYTES:
                return self._parse(path, None)  # the reading problem, never cached
            if old is not None and stamp is not None and old.stamp == stamp:
                line = self._line(old)
                value = self._decoded(name, old, line)
                if value is not None:
                    self._keep(name, old, line)
                    return value, None
                old = None  # a damaged line: a miss
            try:
                raw = path.read_bytes()
            except OSError:
                return self._parse(path, None)
            digest = hashlib.sha256(raw).hexdigest()
        else:
            stamp, digest, _ = ready
        data = None
        value = self._decoded(name, old) if old is not None and old.sha256 == digest else None
        if value is None and ready is not None:
            self.parsed += 1
            value = ready[2]
        elif value is None:
            value, data = self._parse(path, raw)
        self._add(name, digest, stamp, value)
        return value, data

    def _parse(self, path: Path, raw: bytes | None) -> tuple[dict, dict | None]:
        self.parsed += 1
        value, data = compute(path, raw)
        return {**value, "file": str(path)}, data

    # ------------------------------------------------------------ the pack written as it goes

    def _keep(self, name: str, old: Stored, line: bytes) -> None:
        """An entry used as it is in the pack."""
        if not self.write or name in self._seen:
            return
        self._seen.add(name)
        if not self._diverged and self._same < len(self._names) and self._names[self._same] == name:
            self._same += 1  # still the pack on disk: nothing to write yet
            return
        self._output().write(line)

    def _add(self, name: str, digest: str, stamp: list[int] | None, value: dict) -> None:
        """An entry computed now (or an old value with a new stamp)."""
        if not self.write:
            if self.hold:
                self._fresh[name] = value
            return
        if name in self._seen:
            return
        self._seen.add(name)
        entry = {"key": self.key(Path(name), digest), "sha256": digest, "stamp": stamp, "value": value}
        self._output().write((json.dumps([name, entry], sort_keys=True) + "\n").encode())

    def _output(self):
        """The new pack's handle; opening it copies the unchanged first entries of the old one."""
        if self._out is None:
            from analysis.io import atomic_output

            self._out = self._stack.enter_context(atomic_output(self.path))
            if self._same:
                self._reader.seek(0)
                _copy(self._reader, self._out, self.entries[self._names[self._same]].offset
                      if self._same < len(self._names) else os.fstat(self._reader.fileno()).st_size)  # fmt: skip
            else:
                self._out.write(self._header())
        self._diverged = True
        return self._out

    def save(self) -> None:
        """Write the pack with the entries this run used (atomically; a failure only costs time)."""
        if not self.write:
            return
        try:
            if self._diverged or self._same != len(self._names):
                self._output()
                self._stack.close()
            else:  # every entry as on disk, none left: the pack on disk is this run's already
                self.close()
        except OSError:
            self.close()

    def close(self) -> None:
        """Drop an unfinished new pack (the old one stays) and close the files."""
        with contextlib.suppress(_Unchanged):
            self._stack.__exit__(_Unchanged, _Unchanged(), None)
        self._out = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._stop_pool()

    def __enter__(self) -> StudyCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ parsing in several processes

    @contextlib.contextmanager
    def prefetching(self, paths: list[Path]) -> Iterator[None]:
        """While the block runs, the files that :meth:`entry` would parse are parsed in
        ``workers`` processes (a cold check is mostly parsing), in the order of ``paths``.
        Only speed changes: the results are those of parsing here, used in the same order."""
        misses = [str(p) for p in paths if self._pool is not None and self._would_parse(p)]
        if len(misses) < PREFETCH_MIN:
            self._stop_pool()
            yield
            return
        chunk = max(1, min(64, len(misses) // (self.workers * 8)))
        self._ready = zip(misses, self._pool.imap(_compute_file, misses, chunksize=chunk))
        try:
            yield
        finally:
            self._ready = self._pending = None
            self._stop_pool()

    def _take_ready(self, name: str):
        """The worker's result for ``name``, when it was one of the files parsed ahead (they
        are asked for in the order they were given, the folder's listing)."""
        if self._ready is None:
            return None
        if self._pending is None:
            self._pending = next(self._ready, None)
        if self._pending is not None and self._pending[0] == name:
            result, self._pending = self._pending[1], None
            return result
        return None

    def _stop_pool(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def _would_parse(self, path: Path) -> bool:
        st, stamp = _stamp(path)
        if st is None or st.st_size > extraction.MAX_FILE_BYTES:
            return False
        old = self.entries.get(str(path)) if self.path is not None else None
        return not (old is not None and stamp is not None and old.stamp == stamp)


def _fork_pool(workers: int):
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return None  # no pool: every file is parsed in this process
    return multiprocessing.get_context("fork").Pool(workers)


def _copy(reader, out, length: int) -> None:
    while length > 0:
        block = reader.read(min(length, 1 << 20))
        if not block:
            raise OSError("the pack ended early")
        out.write(block)
        length -= len(block)


_HEAD = re.compile(  # how json.dumps([name, entry], sort_keys=True) starts a line of the pack
    rb'\["((?:[^"\\]|\\.)*)", \{"key": "([0-9a-f]{64})", "sha256": "([0-9a-f]{64})", '
    rb'"stamp": (null|\[-?[0-9]+, -?[0-9]+, -?[0-9]+, -?[0-9]+\]), "value": \{'
)


def _head(line: bytes) -> tuple[str, dict]:
    """(name, entry without its value) of a line of the pack, read from its start only."""
    found = _HEAD.match(line)
    if found is None or not line.endswith(b"}]\n"):
        raise ValueError("not a line of the pack")
    stamp = None if found[4] == b"null" else [int(n) for n in found[4][1:-1].split(b", ")]
    name = json.loads(b'"' + found[1] + b'"') if b"\\" in found[1] else found[1].decode()
    return name, {"key": found[2].decode(), "sha256": found[3].decode(), "stamp": stamp}


def _valid(entry: dict) -> bool:
    """The shape of a cached entry (anything else is a miss)."""
    value, stamp = entry.get("value"), entry.get("stamp")
    if not (isinstance(entry.get("key"), str) and isinstance(entry.get("sha256"), str)):
        return False
    if not (stamp is None or (isinstance(stamp, list) and len(stamp) == 4)):
        return False
    if not isinstance(value, dict) or not isinstance(value.get("problems"), list):
        return False
    if not all(isinstance(p, list) and len(p) == len(_PROBLEM_FIELDS) for p in value["problems"]):
        return False
    whole = (
        isinstance(value.get("summary"), dict)
        and isinstance(value.get("study_row"), str)
        and isinstance(value.get("effects"), str)
        and isinstance(value.get("record"), dict)
    )
    return isinstance(value.get("file"), str) and (bool(value["problems"]) or whole)


def valid_studies(
    extracted_dir: str | Path, cache: StudyCache, keys: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """(study, file) of every extraction file of ``extracted_dir`` (not second-coder/), in file
    order, their entries in ``cache``; raises ExtractionError when any file has a problem."""
    from analysis.inputs.check import check_corpus

    checked = check_corpus(extracted_dir, keys=keys, second_coder=False, cache=cache, documents=False)
    if checked.problems:
        raise ExtractionError(checked.problems)
    return checked.entries


def valid_entries(
    extracted_dir: str | Path, cache_path: str | Path | None, keys: Iterable[str] | None = None
) -> Iterator[dict]:
    """The entry values of every extraction file, in file order, read one at a time; checks
    first (raises ExtractionError when any file has a problem)."""
    cache = StudyCache(cache_path)
    try:
        studies = valid_studies(extracted_dir, cache, keys)
    except BaseException:
        cache.close()
        raise
    return _values(cache, [file for _, file in studies])


def _values(cache: StudyCache, names: list[str]) -> Iterator[dict]:
    with cache:
        for name in names:
            yield cache.value(name)


def cached_records(extracted_dir: str | Path, cache_path: str | Path | None) -> Iterator[dict]:
    """The PRISMA record fields of every extraction file (rule count_records), one at a time."""
    return (entry["record"] for entry in valid_entries(extracted_dir, cache_path))
