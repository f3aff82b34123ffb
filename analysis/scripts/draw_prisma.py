"""Rule draw_prisma: the brief's PRISMA 2020 flow diagram (SVG and PNG) from records.json."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.figures.prisma import write_prisma
from analysis.inputs.records import read_counts

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
svg = Path(snakemake.output.svg)
alt = write_prisma(read_counts(snakemake.input.counts), svg.with_suffix(""))
logging.info("PRISMA diagram drawn: %s", alt)
