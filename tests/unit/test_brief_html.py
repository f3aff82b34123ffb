"""The HTML brief's own embedding (analysis.brief.embed) and the cited-only bibliography
citeproc is given (analysis.brief.citekeys)."""

import base64

import pytest

from analysis.brief import render
from analysis.brief.citekeys import cited_bibliography, cited_keys
from analysis.brief.embed import EmbedError, embed_figures, style_header

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'


def test_own_figures_become_data_uris_and_nothing_else_is_read(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "forest-a.svg").write_bytes(SVG)
    brief = tmp_path / "brief"
    brief.mkdir()
    (brief / "prisma.png").write_bytes(b"\x89PNG")
    page = '<p>x</p><img src="../figures/forest-a.svg" alt="a &gt; b" /><img\nsrc="prisma.png">'
    out = embed_figures(page, brief)
    assert f'src="data:image/svg+xml;base64,{base64.b64encode(SVG).decode()}" alt="a &gt; b" />' in out
    assert 'src="data:image/png;base64,iVBORw=="' in out and out.startswith("<p>x</p><img ")
    (tmp_path / "secret.svg").write_bytes(SVG)
    for src in (
        "../secret.svg",
        "/etc/passwd",
        "../figures/../secret.svg",
        "http://127.0.0.1/a.svg",
        "a.txt",
    ):
        with pytest.raises(EmbedError, match="not one of the workflow's figures"):
            embed_figures(f'<img src="{src}" />', brief)
    with pytest.raises(EmbedError, match="not found"):
        embed_figures('<img src="../figures/missing.svg" />', brief)


def test_the_style_sheet_goes_in_a_style_element(tmp_path):
    css = tmp_path / "brief.css"
    css.write_text("body { color: red; }\n", encoding="utf-8")
    assert style_header(css) == "<style>\nbody { color: red; }\n</style>\n"
    css.write_text("a{}</STYLE><script>", encoding="utf-8")
    with pytest.raises(EmbedError):
        style_header(css)


BIB = """% a comment line
@string{jnl = "Journal"}
@article{Smith2020, author = {Smith, A.}, title = {One {braced} title}, journal = jnl, year = 2020}
@book{jones2019,
  author = {Jones, B.}, title = {Two}, year = {2019}, crossref = {coll2018}
}
@collection{coll2018, editor = {Ed, C.}, title = {The collection}, year = {2018}}
@article(uncited2001, author = {Nobody, N.}, title = {Not (cited)}, year = {2001})
@comment{whatever}
"""


def test_only_the_cited_entries_are_kept_with_what_they_need():
    qmd = "See [@smith2020; @jones2019], and @{odd key}. Mail a\\@b.org at 9."
    assert {"smith2020", "jones2019", "odd key"} <= cited_keys(qmd)
    kept = cited_bibliography(BIB, qmd)
    assert "@string{jnl" in kept and "Smith2020" in kept and "jones2019" in kept
    assert "@collection{coll2018" in kept  # the parent a kept entry names in crossref
    assert "uncited2001" not in kept and "whatever" not in kept and "a comment line" not in kept
    # Braces that do not balance: the whole bibliography, never a lost entry.
    assert (
        cited_bibliography(BIB + "@article{broken, title = {x}\n", qmd)
        == BIB + "@article{broken, title = {x}\n"
    )


def test_the_reference_list_is_the_same_with_the_cited_copy(tmp_path):
    bib = tmp_path / "full.bib"  # pandoc reads no @entry(...) form
    bib.write_text(
        BIB.replace("@article(uncited2001", "@article{uncited2001").replace("{2001})", "{2001}}"),
        encoding="utf-8",
    )
    qmd = tmp_path / "brief.qmd"
    qmd.write_text("---\ntitle: t\n---\n\nSee [@Smith2020; @jones2019].\n\n# References\n", encoding="utf-8")
    cited = render.cited_copy(qmd, bib, tmp_path / "cited.bib")
    assert "uncited2001" not in cited.read_text(encoding="utf-8")
    pages = []
    for source in (bib, cited):
        out = tmp_path / f"{source.stem}.html"
        render._run(render._pandoc(qmd, source, "html5", out), cwd=tmp_path)
        pages.append(out.read_text(encoding="utf-8"))
    assert pages[0] == pages[1]
    assert "Smith" in pages[0] and "Jones" in pages[0] and "Nobody" not in pages[0]
