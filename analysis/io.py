"""Deterministic, atomic file output: same rows give the same bytes, and a
crash never leaves a half-written file (write to a temporary file, then rename).

This is the project's one atomic writer and its one CSV writer. Every CSV cell
of text that a spreadsheet would read as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading
apostrophe, the usual neutralisation (OWASP, "CSV injection"); numbers are
never changed, and :func:`read_table` removes the apostrophe again.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

# "At least 10 significant digits" (contract); 15 is what a double holds exactly.
FLOAT_FORMAT = "%.15g"


# The temporary files of write_bytes_atomic: ".<name>.<8 random characters>.tmp".
TEMP_NAME = re.compile(r"\A\..+\.[A-Za-z0-9_]{8}\.tmp\Z")


@contextlib.contextmanager
def atomic_output(path: str | Path, *, replace: bool = True) -> Iterator[BinaryIO]:
    """A binary handle whose bytes appear at ``path`` all at once, when the block ends.

    The one atomic writer of the project: a temporary file in the same folder
    (``.<name>.<random>.tmp``), renamed over ``path`` at the end; an error or a
    kill leaves ``path`` as it was (and a temporary file that the next write of
    ``path``, or :func:`remove_leftovers`, removes). With ``replace=False`` an
    existing ``path`` is never replaced: FileExistsError (review's new files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):  # left by a killed run
        if TEMP_NAME.fullmatch(stale.name):
            stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.chmod(tmp, 0o644)  # mkstemp makes files private; results are for reading
        if replace:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _link_new(tmp: str, path: Path) -> None:
    try:
        os.link(tmp, path)  # atomic, and fails if the file appeared meanwhile
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(tmp, path)


def write_bytes_atomic(path: str | Path, data: bytes, *, replace: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    with atomic_output(path, replace=replace) as handle:
        handle.write(data)


def write_text_atomic(path: str | Path, text: str, *, replace: bool = True) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), replace=replace)


@contextlib.contextmanager
def scratch_folder(folder: str | Path, name: str) -> Iterator[Path]:
    """A fixed scratch folder ``folder/name`` (name: ``.<what>.tmp``), emptied first and
    removed at the end; what a killed run leaves, :func:`remove_leftovers` removes."""
    import shutil

    path = Path(folder).resolve() / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def remove_leftovers(folder: str | Path) -> list[Path]:
    """Delete what killed runs left in ``folder``: temporary files of the atomic writer
    (also 0-byte ones) and scratch folders named ``.*.tmp``. Call it only while no
    other build uses the folder (under :func:`build_lock`). Returns what was removed."""
    import shutil

    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for root, dirs, files in os.walk(folder):
        for name in files:
            if TEMP_NAME.fullmatch(name):
                path = Path(root) / name
                path.unlink(missing_ok=True)
                removed.append(path)
        for name in list(dirs):
            if name.startswith(".") and name.endswith(".tmp"):
                path = Path(root) / name
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
                dirs.remove(name)
    return sorted(removed)


class BuildLocked(RuntimeError):
    """Another build holds the lock of a results folder."""


LOCK_NAME = ".build.lock"


def build_lock(folder: str | Path):
    """Hold an exclusive lock on a results folder for as long as the returned file stays open.

    The lock is the kernel's (``flock``), not a file's existence: a killed build
    releases it with its process, so a crash never blocks the next build.
    Raises :class:`BuildLocked` when another build holds it.
    """
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_NAME, "a+b")  # noqa: SIM115 - held open on purpose
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise BuildLocked(
            f"{folder}: another build of this folder is running; nothing was done. "
            "Fix: wait for it to finish, or give this build its own results_dir"
        ) from None
    return handle


# A text cell starting with one of these is a formula to a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading apostrophe before a formula start."""
    return "'" + text if text.startswith(FORMULA_START) else text


def unneutralise(text: str) -> str:
    """The text of a cell written by :func:`neutralise`."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def format_value(value: object) -> str:
    """One CSV cell: empty for missing, fixed float format, lower-case booleans."""
    kind = type(value)
    if kind is str:  # the common cells first (what the branches below give them)
        return neutralise(value)
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "Inf" if value > 0 else "-Inf"  # as R writes and reads them
        if value == 0:
            return "0"  # avoid "-0"
        return FLOAT_FORMAT % value
    try:  # numpy scalars
        import numpy as np

        if isinstance(value, np.bool_):
            return "true" if bool(value) else "false"
        if isinstance(value, np.floating):
            return format_value(float(value))
        if isinstance(value, np.integer):
            return str(int(value))
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, (int, float)):
        return str(value)
    return neutralise(str(value))


def csv_text(rows: Iterable[dict], columns: list[str]) -> str:
    """CSV with fixed columns, fixed number format and Unix line ends."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_value(row.get(c)) for c in columns])
    return out.getvalue()


def write_frame(frame, path: str | Path) -> None:
    """Write a pandas DataFrame deterministically (see :func:`csv_text`)."""
    columns = [str(c) for c in frame.columns]
    write_text_atomic(path, csv_text(frame.to_dict("records"), columns))


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Columns that hold text even when every value looks like a number.
TEXT_COLUMNS = ("study", "effect_id", "sample", "construct", "analysis_id", "country", "note")


def read_table(path: str | Path, columns: list[str] | None = None):
    """Read a CSV written by :func:`write_frame` back into pandas (empty cell = missing).

    ``columns``: read only these (those the file has; the caller reports a missing one),
    so that a job needing a few columns of a wide table does not hold the rest.
    """
    import pandas as pd

    wanted = None if columns is None else set(columns).__contains__
    frame = pd.read_csv(
        path, keep_default_na=False, na_values=[""], dtype={c: str for c in TEXT_COLUMNS}, usecols=wanted
    )
    for column in TEXT_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].fillna("")
    for column in frame.columns:  # the text neutralise() protected, as it was written
        if not pd.api.types.is_numeric_dtype(frame[column]):
            marked = frame[column].astype(str).str.startswith("'")
            if marked.any():
                frame.loc[marked, column] = frame.loc[marked, column].map(unneutralise)
    return frame
