"""Assembling a release folder from a built tree (run inside the build tree, with its own code).

Copies the workflow's outputs and CITATION.cff, and writes certainty.csv,
extractions.csv, CHANGES.md (against the previous release folder of the same
tree), datapackage.json, provenance.json and SHA256SUMS.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from analysis.io import csv_text, sha256_file, write_text_atomic
from analysis.release import changes, zenodo
from analysis.release.datapackage import datapackage
from analysis.release.extractions import extraction_rows, extraction_table_schema
from analysis.release.provenance import provenance
from analysis.release.repo import Version, previous_release_folder, version_text

# What the workflow builds for a release (paths under results_dir), and the
# name each gets in the release folder.
WORKFLOW_OUTPUTS = {
    "brief/brief.html": "brief.html",
    "brief/brief.pdf": "brief.pdf",
    "effects.csv": "effects.csv",
    "pooled.csv": "pooled.csv",
    "references.csv": "references.csv",
    "references.bib": "references.bib",
}
CERTAINTY_COLUMNS = ["analysis_id", "certainty", "downgrades"]


def sha256sums(folder: Path) -> str:
    """SHA256SUMS text (sha256sum format, sorted by name) of every file but itself."""
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "SHA256SUMS")
    return "".join(f"{sha256_file(folder / n)}  {n}\n" for n in names)


def certainty_rows(results: Path) -> list[dict] | None:
    """Each analysis' certainty as rule rate_certainty wrote it (results/certainty.csv).

    None when the build has no certainty.csv (a commit from before the rule; then CHANGES.md
    says so). Nothing is rated here: the release reads the pipeline's result.
    """
    path = results / "certainty.csv"
    if not path.is_file():
        return None
    rows = [{c: r.get(c, "") for c in CERTAINTY_COLUMNS} for r in changes.read_rows(path)]
    return sorted(rows, key=lambda r: r["analysis_id"])


def with_certainty(pooled: list[dict[str, str]], table: list[dict[str, str]]) -> list[dict[str, str]]:
    """pooled rows with the certainty column of certainty.csv (by analysis_id)."""
    levels = {r["analysis_id"]: r.get("certainty", "") for r in table}
    return [{**r, "certainty": r.get("certainty") or levels.get(r["analysis_id"], "")} for r in pooled]


def release_changes(out: Path, previous_folder: Path | None, version: str) -> str:
    """CHANGES.md of the release folder ``out`` against the previous release folder."""
    new = changes.ReleaseTables.from_folder(out)
    old = changes.ReleaseTables.from_folder(previous_folder) if previous_folder else None
    note = ""
    new_certainty = out / "certainty.csv"
    old_certainty = previous_folder / "certainty.csv" if previous_folder else None
    if old is not None and new_certainty.is_file() and old_certainty and old_certainty.is_file():
        new = changes.ReleaseTables(
            new.extractions, with_certainty(new.pooled, changes.read_rows(new_certainty)), new.references
        )
        old = changes.ReleaseTables(
            old.extractions, with_certainty(old.pooled, changes.read_rows(old_certainty)), old.references
        )
    elif not new_certainty.is_file():
        note = (
            "Certainty (GRADE) changes are not listed: this commit's brief module could not "
            "rate the analyses."
        )
    elif old is not None:
        note = (
            f"Certainty (GRADE) changes are not listed: v{previous_folder.name[1:]} has no "
            "certainty.csv to compare with; from this release on they are."
        )
    return changes.changes_markdown(
        version, new, old, previous_folder.name[1:] if previous_folder else None, note
    )


def assemble(tree: Path, out: Path, version: Version, commit: str, epoch: int) -> None:
    """Write the release folder ``out`` from a built tree (run with the tree's own code)."""
    import yaml

    text = version_text(version)
    results = tree / "results"
    out.mkdir(parents=True)
    for source, name in WORKFLOW_OUTPUTS.items():
        shutil.copyfile(results / source, out / name)
    shutil.copyfile(tree / "CITATION.cff", out / "CITATION.cff")
    certainty = certainty_rows(results)
    if certainty is not None:
        write_text_atomic(out / "certainty.csv", csv_text(certainty, CERTAINTY_COLUMNS))

    schema = yaml.safe_load((tree / "schemas" / "extraction.schema.yaml").read_text(encoding="utf-8"))
    columns, rows = extraction_rows(tree / "extracted", schema)
    write_text_atomic(out / "extractions.csv", csv_text(rows, [c.name for c in columns]))

    previous_folder = previous_release_folder(tree, version)
    write_text_atomic(out / "CHANGES.md", release_changes(out, previous_folder, text))

    cff = zenodo.read_cff(tree / "CITATION.cff")
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    package = datapackage(out, cff, text, created, extraction_table_schema(columns))
    write_text_atomic(out / "datapackage.json", json.dumps(package, indent=2, ensure_ascii=False) + "\n")

    previous = previous_folder.name[1:] if previous_folder else None
    record = provenance(tree, text, commit, epoch, previous)
    write_text_atomic(
        out / "provenance.json", json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )
    write_text_atomic(out / "SHA256SUMS", sha256sums(out))
