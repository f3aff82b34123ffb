"""Checkpoint split_effects: each sensitivity shard's effects (sensitivity/shards/effects-<i>.csv)."""

import logging
from typing import TYPE_CHECKING

from analysis.pooling.columns import INPUT_COLUMNS
from analysis.pooling.shards import split_effects

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
counts = split_effects(snakemake.input.effects, list(snakemake.output), INPUT_COLUMNS)
logging.info("effects per shard: %s", counts)
