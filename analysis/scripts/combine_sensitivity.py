"""Rule combine_sensitivity: the shards' sensitivity tables joined (sensitivity/*.csv)."""

import logging
from typing import TYPE_CHECKING

from analysis.pooling.shards import combine_tables

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
for name in snakemake.params.tables:
    paths = [path for path in snakemake.input.shards if path.endswith(f"/{name}.csv")]
    rows = combine_tables(paths, snakemake.output[name])
    logging.info("%s: %d rows from %d shards", name, rows, len(paths))
