"""The pandoc path reads no file but the workflow's own figures (report/guard.lua)."""

import base64

from analysis.brief.render import render_html_pandoc

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'


def test_only_own_figures_are_embedded_and_only_safe_links_kept(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "forest-a.svg").write_text(SVG, encoding="utf-8")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not a figure of ours")
    brief = tmp_path / "brief"
    brief.mkdir()
    qmd = brief / "brief.qmd"
    qmd.write_text(
        "---\ntitle: t\n---\n\n"
        "![ours](../figures/forest-a.svg)\n\n"
        f"![local]({secret})\n\n![up](../secret.png)\n\n![net](http://127.0.0.1:9/x.png)\n\n"
        "[bad](javascript:alert(1)) [good](https://example.org) [doi](doi:10.1/x) [here](#t)\n",
        encoding="utf-8",
    )
    (brief / "refs.bib").write_text("", encoding="utf-8")
    (brief / "brief.css").write_text("", encoding="utf-8")
    html = brief / "brief.html"
    render_html_pandoc(qmd, brief / "refs.bib", brief / "brief.css", html)
    text = html.read_text(encoding="utf-8")
    assert base64.b64encode(b"\x89PNG not").decode()[:8] not in text
    assert "127.0.0.1" not in text and "secret.png" not in text
    assert text.count("[image not shown]") == 3
    assert "javascript:" not in text
    assert 'href="https://example.org"' in text and 'href="#t"' in text
    assert "<svg" in text or "data:image/svg+xml" in text  # our figure is embedded
