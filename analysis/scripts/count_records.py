"""Rule count_records: records.json, the counts of records at each step (brief, PRISMA)."""

import logging
from typing import TYPE_CHECKING

from analysis.inputs.records import write_counts

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
inp = snakemake.input
counts = write_counts(
    extracted_dir=snakemake.params.corpus["extracted_dir"],
    cache=snakemake.params.cache,
    references=inp.references,
    pooled=inp.pooled,
    units=inp.units,
    output=snakemake.output.counts,
)
logging.info("records: %d (%d studies, %d context)", counts.records, counts.studies, counts.context)
