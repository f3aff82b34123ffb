"""CITATION.cff, the single source of citation metadata, and the files derived from it.

``.zenodo.json`` (what Zenodo reads when it archives a tagged release) is
generated from ``CITATION.cff`` with the same mapping as cffconvert 2.0's
``--format zenodo`` (tests compare the two), plus ``upload_type``, which
cffconvert leaves out and Zenodo needs to file a dataset as a dataset.

CITATION.cff is checked against the CFF 1.2.0 JSON Schema that ships inside
cffconvert when cffconvert is installed; without it only the fields a release
needs are checked.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import yaml

# The fields a release reads from CITATION.cff (CFF 1.2.0 requires the first four).
REQUIRED = ("cff-version", "message", "title", "authors", "version", "date-released", "license")

_DATE = re.compile(r"^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12]\d|3[01])$")


class CitationError(ValueError):
    """CITATION.cff cannot be used for a release; the message says what to fix."""


def read_cff_text(text: str, name: str = "CITATION.cff") -> dict:
    """CFF text as a dict; dates stay text (as cffconvert reads them)."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise CitationError(f"{name} does not hold a mapping of CFF fields")
    return {k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in data.items()}


def read_cff(path: str | Path) -> dict:
    """CITATION.cff as a dict (see :func:`read_cff_text`)."""
    return read_cff_text(Path(path).read_text(encoding="utf-8"), str(path))


def cff_schema() -> dict | None:
    """The CFF 1.2.0 JSON Schema shipped inside cffconvert, or None without cffconvert."""
    try:
        from cffconvert.root import get_package_root
    except ImportError:
        return None
    path = Path(get_package_root()) / "schemas" / "1.2.0" / "schema.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def check_cff(cff: dict) -> list[str]:
    """Every problem of a CITATION.cff for a release, one line each (empty when fine)."""
    problems = [f"CITATION.cff: field '{k}' is missing" for k in REQUIRED if not cff.get(k)]
    date = str(cff.get("date-released", ""))
    if date and not _DATE.match(date):
        problems.append(f"CITATION.cff: date-released {date!r} is not a date like 2026-01-31")
    schema = cff_schema()
    if schema is not None:
        import jsonschema

        validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
        for error in sorted(validator.iter_errors(cff), key=lambda e: list(map(str, e.path))):
            where = ".".join(map(str, error.path)) or "(top level)"
            problems.append(f"CITATION.cff: {where}: {error.message[:200]}")
    return problems


def _creator(author: dict) -> dict | None:
    """One Zenodo creator from one CFF author (person or entity), as cffconvert does."""

    def has(key: str) -> bool:
        return author.get(key) not in (None, "")

    family = " ".join(
        str(author[k]) for k in ("name-particle", "family-names", "name-suffix") if author.get(k) is not None
    )
    if has("given-names") and has("family-names"):
        name = f"{family}, {author['given-names']}"
    elif has("given-names"):
        name = str(author["given-names"])
    elif has("family-names"):
        name = family
    elif has("alias"):
        name = str(author["alias"])
    elif has("name"):
        name = str(author["name"])
    else:
        name = None
    creator = {}
    if has("affiliation"):
        creator["affiliation"] = author["affiliation"]
    if name is not None:
        creator["name"] = name
    if has("orcid"):
        creator["orcid"] = str(author["orcid"]).replace("https://orcid.org/", "")
    return creator or None


def zenodo_metadata(cff: dict) -> dict:
    """The .zenodo.json content for a CITATION.cff (cffconvert's mapping + upload_type)."""
    out: dict = {}
    creators = [c for c in (_creator(a) for a in cff.get("authors", [])) if c is not None]
    if "authors" in cff:
        out["creators"] = creators
    if "abstract" in cff:
        out["description"] = cff["abstract"]
    if "keywords" in cff:
        out["keywords"] = cff["keywords"]
    if "license" in cff:
        out["license"] = {"id": cff["license"]}
    if "date-released" in cff:
        out["publication_date"] = cff["date-released"]
    if "title" in cff:
        out["title"] = cff["title"]
    if "version" in cff:
        out["version"] = cff["version"]
    # CFF's type is software (default) or dataset; Zenodo's upload_type has both.
    out["upload_type"] = "dataset" if cff.get("type") == "dataset" else "software"
    return out


def zenodo_json(cff: dict) -> str:
    """.zenodo.json text: sorted keys, two-space indent, final newline (as cffconvert writes)."""
    return json.dumps(zenodo_metadata(cff), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_zenodo(root: str | Path) -> Path:
    """Write <root>/.zenodo.json from <root>/CITATION.cff; return its path."""
    from analysis.io import write_text_atomic

    root = Path(root)
    target = root / ".zenodo.json"
    write_text_atomic(target, zenodo_json(read_cff(root / "CITATION.cff")))
    return target


def main(argv: list[str] | None = None) -> int:
    """`python -m analysis.release.zenodo [ROOT]`: validate CITATION.cff, write .zenodo.json."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path.cwd()
    cff = read_cff(root / "CITATION.cff")
    problems = check_cff(cff)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    path = write_zenodo(root)
    print(f"Wrote {path.name} from CITATION.cff (version {cff['version']}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
