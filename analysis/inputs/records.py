"""How many records are at each step, from the records themselves: the one count behind
the brief (its summary and PRISMA 2020 flow diagram), CHANGES.md and `review status`.

A record is one extraction file (study or context document), as a mapping with at least
``study`` and optionally ``kind`` (study | context; default study), ``status`` (coded |
narrative) and ``identified_by`` (report-references | report-text | packet-more |
packet-2). A missing ``identified_by`` is counted, visibly, as "not recorded", so the
counts work before and after that field is filled in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.inputs.rows import records

# How a work was identified, in the order the flow diagram lists them, with its words.
SOURCES: dict[str, str] = {
    "report-references": "the report's reference list",
    "report-text": "the report's text only (not in its reference list)",
    "packet-more": "a further, targeted search",
    "packet-2": "a second targeted search",
}
NOT_RECORDED = "not recorded"
# A narrative record whose reason (``not_poolable``) says its full text was never read:
# PRISMA counts it as a report not retrieved, not as a study read.
NOT_READ = re.compile(r"full text (?:was |were |is )?not (?:reached|read|seen|found|obtained)", re.IGNORECASE)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


@dataclass(frozen=True)
class RecordCounts:
    """Counts of records at each step (PRISMA 2020: identification, screening, inclusion)."""

    identified: dict[str, int]  # by source (SOURCES keys, then NOT_RECORDED), every record
    records: int  # extraction files (studies and context documents)
    context: int  # reports and policy documents: kept as context, not studies
    studies: int
    narrative: int  # studies with findings only: no poolable number
    coded: int  # studies with at least one coded effect
    not_retrieved: int = 0  # bibliography entries with no extraction file (source not read)
    not_read: int = 0  # narrative studies whose full text was not reached (their reason says so)
    pooled: int | None = None  # coded studies in an analysis pooling >= 2 independent studies
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> kind -> n

    @property
    def identified_total(self) -> int:
        return self.records + self.not_retrieved

    @property
    def unreached(self) -> int:
        """Studies whose full text was not reached: no extraction file, or a record saying so."""
        return self.not_retrieved + self.not_read

    @property
    def read(self) -> int:
        """Studies whose full text (or the packet's reading of it) was read."""
        return self.studies - self.not_read

    @property
    def read_narrative(self) -> int:
        """Studies read that give findings only, no poolable number."""
        return self.narrative - self.not_read

    def sources(self) -> list[tuple[str, str, int]]:
        """(source key, words, count) in the diagram's order; "not recorded" last, only when
        some record lacks the field."""
        keys = [*SOURCES, *sorted(set(self.identified) - set(SOURCES) - {NOT_RECORDED})]
        out = [(k, SOURCES.get(k, k), int(self.identified.get(k, 0))) for k in keys]
        if self.identified.get(NOT_RECORDED):
            out.append((NOT_RECORDED, "source not recorded", int(self.identified[NOT_RECORDED])))
        return out


def count_records(
    records: Iterable[Mapping[str, Any]],
    bibliography: Iterable[str] | None = None,
    pooled_studies: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
) -> RecordCounts:
    """The counts of ``records`` (one per study key; later duplicates are ignored).

    ``bibliography``: every key of the bibliography (those without a record are "not
    retrieved"; keys in ``exclude``, such as the seed report itself, are not counted).
    ``pooled_studies``: the studies in an analysis of two or more independent studies.
    """
    seen: set[str] = set()  # one pass, holding the keys only: ``records`` may be a stream
    coded_keys: set[str] = set()
    identified = {key: 0 for key in SOURCES}
    by_source: dict[str, dict[str, int]] = {}
    context = narrative = coded = not_read = 0
    for r in records:
        study = _text(r.get("study"))
        if study in seen:
            continue
        seen.add(study)
        source = _text(r.get("identified_by")) or NOT_RECORDED
        identified[source] = identified.get(source, 0) + 1
        kind = _text(r.get("kind")) or "study"
        by_source.setdefault(source, {}).setdefault(kind, 0)
        by_source[source][kind] += 1
        if kind == "context":
            context += 1
            continue
        coded_keys.add(study)
        if _text(r.get("status")) == "coded":
            coded += 1
        else:
            narrative += 1
            not_read += bool(NOT_READ.search(_text(r.get("not_poolable"))))
    missing = set(bibliography or ()) - seen - set(exclude)
    pooled = None if pooled_studies is None else len(set(pooled_studies) & coded_keys)
    return RecordCounts(
        identified=identified,
        records=len(seen),
        context=context,
        studies=coded + narrative,
        narrative=narrative,
        coded=coded,
        not_retrieved=len(missing),
        not_read=not_read,
        pooled=pooled,
        by_source=by_source,
    )


def records_from_files(paths: Iterable[str | Path]) -> list[dict]:
    """The record fields of extraction files (study key from the file when absent)."""
    import yaml

    out = []
    for path in sorted(Path(p) for p in paths):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(doc, dict):
            continue
        out.append(record_fields(doc, path))
    return out


def record_fields(doc: Mapping[str, Any], path: Path) -> dict:
    """The record fields of one extraction file's content (study key from the file when absent)."""
    return {
        "study": _text(doc.get("study")) or path.stem,
        "kind": _text(doc.get("kind")) or "study",
        "status": _text(doc.get("status")),
        "identified_by": _text(doc.get("identified_by")),
        "not_poolable": _text(doc.get("not_poolable")),
    }


def pooled_studies(pooled, units) -> set[str]:
    """Studies in an analysis of two or more independent studies (pooled.csv, units.csv, as
    DataFrames or as lists of rows)."""
    ids = {
        _text(r["analysis_id"])
        for r in records(pooled)
        if int(float(r.get("n_studies") or 0)) >= 2 and str(r.get("pooled")).lower() in ("true", "1")
    }
    return {_text(u["study"]) for u in records(units) if _text(u.get("analysis_id")) in ids}


def counts_json(counts: RecordCounts) -> str:
    import dataclasses
    import json

    return json.dumps(dataclasses.asdict(counts), indent=2, sort_keys=True) + "\n"


def read_counts(path: str | Path) -> RecordCounts:
    """records.json (rule count_records) back as RecordCounts."""
    import json

    return RecordCounts(**json.loads(Path(path).read_text(encoding="utf-8")))


def write_counts(*, extracted_dir, cache, references, pooled, units, output) -> RecordCounts:
    """Rule count_records: results/records.json from the extraction files (their record
    fields from the per-file cache ``cache`` of check_inputs, which reads only a file that
    changed since), the bibliography (references.csv) and the analyses (pooled.csv, units.csv)."""
    from analysis.inputs.rows import read_rows
    from analysis.inputs.studycache import cached_records
    from analysis.io import write_text_atomic

    keys = [_text(r["key"]) for r in read_rows(references, ["key"])]
    pooled_rows = read_rows(pooled, ["analysis_id", "n_studies", "pooled"])
    counts = count_records(
        cached_records(extracted_dir, cache),
        bibliography=keys,
        pooled_studies=pooled_studies(pooled_rows, read_rows(units, ["analysis_id", "study"])),
    )
    write_text_atomic(output, counts_json(counts))
    return counts
