"""A long bibliography parsed in chunks of entries gives exactly what one parse gives:
the same references (fields, files, lines) and the same problems, on the seed
bibliography, every bad-input bibliography, a generated one and texts made to catch a
cut in the wrong place."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.inputs import bibliography, latex
from tests.conftest import ROOT

ENTRY = "@article{{{key},\n  author = {{Doe, Jane}},\n  title = {{{title}}},\n  year = {{2020}}\n}}\n\n"


def entries(n: int, start: int = 0) -> str:
    return "".join(ENTRY.format(key=f"k{i:04d}", title=f"Title {i}") for i in range(start, start + n))


def outcome(text: str, chunk: int, monkeypatch) -> tuple:
    monkeypatch.setattr(bibliography, "CHUNK_ENTRIES", chunk)
    references, problems = bibliography.parse_text(text, "refs.bib")
    return [(r.key, r.entry_type, r.fields, r.file, r.line) for r in references], [str(p) for p in problems]


TRICKY = {
    "at sign inside braces": entries(3)
    + "@article{inner,\n  author = {A},\n  title = {T},\n  abstract = {one\n@article{fake,\n author = {B},\n"
    " title = {F},\n year = {1999}}\nrest},\n  year = {2001}\n}\n\n" + entries(3, 10),
    "at sign inside quotes": entries(3)
    + '@article{quoted,\n  author = "A",\n  title = "T\n@misc{fake2, author = {B}, title = {F}, year = {1999}}\n",\n'
    '  year = "2001"\n}\n\n' + entries(3, 10),
    "parenthesised entry": entries(2)
    + "@article(paren,\n  author = {A},\n  title = {T},\n@misc{fake3, author = {B}, title = {F}, year = {1999}}\n"
    "  year = {2001}\n)\n\n" + entries(2, 10),
    "unclosed brace in the middle": entries(4)
    + "@article{broken,\n  author = {A,\n  title = {T}\n\n"
    + entries(4, 10),
    "missing comma in the middle": entries(4)
    + "@article{nocomma\n  author = {A},\n  year = {1}\n}\n\n"
    + entries(4, 10),
    "key repeated far apart": entries(5) + entries(5, 20) + entries(1),
    "string macro": "@string{jn = {Journal of Things}}\n\n"
    + entries(3)
    + "@article{macro,\n author = {A},\n title = {T},\n journal = jn,\n year = {2}\n}\n",
    "comment with an entry inside": entries(2)
    + "@comment{\n@article{ghost, author = {G}, title = {G}, year = {3}}\n}\n\n"
    + entries(2, 10),
    "text between entries": entries(2)
    + "Some notes here.\n@ at the start of a note line\n\n"
    + entries(2, 10),
    "upper-case types and CRLF": (entries(3).replace("@article", "@ARTICLE") + entries(3, 10)).replace(
        "\n", "\r\n"
    ),
    "missing fields and odd keys": entries(2)
    + "@book{bad-,\n title = {No author},\n year = {1}\n}\n\n@misc{ok:1,\n author = {A},\n title = {T},\n"
    " year = {2},\n url = {javascript:alert(1)}\n}\n\n" + entries(2, 10),
    "nested braces across lines": entries(2)
    + "@article{nest,\n author = {{The {Group}\n of People}},\n title = {A {B {C}}\n D},\n year = {4}\n}\n\n"
    + entries(2, 10),
}


@pytest.mark.parametrize("name", sorted(TRICKY))
@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_tricky_texts_give_what_one_parse_gives(name, chunk, monkeypatch):
    text = TRICKY[name]
    assert outcome(text, chunk, monkeypatch) == outcome(text, 10**9, monkeypatch)


def bib_texts() -> list[tuple[str, str]]:
    paths = [ROOT / "references" / "references.bib", *sorted((ROOT / "tests" / "data").rglob("*.bib"))]
    return [(str(p.relative_to(ROOT)), p.read_bytes().decode("utf-8-sig", "replace")) for p in paths]


@pytest.mark.parametrize("name,text", bib_texts(), ids=[n for n, _ in bib_texts()])
@pytest.mark.parametrize("chunk", [1, 5])
def test_the_repositorys_bibliographies_give_what_one_parse_gives(name, text, chunk, monkeypatch):
    assert outcome(text, chunk, monkeypatch) == outcome(text, 10**9, monkeypatch)


def test_a_generated_bibliography_gives_what_one_parse_gives(tmp_path, monkeypatch):
    from benchmarks.generate import generate

    _, bib = generate(300, 1, tmp_path / "corpus")
    text = bib.read_text(encoding="utf-8")
    whole = outcome(text, 10**9, monkeypatch)
    assert len(whole[0]) >= 300
    assert outcome(text, 37, monkeypatch) == whole


def test_long_texts_are_cut_and_short_or_macro_texts_are_not(monkeypatch):
    monkeypatch.setattr(bibliography, "CHUNK_ENTRIES", 10)
    assert len(bibliography._chunks(entries(35))) == 4
    assert len(bibliography._chunks(entries(10))) == 1
    assert len(bibliography._chunks("@STRING{a = {b}}\n" + entries(35))) == 1
    # a cut never falls inside braces: the pieces put together are the text
    chunks = bibliography._chunks(TRICKY["at sign inside braces"] * 5)
    assert "".join(c for _, c in chunks) == TRICKY["at sign inside braces"] * 5


def written_at_once(bib_path: Path) -> tuple[bytes, bytes]:
    """references.csv and references.bib as write_references wrote them before it streamed."""
    csv = bibliography.rows_to_csv(bibliography.reference_rows(bibliography.read_bibliography(bib_path)))
    combined = "\n".join(f.read_text(encoding="utf-8-sig") for f in bibliography.bib_files(bib_path))
    return csv.encode("utf-8"), latex.inert_bibtex(combined).encode("utf-8")


BACKSLASHES = (
    "@misc{slash,\n author = {A \\weird B},\n title = {T \\\\ U ^^5c},\n year = {1},\n note = {x\\\n y}\n}\n"
)


@pytest.mark.parametrize("batch,piece", [(1, 1), (2, 7), (3, 64), (5000, 1 << 20)])
def test_the_written_files_are_those_written_at_once(tmp_path, monkeypatch, batch, piece):
    monkeypatch.setattr(bibliography, "CSV_BATCH", batch)
    monkeypatch.setattr(bibliography, "PIECE_CHARS", piece)
    folder = tmp_path / "references"
    folder.mkdir()
    seed = (ROOT / "references" / "references.bib").read_text(encoding="utf-8")
    (folder / "a.bib").write_text(seed, encoding="utf-8")
    (folder / "b.bib").write_text(entries(7) + BACKSLASHES + "% ends with a backslash \\", encoding="utf-8")
    (folder / "c.bib").write_text("\ufeff" + entries(3, 50).replace("\n", "\r\n"), encoding="utf-8")
    count = bibliography.write_references(folder, tmp_path / "out.csv", tmp_path / "out.bib")
    csv, bib = written_at_once(folder)
    assert count == len(bibliography.read_bibliography(folder)) >= 100
    assert (tmp_path / "out.csv").read_bytes() == csv
    assert (tmp_path / "out.bib").read_bytes() == bib


def test_pieces_are_cut_after_newlines_and_put_together_give_the_text():
    texts = ["ab\ncd\n", "\n", "efgh", "\n", "i\nj"]
    pieces = list(bibliography._pieces(texts, size=2))
    assert "".join(pieces) == "".join(texts)
    assert all(p.endswith("\n") for p in pieces[:-1]) and len(pieces) >= 4


@pytest.mark.parametrize("name,text", bib_texts(), ids=[n for n, _ in bib_texts()])
def test_references_without_fields_have_the_same_keys_lines_and_problems(name, text, tmp_path):
    path = tmp_path / "refs.bib"
    path.write_text(text, encoding="utf-8")

    def read(fields: bool) -> tuple:
        try:
            found = bibliography.read_bibliography(path, fields=fields)
        except bibliography.BibliographyError as err:
            return "error", [str(p) for p in err.problems]
        return "read", [(r.key, r.entry_type, r.file, r.line) for r in found]

    assert read(True) == read(False)
    if read(True)[0] == "read":
        assert all(r.fields == () for r in bibliography.read_bibliography(path, fields=False))
