"""Rule check_inputs: every reviewer input checked before any other job (.cache/checked.json)."""

import logging
from typing import TYPE_CHECKING

from analysis.inputs.check import report_check

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
report_check(
    snakemake.params.corpus["extracted_dir"],
    snakemake.params.corpus["bibliography"],
    snakemake.params.cache,
    snakemake.params.settings,
    snakemake.output.checked,
    snakemake.threads,
)
