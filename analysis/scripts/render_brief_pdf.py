"""Rule render_brief_pdf: brief.qmd to brief.pdf (Quarto, or pandoc's Typst writer + typst)."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.brief.render import render_pdf
from analysis.brief.software import read_software

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
figures = Path(snakemake.input.figures).parent
used = render_pdf(
    snakemake.input.qmd,
    snakemake.input.bib,
    snakemake.output.pdf,
    epoch=snakemake.params.epoch,
    figures=figures,
    # typst reads the figures under results_dir: the root must hold them and the .qmd.
    root=figures.parent,
    others=[snakemake.input.csl, snakemake.input.prisma],
    renderer=read_software(snakemake.input.software)["renderer"]["name"],
)
logging.info("rendered with %s", used["label"])
