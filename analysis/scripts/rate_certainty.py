"""Rule rate_certainty: certainty.csv (GRADE-like certainty, reading and verdict per analysis)."""

import logging
from typing import TYPE_CHECKING

from analysis.rating.table import write_certainty

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
inp = snakemake.input
rated = write_certainty(
    pooled=inp.pooled,
    units=inp.units,
    studies=inp.studies,
    claims=inp.themes,
    output=snakemake.output.certainty,
)
logging.info("certainty.csv written: %d analyses rated", rated)
