"""Rule pool_analyses: one pooled row per analysis (pooled.csv) and its units (units.csv)."""

import logging
from typing import TYPE_CHECKING

from analysis.io import read_table, write_frame
from analysis.pooling.analyses import INPUT_COLUMNS, pool_effects
from analysis.pooling.cache import open_pack

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
effects = read_table(snakemake.input.effects, columns=INPUT_COLUMNS)  # not the quotes
settings = {name: snakemake.params[name] for name in ("estimator", "ci_method", "rho", "alpha")}
# Reuse the rows of every analysis whose effects, settings and code are unchanged.
pack = open_pack(snakemake.params.cache, snakemake.input.code, settings)
pooled, units = pool_effects(effects, **settings, pack=pack)
write_frame(pooled, snakemake.output.pooled)
write_frame(units, snakemake.output.units)
logging.info("%d analyses from %d effects", len(pooled), len(effects))
pack.save()
