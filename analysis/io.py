"""Deterministic, atomic file output: same rows give the same bytes, and a
crash never leaves a half-written file (write to a temporary file, then rename)."""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

# "At least 10 significant digits" (contract); 15 is what a double holds exactly.
FLOAT_FORMAT = "%.15g"


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed run
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; results are for reading
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def format_value(value: object) -> str:
    """One CSV cell: empty for missing, fixed float format, lower-case booleans."""
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
    return str(value)


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


def read_table(path: str | Path):
    """Read a CSV written by :func:`write_frame` back into pandas (empty cell = missing)."""
    import pandas as pd

    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={c: str for c in TEXT_COLUMNS})
    for column in TEXT_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].fillna("")
    return frame
