"""PNG copies of the SVG figures, rasterised by Typst (resvg inside) in batches.

matplotlib's Agg needs about 0.25 s per figure to draw a PNG again from the
figure; Typst renders the SVG that was just written in about 0.02 s, one page
per figure, many figures per compile. The PNG is therefore a picture of the
SVG itself (the same glyph paths, the same size), at ``PNG_DPI``, with the alt
text in an ``iTXt`` ``Description`` chunk. The bytes depend only on the SVG
and the pinned Typst. Each PNG is written atomically.

Typst keeps what it computed for every compile of a process (about 8 MiB per
large figure), so many figures are rasterised in fresh processes of a few
figures each (``workers``), which hand their memory back when they end. This
module imports nothing heavy, so such a process starts in a fraction of a second.

Only our own SVG files are read, by names the workflow made; Typst's root is
their folder, so it can read nothing else.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Figures per Typst compile, and per process when ``workers`` > 0: bounds the memory.
BATCH = 12
_SIZE = re.compile(rb'<svg[^>]*?\swidth="([0-9.]+)pt" height="([0-9.]+)pt"')


def svg_size(svg: Path) -> tuple[str, str]:
    """The width and height in points that matplotlib wrote into the SVG's root element."""
    with open(svg, "rb") as handle:
        head = handle.read(4096)
    found = _SIZE.search(head)
    if not found:
        raise ValueError(f"{svg}: no width/height in pt in the SVG's root element")
    return found.group(1).decode("ascii"), found.group(2).decode("ascii")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_description(png: bytes, text: str | None) -> bytes:
    """The PNG with ``text`` as an iTXt ``Description`` chunk after the header chunk."""
    if not text:
        return png
    body = b"Description\0\0\0\0\0" + text.encode("utf-8")
    end_of_ihdr = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4
    return png[:end_of_ihdr] + _chunk(b"iTXt", body) + png[end_of_ihdr:]


def _document(svgs: list[Path], folder: Path) -> str:
    pages = []
    for svg in svgs:
        width, height = svg_size(svg)
        name = svg.relative_to(folder).as_posix()
        page = f"#page(width: {width}pt, height: {height}pt, margin: 0pt)"
        pages.append(f'{page}[#image("../{name}", width: 100%)]')
    return "\n".join(pages) + "\n"


def batches(figures: Iterable[tuple[Path, Path, str | None]]) -> list[tuple[Path, list]]:
    """(folder, up to BATCH (svg, png, alt) of that folder) in the order given."""
    by_folder: dict[Path, list[tuple[Path, Path, str | None]]] = {}
    for svg, png, alt in figures:
        by_folder.setdefault(Path(svg).parent.resolve(), []).append((Path(svg).resolve(), Path(png), alt))
    return [
        (folder, items[start : start + BATCH])
        for folder, items in by_folder.items()
        for start in range(0, len(items), BATCH)
    ]


def _rasterise_batch(folder: Path, batch: list[tuple[Path, Path, str | None]], ppi: int) -> None:
    """One Typst compile: a page per SVG of ``folder``; each page written as a PNG."""
    import typst

    from analysis.io import atomic_output, scratch_folder

    with scratch_folder(
        folder, ".raster.tmp" if len(batch) == 1 else f".raster-{batch[0][0].stem}.tmp"
    ) as tmp:
        source = Path(tmp) / "figures.typ"
        source.write_text(_document([svg for svg, _, _ in batch], folder), encoding="utf-8")
        pages = typst.compile(str(source), root=str(folder), format="png", ppi=ppi)
    if isinstance(pages, bytes):
        pages = [pages]
    for (_, png, alt), data in zip(batch, pages, strict=True):
        with atomic_output(png) as handle:
            handle.write(with_description(data, alt))


def rasterise(figures: Iterable[tuple[Path, Path, str | None]], ppi: int, workers: int = 0) -> None:
    """Write a PNG of each SVG at ``ppi``: ``figures`` holds (svg, png, alt text); the SVGs
    of one call may lie in several folders. ``workers`` 0: in this process; else each
    batch in a fresh ``python -m analysis.figures.raster``, ``workers`` at a time (same
    bytes either way). The batch goes to the child as JSON on its standard input."""
    found = batches(figures)
    if workers <= 0:
        for folder, batch in found:
            _rasterise_batch(folder, batch, ppi)
        return
    with Children(ppi, workers) as children:
        for folder, batch in found:
            children.start(folder, batch)


class Children:
    """Batches rasterised in fresh processes, at most ``workers`` at a time, while the
    caller goes on (drawing the next figures): :meth:`start` waits only when ``workers``
    children are running; leaving the ``with`` block waits for all of them and raises the
    first failure (a failure, or an error in the block, kills the children still running)."""

    def __init__(self, ppi: int, workers: int) -> None:
        self.ppi, self.workers = ppi, max(1, workers)
        self.running: list[tuple[Any, Path]] = []

    def __enter__(self) -> Children:
        return self

    def start(self, folder: Path, batch: list[tuple[Path, Path, str | None]]) -> None:
        import subprocess
        import sys

        while len(self.running) >= self.workers:
            self._finish(*self.running.pop(0))
        child = subprocess.Popen(
            [sys.executable, "-m", "analysis.figures.raster"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.running.append((child, folder))
        job = {"folder": str(folder), "ppi": self.ppi, "batch": [[str(s), str(p), a] for s, p, a in batch]}
        child.stdin.write(json.dumps(job).encode("utf-8"))
        child.stdin.close()

    def _finish(self, child: Any, folder: Path) -> None:
        err = child.stderr.read()
        child.wait()
        if child.returncode != 0:
            raise RuntimeError(
                f"rasterising figures of {folder} failed:\n{err.decode(errors='replace')[-2000:]}"
            )

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            if kind is None:
                while self.running:
                    self._finish(*self.running.pop(0))
        finally:
            for child, _ in self.running:
                child.kill()
                child.wait()
            self.running = []


def main() -> None:
    """One batch, as :func:`rasterise` hands it to a fresh process (JSON on stdin)."""
    import sys

    job = json.load(sys.stdin)
    batch = [(Path(svg), Path(png), alt) for svg, png, alt in job["batch"]]
    _rasterise_batch(Path(job["folder"]), batch, int(job["ppi"]))


if __name__ == "__main__":
    main()
