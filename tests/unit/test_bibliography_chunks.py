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


# ---------------------------------------------------------------- the block cache (issue 14)


def cached_outcome(text: str, cache, fields: bool = True) -> tuple:
    references, problems = bibliography.parse_text(text, "refs.bib", fields, cache)
    return [(r.key, r.entry_type, r.fields, r.file, r.line) for r in references], [str(p) for p in problems]


def through_a_file(tmp_path, text: str, before: str | None = None):
    """The outcome of ``text`` with a cache file that a parse of ``before`` wrote (none: cold),
    and the number of blocks parsed for it."""
    from analysis.inputs.bibcache import BibCache

    path = tmp_path / "bibliography.json"
    path.unlink(missing_ok=True)
    if before is not None:
        first = BibCache(path, write=True)
        bibliography.parse_text(before, "refs.bib", True, first)
        first.save()
    cache = BibCache(path)
    return cached_outcome(text, cache), cache.parsed


@pytest.mark.parametrize("name", sorted(TRICKY))
@pytest.mark.parametrize("chunk", [1, 3, 10**9])
def test_tricky_texts_through_the_block_cache_give_what_one_parse_gives(name, chunk, monkeypatch, tmp_path):
    text = TRICKY[name]
    whole = outcome(text, 10**9, monkeypatch)
    monkeypatch.setattr(bibliography, "CHUNK_ENTRIES", chunk)  # the run of missing blocks parsed at once
    assert through_a_file(tmp_path, text)[0] == whole  # cold
    assert through_a_file(tmp_path, text, before=text) == (whole, 0) or "string" in name or whole[1]
    assert (
        through_a_file(tmp_path, text, before=entries(3) + TRICKY["nested braces across lines"])[0] == whole
    )


@pytest.mark.parametrize("name,text", bib_texts(), ids=[n for n, _ in bib_texts()])
def test_the_repositorys_bibliographies_through_the_block_cache_give_what_one_parse_gives(
    name, text, monkeypatch, tmp_path
):
    whole = outcome(text, 10**9, monkeypatch)
    assert through_a_file(tmp_path, text)[0] == whole
    assert through_a_file(tmp_path, text, before=text)[0] == whole
    edited = text.replace("year", "year", 1)
    assert through_a_file(tmp_path, edited, before=entries(2))[0] == whole


def test_an_added_entry_is_the_only_block_parsed_and_lines_move_with_the_text(tmp_path, monkeypatch):
    from benchmarks.generate import generate

    _, bib = generate(120, 1, tmp_path / "corpus")
    text = bib.read_text(encoding="utf-8")
    cut = text.index("\n@", len(text) // 2) + 1
    added = (
        "@article{zz_new,\n  author = {New, Ann},\n  title = {Added},\n  year = {2024},\n  doi = {bad}\n}\n\n"
    )
    grown = text[:cut] + added + text[cut:]
    found, parsed = through_a_file(tmp_path, grown, before=text)
    assert found == outcome(grown, 10**9, monkeypatch)
    assert parsed == 1
    assert any("zz_new" in p and "is not a DOI" in p for p in found[1])
    # fields=False from the cache: the same keys, lines and problems, no fields
    from analysis.inputs.bibcache import BibCache

    without = cached_outcome(grown, BibCache(tmp_path / "bibliography.json"), fields=False)
    assert [(k, t, f, line) for k, t, _, f, line in without[0]] == [
        (k, t, f, line) for k, t, _, f, line in found[0]
    ]
    assert all(fields == () for _, _, fields, _, _ in without[0]) and without[1] == found[1]


def _written_cache(text: str, folder):
    """The block cache check_inputs writes after parsing ``text``: its path."""
    from analysis.inputs import bibcache

    path = folder / "bibliography.json"
    first = bibcache.BibCache(path, write=True)
    bibliography.parse_text(text, "refs.bib", True, first)
    first.save()
    return path


def test_a_damaged_or_foreign_cache_is_a_miss(tmp_path, monkeypatch):
    from analysis.inputs import bibcache

    text = entries(5)
    whole = outcome(text, 10**9, monkeypatch)
    path = _written_cache(text, tmp_path)
    good = path.read_text(encoding="utf-8")
    for damaged in (good[: len(good) // 2], "\xff not json", good.replace('"code": "', '"code": "x'), "[]"):
        path.write_text(damaged, encoding="utf-8")
        cache = bibcache.BibCache(path)
        assert cache.blocks == {} and cached_outcome(text, cache) == whole and cache.parsed == 5
    # a hit is a hit only for the same bytes: another title is parsed again
    path.write_text(good, encoding="utf-8")
    changed = text.replace("Title 2", "Title two")
    cache = bibcache.BibCache(path)
    assert cached_outcome(changed, cache) == outcome(changed, 10**9, monkeypatch) and cache.parsed == 1


@pytest.mark.parametrize(
    "damage",
    ["field name not text", "field value not text", "problem not text", "key a path", "line not a number"],
)
def test_a_cache_of_the_right_version_with_wrong_values_is_a_miss(tmp_path, monkeypatch, damage):
    """Valid JSON with this version and code, but values the parser never gives: a miss
    (parsed again), never an error and never served."""
    import json

    from analysis.inputs import bibcache

    text = entries(3)
    whole = outcome(text, 10**9, monkeypatch)
    path = _written_cache(text, tmp_path)
    record = json.loads(path.read_text(encoding="utf-8"))
    digest = sorted(record["blocks"])[0]
    entry = record["blocks"][digest][0]
    if damage == "field name not text":
        entry[2][0][0] = 7
    elif damage == "field value not text":
        entry[2][0][1] = ["a", "list"]
    elif damage == "problem not text":
        entry[4] = [[entry[0], None, None]]
    elif damage == "key a path":
        entry[0] = "../../etc/passwd"
    else:
        entry[3] = "12"
    path.write_text(json.dumps(record), encoding="utf-8")
    cache = bibcache.BibCache(path)
    assert cache.blocks == {} and cached_outcome(text, cache) == whole


def test_check_inputs_writes_the_block_cache_and_parse_bibliography_reads_it(tmp_path):
    import shutil

    from analysis.inputs.bibcache import CACHE, BibCache
    from analysis.inputs.check import check_inputs

    extracted = tmp_path / "extracted"
    shutil.copytree(ROOT / "extracted", extracted, ignore=shutil.ignore_patterns("second-coder"))
    bib = tmp_path / "references.bib"
    bib.write_text((ROOT / "references" / "references.bib").read_text(encoding="utf-8"), encoding="utf-8")
    results = tmp_path / "results"
    check_inputs(extracted, bib, results)
    assert (results / CACHE).is_file() and BibCache(results / CACHE).blocks
    count = bibliography.write_references(bib, tmp_path / "a.csv", tmp_path / "a.bib", results / CACHE)
    bibliography.write_references(bib, tmp_path / "b.csv", tmp_path / "b.bib")
    assert count > 10
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.bib").read_bytes() == (tmp_path / "b.bib").read_bytes()
