"""Rule convert_effects: every coded effect on its analysis metric (effects.csv, studies.csv)."""

import logging
from typing import TYPE_CHECKING

from analysis.inputs.effects import write_effects

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
studies, effects = write_effects(
    snakemake.params.corpus["extracted_dir"],
    snakemake.input.references,
    snakemake.output.effects,
    snakemake.output.studies,
    snakemake.params.cache,
)
logging.info("%d studies, %d effects", studies, effects)
