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
import sys
from collections.abc import Iterable, Iterator
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


@dataclass(frozen=True, slots=True)
class Reference:
    """One bibliography entry, with LaTeX accents decoded (Calvó-Armengol).

    Slots and one shared text per field name and entry type: 100,000 of them are held
    at once (a reference costs ~1.3 KB without, ~0.8 KB with)."""

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


# A long bibliography is parsed this many entries at a time (bibtexparser holds a whole
# parsed library in memory: ~450 MB for 100,000 entries).
CHUNK_ENTRIES = 2000
_ENTRY_START = re.compile(r"^@", re.MULTILINE)
_STRING_BLOCK = re.compile(r"@\s*string", re.IGNORECASE)


def parse_text(
    text: str, file: str, fields: bool = True, cache=None
) -> tuple[list[Reference], list[BibProblem]]:
    """Parse one BibTeX text; return its references and its problems.

    A long text is parsed in chunks of :data:`CHUNK_ENTRIES` entries, cut only where a line
    starts with ``@`` outside braces; when any chunk has a block that cannot be parsed, a
    key repeats, or the text defines @string macros (used across entries), the whole text
    is parsed at once instead. Either way the result is that of parsing it whole. With
    ``cache`` (an :class:`analysis.inputs.bibcache.BibCache`) only the entries not in it are
    parsed, with the same result."""
    if cache is not None:
        found = cache.parse(text, file, fields)
        if found is not None:
            return found
    chunks = _chunks(text)
    if len(chunks) > 1:
        found = _parse_chunks(chunks, file, fields)
        if found is not None:
            return found
    references, failed, problems = _parse_library(bibtexparser.parse_string(text), file, 0, fields)
    return references, failed + problems


def _chunks(text: str, per: int | None = None) -> list[tuple[int, str]]:
    """(line offset, text) of each chunk of ``text`` (one chunk: parse it whole), ``per``
    entries a chunk (default :data:`CHUNK_ENTRIES`)."""
    per = CHUNK_ENTRIES if per is None else per
    if _STRING_BLOCK.search(text):
        return [(0, text)]
    cuts, depth, last, count = [0], 0, 0, 0
    for mark in _ENTRY_START.finditer(text):
        count += 1
        if count <= per:
            continue
        depth += text.count("{", last, mark.start()) - text.count("}", last, mark.start())
        last = mark.start()
        if depth == 0:
            cuts.append(mark.start())
            count = 1
    cuts.append(len(text))
    if len(cuts) <= 2:
        return [(0, text)]
    out, line = [], 0
    for start, end in zip(cuts, cuts[1:]):
        out.append((line, text[start:end]))
        line += text.count("\n", start, end)
    return out


def _parse_chunks(
    chunks: list[tuple[int, str]], file: str, fields: bool = True
) -> tuple[list[Reference], list[BibProblem]] | None:
    """The references and problems of a text parsed chunk by chunk; None when the chunks may
    not give what one parse gives (a failed block or a repeated key)."""
    references: list[Reference] = []
    problems: list[BibProblem] = []
    keys: set[str] = set()
    for offset, chunk in chunks:
        found, failed, found_problems = _parse_library(bibtexparser.parse_string(chunk), file, offset, fields)
        if failed or any(r.key in keys for r in found):
            return None
        keys.update(r.key for r in found)
        references.extend(found)
        problems.extend(found_problems)
    if len(keys) != len(references):
        return None
    return references, problems


def _parse_library(
    library, file: str, offset: int = 0, keep: bool = True
) -> tuple[list[Reference], list[BibProblem], list[BibProblem]]:
    """(references, problems of the failed blocks, problems of the entries) of one parsed
    library whose text starts on line ``offset`` + 1 of ``file`` (``keep`` False: no fields kept)."""
    problems: list[BibProblem] = []
    for block in library.failed_blocks:
        line = block.start_line + 1 + offset
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
    failed, problems = problems, []
    references = []
    for entry in library.entries:
        raw = {sys.intern(f.key.lower()): str(f.value) for f in entry.fields}
        fields = {name: _clean(value) for name, value in raw.items()}
        line = entry.start_line + 1 + offset
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
            Reference(
                entry.key,
                sys.intern(entry.entry_type.lower()),
                tuple(sorted(fields.items())) if keep else (),
                file,
                line,
            )
        )
    return references, failed, problems


def read_bibliography(path: str | Path, fields: bool = True, cache=None) -> list[Reference]:
    """Read every .bib file behind ``path``; raise BibliographyError listing all problems.

    ``fields`` False: the references carry no fields (the same keys, lines and problems;
    what a check of the study keys needs, in a fifth of the memory). ``cache``: a
    :class:`analysis.inputs.bibcache.BibCache` (only changed entries are parsed)."""
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
        found, found_problems = parse_text(text, str(file), fields, cache)
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
    return list(_rows(references))


def _rows(references: list[Reference]) -> Iterator[dict[str, str]]:
    """The rows of :func:`reference_rows`, one at a time."""
    for ref in sorted(references, key=lambda r: r.key):
        fields = dict(ref.fields)  # what ref.get reads, made once

        def get(name: str, fields: dict = fields) -> str:
            return fields.get(name, "")

        note = get("note")
        container = next((get(f) for f in CONTAINER_FIELDS if get(f)), "")
        yield {
            "key": ref.key,
            "entry_type": ref.entry_type,
            "author": get("author"),
            "title": get("title"),
            "year": get("year"),
            "container": container,
            "volume": get("volume"),
            "number": get("number"),
            "pages": get("pages").replace("--", "–"),
            "doi": get("doi"),
            "url": get("url"),
            "note": note,
            "unverified": "true" if "unverified" in note.lower() else "false",
            "file": ref.file,
            "line": str(ref.line),
        }


def rows_to_csv(rows: Iterable[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> str:
    """CSV text with fixed columns and Unix line ends (same rows give the same bytes)."""
    from analysis.io import csv_text

    return csv_text(rows, list(columns))


def write_references(
    bib_path: str | Path, csv_path: str | Path, bib_out: str | Path, cache: str | Path | None = None
) -> int:
    """Rule parse_bibliography: references.csv, and all .bib files as one (for citeproc).

    Both are written as they are made (rows in batches, the .bib in pieces), so that the
    job holds the references once and no whole second copy of any text. ``cache``: the
    block cache check_inputs wrote (read only; see analysis.inputs.bibcache)."""
    from analysis.inputs.bibcache import BibCache
    from analysis.io import atomic_output

    references = read_bibliography(bib_path, cache=BibCache(cache) if cache is not None else None)
    count = len(references)
    with atomic_output(csv_path) as out:
        for text in _csv_parts(_rows(references)):
            out.write(text.encode("utf-8"))
    del references
    with atomic_output(bib_out) as out:
        for piece in _pieces(_joined(bib_files(bib_path))):
            out.write(latex.inert_bibtex(piece).encode("utf-8"))
    return count


# Rows of references.csv made and written at a time; characters of the .bib made inert at a time.
CSV_BATCH = 5000
PIECE_CHARS = 1 << 20


def _csv_parts(rows: Iterator[dict[str, str]]) -> Iterator[str]:
    """The text of :func:`rows_to_csv` in parts (the header, then batches of rows)."""
    header = ",".join(COLUMNS) + "\n"
    yield header
    batch: list[dict[str, str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CSV_BATCH:
            yield rows_to_csv(batch)[len(header) :]
            batch = []
    if batch:
        yield rows_to_csv(batch)[len(header) :]


def _joined(files: list[Path]) -> Iterator[str]:
    """The texts of ``files`` with a newline between them (as "\\n".join gives them)."""
    for index, file in enumerate(files):
        if index:
            yield "\n"
        yield file.read_text(encoding="utf-8-sig")


def _pieces(texts: Iterable[str], size: int = PIECE_CHARS) -> Iterator[str]:
    """The concatenation of ``texts`` in pieces of about ``size`` characters, each cut just
    after a newline. latex.inert_bibtex changes the text token by token and no token goes
    past a newline, so the pieces made inert one by one give the text made inert at once."""
    carry = ""
    for text in texts:
        start = 0
        while len(text) - start > size:
            cut = text.rfind("\n", start, start + size)
            if cut < 0:
                cut = text.find("\n", start + size)
                if cut < 0:
                    break
            yield carry + text[start : cut + 1]
            carry, start = "", cut + 1
        carry += text[start:]
    if carry:
        yield carry
