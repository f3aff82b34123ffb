"""Rule draw_figures: forest and funnel plots of every analysis, and the gap map."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.figures.draw import TABLE_COLUMNS, draw_tables
from analysis.io import read_table

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
# Each table (the columns the figures read) is read for the planning and let go before the drawing.
index = draw_tables(
    lambda name: read_table(getattr(snakemake.input, name), columns=TABLE_COLUMNS.get(name)),
    Path(snakemake.output.index).parent,
    workers=snakemake.threads,
)
logging.info("%d figures in the index", len(index))
