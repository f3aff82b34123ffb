"""Rule parse_bibliography: the bibliography as references.csv (and one .bib for citeproc)."""

import logging
from typing import TYPE_CHECKING

from analysis.inputs.bibliography import write_references

if TYPE_CHECKING:
    from snakemake.script import snakemake

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
count = write_references(
    snakemake.params.corpus["bibliography"],
    snakemake.output.csv,
    snakemake.output.bib,
    snakemake.params.cache,
)
logging.info("%d references", count)
