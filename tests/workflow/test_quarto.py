"""The brief rendered by real Quarto, against the pandoc + typst path, on the seed corpus.

`make test` installs Quarto from ../shared/tools/quarto into .cache/quarto (make quarto);
these tests use that install, else a `quarto` on PATH, and are skipped (with the reason)
when there is neither. One workflow build of the seed corpus (extracted/, references/) is
shared by the module: first with renderer=pandoc, then again with renderer=quarto (only
the brief is redone), and the Quarto renders once more into another folder to check that
two Quarto builds of one commit are byte-identical. About four minutes.

Set BRIEF_SCREENSHOT_DIR to keep the screenshots and PDF page images to look at.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis.brief import render
from analysis.io import read_table

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT.parent / "shared" / "tools" / "quarto"
CACHE_BIN = ROOT / ".cache" / "quarto" / "bin"
EPOCH = "1700000000"  # any fixed commit time: both builds must agree on it
MINUS = "\u2212"
FONT_AWESOME = re.compile("[\uf000-\uf8ff]")  # icon glyphs (private use area) in Quarto's callouts


def quarto_bin() -> Path:
    """The folder of the `quarto` to test: .cache/quarto (make quarto), else one on PATH."""
    if (CACHE_BIN / "quarto").is_file():
        return CACHE_BIN
    found = shutil.which("quarto")
    if found:
        return Path(found).parent
    if not BUNDLE.is_dir():
        pytest.skip(
            f"no Quarto: {BUNDLE} does not exist and no quarto is on PATH (the pandoc path is tested)"
        )
    pytest.skip(f"Quarto not installed: `make quarto` (part of `make test`) installs it from {BUNDLE}")


def env_with(path_first: Path | None) -> dict:
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "quarto").exists()]
    env["PATH"] = os.pathsep.join(([str(path_first)] if path_first else []) + parts)
    return env


def snakemake(
    results: Path, renderer: str, env: dict, *extra: str, check=True
) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        "--rerun-incomplete",
        str(results / "brief" / "brief.html"),
        str(results / "brief" / "brief.pdf"),
        *extra,
        "--config",
        f"extracted_dir={ROOT / 'extracted'}",
        f"bibliography={ROOT / 'references'}",
        f"results_dir={results}",
        f"renderer={renderer}",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"workflow failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
    return done


@pytest.fixture(scope="module")
def quarto() -> Path:
    return quarto_bin()


@pytest.fixture(scope="module")
def builds(quarto, tmp_path_factory) -> dict[str, Path]:
    """Paths of the pandoc and Quarto renders of one build of the seed corpus."""
    root = tmp_path_factory.mktemp("quarto")
    results = root / "results"
    out = {}
    snakemake(results, "pandoc", env_with(quarto))  # Quarto on PATH: the setting decides
    for name in ("brief.html", "brief.pdf", "brief.qmd"):
        out[f"pandoc-{name}"] = shutil.copy(results / "brief" / name, root / f"pandoc-{name}")
    snakemake(results, "quarto", env_with(quarto))
    for name in ("brief.html", "brief.pdf", "brief.qmd"):
        out[f"quarto-{name}"] = results / "brief" / name
    # The same Quarto source rendered again, from a copy in another folder.
    again = root / "again"  # as deep as results: the .qmd's relative paths hold
    shutil.copytree(results, again, ignore=shutil.ignore_patterns("brief.html", "brief.pdf"))
    old_path = os.environ["PATH"]
    os.environ["PATH"] = env_with(quarto)["PATH"]
    try:
        qmd, bib, figures = again / "brief" / "brief.qmd", again / "references.bib", again / "figures"
        css = ROOT / "report" / "brief.css"
        others = [ROOT / "report" / "brief.csl", again / "brief" / "prisma.svg"]  # as the rules give
        kw = {"epoch": int(EPOCH), "figures": figures, "others": others, "renderer": "quarto"}
        render.render_html(qmd, bib, css, again / "brief" / "brief.html", **kw)
        render.render_pdf(qmd, bib, again / "brief" / "brief.pdf", root=again, **kw)
    finally:
        os.environ["PATH"] = old_path
    out["again-brief.html"], out["again-brief.pdf"] = (
        again / "brief" / "brief.html",
        again / "brief" / "brief.pdf",
    )
    out["results"] = results
    out["root"] = root
    return out


# --- reading the two HTML pages ----------------------------------------------------------


class Content(HTMLParser):
    """What a reader gets from a page: headings, table rows, figures, citations, references."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.images: list[dict] = []
        self.cites: list[str] = []
        self.references: dict[str, str] = {}
        self.text: list[str] = []
        self.callouts = 0
        self._stack: list[tuple[str, dict]] = []
        self._heading: list[str] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._ref: tuple[str, list[str]] | None = None
        self._skip = 0  # inside the table of contents, the title block, a script or a style

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag in ("nav", "header", "script", "style") or (tag == "div" and "quarto-title" in classes):
            self._skip += 1
        if tag in ("img", "br", "meta", "link", "input", "hr", "col"):
            if tag == "img":
                self.images.append(attrs)
            return
        self._stack.append((tag, attrs))
        if re.fullmatch(r"h[1-6]", tag) and not self._skip:
            self._heading = []
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "span" and "citation" in classes:
            self.cites += (attrs.get("data-cites") or "").split()
        elif tag == "div" and (attrs.get("id") or "").startswith("ref-"):
            self._ref = (attrs["id"], [])
        if tag == "div" and any(c.startswith("callout") for c in classes) and "callout" in classes:
            self.callouts += 1
        elif tag == "div" and "callout-note" in classes:
            self.callouts += 1

    def handle_endtag(self, tag):
        while self._stack:
            open_tag, attrs = self._stack.pop()
            self._close(open_tag, attrs)
            if open_tag == tag:
                break

    def _close(self, tag, attrs):
        classes = (attrs.get("class") or "").split()
        if tag in ("nav", "header", "script", "style") or (tag == "div" and "quarto-title" in classes):
            self._skip -= 1
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append(plain("".join(self._heading)))
            self._heading = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(plain("".join(self._cell)))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "div" and self._ref and attrs.get("id") == self._ref[0]:
            self.references[self._ref[0]] = plain("".join(self._ref[1]))
            self._ref = None

    def handle_data(self, data):
        for part in (self._heading, self._cell, self._ref[1] if self._ref else None):
            if part is not None:
                part.append(data)
        if not self._skip:
            self.text.append(data)


def plain(text: str) -> str:
    """Whitespace collapsed (NBSP too), typographic minus as '-', icon glyphs dropped."""
    return " ".join(FONT_AWESOME.sub("", text).replace("\u00a0", " ").replace(MINUS, "-").split())


def content(path: Path) -> Content:
    parser = Content()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def pdf_text(path: Path) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed: apt-get install poppler-utils")
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def pages(builds) -> dict[str, Content]:
    return {name: content(builds[f"{name}-brief.html"]) for name in ("pandoc", "quarto")}


@pytest.fixture(scope="module")
def pdfs(builds) -> dict[str, str]:
    return {name: pdf_text(builds[f"{name}-brief.pdf"]) for name in ("pandoc", "quarto")}


# --- 1. the Quarto path works ------------------------------------------------------------


def test_renderer_setting_picks_the_renderer(builds, pages, quarto):
    """renderer=pandoc with Quarto on PATH renders with pandoc; renderer=quarto with Quarto;
    the brief's methods name the renderer and its version."""
    version = subprocess.run([quarto / "quarto", "--version"], capture_output=True, text=True).stdout.strip()
    pandoc = plain("".join(pages["pandoc"].text))
    assert re.search(
        r"rendered from one Quarto source by pandoc [\d.]+ and typst [\d.]+ \(no Quarto\)\.", pandoc
    )
    assert f"rendered from one Quarto source by Quarto {version}." in plain("".join(pages["quarto"].text))
    assert 'content="quarto-' not in builds["pandoc-brief.html"].read_text(encoding="utf-8")
    record = json.loads((builds["results"] / "brief" / "renderer.json").read_text(encoding="utf-8"))
    assert record == {"name": "quarto", "version": version, "label": f"Quarto {version}"}
    logs = builds["results"] / "logs"
    for rule in ("render_brief_html", "render_brief_pdf"):
        assert f"rendered with Quarto {version}" in (logs / f"{rule}.log").read_text(encoding="utf-8")


def test_quarto_html_is_self_contained_and_resolved(builds, pages):
    html = builds["quarto-brief.html"].read_text(encoding="utf-8")
    page = pages["quarto"]
    assert 'name="generator" content="quarto-' in html, "not rendered by Quarto"
    assert "Other Formats" not in html and "quarto-alternate-formats" not in html
    assert page.images and all(img["src"].startswith("data:") for img in page.images), "images not embedded"
    assert not re.search(r"<(link|script)[^>]+(href|src)=\"(?!data:)[^\"#]", html), "a file outside the page"
    text = plain("".join(page.text))
    for raw in ("?@", "@fig-", "@tbl-", "[@", "{{<", "{%", ":::", "{#"):
        assert raw not in text, f"unresolved markup {raw!r} in the Quarto HTML"
    assert page.callouts >= 1, "no callout rendered"
    # Cross-references: figures and tables numbered, every link inside the page has its target.
    assert len(re.findall(r"Figure\s\d+:", html)) == len(page.images)
    assert re.search(r"Table\s\d+: Pooled analyses", html)
    links, ids = set(re.findall(r'href="#([^"]+)"', html)), set(re.findall(r'id="([^"]+)"', html))
    assert len(links) > 20 and links <= ids, f"links to nowhere: {sorted(links - ids)[:5]}"
    assert page.cites and set(f"ref-{key}" for key in page.cites) <= set(page.references)


def test_quarto_pdf_is_resolved(pdfs):
    text = plain(pdfs["quarto"])
    for raw in ("?@", "@fig-", "@tbl-", "[@", "{{<", ":::", "{#", "#set", "#show"):
        assert raw not in text, f"unresolved markup {raw!r} in the Quarto PDF"
    assert re.search(r"\bFigure \d+\b", text) and re.search(r"\bTable \d+\b", text)
    assert "References" in text and "Note" in text  # the bibliography and the callouts' title


def test_a_failed_render_keeps_the_earlier_brief(builds, quarto, tmp_path):
    """A Quarto that fails: the job fails, saying why, and the earlier brief is kept."""
    version = subprocess.run([quarto / "quarto", "--version"], capture_output=True, text=True).stdout.strip()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "quarto").write_text(
        f'#!/bin/sh\n[ "$1" = --version ] && {{ echo {version}; exit 0; }}\necho "ERROR: boom" >&2\nexit 1\n'
    )
    (fake / "quarto").chmod(0o755)
    brief = builds["results"] / "brief"
    before = {name: (brief / name).read_bytes() for name in ("brief.html", "brief.pdf", "brief.qmd")}
    done = snakemake(
        builds["results"],
        "quarto",
        env_with(fake),
        "--forcerun",
        "render_brief_html",
        "render_brief_pdf",
        check=False,
    )
    assert done.returncode != 0
    assert "quarto render failed (1):\nERROR: boom" in done.stderr
    assert "Restored previous version" in done.stderr
    assert {name: (brief / name).read_bytes() for name in before} == before
    assert not [p.name for p in brief.iterdir() if p.name.endswith(".tmp")]


def test_renderer_quarto_without_quarto_stops_with_one_line(tmp_path, monkeypatch):
    env = env_with(None)  # PATH without any quarto
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(render.RendererError, match=r"\Arenderer: quarto, but no `quarto` command is on PATH"):
        render.resolve_renderer("quarto")
    assert render.resolve_renderer("auto")["name"] == "pandoc"
    with pytest.raises(render.RendererError, match="is not one of auto, quarto, pandoc"):
        render.resolve_renderer("latex")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--config",
            f"results_dir={tmp_path / 'r'}",
            "renderer=quarto",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 1
    assert "renderer: quarto, but no `quarto` command is on PATH" in done.stderr


def test_every_table_caption_of_the_template_has_an_id():
    """Quarto's Typst output drops the caption of a table without a #tbl- id (the pandoc
    path keeps it), so the PDFs would differ; this needs no Quarto to check."""
    template = (ROOT / "report" / "brief.qmd").read_text(encoding="utf-8")
    captions = [line for line in template.splitlines() if re.fullmatch(r": \S.*", line)]
    assert captions
    assert not [c for c in captions if not re.search(r"\{#tbl-.+\}\s*\Z", c)]


# --- 3. same content both ways ------------------------------------------------------------


def test_same_headings_tables_figures_and_citations_in_both_html(pages):
    pandoc, quarto = pages["pandoc"], pages["quarto"]
    assert quarto.headings == pandoc.headings and len(pandoc.headings) > 20
    assert quarto.tables == pandoc.tables and sum(len(t) for t in pandoc.tables) > 100
    assert len(quarto.images) == len(pandoc.images) >= 10
    assert [plain(i.get("alt", "")) for i in quarto.images] == [
        plain(i.get("alt", "")) for i in pandoc.images
    ]
    assert quarto.cites == pandoc.cites and len(set(pandoc.cites)) > 20
    assert quarto.references == pandoc.references


def test_headline_rows_are_analyses_of_pooled_csv_in_both(builds, pages):
    pooled = read_table(builds["results"] / "pooled.csv")
    pooled_k = sorted(f"{r['k']} ({r['n_studies']})" for r in pooled.to_dict("records") if r["k"] >= 2)
    for name, page in pages.items():
        headline = next(t for t in page.tables if t and t[0][:3] == ["Theme", "Outcome", "Samples (studies)"])
        shown = [row[2] for row in headline[1:]]
        assert shown and set(shown) <= set(pooled_k), name


def words(text: str) -> collections.Counter:
    """Words as pdftotext gives them: it joins a word hyphenated at a line end, so hyphens
    are dropped on both sides (low-SES and low-|SES are both lowSES)."""
    return collections.Counter(re.findall(r"\w+", plain(text).replace("-", "")))


def without_page_numbers(text: str) -> str:
    """The PDF text without page numbers (footers, contents entries): the two templates
    break pages in different places."""
    text = re.sub(r"(?m)^\d+\n", "", text)
    return re.sub(r"(?m)(?:\s*\.){3,}[\s\u2060]*\d+[ \t]*$", "", text)


def test_same_content_in_both_pdfs(pages, pdfs):
    """Headings, headline numbers, the words of every table row, figures and citations.

    pdftotext interleaves the lines of table cells that wrap, so table rows are compared as
    words; the words of the two PDFs differ only by what each template adds (the title of
    the table of contents; Quarto's "Note" callout titles), the renderer's name in the
    methods, and table header rows repeated where a table runs onto another page."""
    texts = {name: plain(text) for name, text in pdfs.items()}
    page = pages["pandoc"]
    for heading in page.headings:
        for name, text in texts.items():
            assert heading in text, f"heading {heading!r} missing from the {name} PDF"
    headline = next(t for t in page.tables if t and t[0][:2] == ["Theme", "Outcome"])
    for row in headline[1:]:
        for cell in (row[4].split()[-1], row[5], row[6]):
            for name, text in texts.items():
                assert cell in text, f"headline number {cell!r} missing from the {name} PDF"
    counts = {name: words(without_page_numbers(text)) for name, text in pdfs.items()}
    # pdftotext sometimes runs the words of a tight table cell together ('Neighborhoodsupport51'):
    # a word is found when it is in the text with every space and sign taken out.
    streams = {name: "".join(re.findall(r"\w+", plain(text).replace("-", ""))) for name, text in pdfs.items()}
    # The PDF shortens long tables (report/pdf.lua), both PDFs alike, and says by how much.
    dropped = 0
    for table in page.tables:
        for row in table:
            found = {name: all(w in stream for w in words(" ".join(row))) for name, stream in streams.items()}
            assert len(set(found.values())) == 1, f"row {row[:2]} is in one PDF only: {found}"
            dropped += not found["pandoc"]
    notes = re.findall(r"The PDF shows ([\d,]+) of these ([\d,]+)", texts["pandoc"])
    left_out = sum(int(m.replace(",", "")) - int(n.replace(",", "")) for n, m in notes)
    assert dropped <= left_out and (dropped > 0) == (left_out > 0), (dropped, left_out)
    # What differs: the table of contents' title, Quarto's callout titles, and the sentence
    # of the methods that names the renderer.
    named = {}
    for name, page_ in pages.items():
        found = re.search(r"rendered from one Quarto source by (.+?)\.(?= |\Z)", plain("".join(page_.text)))
        named[name] = words(found.group(1))
    other = {"pandoc": "quarto", "quarto": "pandoc"}
    raw = {n: counts[n] - counts[other[n]] - (named[n] - named[other[n]]) for n in counts}

    def run_together(word: str, name: str) -> bool:
        """``word`` is words run together on one side and apart on the other, or one of them."""
        theirs = raw[other[name]]
        return any(word in w and len(w) > len(word) for w in theirs) or (
            word in streams[other[name]] and any(w in word and len(w) < len(word) for w in theirs)
        )

    extra = {n: {w for w in raw[n] if not run_together(w, n)} for n in raw}
    # Typst repeats a table's header row on each page it runs onto; the pages break apart.
    headers = set(words(" ".join(cell for table in page.tables if table for cell in table[0])))
    assert extra["pandoc"] <= {"Contents"} | headers, extra["pandoc"]
    assert extra["quarto"] <= {"Note", "Table", "of", "contents"} | headers, extra["quarto"]
    figures = {name: len(re.findall(r"\bFigure \d+:", text)) for name, text in texts.items()}
    assert figures["quarto"] == figures["pandoc"] == len(page.images)
    # The PDF lists the works it cites: a work cited only in rows the PDF leaves out is not
    # in its reference list, in neither PDF.
    listed = 0
    for entry in page.references.values():
        found = {name: entry[:40] in text for name, text in texts.items()}
        assert len(set(found.values())) == 1, f"reference {entry[:40]!r} is in one PDF only: {found}"
        listed += found["pandoc"]
    assert listed == len(page.references) or left_out, (listed, len(page.references))
    assert listed > 0


# --- 4. reproducible ----------------------------------------------------------------------


def test_two_quarto_builds_are_byte_identical(builds):
    for name in ("brief.html", "brief.pdf"):
        first, second = builds[f"quarto-{name}"].read_bytes(), builds[f"again-{name}"].read_bytes()
        assert first == second, f"two Quarto renders of one source differ: {name}"


def test_the_quarto_pdf_carries_the_commit_time(builds):
    data = builds["quarto-brief.pdf"].read_bytes()
    assert re.findall(rb"/CreationDate\(D:(\d{14})", data) == [b"20231114221320"]  # EPOCH in UTC


# --- 5. looked at ----------------------------------------------------------------------------


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("chromium not installed: apt-get install chromium (Debian's package)")
    return found


def run_chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
        *extra,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def keep_dir(tmp_path: Path) -> Path:
    keep = Path(os.environ.get("BRIEF_SCREENSHOT_DIR") or tmp_path)
    keep.mkdir(parents=True, exist_ok=True)
    return keep


@pytest.mark.parametrize("name, width", [("desktop", 1280), ("phone", 390)])
def test_quarto_html_as_a_reader_sees_it(builds, tmp_path, name, width):
    """A screenshot at the width, and in a frame of that width: nothing sticks out (only
    tables and figures scroll, inside themselves), every figure is loaded and shown."""
    from PIL import Image

    shot = keep_dir(tmp_path) / f"quarto-{name}.png"
    done = run_chromium(
        builds["quarto-brief.html"].as_uri(),
        tmp_path / "profile",
        f"--screenshot={shot}",
        f"--window-size={width},2400",
    )
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    low, high = Image.open(shot).convert("L").getextrema()
    assert high - low > 100, "the screenshot is blank"

    shutil.copy(builds["quarto-brief.html"], tmp_path / "brief.html")
    probe = tmp_path / "probe.html"
    probe.write_text(
        "<html><head><title>x</title></head><body style='margin:0'>"
        f"<iframe id='f' src='brief.html' style='width:{width}px;height:800px;border:0'></iframe>"
        "<script>document.getElementById('f').addEventListener('load', () => {"
        " const d = document.getElementById('f').contentDocument;"
        " const w = d.documentElement.clientWidth; const out = [];"
        " for (const e of d.body.querySelectorAll('*')) {"
        "  if (e.closest('table, figure, .wide, .quarto-float, nav, .sidebar')) continue;"
        "  if (e.getBoundingClientRect().right > w + 1) out.push(e.tagName + '.' + e.className);"
        " }"
        " const imgs = [...d.images]; const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0"
        "  && i.getBoundingClientRect().width > 50 && getComputedStyle(i).display !== 'none'));"
        " document.title = 'W' + w + ' IMG ' + imgs.length + ' BAD ' + bad.length"
        "  + ' OUT ' + out.slice(0, 10).join(' ');"
        "});</script></body></html>",
        encoding="utf-8",
    )
    done = run_chromium(
        probe.as_uri(),
        tmp_path / "profile",
        "--dump-dom",
        "--allow-file-access-from-files",
        "--virtual-time-budget=10000",
    )
    found = re.search(r"<title>W(\d+) IMG (\d+) BAD (\d+) OUT ([^<]*)</title>", done.stdout)
    assert found, done.stdout[:500]
    assert int(found.group(1)) <= width
    assert int(found.group(2)) == len(content(builds["quarto-brief.html"]).images) >= 10
    assert found.group(3) == "0", "a figure is not shown"
    assert found.group(4).strip() == "", f"sticks out at {width} px: {found.group(4)}"


def test_quarto_pdf_pages_as_images(builds, tmp_path):
    """Every page as an image: none blank, none with ink cut at the edge; text without raw markup."""
    from PIL import Image, ImageOps

    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm not installed: apt-get install poppler-utils")
    keep = keep_dir(tmp_path) / "quarto-pdf"
    keep.mkdir(exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(builds["quarto-brief.pdf"]), str(keep / "page")], check=True
    )
    pages = sorted(keep.glob("page-*.png"))
    assert len(pages) >= 10
    for path in pages:
        image = ImageOps.invert(Image.open(path).convert("L"))
        box = image.point(lambda v: 255 if v > 40 else 0).getbbox()
        assert box, f"{path.name} is blank"
        width, height = image.size
        margin = int(0.02 * width)  # 2 cm margins on A4 are ~9% of its width: ink closer is cut off
        assert box[0] > margin and box[2] < width - margin, f"{path.name}: ink at the page edge {box}"
        assert box[3] < height - margin, f"{path.name}: ink at the bottom edge {box}"
