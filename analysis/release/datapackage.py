"""A release's ``datapackage.json``: a Frictionless Data Package describing every table.

Each CSV of the release folder gets a Table Schema: column types inferred from
the values (identifier columns stay text), descriptions from DESCRIPTIONS below,
primary keys, and the link from every study column to the bibliography.
``extractions.csv`` gets its schema from the codebook (analysis.release.extractions).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from analysis.io import sha256_file
from analysis.release.changes import read_rows

# Descriptions of the workflow's tables (columns not listed get their name only).
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "effects.csv": {
        "study": "The study's BibTeX key.",
        "effect_id": "The effect's id, unique within the study.",
        "sample": "Independent sample label within the study (empty: the study's one sample).",
        "theme": "Kind of social capital (bonding, bridging, linking, education, workplace).",
        "outcome": "Outcome domain.",
        "outcome_label": "The outcome as the study names it.",
        "exposure": "The exposure as the study names it.",
        "construct": "Construct slug; effects with different constructs are never pooled together.",
        "role": "primary (pooled) or sensitivity (listed, kept out of the primary pools).",
        "measure": "Analysis metric: OR, RR (log scale), RD, ZCOR, ZPCOR (Fisher z), SMD (Hedges' g), MD, GEN.",
        "input_form": "Which input form was coded (e.g. or_ci, r_n).",
        "formula": "The conversion formula used (metafor escalc conventions).",
        "printed": "The numbers as printed in the source.",
        "reverse": "True when the sign was flipped so that positive means more social capital, better outcome.",
        "yi_printed": "The effect on the analysis scale before any reversal.",
        "yi": "The harmonised effect on the analysis scale (positive: more social capital, better outcome).",
        "vi": "Sampling variance of yi.",
        "se": "Standard error of yi.",
        "ci_low": "Lower bound of the 95% CI of yi (yi - 1.96 se).",
        "ci_high": "Upper bound of the 95% CI of yi (yi + 1.96 se).",
        "n": "Sample size, where known.",
        "design": "Study design.",
        "country": "ISO 3166-1 alpha-2 codes, separated by ';'.",
        "kind": "study, or context (a report or policy document).",
        "locator": "Page, table or section of the source.",
        "quote": "Verbatim text of the source with every coded number.",
        "computed_by": "For effects computed by the workflow from public data: the rule and function.",
    },
    "pooled.csv": {
        "analysis_id": "Stable id of the analysis: <theme>-<outcome>-<measure>[-<construct>], lower case. Cite estimates by it.",
        "theme": "Kind of social capital.",
        "outcome": "Outcome domain.",
        "measure": "Analysis metric (the estimate is on its analysis scale: log OR, Fisher z, g, ...).",
        "construct": "Construct slug (empty: none).",
        "k": "Independent samples pooled.",
        "n_studies": "Studies behind the analysis.",
        "n_effects": "Effects behind the analysis (several effects of one sample are combined first).",
        "estimator": "tau² estimator (REML, ML, DL, HE, EE).",
        "ci_method": "Confidence intervals: knha (Knapp-Hartung) or wald.",
        "estimate": "Pooled effect on the analysis scale.",
        "se": "Standard error of the pooled effect.",
        "ci_low": "Lower bound of the 95% CI of the pooled effect (analysis scale).",
        "ci_high": "Upper bound of the 95% CI of the pooled effect (analysis scale).",
        "pi_low": "Lower bound of the 95% prediction interval (analysis scale).",
        "pi_high": "Upper bound of the 95% prediction interval (analysis scale).",
        "tau2": "Between-study variance tau².",
        "tau2_ci_low": "Lower bound of the Q-profile 95% CI of tau².",
        "tau2_ci_high": "Upper bound of the Q-profile 95% CI of tau².",
        "i2": "I² in percent (tau²-based, as metafor).",
        "h2": "H² (tau²-based, as metafor).",
        "q": "Cochran's Q.",
        "q_df": "Degrees of freedom of Q.",
        "q_p": "p-value of Cochran's Q test.",
        "egger_stat": "Egger's test statistic (metafor regtest; empty when k < 3).",
        "egger_p": "p-value of Egger's test (empty when k < 3).",
        "certainty": "GRADE-like certainty of the evidence (high, moderate, low, very low).",
    },
    "certainty.csv": {
        "analysis_id": "The analysis (as in pooled.csv).",
        "certainty": "GRADE-like certainty of the evidence, as the brief rates it: high, moderate, low or very low.",
        "downgrades": "The reasons it was rated down, one per GRADE domain, separated by '; '.",
    },
    "references.csv": {
        "key": "BibTeX key: the study's name everywhere else.",
        "entry_type": "BibTeX entry type.",
        "author": "Authors as in the bibliography.",
        "title": "Title.",
        "year": "Year of publication.",
        "container": "Journal, book, institution or publisher.",
        "volume": "Volume.",
        "number": "Issue number.",
        "pages": "Pages.",
        "doi": "DOI.",
        "url": "URL.",
        "note": "Note of the bibliography entry.",
        "unverified": "True when the note says the entry is unverified.",
        "file": "The bibliography file the entry comes from.",
        "line": "Line of the entry in that file.",
    },
}
TABLE_TITLES = {
    "certainty.csv": "Certainty of the evidence per analysis (the brief's GRADE-like rating)",
    "effects.csv": "Every coded effect on its analysis metric",
    "pooled.csv": "One pooled estimate per analysis",
    "references.csv": "The bibliography",
    "extractions.csv": "The extraction files as one table (one row per effect or narrative record)",
}
PRIMARY_KEYS = {
    "effects.csv": ["study", "effect_id"],
    "pooled.csv": ["analysis_id"],
    "certainty.csv": ["analysis_id"],
    "references.csv": ["key"],
}
# Columns that hold identifiers or codes even when every value looks like a number.
TEXT_COLUMNS = {
    "study",
    "effect_id",
    "sample",
    "construct",
    "analysis_id",
    "country",
    "key",
    "volume",
    "number",
    "pages",
    "doi",
    "note",
}
_INTEGER = re.compile(r"-?\d+")


def infer_type(name: str, values: list[str]) -> str:
    """Table Schema type of a column from its (non-empty) values."""
    values = [v for v in values if v != ""]
    if name in TEXT_COLUMNS or not values:
        return "string"
    if all(v in ("true", "false") for v in values):
        return "boolean"
    if all(_INTEGER.fullmatch(v) for v in values):
        return "integer"
    try:
        for v in values:
            float(v)
    except ValueError:
        return "string"
    return "number"


def table_schema(name: str, rows: list[dict[str, str]], header: list[str]) -> dict:
    """A Table Schema for a workflow table: types from the values, descriptions from above."""
    described = DESCRIPTIONS.get(name, {})
    fields = []
    for column in header:
        field = {
            "name": column,
            "type": infer_type(column, [r.get(column, "") for r in rows]),
            "description": described.get(column, column.replace("_", " ") + "."),
        }
        fields.append(field)
    schema: dict = {"fields": fields, "missingValues": [""]}
    if name in PRIMARY_KEYS and all(k in header for k in PRIMARY_KEYS[name]):
        schema["primaryKey"] = PRIMARY_KEYS[name]
    return schema


def _csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        return next(iter(csv.reader(handle)), [])


def datapackage(folder: Path, cff: dict, version: str, created: str, extraction_schema_: dict) -> dict:
    """The Frictionless Data Package descriptor of a release folder (tables only)."""
    resources = []
    for name in sorted(p.name for p in folder.glob("*.csv")):
        path = folder / name
        if name == "extractions.csv":
            schema = extraction_schema_
        else:
            schema = table_schema(name, read_rows(path), _csv_header(path))
        if name in ("effects.csv", "extractions.csv") and (folder / "references.csv").is_file():
            schema["foreignKeys"] = [
                {"fields": "study", "reference": {"resource": "references", "fields": "key"}}
            ]
        resources.append(
            {
                "name": name[:-4],
                "path": name,
                "title": TABLE_TITLES.get(name, name),
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": path.stat().st_size,
                "hash": f"sha256:{sha256_file(path)}",
                "schema": schema,
            }
        )
    licence = str(cff.get("license", ""))
    return {
        "profile": "tabular-data-package",
        "name": "evidence-brief",
        "title": str(cff.get("title", "")),
        "description": str(cff.get("abstract", "")),
        "version": version,
        "created": created,
        "keywords": list(cff.get("keywords", [])),
        "licenses": [{"name": licence, "path": f"https://spdx.org/licenses/{licence}.html"}]
        if licence
        else [],
        "contributors": [
            {
                "title": a.get("name")
                or " ".join(str(a[k]) for k in ("given-names", "family-names") if a.get(k)),
                "role": "author",
            }
            for a in cff.get("authors", [])
        ],
        "resources": resources,
    }
