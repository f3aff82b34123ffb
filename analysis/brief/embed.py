"""Make pandoc's HTML brief self-contained: the style sheet and the figures go into the file.

pandoc's own ``--embed-resources`` re-reads the whole HTML it has written (as tag soup) to
embed what it links to, and at 10,000 studies that pass alone doubled the render's memory
(332 MiB instead of 210 MiB in use with no figure at all; 504 MiB with the 81 figures). The
brief links to two kinds of resource only, so they are embedded here instead, in one pass
over the text: the style sheet goes in the page's head as a ``<style>`` element (pandoc's
``--include-in-header``, see :func:`style_header`), and each ``<img>`` of one of the
workflow's own figures gets its file as a base64 ``data:`` URI (:func:`embed_figures`).

Only the figures report/guard.lua lets through are read: a file name ending in ``.svg`` or
``.png``, in the ``figures`` folder of the results or next to the ``.qmd``. Any other image
source is refused (guard.lua has already turned such images into text; this is the second
check), and nothing is ever fetched.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

# An <img> element as pandoc writes it: attributes name="value", values escaped.
_IMG = re.compile(r'<img(?:\s+[\w:.-]+(?:="[^"]*")?)*\s*/?>')
_SRC = re.compile(r'\ssrc="([^"]*)"')
# The figures report/guard.lua keeps (its own_figure()).
_OWN = re.compile(r"\A(?:\.\./figures/)?[A-Za-z0-9_.-]+\.(svg|png)\Z")
MIME = {"svg": "image/svg+xml", "png": "image/png"}


class EmbedError(RuntimeError):
    """An image of the HTML brief is not one of the workflow's own figures, or is missing."""


def style_header(css: Path) -> str:
    """The ``<style>`` element of the brief's style sheet, for ``--include-in-header``."""
    text = css.read_text(encoding="utf-8")
    if "</style" in text.lower():
        raise EmbedError(f"{css}: a style sheet cannot contain '</style'")
    return f"<style>\n{text.rstrip()}\n</style>\n"


def _data_uri(src: str, folder: Path) -> str:
    found = _OWN.fullmatch(src)
    if not found or ".." in src.removeprefix("../figures/"):
        raise EmbedError(
            f"brief.html: the image {src!r} is not one of the workflow's figures "
            "(report/guard.lua should have dropped it)"
        )
    path = folder / src
    if not path.is_file():
        raise EmbedError(f"brief.html: figure {src} not found next to the brief (rule draw_figures draws it)")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{MIME[found.group(1)]};base64,{data}"


def embed_figures(page: str, folder: Path) -> str:
    """``page`` (pandoc's HTML) with each ``<img src>`` a ``data:`` URI of its file; the
    sources are relative to ``folder`` (the ``.qmd``'s folder, where pandoc ran)."""

    def one(tag: re.Match) -> str:
        text = tag.group(0)
        src = _SRC.search(text)
        if src is None:
            return text
        uri = _data_uri(html.unescape(src.group(1)), folder)
        return text[: src.start(1)] + uri + text[src.end(1) :]

    return _IMG.sub(one, page)
