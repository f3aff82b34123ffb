"""Rule run_sensitivity: leave-one-out, estimators, rho, trim-and-fill, subgroups, dependence, meta-regression."""

import logging
from typing import TYPE_CHECKING

from analysis.io import read_table, write_frame
from analysis.pooling.analyses import sensitivity_tables
from analysis.pooling.cache import open_pack

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
effects = read_table(snakemake.input.effects)
settings = {name: snakemake.params[name] for name in ("estimator", "ci_method", "rho", "alpha")}
# Reuse the rows of every analysis whose effects, settings and code are unchanged.
pack = open_pack(snakemake.params.cache, snakemake.input.code, settings)
tables = sensitivity_tables(effects, **settings, pack=pack)
for name, table in tables.items():
    write_frame(table, snakemake.output[name])
    logging.info("%s: %d rows", name, len(table))
pack.save()
