"""Read the bibliography (BibTeX, parsed with bibtexparser 2) into plain records.

bibtexparser 2 does not raise on a bad entry: it puts it in
``library.failed_blocks``. Every failed block, duplicate key, entry missing
author, title or year, key a citation cannot carry, link that is not http(s)
or doi, and field with a control character becomes a :class:`BibProblem`
with file and line, so a reviewer sees every problem of a run at once.

Field text is LaTeX only as far as analysis.inputs.latex knows it: any other
command is text, in references.csv and in the references.bib given to pandoc.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import bibtexparser

from analysis.inputs import guards, latex
from analysis.inputs.problem import shown

# bibtexparser logs each failed block; we report them ourselves, with a fix.
logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)

REQUIRED_FIELDS = ("author", "title", "year")
# A key is also a file name (extracted/<key>.yaml) and a citation id in the brief;
# pandoc drops a final '-' or ':' from a citation (alpha2020- cites alpha2020), so
# a key starts and ends with a letter or digit.
KEY_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_:-]{0,118}[A-Za-z0-9])?")
# The only links a reference may carry (pandoc makes them clickable in the brief).
URL_PATTERN = re.compile(r"https?://[^\s<>\"\\{}]+", re.IGNORECASE)
DOI_PATTERN = re.compile(r"(?:doi:|https?://(?:dx\.)?doi\.org/)?10\.[0-9]{4,9}/\S+", re.IGNORECASE)

# Columns of references.csv, in order. `container` is the journal, book,
# institution or publisher, whichever the entry has first.
COLUMNS = (
    "key",
    "entry_type",
    "author",
    "title",
    "year",
    "container",
    "volume",
    "number",
    "pages",
    "doi",
    "url",
    "note",
    "unverified",
    "file",
    "line",
)
CONTAINER_FIELDS = ("journal", "booktitle", "institution", "publisher", "howpublished")


@dataclass(frozen=True)
class BibProblem:
    """One problem in a bibliography file; ``line`` is 1-based."""

    file: str
    line: int
    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        entry = f" entry '{shown(self.key)}'" if self.key else ""
        return f"{where}:{entry} {self.message}. Fix: {self.fix}"


@dataclass(frozen=True)
class Reference:
    """One bibliography entry, with LaTeX accents decoded (Calvó-Armengol)."""

    key: str
    entry_type: str
    fields: tuple[tuple[str, str], ...]
    file: str
    line: int

    def get(self, name: str, default: str = "") -> str:
        return dict(self.fields).get(name, default)


class BibliographyError(ValueError):
    """Raised with every problem of the bibliography, one per line."""

    def __init__(self, problems: list[BibProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def bib_files(path: str | Path) -> list[Path]:
    """The .bib files behind ``path``: the file itself, or a folder's *.bib, sorted."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix == ".bib" and p.is_file())
    return [path]


def _clean(value: str) -> str:
    # Braces protect capitals in BibTeX; a reader wants the words.
    return " ".join(latex.to_text(value).split())


def _field_problems(file: str, line: int, key: str, fields: dict[str, str], raw: dict[str, str]) -> list:
    problems = []
    for name in sorted(raw):
        found = guards.bad_character(raw[name])
        if found:
            problems.append(
                BibProblem(
                    file,
                    line,
                    key,
                    f"field '{name}' contains the invisible character {found[1]} at character {found[0]}",
                    "delete it (it often comes from copying out of a PDF or a web page)",
                )
            )
    url, doi = fields.get("url", ""), fields.get("doi", "")
    if url and not URL_PATTERN.fullmatch(url):
        problems.append(
            BibProblem(
                file,
                line,
                key,
                f"field 'url' {url[:60]!r} is not an http(s) link",
                "give the web address starting with https:// (or delete the field)",
            )
        )
    if doi and not DOI_PATTERN.fullmatch(doi):
        problems.append(
            BibProblem(
                file,
                line,
                key,
                f"field 'doi' {doi[:60]!r} is not a DOI",
                "give the DOI as 10.NNNN/..., e.g. 10.1038/s41586-022-04996-4",
            )
        )
    return problems


def parse_text(text: str, file: str) -> tuple[list[Reference], list[BibProblem]]:
    """Parse one BibTeX text; return its references and its problems."""
    library = bibtexparser.parse_string(text)
    problems: list[BibProblem] = []
    for block in library.failed_blocks:
        line = block.start_line + 1
        if isinstance(block, bibtexparser.model.DuplicateBlockKeyBlock):
            problems.append(
                BibProblem(
                    file,
                    line,
                    block.key,
                    "duplicate key (the same key is used earlier in the bibliography)",
                    "give each entry its own key, or delete the repeated entry",
                )
            )
        else:
            first = block.raw.strip().splitlines()[0][:60] if block.raw.strip() else ""
            problems.append(
                BibProblem(
                    file,
                    line,
                    "",
                    f"entry cannot be parsed ({first!r})",
                    "check the braces, quotes and commas of this entry "
                    "(each field as name = {value}, entries as @type{key, ...})",
                )
            )
    references = []
    for entry in library.entries:
        raw = {f.key.lower(): str(f.value) for f in entry.fields}
        fields = {name: _clean(value) for name, value in raw.items()}
        line = entry.start_line + 1
        if not KEY_PATTERN.fullmatch(entry.key):
            problems.append(
                BibProblem(
                    file,
                    line,
                    entry.key[:70],
                    "the key has characters a study key cannot have",
                    "use letters, digits, '_', ':' or '-' only, starting and ending with a letter or "
                    "digit, at most 120 characters (e.g. rothon2012)",
                )
            )
        problems.extend(_field_problems(file, line, entry.key[:70], fields, raw))
        for name in REQUIRED_FIELDS:
            if not fields.get(name):
                problems.append(
                    BibProblem(
                        file,
                        line,
                        entry.key,
                        f"missing field '{name}'",
                        f"add {name} = {{...}} (write 'unverified' in a note if it is not known)",
                    )
                )
        references.append(
            Reference(entry.key, entry.entry_type.lower(), tuple(sorted(fields.items())), file, line)
        )
    return references, problems


def read_bibliography(path: str | Path) -> list[Reference]:
    """Read every .bib file behind ``path``; raise BibliographyError listing all problems."""
    files = bib_files(path)
    problems: list[BibProblem] = []
    if not files or not all(f.is_file() for f in files):
        raise BibliographyError(
            [
                BibProblem(
                    str(path),
                    0,
                    "",
                    "no bibliography found",
                    "point `bibliography` at a .bib file or a folder holding .bib files",
                )
            ]
        )
    references: list[Reference] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as err:
            problems.append(
                BibProblem(str(file), 0, "", f"not UTF-8 text ({err.reason})", "save the file as UTF-8")
            )
            continue
        except OSError as err:
            problems.append(
                BibProblem(
                    str(file),
                    0,
                    "",
                    f"cannot be read ({err.strerror or err})",
                    "check that the file exists and that you may read it (its permissions)",
                )
            )
            continue
        found, found_problems = parse_text(text, str(file))
        references.extend(found)
        problems.extend(found_problems)
    seen: dict[str, Reference] = {}
    for ref in references:
        if ref.key in seen:
            first = seen[ref.key]
            problems.append(
                BibProblem(
                    ref.file,
                    ref.line,
                    ref.key,
                    f"duplicate key (also at {first.file}:{first.line})",
                    "give each entry its own key, or delete the repeated entry",
                )
            )
        else:
            seen[ref.key] = ref
    if not references and not problems:
        problems.append(
            BibProblem(str(path), 0, "", "the bibliography has no entries", "add the studies' BibTeX entries")
        )
    if problems:
        raise BibliographyError(problems)
    return sorted(references, key=lambda r: r.key)


def reference_rows(references: list[Reference]) -> list[dict[str, str]]:
    """One row per reference with the columns of references.csv, sorted by key."""
    rows = []
    for ref in sorted(references, key=lambda r: r.key):
        note = ref.get("note")
        container = next((ref.get(f) for f in CONTAINER_FIELDS if ref.get(f)), "")
        rows.append(
            {
                "key": ref.key,
                "entry_type": ref.entry_type,
                "author": ref.get("author"),
                "title": ref.get("title"),
                "year": ref.get("year"),
                "container": container,
                "volume": ref.get("volume"),
                "number": ref.get("number"),
                "pages": ref.get("pages").replace("--", "–"),
                "doi": ref.get("doi"),
                "url": ref.get("url"),
                "note": note,
                "unverified": "true" if "unverified" in note.lower() else "false",
                "file": ref.file,
                "line": str(ref.line),
            }
        )
    return rows


def rows_to_csv(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> str:
    """CSV text with fixed columns and Unix line ends (same rows give the same bytes)."""
    from analysis.io import csv_text

    return csv_text(rows, list(columns))


def write_references(bib_path: str | Path, csv_path: str | Path, bib_out: str | Path) -> int:
    """Rule parse_bibliography: references.csv, and all .bib files as one (for citeproc)."""
    from analysis.io import write_text_atomic

    references = read_bibliography(bib_path)
    write_text_atomic(csv_path, rows_to_csv(reference_rows(references)))
    combined = "\n".join(f.read_text(encoding="utf-8-sig") for f in bib_files(bib_path))
    write_text_atomic(bib_out, latex.inert_bibtex(combined))
    return len(references)
