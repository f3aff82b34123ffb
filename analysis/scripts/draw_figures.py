"""Rule draw_figures: forest and funnel plots of every analysis, and the gap map."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.figures.draw import draw_all
from analysis.io import read_table

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
index = draw_all(
    read_table(snakemake.input.pooled),
    read_table(snakemake.input.units),
    read_table(snakemake.input.studies),
    read_table(snakemake.input.references),
    Path(snakemake.output.index).parent,
    effects=read_table(snakemake.input.effects),
    workers=snakemake.threads,
)
logging.info("%d figures in the index", len(index))
