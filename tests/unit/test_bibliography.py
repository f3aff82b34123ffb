"""Bibliography parsing: intact names, every problem with file and line."""

import csv
import io

import pytest

from analysis.inputs.bibliography import (
    BibliographyError,
    parse_text,
    read_bibliography,
    reference_rows,
    rows_to_csv,
    write_references,
)

GOOD = r"""@article{calvoarmengol2004,
  author = {Calv{\'o}-Armengol, Antoni and Jackson, Matthew O.},
  title = {The Effects of Social Networks on Employment and Inequality},
  journal = {American Economic Review}, year = {2004}, pages = {426--454}
}
@article{makela2009,
  author = {M{\"a}kel{\"a}, Pia}, title = {Social capital}, year = {2009},
  note = {unverified: pages}
}
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_non_ascii_names_come_through(tmp_path):
    refs = read_bibliography(write(tmp_path, "a.bib", GOOD))
    authors = {r.key: r.get("author") for r in refs}
    assert authors["calvoarmengol2004"].startswith("Calvó-Armengol, Antoni")
    assert authors["makela2009"] == "Mäkelä, Pia"


def test_rows_flag_unverified_and_keep_note(tmp_path):
    rows = reference_rows(read_bibliography(write(tmp_path, "a.bib", GOOD)))
    by_key = {r["key"]: r for r in rows}
    assert by_key["makela2009"]["unverified"] == "true"
    assert by_key["makela2009"]["note"] == "unverified: pages"
    assert by_key["calvoarmengol2004"]["unverified"] == "false"
    assert by_key["calvoarmengol2004"]["pages"] == "426–454"
    assert by_key["calvoarmengol2004"]["container"] == "American Economic Review"


def test_duplicate_key_reported_with_file_and_line(tmp_path):
    path = write(tmp_path, "a.bib", GOOD + "\n@misc{makela2009, author={X}, title={Y}, year={2001}}\n")
    with pytest.raises(BibliographyError) as err:
        read_bibliography(path)
    (problem,) = err.value.problems
    assert problem.key == "makela2009" and problem.line == 11 and "duplicate key" in problem.message
    assert str(problem).startswith(f"{path}:11: entry 'makela2009' duplicate key")


def test_duplicate_key_across_files_of_a_folder(tmp_path):
    write(tmp_path, "a.bib", GOOD)
    write(tmp_path, "b.bib", "@misc{makela2009, author={X}, title={Y}, year={2001}}\n")
    with pytest.raises(
        BibliographyError, match=r"b.bib:1: entry 'makela2009' duplicate key \(also at .*a.bib:6\)"
    ):
        read_bibliography(tmp_path)


def test_unparsable_entry_reported(tmp_path):
    path = write(tmp_path, "a.bib", GOOD + "@article{broken, title = {no end\n")
    with pytest.raises(BibliographyError, match=r"a.bib:10: entry cannot be parsed"):
        read_bibliography(path)


def test_missing_fields_each_reported(tmp_path):
    path = write(tmp_path, "a.bib", "@misc{x, title={T}}\n")
    with pytest.raises(BibliographyError) as err:
        read_bibliography(path)
    assert [p.message for p in err.value.problems] == ["missing field 'author'", "missing field 'year'"]


@pytest.mark.parametrize("content", ["", "% only a comment\n"])
def test_empty_bibliography_is_an_error(tmp_path, content):
    with pytest.raises(BibliographyError, match="no entries"):
        read_bibliography(write(tmp_path, "a.bib", content))


def test_missing_bibliography_is_an_error(tmp_path):
    with pytest.raises(BibliographyError, match="no bibliography found"):
        read_bibliography(tmp_path / "absent.bib")
    with pytest.raises(BibliographyError, match="no bibliography found"):
        read_bibliography(tmp_path)  # a folder without .bib files


def test_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "a.bib"
    path.write_bytes("@misc{x, author={M\xe4kel\xe4}, title={T}, year={2000}}".encode("latin-1"))
    with pytest.raises(BibliographyError, match="not UTF-8"):
        read_bibliography(path)


def test_write_references_is_deterministic(tmp_path):
    bib = write(tmp_path, "a.bib", GOOD)
    write_references(bib, tmp_path / "r1.csv", tmp_path / "r1.bib")
    write_references(bib, tmp_path / "r2.csv", tmp_path / "r2.bib")
    assert (tmp_path / "r1.csv").read_bytes() == (tmp_path / "r2.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r1.csv").read_text(encoding="utf-8"))))
    assert [r["key"] for r in rows] == ["calvoarmengol2004", "makela2009"]
    assert rows_to_csv([]).startswith("key,entry_type,author,title,year")


def test_project_bibliography_parses_with_every_seed_work():
    from tests.conftest import ROOT

    refs = {r.key: r for r in read_bibliography(ROOT / "references")}
    assert len(refs) >= 57
    assert refs["calvoarmengol2004"].get("author").startswith("Calvó-Armengol")
    # `note` flags on unverified metadata are kept
    assert "unverified" in refs["putnam2000"].get("note")


# ---------------------------------------------------------------- issue 16: LaTeX is text


def test_unknown_commands_are_text_for_pandoc():
    from analysis.inputs.latex import inert_bibtex

    text = r"title = {A \'e \"o {\"U} \& \_ \textit{x} \includegraphics{/etc/passwd} \input{f} \\url{j} ^^5c}"
    out = inert_bibtex(text)
    assert r"\'e \"o {\"U} \& \_ \textit{x}" in out  # what LaTeX means, kept
    assert r"\textbackslash{}includegraphics{/etc/passwd}" in out
    assert r"\textbackslash{}input{f}" in out
    assert r"\textbackslash{}\textbackslash{}url{j}" in out  # \\ cannot make \url a command again
    assert "^^" not in out
    assert inert_bibtex(inert_bibtex(text)) == inert_bibtex(text)


def test_latex_to_text_matches_what_references_csv_showed():
    from analysis.inputs.latex import to_text

    # As pylatexenc (the decoder before issue 16) gave them.
    for latex, text in [
        (r"Calv{\'o}-Armengol", "Calvó-Armengol"),
        (r"Nordstr{\"o}m", "Nordström"),
        (r"Social Science \& Medicine", "Social Science & Medicine"),
        (r"social\_capital", "social_capital"),
        (r"community ``social capital''", "community “social capital”"),
        ("697--709", "697–709"),
        (r"\'{\i} \c{c} \v{s} \ss \o", "í ç š ßø"),
        (r"\includegraphics{/etc/passwd}", r"\includegraphics/etc/passwd"),
    ]:
        assert to_text(latex) == text


def test_a_long_field_is_parsed_in_linear_time():
    import time

    def seconds(n: int) -> float:
        text = "@misc{a2020, author={A, B}, title={" + "w\\'e " * n + "}, year={2020}}\n"
        start = time.perf_counter()
        parse_text(text, "x.bib")
        return time.perf_counter() - start

    small, large = seconds(20_000), seconds(80_000)
    assert large < 8 * small + 0.5, (small, large)  # 4x the text: about 4x the time, not 16x


def test_references_bib_for_pandoc_is_inert(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text(
        "@misc{a2020, author={A, B}, title={\\includegraphics{/etc/passwd} x}, year={2020}}\n",
        encoding="utf-8",
    )
    write_references(bib, tmp_path / "references.csv", tmp_path / "references.bib")
    assert "\\textbackslash{}includegraphics" in (tmp_path / "references.bib").read_text(encoding="utf-8")
    assert "\\includegraphics/etc/passwd x" in (tmp_path / "references.csv").read_text(encoding="utf-8")
