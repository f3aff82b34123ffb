"""A content-addressed cache of per-analysis results: recompute only the entries whose inputs changed.

Rules such as ``pool_analyses`` and ``run_sensitivity`` compute each analysis from
its own effect rows alone, so an entry's value (the rows the analysis gives each
output table) is fully determined by

- the entry's input rows, as canonical bytes (:func:`group_digests`),
- every setting the computation reads (estimator, ci_method, rho, alpha, ...),
- the bytes of the code that computes it (the rule's ``input.code`` files).

The key is the sha256 of the three and of the kind of value (:meth:`Pack.key`). The entries live in one
pack file, ``<results_dir>/.cache/<name>.pack``, read once and rewritten
atomically (:func:`analysis.io.write_bytes_atomic`) with only the entries this run
used, so stale entries never accumulate. The pack is never a rule output
(Snakemake deletes a job's outputs before it runs it); deleting it only costs time.

A damaged or unreadable pack is a miss, never an error: the pack starts with
:data:`HEADER`, and every line holds its key, the sha256 of its value's text and
the text (JSON), so a line whose checksum does not match is ignored. The order
of the output rows always comes from the caller's current inputs, never from the
pack. Values pass through the same JSON round trip whether they were just
computed or read from the pack (:meth:`Pack.put` returns the round-tripped
value), so a warm run writes the bytes of a cold one.

Format of one line: ``<key> <value sha256> <value JSON>`` (single spaces; the JSON
has no newline). Floats are written by ``repr`` (exact); NaN and infinities as
JSON's ``NaN``/``Infinity`` extension; numpy scalars as the Python scalar.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from analysis.codepaths import code_digest
from analysis.io import write_bytes_atomic

# First line of every pack: bump the number when the line format changes.
HEADER = b"analysis-cache-pack 1\n"
# Separates the fields hashed into a key and the cells of a canonical row: none can
# appear in CSV text cells read back by analysis.io (control characters).
FIELD_SEP, CELL_SEP, ROW_SEP = b"\x1e", "\x1f", "\n"

K = TypeVar("K")
V = TypeVar("V")
log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    """JSON's ``default`` hook: numpy scalars as Python scalars."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store a {type(value).__name__} in the cache")


def _text(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON; mappings keep their order unless ``sort_keys``."""
    return json.dumps(value, default=_plain, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read(path: Path) -> dict[str, str]:
    """key -> value text of every intact line of the pack; {} when it is missing or damaged."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    if not data.startswith(HEADER):
        return {}
    entries = {}
    try:
        lines = data[len(HEADER) :].decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return {}
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) == 3 and _sha(parts[2]) == parts[1]:
            entries[parts[0]] = parts[2]
    return entries


class Pack:
    """One cache file: look entries up, add new ones, save those used.

    Parameters
    ----------
    path : path of the pack, or None for a cache that is never read or written
        (everything is computed; values still make the JSON round trip).
    salt : str
        What every key of this pack depends on besides the entry's rows: see
        :func:`open_pack` (code digest and settings).
    """

    def __init__(self, path: str | Path | None, salt: str):
        self.path = None if path is None else Path(path)
        self.salt = salt
        self._stored = {} if self.path is None else _read(self.path)
        self._used: dict[str, str] = {}
        self.hits = 0
        self.misses = 0

    def key(self, digest: str, kind: str = "") -> str:
        """The entry key of rows with this :func:`group_digests` digest, for values of ``kind``
        (what is computed from the rows: two kinds never share a key, even in one pack)."""
        parts = (self.salt, kind, digest)
        return hashlib.sha256(FIELD_SEP.join(part.encode("utf-8") for part in parts)).hexdigest()

    def get(self, key: str) -> Any | None:
        """The stored value of ``key`` (kept for :meth:`save`), or None on a miss."""
        text = self._stored.get(key)
        if text is None:
            self.misses += 1
            return None
        try:
            value = json.loads(text)
        except ValueError:
            self.misses += 1
            return None
        self._used[key] = text
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> Any:
        """Store ``value`` (not None) under ``key``; returns it as :meth:`get` will give it back."""
        text = _text(value)
        self._used[key] = text
        return json.loads(text)

    def save(self) -> None:
        """Rewrite the pack atomically with the entries used or added by this run (sorted by key).

        A pack that cannot be written (a folder in its place, a full disk) is logged, not
        raised: the outputs are already written, and the next run recomputes.
        """
        if self.path is None:
            return
        lines = [f"{key} {_sha(text)} {text}\n" for key, text in sorted(self._used.items())]
        try:
            write_bytes_atomic(self.path, HEADER + "".join(lines).encode("utf-8"))
        except OSError as error:  # the results are written; the next run only recomputes
            log.warning("cache %s not written: %s", self.path, error)
            return
        log.info("cache %s: %d reused, %d computed", self.path.name, self.hits, self.misses)


def open_pack(path: str | Path | None, code: Iterable[str | Path], settings: Mapping[str, Any]) -> Pack:
    """A pack whose keys depend on the bytes of the ``code`` files and on ``settings``
    (a JSON-able mapping: every setting the computation reads)."""
    salt = code_digest(code) + "\0" + _text(dict(settings), sort_keys=True)
    return Pack(path, salt)


def group_digests(rows: Sequence[Sequence[str]], groups: Sequence[K]) -> dict[K, str]:
    """sha256 of each group's rows (cells as text), the rows in their given (file) order.

    Parameters
    ----------
    rows : one sequence of text cells per row (numbers already written as text).
    groups : the group of each row (same length as ``rows``).

    Returns
    -------
    dict group -> hex digest, in the order the groups first appear.
    """
    digests: dict[K, Any] = {}
    for group, row in zip(groups, rows, strict=True):
        found = digests.get(group)
        if found is None:
            found = digests[group] = hashlib.sha256()
        found.update((CELL_SEP.join(row) + ROW_SEP).encode("utf-8"))
    return {group: digest.hexdigest() for group, digest in digests.items()}


def reuse_or_compute(
    items: Sequence[K],
    digests: Mapping[K, str],
    pack: Pack,
    compute: Callable[[list[K]], Mapping[K, V]],
    kind: str,
) -> list[V]:
    """The value of every item, in the order of ``items``: from the pack when its key is
    there, else from one call ``compute(missing items)`` (the new values are stored).

    ``compute`` receives the missing items in the order of ``items`` and returns a
    mapping item -> value for each of them; ``kind`` names what it computes (see
    :meth:`Pack.key`).
    """
    keys = {item: pack.key(digests[item], kind) for item in items}
    values: dict[K, Any] = {}
    missing = []
    for item in items:
        found = pack.get(keys[item])
        if found is None:
            missing.append(item)
        else:
            values[item] = found
    if missing:
        computed = compute(missing)
        for item in missing:
            values[item] = pack.put(keys[item], computed[item])
    return [values[item] for item in items]
