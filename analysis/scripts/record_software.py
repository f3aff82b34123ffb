"""Rule record_software: the software versions and the brief's renderer (brief/software.json)."""

import logging
from typing import TYPE_CHECKING

from analysis.brief.software import write_software

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
record = write_software(snakemake.output.software, snakemake.params.renderer)
logging.info("renderer: %s", record["renderer"]["label"])
