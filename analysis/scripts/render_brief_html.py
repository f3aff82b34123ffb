"""Rule render_brief_html: brief.qmd to a self-contained brief.html (Quarto, else pandoc)."""

import logging
from typing import TYPE_CHECKING

from analysis.brief.render import render_html

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
engine = render_html(
    snakemake.input.qmd,
    snakemake.input.bib,
    snakemake.input.css,
    snakemake.output.html,
    epoch=snakemake.params.epoch,
)
logging.info("rendered with %s", engine)
