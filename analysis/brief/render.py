"""Render the brief's Quarto source to HTML and PDF.

Two renderers read the same ``.qmd`` (it has no executable code cells):

- ``quarto``: ``quarto render`` (Quarto's HTML theme; PDF through Typst);
- ``pandoc``: the engines Quarto itself drives, called directly: pandoc (from
  the ``pypandoc-binary`` wheel) for self-contained HTML and for Typst markup,
  and the ``typst`` wheel for the PDF.

The ``renderer`` setting (``auto``, ``quarto`` or ``pandoc``) picks one;
``auto`` takes Quarto when a ``quarto`` command is on PATH.

Every render runs in its own scratch folder (the HTML and the PDF job never
share Quarto's ``.quarto/`` or ``_files`` folders or its cache, so both can run
at once), and the output is written atomically only once the render has
succeeded: a failed render leaves the earlier file as it was. Nothing carries
the time of the run: the PDF's date is the commit time (``epoch``).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from analysis.io import scratch_folder, write_bytes_atomic

RENDERERS = ("auto", "quarto", "pandoc")


class RendererError(RuntimeError):
    """The renderer asked for cannot run here, or a render failed."""


# --- which renderer ------------------------------------------------------------------


def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def quarto_version(quarto: str) -> str:
    done = subprocess.run([quarto, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def pandoc_typst_versions() -> tuple[str, str]:
    """Versions of the pandoc binary (pypandoc-binary) and the typst wheel."""
    from importlib import metadata

    import pypandoc

    try:
        typst_version = metadata.version("typst")
    except metadata.PackageNotFoundError:
        typst_version = "not installed"
    return pypandoc.get_pandoc_version(), typst_version


def check_renderer(setting: str) -> str | None:
    """The `quarto` on PATH (None: none), after refusing a setting that cannot work.

    Cheap (a PATH look-up, no program run): the workflow calls it while it is parsed."""
    if setting not in RENDERERS:
        raise RendererError(
            f"renderer: {setting!r} is not one of {', '.join(RENDERERS)} (config/config.yaml)"
        )
    quarto = shutil.which("quarto")
    if setting == "quarto" and not quarto:
        raise RendererError(
            "renderer: quarto, but no `quarto` command is on PATH: install Quarto "
            "(https://quarto.org) or set renderer: auto or pandoc (config/config.yaml or --config)"
        )
    return quarto


def quarto_stamp(setting: str) -> str:
    """Which `quarto` the build would use, by path, size and time stamp ('' for none):
    a param, so installing another Quarto re-records the software (no program is run)."""
    quarto = check_renderer(setting) if setting != "pandoc" else None
    if not quarto:
        return ""
    stat = os.stat(quarto)
    return f"{os.path.realpath(quarto)} {stat.st_size} {stat.st_mtime_ns}"


def resolve_renderer(setting: str = "auto") -> dict[str, str]:
    """The renderer ``setting`` stands for here: name, version and a label for the methods.

    ``{"name": "quarto", "version": "1.10.18", "label": "Quarto 1.10.18"}`` or
    ``{"name": "pandoc", "version": "pandoc 3.6, typst 0.13.1", "label": "..."}``.
    Raises :class:`RendererError` for an unknown setting, or ``quarto`` without Quarto.
    """
    quarto = check_renderer(setting)
    if setting != "pandoc" and quarto:
        version = quarto_version(quarto)
        return {"name": "quarto", "version": version, "label": f"Quarto {version}"}
    pandoc, typst = pandoc_typst_versions()
    return {
        "name": "pandoc",
        "version": f"pandoc {pandoc}, typst {typst}",
        "label": f"pandoc {pandoc} and typst {typst} (no Quarto)",
    }


def write_renderer_record(path: str | Path, used: dict[str, str]) -> None:
    """results_dir/brief/renderer.json: the renderer of this build (read into provenance.json)."""
    import json

    from analysis.io import write_text_atomic

    write_text_atomic(path, json.dumps(used, indent=2, sort_keys=True) + "\n")


# --- shared helpers -----------------------------------------------------------------


def _run(command: list[str], cwd: Path, env: dict | None = None) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        name = " ".join(Path(command[0]).name.split() + command[1:2])
        said = (done.stderr.strip() or done.stdout.strip())[-4000:]
        raise RendererError(f"{name} failed ({done.returncode}):\n{said}")


# --- pandoc + typst -----------------------------------------------------------------


# Run after citeproc: drops images that are not the workflow's own figures and links
# that are not http(s):, doi: or an anchor (report/guard.lua).
GUARD_FILTER = Path(__file__).resolve().parents[2] / "report" / "guard.lua"
# The PDF's own filter, before citeproc (as in Quarto's typst format): shorter long tables,
# citations as plain text, so that typst lays the brief out in little memory (report/pdf.lua).
PDF_FILTER = GUARD_FILTER.with_name("pdf.lua")


def cited_copy(qmd: Path, bib: Path, target: Path) -> Path:
    """Write to ``target`` the entries of ``bib`` that ``qmd`` cites (citeproc then parses
    only those; the reference list is the same: :mod:`analysis.brief.citekeys`)."""
    from analysis.brief.citekeys import cited_bibliography

    text = cited_bibliography(bib.read_text(encoding="utf-8"), qmd.read_text(encoding="utf-8"))
    target.write_text(text, encoding="utf-8")
    return target


def _pandoc(
    qmd: Path, bib: Path, to: str, out: Path, before: Sequence[Path] = (), ast: Path | None = None
) -> list[str]:
    """The pandoc command both formats share: the ``before`` filters, citations, then the
    guard filter, a contents list. ``ast``: the page already read, as pandoc JSON."""
    return [
        pandoc_path(),
        *([str(qmd.resolve()), "--from", "markdown"] if ast is None else [str(ast), "--from", "json"]),
        "--to",
        to,
        "--standalone",
        *(f"--lua-filter={f}" for f in before),
        "--citeproc",
        f"--lua-filter={GUARD_FILTER}",
        f"--bibliography={bib.resolve()}",
        "--toc",
        "--toc-depth=2",
        "--output",
        str(out),
    ]


def read_pieces(qmd: Path, cache: Path | None, target: Path) -> Path | None:
    """Write to ``target`` the pandoc JSON of ``qmd``, read piece by piece with the pieces
    kept in ``cache`` (:mod:`analysis.brief.pieces`); None: pandoc reads the page whole."""
    from analysis.brief.pieces import read_markdown_json

    if cache is None:
        return None
    try:
        ast = read_markdown_json(qmd.read_text(encoding="utf-8"), pandoc_path(), cache)
    except (OSError, RuntimeError, ValueError) as err:
        raise RendererError(f"{qmd.name}: reading the brief in pieces failed: {err}") from None
    if ast is None:
        return None
    target.write_text(ast, encoding="utf-8")
    return target


def render_html_pandoc(qmd: Path, bib: Path, css: Path, html: Path, cache: Path | None = None) -> None:
    """Self-contained HTML (CSS and figures embedded; MathML, no MathJax) with pandoc.

    The style sheet and the figures are embedded by :mod:`analysis.brief.embed`, not by
    pandoc's ``--embed-resources`` (which re-reads the whole page and took the render to
    twice the memory). With a ``cache`` folder the markdown is read in pieces, reusing the
    unchanged ones (:func:`read_pieces`); pandoc then starts from that JSON."""
    from analysis.brief.embed import EmbedError, embed_figures, style_header

    with scratch_folder(html.parent, ".render-html.tmp") as tmp:
        out, header = Path(tmp) / "brief.html", Path(tmp) / "style.html"
        try:
            header.write_text(style_header(css), encoding="utf-8")
            cited = cited_copy(qmd, bib, Path(tmp) / "cited.bib")
            ast = read_pieces(qmd, cache, Path(tmp) / "brief.json")
            html_options = ["--mathml", f"--include-in-header={header}", "--section-divs"]
            try:
                _run([*_pandoc(qmd, cited, "html5", out, ast=ast), *html_options], cwd=qmd.parent)
            except RendererError:
                if ast is None:
                    raise
                # The assembled page was refused (a cached piece pandoc cannot read): the
                # pieces are dropped and the page is read whole, as without a cache.
                from analysis.brief.pieces import clear

                clear(cache)
                _run([*_pandoc(qmd, cited, "html5", out), *html_options], cwd=qmd.parent)
            page = embed_figures(out.read_text(encoding="utf-8"), qmd.parent.resolve())
        except EmbedError as err:
            raise RendererError(str(err)) from None
        write_bytes_atomic(html, page.encode("utf-8"))


def render_pdf_pandoc_typst(qmd: Path, bib: Path, pdf: Path, epoch: int, root: Path) -> None:
    """PDF through pandoc's Typst writer and the typst compiler (fixed timestamp)."""
    import typst

    with scratch_folder(qmd.parent, ".render-pdf.tmp") as tmp:
        typ = Path(tmp) / "brief.typ"
        # The PDF filter before citeproc: the reference list holds only the works the PDF cites.
        cited = cited_copy(qmd, bib, Path(tmp) / "cited.bib")
        _run(_pandoc(qmd, cited, "typst", typ, before=[PDF_FILTER]), cwd=qmd.parent)
        # Paths in the markup are relative to the .qmd's folder; the .typ sits one below.
        text = typ.read_text(encoding="utf-8").replace('image("', 'image("../')
        typ.write_text(text, encoding="utf-8")
        data = typst.compile(str(typ), root=str(root.resolve()), timestamp=epoch)
        write_bytes_atomic(pdf, data)


# --- Quarto -------------------------------------------------------------------------


def _anchor(qmd: Path, sources: list[Path]) -> Path:
    paths = [qmd.resolve(), *(p.resolve() for p in sources)]
    return Path(os.path.commonpath([p if p.is_dir() else p.parent for p in paths]))


def stage_path(qmd: Path, sources: list[Path], path: Path) -> Path:
    """Where :func:`stage_sources` puts ``path`` (one of ``sources``), relative to the stage."""
    return path.resolve().relative_to(_anchor(qmd, sources))


def stage_sources(qmd: Path, sources: list[Path], stage: Path) -> Path:
    """Copy ``qmd`` and the files and folders it refers to (``sources``) into ``stage``,
    keeping their relative layout, so the ``.qmd``'s relative paths hold unchanged and
    every file sits under one project root (Typst reads nothing outside its root).
    Return the staged ``.qmd``."""
    anchor = _anchor(qmd, sources)
    for path in [qmd.resolve(), *(p.resolve() for p in sources)]:
        target = stage / path.relative_to(anchor)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(path, target)
    return stage / qmd.resolve().relative_to(anchor)


def project_file(epoch: int) -> str:
    """``_quarto.yml`` of the staged project: the PDF's date is the commit time.

    Typst stamps a PDF with the time of the run unless the document sets its date,
    and Quarto has no build timestamp of its own (quarto-cli issue 11123)."""
    t = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    date = (
        f"datetime(year: {t.year}, month: {t.month}, day: {t.day}, "
        f"hour: {t.hour}, minute: {t.minute}, second: {t.second})"
    )
    return (
        "# Written by analysis/brief/render.py for one render.\n"
        "project:\n  type: default\n"
        "format:\n  typst:\n    include-in-header:\n"
        f'      text: "#set document(date: {date})"\n'
        # The PDF's own filter; Quarto runs it before citeproc, as the pandoc path does.
        f"    filters:\n      - {json.dumps(str(PDF_FILTER))}\n"
    )


def quarto_scratch(target: Path, fmt: str) -> Path:
    """The scratch folder of one Quarto job, in the system's temporary folder.

    Quarto sees no project in a path with a hidden (dot) folder, so the scratch
    cannot sit in a hidden folder next to the output; its name is fixed per output
    file (emptied first, as :func:`scratch`), so a killed job leaves nothing for long."""
    import hashlib
    import tempfile

    key = hashlib.sha256(str(target.resolve()).encode("utf-8")).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()).resolve()
    if any(part.startswith(".") for part in folder.parts):
        raise RendererError(
            f"Quarto cannot render under {folder} (a hidden folder in the path): "
            "set TMPDIR to a folder without one"
        )
    return folder / f"brief-quarto-{fmt}-{key}.tmp"


def render_quarto(qmd: Path, fmt: str, target: Path, epoch: int, sources: list[Path]) -> None:
    """One format with Quarto, "html" or "typst" (PDF), in a scratch project of its own;
    ``sources[0]`` is the bibliography."""
    folder = quarto_scratch(target, fmt)
    with scratch_folder(folder.parent, folder.name) as stage:
        staged = stage_sources(qmd, sources, stage / "project")
        # The staged bibliography holds only the entries the brief cites, as on the pandoc path.
        bib = stage / "project" / stage_path(qmd, sources, sources[0])
        cited_copy(qmd, sources[0], bib)
        (stage / "project" / "_quarto.yml").write_text(project_file(epoch), encoding="utf-8")
        env = dict(
            os.environ,
            SOURCE_DATE_EPOCH=str(epoch),
            # Quarto's Sass and Deno caches: per job, not the user's, so two jobs never share them.
            XDG_CACHE_HOME=str(stage / "cache"),
        )
        _run(["quarto", "render", staged.name, "--to", fmt], cwd=staged.parent, env=env)
        produced = staged.with_suffix(".html" if fmt == "html" else ".pdf")
        if not produced.is_file():
            raise RendererError(f"quarto render --to {fmt} wrote no {produced.name}")
        write_bytes_atomic(target, produced.read_bytes())


# --- the rules' entry points ----------------------------------------------------------


def render_html(
    qmd: str | Path,
    bib: str | Path,
    css: str | Path,
    html: str | Path,
    *,
    epoch: int,
    figures: str | Path,
    others: Sequence[str | Path] = (),
    renderer: str = "auto",
    cache: str | Path | None = None,
) -> dict[str, str]:
    """Rule render_brief_html: ``qmd`` to self-contained HTML; return the renderer used.

    ``figures`` is the folder of the figures the ``.qmd`` shows, ``others`` the other
    files it names (the CSL style, the PRISMA diagram); ``cache`` the folder of the pieces
    pandoc has read (None: none kept)."""
    qmd, bib, css, html, figures = map(Path, (qmd, bib, css, html, figures))
    used = resolve_renderer(renderer)
    if used["name"] == "quarto":
        render_quarto(qmd, "html", html, epoch, [bib, css, figures, *map(Path, others)])
    else:
        render_html_pandoc(qmd, bib, css, html, None if cache is None else Path(cache))
    return used


def render_pdf(
    qmd: str | Path,
    bib: str | Path,
    pdf: str | Path,
    *,
    epoch: int,
    figures: str | Path,
    root: str | Path,
    others: Sequence[str | Path] = (),
    renderer: str = "auto",
) -> dict[str, str]:
    """Rule render_brief_pdf: ``qmd`` to PDF through Typst; return the renderer used.

    ``root`` holds the ``.qmd`` and ``figures`` (typst reads only files under it);
    ``others`` as for :func:`render_html`."""
    qmd, bib, pdf, figures, root = map(Path, (qmd, bib, pdf, figures, root))
    used = resolve_renderer(renderer)
    if used["name"] == "quarto":
        render_quarto(qmd, "typst", pdf, epoch, [bib, figures, *map(Path, others)])
    else:
        render_pdf_pandoc_typst(qmd, bib, pdf, epoch, root)
    return used
