"""The brief read in pieces (analysis/brief/pieces.py) is the AST pandoc reads from the whole page."""

import hashlib
import json
import subprocess

import pytest

from analysis.brief import pieces, render
from analysis.brief.render import pandoc_path, render_html_pandoc

# Duplicate headers across pieces and inside divs, explicit ids, citations in several pieces
# and in a table, a code fence and a div holding "# " lines, a setext header, YAML metadata,
# abbreviations (pandoc's command line keeps "et al. (2019)" together with a no-break space).
PAGE = """---
title: "A page"
abstract: "See [the messages](#key-messages)."
---

# Key messages

Text [@a2020; @b2021] and @c2019 says.

## Health

| Theme | Study |
|:--|:--|
| One | @a2020 |
| Two | [@b2021] |

# Theme one

## Health

::: {.wide}
## Health

```
# not a header
```
:::

## Section 2

## Section

## Section {#section-2-1}

# Theme two {#theme-one-1}

## Health

Setext health
-------------

# Theme one

Again [@c2019], as Lee et al. (2019) and Dr. Lee said.
"""


def whole(text: str) -> dict:
    done = subprocess.run(
        [pandoc_path(), "--standalone", "--from", "markdown", "--to", "json"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def piecewise(text: str, cache) -> dict:
    found = pieces.read_markdown_json(text, pandoc_path(), cache)
    assert found is not None, "the page went to the whole-page reader"
    return json.loads(found)


def count_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = pieces._Reader.read
    monkeypatch.setattr(pieces._Reader, "read", lambda self, text: reads.append(text) or real(self, text))
    return reads


def test_the_pieces_join_to_the_page_and_cut_only_at_headers_outside_fences_and_divs():
    parts = pieces.split_pieces(PAGE)
    assert "".join(parts) == PAGE
    assert parts[0].startswith("---\n") and parts[0].rstrip().endswith("---")
    assert all(p.startswith("#") for p in parts[1:])
    assert not any(p.startswith("## Health\n\n```") for p in parts)  # the one inside the div
    assert not any(p.startswith("# not a header") for p in parts)


def test_the_pieces_read_to_the_whole_pages_ast(tmp_path):
    expected = whole(PAGE)
    ids = [b["c"][1][0] for b in expected["blocks"] if b["t"] == "Header"]
    assert "health-1" in ids and "theme-one-2" in ids  # the page does need the carried state
    assert "al.\u00a0(2019)" in json.dumps(expected, ensure_ascii=False)
    assert piecewise(PAGE, tmp_path) == expected


def test_unchanged_pieces_are_not_read_again(tmp_path, monkeypatch):
    piecewise(PAGE, tmp_path)
    reads = count_reads(monkeypatch)
    assert piecewise(PAGE, tmp_path) == whole(PAGE)
    assert reads == []
    changed = PAGE.replace("Again [@c2019],", "Again and again [@c2019; @a2020],")
    assert piecewise(changed, tmp_path) == whole(changed)
    assert len(reads) == 1 and "Again and again" in reads[0]


@pytest.mark.parametrize(
    "damage",
    ["truncated blocks", "cut at a block", "no head", "head of another shape", "empty", "not text",
     "ids not text", "notes not a number", "meta not json"],
)  # fmt: skip
def test_a_damaged_cached_piece_is_read_again_never_an_error(tmp_path, monkeypatch, damage):
    piecewise(PAGE, tmp_path)
    victim = max(tmp_path.glob("*.piece"), key=lambda p: p.stat().st_size)
    text = victim.read_text(encoding="utf-8")
    head, blocks = text.split("\n", 1)
    victim.write_bytes(
        {
            "truncated blocks": (head + "\n" + blocks[: len(blocks) // 2]).encode("utf-8"),
            "no head": blocks.encode("utf-8"),
            "head of another shape": ("[1, 2]\n" + blocks).encode("utf-8"),
            "empty": b"",
            "not text": b"\xff\xfe\x00 not utf-8",
            "cut at a block": (head + "\n" + blocks[: blocks.rindex(',{"t":')]).encode("utf-8"),
            "ids not text": (_head_with(head, ids=[1]) + "\n" + blocks).encode("utf-8"),
            "notes not a number": (_head_with(head, notes="2") + "\n" + blocks).encode("utf-8"),
            "meta not json": (_head_with(head, meta="{") + "\n" + blocks).encode("utf-8"),
        }[damage]
    )
    reads = count_reads(monkeypatch)
    assert piecewise(PAGE, tmp_path) == whole(PAGE)
    assert len(reads) == 1  # the damaged piece alone, read again


def _head_with(head: str, **changes) -> str:
    return json.dumps({**json.loads(head), **changes}, ensure_ascii=False)


def test_a_cached_piece_pandoc_refuses_sends_the_page_to_the_whole_reader(tmp_path):
    """Blocks that are JSON, with their own checksum, but no pandoc blocks: pandoc refuses
    the assembled page, the pieces are dropped and the page is read whole."""
    brief = tmp_path / "brief"
    brief.mkdir()
    (brief / "refs.bib").write_text("@article{a2020, author = {Smith, Ann}, title = {One}, year = {2020}}\n")
    (brief / "brief.css").write_text("p { margin: 0 }\n", encoding="utf-8")
    qmd = brief / "brief.qmd"
    qmd.write_text(PAGE.replace("; @b2021", "").replace("@c2019", "@a2020") + "\n# References\n")
    cache = tmp_path / "cache"
    render_html_pandoc(qmd, brief / "refs.bib", brief / "brief.css", brief / "brief.html")
    whole_page = (brief / "brief.html").read_bytes()
    render_html_pandoc(qmd, brief / "refs.bib", brief / "brief.css", brief / "brief.html", cache)
    victim = max(cache.glob("*.piece"), key=lambda p: p.stat().st_size)
    head = json.loads(victim.read_text(encoding="utf-8").split("\n", 1)[0])
    head["sha"] = hashlib.sha256(b"1,2").hexdigest()
    victim.write_text(json.dumps(head) + "\n1,2", encoding="utf-8")
    render_html_pandoc(qmd, brief / "refs.bib", brief / "brief.css", brief / "brief.html", cache)
    assert (brief / "brief.html").read_bytes() == whole_page
    assert not victim.exists()


def test_brackets_inside_an_attribute_value_keep_the_page_in_pieces(tmp_path):
    """A figure's alt text naming a sample ("[sample-2]") sits in a quoted attribute."""
    figure = '![A forest plot](a.svg){#fig-a fig-alt="Forest plot, Lee (2019) [sample-2]: r 0.1" width=100%}'
    page = PAGE + "\n# Figures\n\n" + figure + "\n"
    assert not pieces.whole_read_needed(page, pieces.split_pieces(page))
    assert piecewise(page, tmp_path) == whole(page)
    loose = page.replace("width=100%}", "width=100%} and [a shortcut]")
    assert pieces.whole_read_needed(loose, pieces.split_pieces(loose))


def test_a_new_header_earlier_renumbers_the_later_pieces(tmp_path):
    piecewise(PAGE, tmp_path)
    earlier = PAGE.replace("# Theme one\n\n## Health\n", "# Theme one\n\n## Health\n\n## Health\n", 1)
    assert piecewise(earlier, tmp_path) == whole(earlier)
    fewer = PAGE.replace("## Health\n\n| Theme", "## Wealth\n\n| Theme", 1)
    assert piecewise(fewer, tmp_path) == whole(fewer)


def test_entries_of_pieces_no_longer_in_the_page_are_removed(tmp_path):
    piecewise(PAGE, tmp_path)
    before = set(tmp_path.glob("*.piece"))
    piecewise(PAGE.replace("Again [@c2019],", "Once more,"), tmp_path)
    after = set(tmp_path.glob("*.piece"))
    assert len(after) == len(before) and len(after - before) == 1


@pytest.mark.parametrize(
    "markup",
    [
        "See [Key messages].",  # a shortcut reference to a header
        "See [the site][site].\n\n[site]: https://example.org",
        "A note.[^1]\n\n[^1]: The note.",
        "An inline note.^[The note.]",
        "(@) An example.",
        "<!-- a comment -->",
        "---\nlate: metadata\n---",
        "<div>\n\n# Inside raw HTML\n\n</div>",
        "\\newcommand{\\x}{y}",
        "-------- --------\nA        B\n-------- --------",
        "Mail [ann@example.org] now.",
    ],
)
def test_markup_that_crosses_pieces_sends_the_page_to_the_whole_reader(tmp_path, markup):
    page = PAGE + "\n# Last\n\n" + markup + "\n"
    assert pieces.read_markdown_json(page, pandoc_path(), tmp_path) is None


@pytest.mark.parametrize("separator", ["\u2028", "\u00a0", "\x0c"])
def test_only_a_newline_and_a_blank_line_end_a_paragraph_before_a_header(tmp_path, separator):
    page = PAGE + f"\n# Last\n\nText{separator}\n{separator}\n# not a header here\n"
    assert not any(p.startswith("# not a header") for p in pieces.split_pieces(page))
    assert piecewise(page, tmp_path) == whole(page)


def test_escaped_brackets_and_links_and_spans_stay_in_pieces():
    page = "# A\n\nText \\[not a link\\] [a link](https://example.org) [span]{.x} [@a2020]\n\n# B\n"
    assert not pieces.whole_read_needed(page, pieces.split_pieces(page))


def test_the_html_is_the_same_with_and_without_the_piece_cache(tmp_path):
    brief = tmp_path / "brief"
    brief.mkdir()
    (brief / "refs.bib").write_text(
        "@article{a2020, author = {Smith, Ann}, title = {One}, journal = {J}, year = {2020}}\n"
        "@article{b2021, author = {Jones, Bo}, title = {Two}, journal = {J}, year = {2021},"
        " url = {file:///etc/passwd}}\n"
        "@article{c2019, author = {Lee, Cy}, title = {Three}, journal = {J}, year = {2019}}\n",
        encoding="utf-8",
    )
    (brief / "brief.css").write_text("p { margin: 0 }\n", encoding="utf-8")
    qmd = brief / "brief.qmd"
    qmd.write_text(PAGE + "\n[bad](javascript:alert(1)) [good](https://example.org)\n\n# References\n")
    pages = []
    for cache in (None, tmp_path / "cache", tmp_path / "cache"):
        render_html_pandoc(qmd, brief / "refs.bib", brief / "brief.css", brief / "brief.html", cache)
        pages.append((brief / "brief.html").read_bytes())
    assert pages[0] == pages[1] == pages[2]
    assert b"javascript:" not in pages[0] and b'href="file:' not in pages[0]  # guard.lua ran
    assert list((tmp_path / "cache").glob("*.piece"))


def test_a_failing_piece_reader_is_a_renderer_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pieces, "LUA_READER", tmp_path / "missing.lua")
    qmd = tmp_path / "brief.qmd"
    qmd.write_text(PAGE, encoding="utf-8")
    with pytest.raises(render.RendererError, match="reading the brief in pieces failed"):
        render.read_pieces(qmd, tmp_path / "cache", tmp_path / "out.json")
