"""Versioned, citable releases: ``make release VERSION=X.Y.Z``.

A release is a frozen, checksummed folder ``releases/vX.Y.Z/`` built from the
*committed* inputs only: HEAD is cloned into a temporary folder and the same
Snakemake workflow runs there, with SOURCE_DATE_EPOCH set to the commit time,
so that building the same commit again gives the same bytes
(``python -m analysis.release.build --verify X.Y.Z`` does exactly that and compares
every file). The folder holds the brief (HTML, PDF), the tables
(effects, pooled, references, the extraction files as one table), a
Frictionless Data Package describing every table, provenance.json, CHANGES.md
(compared with the previous release) and SHA256SUMS.

The release is tagged ``vX.Y.Z`` (an annotated tag on the commit that was
built); the maintainer then commits the folder (the commands are printed).
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from analysis.brief.render import resolve_renderer
from analysis.io import sha256_file, write_text_atomic
from analysis.release import changes, zenodo

ROOT = Path(__file__).resolve().parents[2]
RELEASES = "releases"
VERSION_PATTERN = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

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
# Tracked inputs whose sha256 goes into provenance.json: everything a reviewer
# or the configuration decides (the code is identified by the commit).
INPUT_FOLDERS = ("extracted", "references", "config", "schemas", "report")
CODE_PATHS = ("Snakefile", "rules", "analysis", "schemas", "report")
SETTINGS = ("estimator", "ci_method", "rho", "alpha")


class ReleaseError(RuntimeError):
    """A release was refused or failed; the message is one line a maintainer can act on."""


# ------------------------------------------------------------------ versions and git


def parse_version(text: str) -> tuple[int, int, int]:
    """(major, minor, patch) of 'X.Y.Z' (a leading 'v' is allowed)."""
    match = VERSION_PATTERN.match(text.removeprefix("v"))
    if not match:
        raise ReleaseError(f"VERSION must look like 1.2.0 (MAJOR.MINOR.PATCH), not {text!r}.")
    return tuple(int(part) for part in match.groups())  # type: ignore[return-value]


def version_text(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


def git(repo: Path, *args: str, check: bool = True, strip: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout.strip() if strip else done.stdout


def released_versions(repo: Path) -> dict[tuple[int, int, int], str]:
    """Every earlier release, from tags vX.Y.Z and folders releases/vX.Y.Z: {version: where}."""
    found: dict[tuple[int, int, int], str] = {}
    folder = repo / RELEASES
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_dir() and path.name.startswith("v") and VERSION_PATTERN.match(path.name[1:]):
                found[parse_version(path.name)] = f"{RELEASES}/{path.name}"
    for tag in git(repo, "tag", "--list", "v*", check=False).splitlines():
        if VERSION_PATTERN.match(tag[1:]):
            found.setdefault(parse_version(tag), f"tag {tag}")
    return found


def previous_release_folder(tree: Path, version: tuple[int, int, int]) -> Path | None:
    """The highest releases/vA.B.C below ``version`` in a source tree (None: first release)."""
    folder = tree / RELEASES
    if not folder.is_dir():
        return None
    earlier = [
        (parse_version(p.name), p)
        for p in folder.iterdir()
        if p.is_dir()
        and p.name.startswith("v")
        and VERSION_PATTERN.match(p.name[1:])
        and (p / "pooled.csv").is_file()
    ]
    earlier = [(v, p) for v, p in earlier if v < version]
    return max(earlier)[1] if earlier else None


def check_release(repo: Path, version_arg: str) -> tuple[int, int, int]:
    """Refuse, with one line saying what to do, anything that must not be released."""
    version = parse_version(version_arg)
    text = version_text(version)
    if not git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False):
        raise ReleaseError("The repository has no commit yet: commit the inputs, then release.")
    dirty = git(repo, "status", "--porcelain", strip=False).splitlines()  # "XY path"
    if dirty:
        shown = ", ".join(line[3:] for line in dirty[:3]) + (", ..." if len(dirty) > 3 else "")
        raise ReleaseError(
            f"The git tree has uncommitted changes ({shown}): commit them, then "
            "release (a release is built from committed files only)."
        )
    earlier = released_versions(repo)
    if version in earlier:
        raise ReleaseError(
            f"Version {text} already exists ({earlier[version]}): a release is never "
            "rebuilt in place; choose a higher version."
        )
    if earlier and version < max(earlier):
        last = version_text(max(earlier))
        raise ReleaseError(
            f"Version {text} is not greater than the last release, {last}: choose a version above {last}."
        )
    cff = zenodo.read_cff(repo / "CITATION.cff") if (repo / "CITATION.cff").is_file() else {}
    if str(cff.get("version", "")) != text:
        raise ReleaseError(
            f"CITATION.cff says version {cff.get('version', '(none)')}, not {text}: "
            "set version and date-released in CITATION.cff, run `make zenodo`, "
            "commit, then release."
        )
    last_folder = previous_release_folder(repo, version)
    last_cff = last_folder / "CITATION.cff" if last_folder else None
    if last_cff is not None and last_cff.is_file():
        last_date = str(zenodo.read_cff(last_cff).get("date-released", ""))
        if str(cff.get("date-released", "")) < last_date:
            raise ReleaseError(
                f"CITATION.cff's date-released {cff.get('date-released')} is before "
                f"{last_folder.name}'s ({last_date}): set date-released in "
                "CITATION.cff, run `make zenodo`, commit, then release."
            )
    problems = zenodo.check_cff(cff)
    if problems:
        raise ReleaseError(
            f"{problems[0]} (and {len(problems) - 1} more): fix CITATION.cff, commit, then release."
            if len(problems) > 1
            else f"{problems[0]}: fix CITATION.cff, commit, then release."
        )
    current = repo / ".zenodo.json"
    if not current.is_file() or current.read_text(encoding="utf-8") != zenodo.zenodo_json(cff):
        raise ReleaseError(
            ".zenodo.json does not match CITATION.cff: run `make zenodo`, commit, then release."
        )
    return version


# ------------------------------------------------------------------ extractions.csv


def _resolve(schema: dict, spec: dict) -> dict:
    """A property spec with its local $ref (#/$defs/...) merged in."""
    if "$ref" in spec:
        target: dict = schema
        for part in spec["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return {**_resolve(schema, target), **{k: v for k, v in spec.items() if k != "$ref"}}
    return spec


@dataclass(frozen=True)
class Column:
    """One column of extractions.csv and how it is described in the Table Schema."""

    name: str
    path: tuple[str, ...]  # where the value is in the YAML (study or effect level)
    level: str  # "study" or "effect"
    type: str  # Table Schema type
    description: str
    enum: tuple[str, ...] = ()
    default: object = None


_TYPES = {"string": "string", "number": "number", "integer": "integer", "boolean": "boolean"}


def _columns_of(schema: dict, properties: dict, level: str, rename: dict[str, str]) -> list[Column]:
    columns = []
    for key, raw in properties.items():
        spec = _resolve(schema, raw)
        name = rename.get(key, key)
        description = str(spec.get("description", "")).strip()
        if spec.get("type") == "object" and "properties" in spec:
            for sub, sub_raw in spec["properties"].items():
                sub_spec = _resolve(schema, sub_raw)
                kind = _TYPES.get(sub_spec.get("type"), "string")
                text = str(sub_spec.get("description") or f"{description} ({sub})").strip()
                columns.append(Column(f"{name}_{sub}", (key, sub), level, kind, text))
        elif key == "ci":  # [lower, upper]
            columns.append(Column("ci_low", (key, "0"), level, "number", f"{description} Lower bound."))
            columns.append(Column("ci_high", (key, "1"), level, "number", f"{description} Upper bound."))
        elif spec.get("type") == "array":
            columns.append(
                Column(name, (key,), level, "string", f"{description} Several are separated by ';'.")
            )
        else:
            enum = tuple(str(v) for v in spec.get("enum", ()))
            kind = "string" if enum else _TYPES.get(spec.get("type"), "string")
            columns.append(Column(name, (key,), level, kind, description, enum, spec.get("default")))
    return columns


def extraction_columns(schema: dict) -> list[Column]:
    """The columns of extractions.csv, in codebook order: study fields, then effect fields."""
    top = {k: v for k, v in schema["properties"].items() if k != "effects"}
    study = _columns_of(schema, top, "study", {"notes": "study_notes", "moderators": "study_moderators"})
    effect = _columns_of(
        schema,
        schema["$defs"]["effect"]["properties"],
        "effect",
        {"id": "effect_id", "notes": "effect_notes", "moderators": "effect_moderators"},
    )
    file = Column("file", ("__file__",), "study", "string", "The extraction file (extracted/<study>.yaml).")
    return [*study, file, *effect]


def _value(document: dict, column: Column, file_name: str):
    if column.path == ("__file__",):
        return file_name
    value: object = document
    for part in column.path:
        if isinstance(value, list):
            value = value[int(part)] if int(part) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            value = None
    if value is None:
        value = column.default
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):  # moderators: one cell, as `review import` reads it
        from analysis.inputs.moderators import moderators_text

        return moderators_text(value)
    if isinstance(value, str):
        return " ".join(value.split())  # YAML folded text: one line in a table
    return value


def extraction_rows(folder: Path, schema: dict) -> tuple[list[Column], list[dict]]:
    """One row per effect (or one per narrative record) with the study's fields, sorted."""
    from analysis.inputs.extraction import extraction_files, read_extraction

    columns = extraction_columns(schema)
    rows = []
    for path in extraction_files(folder):
        document, problems = read_extraction(path)
        if document is None:
            raise ReleaseError(f"{path}: {problems[0] if problems else 'cannot be read'}")
        study = {
            c.name: _value(document, c, f"{folder.name}/{path.name}") for c in columns if c.level == "study"
        }
        effects = [e for e in (document.get("effects") or []) if isinstance(e, dict)]
        for effect in effects or [None]:
            row = dict(study)
            for column in (c for c in columns if c.level == "effect"):
                row[column.name] = _value(effect, column, "") if effect is not None else None
            rows.append(row)
    rows.sort(key=lambda r: (str(r["study"]), str(r.get("effect_id") or "")))
    return columns, rows


# ------------------------------------------------------------------ datapackage.json

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
_INTEGER = re.compile(r"^-?\d+$")


def infer_type(name: str, values: list[str]) -> str:
    """Table Schema type of a column from its (non-empty) values."""
    values = [v for v in values if v != ""]
    if name in TEXT_COLUMNS or not values:
        return "string"
    if all(v in ("true", "false") for v in values):
        return "boolean"
    if all(_INTEGER.match(v) for v in values):
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


def extraction_table_schema(columns: list[Column]) -> dict:
    fields = []
    for c in columns:
        field: dict = {"name": c.name, "type": c.type, "description": c.description or c.name}
        if c.enum:
            field["constraints"] = {"enum": list(c.enum)}
        fields.append(field)
    return {"fields": fields, "missingValues": [""]}


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
            schema = table_schema(name, changes.read_rows(path), _csv_header(path))
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


# ------------------------------------------------------------------ provenance.json


def locked_packages(lock: Path) -> dict[str, str]:
    """Package versions: what is installed, for every package pinned in requirements.lock."""
    versions = {}
    if not lock.is_file():
        return versions
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" not in line:
            continue
        name = line.split("==")[0].strip()
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return dict(sorted(versions.items(), key=lambda kv: kv[0].lower()))


def _tool_versions() -> dict[str, str]:
    tools = {}
    try:
        import pypandoc

        tools["pandoc"] = pypandoc.get_pandoc_version()
    except Exception:  # noqa: BLE001 - a missing tool is recorded, not fatal
        tools["pandoc"] = "not found"
    quarto = shutil.which("quarto")
    if quarto:
        done = subprocess.run([quarto, "--version"], capture_output=True, text=True, check=False)
        tools["quarto"] = done.stdout.strip()
    return tools


def provenance(
    tree: Path, version: str, commit: str, epoch: int, previous: str | None, fingerprint: str
) -> dict:
    """What the release was built from: commit, inputs (sha256), settings, software."""
    import yaml

    tracked = git(tree, "ls-files", "--", *INPUT_FOLDERS).splitlines()
    inputs = {path: sha256_file(tree / path) for path in sorted(tracked) if (tree / path).is_file()}
    config = yaml.safe_load((tree / "config" / "config.yaml").read_text(encoding="utf-8"))
    code = {path: git(tree, "rev-parse", f"{commit}:{path}", check=False) for path in CODE_PATHS}
    lock = tree / "requirements.lock"
    return {
        "version": version,
        "tag": f"v{version}",
        "previous_release": previous,
        "commit": commit,
        "commit_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)),
        "source_date_epoch": epoch,
        "input_fingerprint": fingerprint,
        "inputs": inputs,
        "code": {k: v for k, v in code.items() if v},
        "settings": {k: config.get(k) for k in SETTINGS},
        "python": platform.python_version(),
        "packages": locked_packages(lock),
        "requirements_lock_sha256": sha256_file(lock) if lock.is_file() else "",
        "tools": _tool_versions(),
        # What rendered the brief (config renderer: auto | quarto | pandoc, as resolved here).
        "renderer": resolve_renderer(config.get("renderer", "auto")),
        "rebuild": f"git checkout v{version} && make brief   # or: make verify-release VERSION={version}",
    }


# ------------------------------------------------------------------ the build


def build_environment(tree: Path, epoch: int) -> dict[str, str]:
    """The environment of a release build: fixed time, zone, locale and hash seed."""
    env = dict(os.environ)
    env.update(
        {
            "SOURCE_DATE_EPOCH": str(epoch),
            # The clone's own analysis package, not an editable install of another work tree.
            "PYTHONPATH": os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "TZ": "UTC",
            "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0",  # set and dict-of-set orders; see the README
        }
    )
    return env


def run_workflow(tree: Path, epoch: int, cores: int, log: Path) -> None:
    """The project's Snakemake workflow in ``tree``, results in tree/results."""
    targets = [f"results/{path}" for path in WORKFLOW_OUTPUTS]
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        str(cores),
        *targets,
        "--config",
        "results_dir=results",
    ]
    with open(log, "w", encoding="utf-8") as handle:
        done = subprocess.run(
            command,
            cwd=tree,
            env=build_environment(tree, epoch),
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        raise ReleaseError(f"The workflow failed in the release build (log: {log}):\n" + "\n".join(tail))


def clone(repo: Path, commit: str, tree: Path) -> None:
    git(repo, "clone", "--quiet", "--no-checkout", str(repo), str(tree))
    git(tree, "checkout", "--quiet", "--detach", commit)


def sha256sums(folder: Path) -> str:
    """SHA256SUMS text (sha256sum format, sorted by name) of every file but itself."""
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "SHA256SUMS")
    return "".join(f"{sha256_file(folder / n)}  {n}\n" for n in names)


CERTAINTY_COLUMNS = ["analysis_id", "certainty", "downgrades"]


def certainty_rows(results: Path) -> list[dict] | None:
    """Each analysis' certainty as the brief rates it (analysis.brief.context.analyses, analysis.rating.certainty).

    None when this commit's brief module cannot rate the results (then CHANGES.md says so).
    """
    try:
        from analysis.brief import context as brief
        from analysis.io import read_table

        graded = brief.analyses(
            read_table(results / "pooled.csv"),
            read_table(results / "units.csv"),
            read_table(results / "studies.csv"),
        )
        rows = [
            {"analysis_id": a.id, "certainty": a.rating.level, "downgrades": a.rating.reasons} for a in graded
        ]
    except Exception:  # noqa: BLE001 - an optional part of CHANGES.md, never a failed release
        return None
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


def assemble(tree: Path, out: Path, version: tuple[int, int, int], commit: str, epoch: int) -> None:
    """Write the release folder ``out`` from a built tree (run with the tree's own code)."""
    import yaml

    from analysis.io import csv_text

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
    extracted = tree / "extracted"
    columns, rows = extraction_rows(extracted, schema)
    write_text_atomic(out / "extractions.csv", csv_text(rows, [c.name for c in columns]))

    previous_folder = previous_release_folder(tree, version)
    write_text_atomic(out / "CHANGES.md", release_changes(out, previous_folder, text))

    cff = zenodo.read_cff(tree / "CITATION.cff")
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    package = datapackage(out, cff, text, created, extraction_table_schema(columns))
    write_text_atomic(out / "datapackage.json", json.dumps(package, indent=2, ensure_ascii=False) + "\n")

    from analysis import provenance as build_provenance

    inputs = [str(p) for p in sorted(extracted.glob("*.y*ml"))]
    inputs += [str(p) for p in sorted((tree / "references").glob("*.bib"))]
    config = yaml.safe_load((tree / "config" / "config.yaml").read_text(encoding="utf-8"))
    fingerprint = build_provenance.fingerprint(inputs, {k: config[k] for k in SETTINGS})
    previous = previous_folder.name[1:] if previous_folder else None
    record = provenance(tree, text, commit, epoch, previous, fingerprint)
    write_text_atomic(
        out / "provenance.json", json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )
    write_text_atomic(out / "SHA256SUMS", sha256sums(out))


def build_release(
    repo: Path,
    commit: str,
    version: tuple[int, int, int],
    out: Path,
    *,
    cores: int = 2,
    keep: Path | None = None,
) -> float:
    """Clone ``commit`` of ``repo``, run the workflow, write the release folder ``out``.

    The folder is assembled by the clone's own ``analysis.release.build`` (so a release is a
    function of its commit alone, whatever code rebuilds it). ``keep``: copy the whole
    build tree there (tests compare two builds file by file). Returns seconds taken.
    """
    start = time.monotonic()
    out = out.resolve()
    with tempfile.TemporaryDirectory(prefix="release-build-") as tmp:
        tree = Path(tmp) / "src"
        clone(repo, commit, tree)
        epoch = int(git(tree, "log", "-1", "--format=%ct", commit))
        log = Path(tmp) / "workflow.log"
        run_workflow(tree, epoch, cores, log)
        command = [
            sys.executable,
            "-m",
            "analysis.release.build",
            version_text(version),
            "--assemble",
            str(out),
            "--commit",
            commit,
        ]
        with open(log, "a", encoding="utf-8") as handle:
            done = subprocess.run(
                command,
                cwd=tree,
                env=build_environment(tree, epoch),
                stdout=handle,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
            raise ReleaseError("Assembling the release folder failed:\n" + "\n".join(tail))
        if keep is not None:
            shutil.copytree(tree, keep, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    return time.monotonic() - start


def make_release(repo: Path, version_arg: str, *, cores: int = 2, tag: bool = True) -> Path:
    """``make release``: check, build HEAD, write releases/vX.Y.Z, tag; return the folder."""
    version = check_release(repo, version_arg)
    text = version_text(version)
    commit = git(repo, "rev-parse", "HEAD")
    target = repo / RELEASES / f"v{text}"
    if tag and not git(repo, "var", "GIT_COMMITTER_IDENT", check=False):
        raise ReleaseError(
            "git does not know who is tagging: set `git config user.name` and "
            "`git config user.email`, then release."
        )
    print(f"Building release v{text} from commit {commit[:12]} (a clean clone of HEAD)...", flush=True)
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        staged = Path(tmp) / f"v{text}"
        seconds = build_release(repo, commit, version, staged, cores=cores)
        target.parent.mkdir(exist_ok=True)
        partial = target.parent / f".v{text}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(staged, partial)
        os.replace(partial, target)
    if tag:
        git(repo, "tag", "--annotate", f"v{text}", "--message", f"Evidence brief v{text}", commit)
    if not (target / "certainty.csv").is_file():
        print(
            "Note: no certainty.csv (analysis.brief.context.analyses could not rate the analyses), so "
            "CHANGES.md lists no certainty changes."
        )
    files = len(list(target.iterdir()))
    rel = target.relative_to(repo)
    print(
        f"Release v{text}: {rel}/ ({files} files, built in {seconds:.0f} s)"
        + (f", tagged v{text} on {commit[:12]}." if tag else " (not tagged).")
    )
    print("Check it (sha256sum -c SHA256SUMS inside the folder), then commit and publish it:")
    print(f"    git add {rel} && git commit -m 'Release v{text}'")
    print(f"    git push && git push origin v{text}")
    return target


def verify_release(repo: Path, version_arg: str, *, cores: int = 2) -> list[str]:
    """Rebuild a release's commit and compare every file; return the names that differ."""
    version = parse_version(version_arg)
    text = version_text(version)
    folder = repo / RELEASES / f"v{text}"
    if not (folder / "provenance.json").is_file():
        raise ReleaseError(f"No release folder {RELEASES}/v{text} with a provenance.json here.")
    commit = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))["commit"]
    with tempfile.TemporaryDirectory(prefix="release-verify-") as tmp:
        rebuilt = Path(tmp) / "rebuilt"
        build_release(repo, commit, version, rebuilt, cores=cores)
        names = sorted({p.name for p in folder.iterdir()} | {p.name for p in rebuilt.iterdir()})
        return [
            n
            for n in names
            if not (folder / n).is_file()
            or not (rebuilt / n).is_file()
            or sha256_file(folder / n) != sha256_file(rebuilt / n)
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.release.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("version", help="the release version, MAJOR.MINOR.PATCH")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the git work tree")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--no-tag", action="store_true", help="do not create the git tag")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="rebuild the release's commit and compare every file with the folder",
    )
    parser.add_argument("--assemble", type=Path, help=argparse.SUPPRESS)  # inside a build tree
    parser.add_argument("--commit", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    try:
        if args.assemble:
            epoch = int(git(repo, "log", "-1", "--format=%ct", args.commit))
            assemble(repo, args.assemble, parse_version(args.version), args.commit, epoch)
            return 0
        if args.verify:
            differ = verify_release(repo, args.version, cores=args.cores)
            if differ:
                print(f"v{args.version}: rebuilt files differ: {', '.join(differ)}", file=sys.stderr)
                return 1
            print(f"v{args.version}: the rebuild of its commit reproduces every file byte for byte.")
            return 0
        make_release(repo, args.version, cores=args.cores, tag=not args.no_tag)
    except ReleaseError as err:
        print(
            f"release refused: {err}" if "\n" not in str(err) else f"release failed: {err}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
