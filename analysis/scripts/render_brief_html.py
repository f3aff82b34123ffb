"""Rule render_brief_html: brief.qmd to a self-contained brief.html (Quarto, or pandoc),
and brief/renderer.json naming the renderer."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.brief.render import render_html, write_renderer_record
from analysis.brief.software import read_software

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
used = render_html(
    snakemake.input.qmd,
    snakemake.input.bib,
    snakemake.input.css,
    snakemake.output.html,
    epoch=snakemake.params.epoch,
    figures=Path(snakemake.input.figures).parent,
    others=[snakemake.input.csl, snakemake.input.prisma],
    renderer=read_software(snakemake.input.software)["renderer"]["name"],
    cache=snakemake.params.cache,
)
write_renderer_record(snakemake.output.renderer, used)
logging.info("rendered with %s", used["label"])
