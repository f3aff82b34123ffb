"""Rule run_sensitivity: leave-one-out, estimators, rho, trim-and-fill, subgroups, dependence, meta-regression."""

import logging
from typing import TYPE_CHECKING

from analysis.io import read_table, write_frame
from analysis.pooling.analyses import sensitivity_tables

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
effects = read_table(snakemake.input.effects)
tables = sensitivity_tables(
    effects,
    estimator=snakemake.params.estimator,
    ci_method=snakemake.params.ci_method,
    rho=snakemake.params.rho,
    alpha=snakemake.params.alpha,
)
for name, table in tables.items():
    write_frame(table, snakemake.output[name])
    logging.info("%s: %d rows", name, len(table))
