"""Rule render_brief: brief.qmd to brief.html and brief.pdf (Quarto, else pandoc + typst)."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.render import render_brief

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
engine = render_brief(
    snakemake.input.qmd,
    snakemake.input.bib,
    snakemake.input.css,
    snakemake.output.html,
    snakemake.output.pdf,
    epoch=snakemake.params.epoch,
    # typst reads the figures under results_dir: the root must hold them and the .qmd.
    root=Path(snakemake.input.figures).parent.parent,
)
logging.info("rendered with %s", engine)
