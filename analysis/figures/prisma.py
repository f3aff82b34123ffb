"""The PRISMA 2020 flow diagram of the brief, drawn from the record counts
(:func:`analysis.inputs.records.count_records`), so that its numbers are the brief's.

Boxes and arrows on a blank matplotlib axes in the style of :mod:`analysis.figures.plots`
(analysis.figures.style: DejaVu Sans, the figures' dark blue, SVG glyphs as paths, byte-identical output).
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.inputs.records import RecordCounts

INK = "#1a1a1a"  # box text: 16:1 on white
EDGE = "#08306b"  # the figures' dark blue (box edges, arrows): 13:1 on white
FILL = "#eef3fa"  # the brief's note background; INK on it is 15:1
WIDTH_IN, HEIGHT_IN = 8.0, 6.4


@dataclass(frozen=True)
class Box:
    x: float  # centre, in axes fractions
    y: float
    w: float
    h: float
    text: str


def _n(value: int | None) -> str:
    return "not known" if value is None else f"{value:,}"


def prisma_boxes(counts: RecordCounts) -> tuple[list[Box], list[tuple[int, int]]]:
    """The boxes (main column left, exclusions right) and the arrows between them."""
    sources = [f"{words}: {_n(n)}" for _, words, n in counts.sources()]
    sought = counts.studies + counts.not_retrieved
    pooled = (
        "" if counts.pooled is None else f"\nof which in a pool of 2 or more studies: {_n(counts.pooled)}"
    )
    left, right = 0.345, 0.81
    boxes = [
        Box(
            left,
            0.86,
            0.54,
            0.24,
            f"Records identified: {_n(counts.identified_total)}\n" + "\n".join(sources),
        ),
        Box(
            right,
            0.86,
            0.34,
            0.14,
            f"Kept as context, not studies\n(reports, policy documents): {_n(counts.context)}",
        ),
        Box(left, 0.58, 0.54, 0.1, f"Studies sought for full text: {_n(sought)}"),
        Box(
            right,
            0.58,
            0.34,
            0.12,
            f"Full text not reached: {_n(counts.unreached)}\n(findings from the citation only)",
        ),
        Box(left, 0.38, 0.54, 0.1, f"Studies read and coded or summarised: {_n(counts.read)}"),
        Box(right, 0.38, 0.34, 0.12, f"Findings only,\nno poolable number: {_n(counts.read_narrative)}"),
        Box(left, 0.14, 0.54, 0.16, f"Studies with coded effects: {_n(counts.coded)}{pooled}"),
    ]
    arrows = [(0, 2), (2, 4), (4, 6), (0, 1), (2, 3), (4, 5)]
    return boxes, arrows


def prisma_alt(counts: RecordCounts) -> str:
    """The diagram in words (alt text)."""
    found = "; ".join(f"{words} {n}" for _, words, n in counts.sources() if n)
    pooled = "" if counts.pooled is None else f", {counts.pooled} of them in a pool of two or more studies"
    return (
        f"PRISMA flow diagram. {counts.identified_total} records identified ({found}). "
        f"{counts.context} kept as context documents, not studies. "
        f"{counts.studies + counts.not_retrieved} studies sought for full text; "
        f"{counts.unreached} not reached. {counts.read} studies read: {counts.read_narrative} with findings "
        f"only and no poolable number, {counts.coded} with coded effects{pooled}."
    )


def draw_prisma(counts: RecordCounts):
    """The flow diagram as a matplotlib figure."""
    import matplotlib

    from analysis.figures.style import STYLE

    with matplotlib.rc_context(STYLE):
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        boxes, arrows = prisma_boxes(counts)
        for b in boxes:
            ax.add_patch(
                FancyBboxPatch(
                    (b.x - b.w / 2, b.y - b.h / 2),
                    b.w,
                    b.h,
                    boxstyle="round,pad=0.005,rounding_size=0.01",
                    facecolor=FILL,
                    edgecolor=EDGE,
                    linewidth=1.0,
                )  # fmt: skip
            )
            ax.text(b.x, b.y, b.text, ha="center", va="center", color=INK, fontsize=9.5, linespacing=1.35)
        for start, end in arrows:
            a, b = boxes[start], boxes[end]
            if abs(a.y - b.y) < 1e-9:  # sideways: from the right edge to the left edge
                tail, head = (a.x + a.w / 2, a.y), (b.x - b.w / 2, b.y)
            else:  # downwards
                tail, head = (a.x, a.y - a.h / 2), (b.x, b.y + b.h / 2)
            ax.add_patch(FancyArrowPatch(tail, head, arrowstyle="-|>", mutation_scale=12, color=EDGE, lw=1.0))
        for y, label in ((0.86, "Identification"), (0.48, "Screening"), (0.14, "Included")):
            ax.text(
                0.02, y, label, rotation=90, ha="left", va="center", color=EDGE, fontsize=9, weight="bold"
            )
    return fig


def write_prisma(counts: RecordCounts, path_without_suffix) -> str:
    """Draw and save the diagram (SVG and PNG); returns its alt text."""
    from analysis.figures.save import save_figure

    alt = prisma_alt(counts)
    save_figure(draw_prisma(counts), path_without_suffix, alt_text=alt)
    return alt
