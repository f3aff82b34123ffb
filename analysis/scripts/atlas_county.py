"""Rule correlate_atlas_counties: national county correlations of the eight atlas measures."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: TC004 (Snakemake injects it at run time)

from analysis import atlas
from analysis.io import write_frame

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
log = logging.getLogger(__name__)
for key in ("sca", "outcomes"):
    path = snakemake.input[key]
    atlas.verify_sha256(path, snakemake.params.sha256[Path(path).name])
counties = atlas.load_merged(snakemake.input.sca, snakemake.input.outcomes)
table = atlas.county_correlations(counties, atlas.COUNTY_MEASURES)
write_frame(table, snakemake.output.csv)
log.info("%d counties merged; %d measures correlated", len(counties), len(table))
