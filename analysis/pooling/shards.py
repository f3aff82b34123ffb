"""Split the analyses into a fixed number of shards, so heavy work runs as separate jobs.

Leave-one-out on a large analysis refits the model once per sample, so the
sensitivity analyses grow with k² and dominate large builds. The workflow
runs them in ``sensitivity_shards`` jobs (rules/pooling.smk): the checkpoint
``split_effects`` writes each shard's effects, one ``run_sensitivity`` job per
shard computes its analyses (the shards spread over a cluster's nodes), and
``combine_sensitivity`` joins the tables. An analysis always falls in the
same shard (a hash of its theme, outcome, measure and construct), so adding
a study changes only the shards of the analyses it touches; Snakemake sees
the other shard files unchanged (same checksum) and does not re-run their
jobs. The combined tables are byte-identical to one job's over all effects,
because every analysis is computed from its own effects only and the tables
are sorted by ``analysis_id`` first.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from analysis.io import write_text_atomic

# The cell of an effect (contract: an analysis is every effect sharing these).
CELL_COLUMNS = ("theme", "outcome", "measure", "construct")


def shard_of(cell: tuple[str, ...], n_shards: int) -> int:
    """The shard (0 .. n_shards - 1) of an analysis, from its cell; stable across runs and machines."""
    digest = hashlib.sha256("\x1f".join(cell).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n_shards


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def split_effects(effects_csv: str | Path, out_paths: list[str | Path], columns: list[str]) -> list[int]:
    """Write each shard's effects (only ``columns``, cells copied verbatim); return the row counts.

    Only the columns the analyses read are kept, so that a shard file stays
    under Snakemake's checksum limit (1 MB) and a change of a quote or a
    locator does not re-run anything.
    """
    with open(effects_csv, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        missing = [c for c in [*columns, *CELL_COLUMNS] if c not in header]
        if missing:
            raise ValueError(f"{effects_csv} lacks the column(s) {', '.join(missing)}")
        keep = [header.index(c) for c in columns]
        cell = [header.index(c) for c in CELL_COLUMNS]
        shards: list[list[list[str]]] = [[] for _ in out_paths]
        for row in reader:
            shard = shard_of(tuple(row[i] for i in cell), len(out_paths))
            shards[shard].append([row[i] for i in keep])
    for path, rows in zip(out_paths, shards):
        write_text_atomic(path, _csv(columns, rows))
    return [len(rows) for rows in shards]


def combine_tables(paths: list[str | Path], out_path: str | Path) -> int:
    """Join one table's shards into one CSV sorted by its first column (``analysis_id``).

    Every analysis lies in one shard, and each shard is already sorted by
    ``analysis_id`` and then its other keys, so moving whole analyses into
    ``analysis_id`` order gives the table one job would write. Cells are
    copied verbatim (no number is parsed and printed again). Returns the rows.
    """
    header: list[str] | None = None
    blocks: dict[str, list[list[str]]] = {}
    owner: dict[str, str] = {}
    for path in paths:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            this_header = next(reader)
            if header is None:
                header = this_header
                if not header or header[0] != "analysis_id":
                    raise ValueError(f"{path}: the first column must be analysis_id")
            elif this_header != header:
                raise ValueError(f"{path}: columns differ from the other shards")
            for row in reader:
                key = row[0]
                if owner.setdefault(key, str(path)) != str(path):
                    raise ValueError(f"analysis {key} is in more than one shard")
                blocks.setdefault(key, []).append(row)
    if header is None:
        raise ValueError("no shard tables to combine")
    rows = [row for key in sorted(blocks) for row in blocks[key]]
    write_text_atomic(out_path, _csv(header, rows))
    return len(rows)
