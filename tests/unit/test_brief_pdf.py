"""The PDF's shorter tables (analysis.brief.common.pdf_cap + report/pdf.lua)."""

import subprocess

from analysis.brief import render
from analysis.brief.common import pdf_cap


def test_pdf_cap_keeps_the_top_rows_by_rank_in_their_order():
    items = [{"w": w} for w in (1, 9, 3, 8, 2)]
    attrs = pdf_cap(items, 2, lambda r: -r["w"], "samples", "the 2 that weigh most", "x.csv")
    assert 'pdf-keep="1 3"' in attrs
    assert "2 of these 5 samples" in attrs and "`x.csv`" in attrs and "brief.html" in attrs
    assert pdf_cap(items, 5, lambda r: -r["w"], "samples", "", "x.csv") == ""


def _filtered(markdown: str, tmp_path) -> str:
    src = tmp_path / "in.md"
    src.write_text(markdown, encoding="utf-8")
    done = subprocess.run(
        [render.pandoc_path(), str(src), "--to", "markdown", f"--lua-filter={render.PDF_FILTER}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def test_pdf_filter_drops_the_rows_not_kept_and_says_so(tmp_path):
    rows = "\n".join(f"| row{i} | {i} |" for i in range(5))
    out = _filtered(
        f'::: {{.wide pdf-keep="1 3" pdf-note="*The PDF shows 2 of these 5 rows.*"}}\n\n'
        f"| A | B |\n|:--|--:|\n{rows}\n\n: Caption\n\n:::\n",
        tmp_path,
    )
    assert "row1" in out and "row3" in out
    assert not any(f"row{i}" in out for i in (0, 2, 4))
    assert "*The PDF shows 2 of these 5 rows.*" in out and "pdf-keep" not in out and "\\*" not in out


def test_pdf_filter_leaves_other_tables_whole_and_unlinks_citations(tmp_path):
    out = _filtered("| A |\n|:--|\n| r0 |\n| r1 |\n\nSee [Smith 2020](#ref-smith2020) and [x](https://a.org).\n",
                    tmp_path)  # fmt: skip
    assert "r0" in out and "r1" in out
    assert "#ref-smith2020" not in out and "Smith 2020" in out and "https://a.org" in out
