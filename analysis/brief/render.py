"""Render the brief's Quarto source to HTML and PDF.

With Quarto on PATH, ``quarto render`` does it. Elsewhere the same ``.qmd``
goes through the engines Quarto itself drives: pandoc (from the
``pypandoc-binary`` wheel) for self-contained HTML and for Typst markup, and
the ``typst`` wheel for the PDF. The brief has no executable code cells, so
both paths show the same content. Outputs are written atomically and carry no
run date (the PDF's date is the commit time), so a build is byte-reproducible.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

from analysis.io import write_bytes_atomic


def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}):\n{done.stderr.strip()}")


@contextlib.contextmanager
def scratch(folder: Path, name: str):
    """A fixed scratch folder, emptied first: a killed run leaves nothing behind for long."""
    path = folder.resolve() / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def render_html_pandoc(qmd: Path, bib: Path, css: Path, html: Path) -> None:
    """Self-contained HTML (images, CSS embedded; MathML, no MathJax) with pandoc."""
    with scratch(html.parent, ".render-html.tmp") as tmp:
        out = Path(tmp) / "brief.html"
        _run(
            [
                pandoc_path(),
                str(qmd.resolve()),
                "--from",
                "markdown",
                "--to",
                "html5",
                "--standalone",
                "--embed-resources",
                "--mathml",
                "--citeproc",
                f"--bibliography={bib.resolve()}",
                f"--css={css.resolve()}",
                "--toc",
                "--toc-depth=2",
                "--section-divs",
                f"--resource-path={qmd.parent.resolve()}",
                "--output",
                str(out),
            ],
            cwd=qmd.parent,
        )
        write_bytes_atomic(html, out.read_bytes())


def render_pdf_pandoc_typst(qmd: Path, bib: Path, pdf: Path, epoch: int, root: Path) -> None:
    """PDF through pandoc's Typst writer and the typst compiler (fixed timestamp)."""
    import datetime

    import typst

    with scratch(qmd.parent, ".render-pdf.tmp") as tmp:
        typ = Path(tmp) / "brief.typ"
        _run(
            [
                pandoc_path(),
                str(qmd.resolve()),
                "--from",
                "markdown",
                "--to",
                "typst",
                "--standalone",
                "--citeproc",
                f"--bibliography={bib.resolve()}",
                "--toc",
                "--toc-depth=2",
                "--output",
                str(typ),
            ],
            cwd=qmd.parent,
        )
        # Paths in the markup are relative to the .qmd's folder; the .typ sits one below.
        text = typ.read_text(encoding="utf-8").replace('image("', 'image("../')
        typ.write_text(text, encoding="utf-8")
        stamp = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
        data = typst.compile(str(typ), root=str(root.resolve()), timestamp=int(stamp.timestamp()))
        write_bytes_atomic(pdf, data)


def render_quarto(qmd: Path, fmt: str, target: Path, epoch: int) -> None:
    """One format with Quarto: "html" (embed-resources) or "typst" (PDF)."""
    import os

    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
    done = subprocess.run(
        ["quarto", "render", qmd.name, "--to", fmt], cwd=qmd.parent, capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"quarto render --to {fmt} failed:\n{done.stderr.strip()}")
    produced = qmd.with_suffix(".html" if fmt == "html" else ".pdf")
    if produced != target:
        write_bytes_atomic(target, produced.read_bytes())


def use_quarto(engine: str) -> bool:
    return engine == "quarto" or (engine == "auto" and shutil.which("quarto") is not None)


def render_html(
    qmd: str | Path, bib: str | Path, css: str | Path, html: str | Path, *, epoch: int, engine: str = "auto"
) -> str:
    """Rule render_brief_html: ``qmd`` to self-contained HTML; return the engine used."""
    qmd, bib, css, html = map(Path, (qmd, bib, css, html))
    if use_quarto(engine):
        render_quarto(qmd, "html", html, epoch)
        return "quarto"
    render_html_pandoc(qmd, bib, css, html)
    return "pandoc"


def render_pdf(
    qmd: str | Path, bib: str | Path, pdf: str | Path, *, epoch: int, root: str | Path, engine: str = "auto"
) -> str:
    """Rule render_brief_pdf: ``qmd`` to PDF through Typst; return the engine used."""
    qmd, bib, pdf, root = map(Path, (qmd, bib, pdf, root))
    if use_quarto(engine):
        render_quarto(qmd, "typst", pdf, epoch)
        return "quarto"
    render_pdf_pandoc_typst(qmd, bib, pdf, epoch, root)
    return "pandoc"


def render_brief(
    qmd: str | Path,
    bib: str | Path,
    css: str | Path,
    html: str | Path,
    pdf: str | Path,
    *,
    epoch: int,
    root: str | Path,
    engine: str = "auto",
) -> str:
    """Both formats in one call; return the engine used ("quarto" or "pandoc")."""
    render_html(qmd, bib, css, html, epoch=epoch, engine=engine)
    return render_pdf(qmd, bib, pdf, epoch=epoch, root=root, engine=engine)
