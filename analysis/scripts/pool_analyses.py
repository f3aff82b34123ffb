"""Rule pool_analyses: one pooled row per analysis (pooled.csv) and its units (units.csv)."""

import logging
from typing import TYPE_CHECKING

from analysis.io import read_table, write_frame
from analysis.pooling.analyses import pool_effects

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
effects = read_table(snakemake.input.effects)
pooled, units = pool_effects(
    effects,
    estimator=snakemake.params.estimator,
    ci_method=snakemake.params.ci_method,
    rho=snakemake.params.rho,
    alpha=snakemake.params.alpha,
)
write_frame(pooled, snakemake.output.pooled)
write_frame(units, snakemake.output.units)
logging.info("%d analyses from %d effects", len(pooled), len(effects))
