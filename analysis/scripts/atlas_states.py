"""Rule derive_atlas_effects: within-state correlations and the sca2022 extraction file."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: TC004 (Snakemake injects it at run time)

from analysis import atlas
from analysis.io import write_frame

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
log = logging.getLogger(__name__)
sha256s = {}
for key in ("sca", "outcomes"):
    name = Path(snakemake.input[key]).name
    atlas.verify_sha256(snakemake.input[key], snakemake.params.sha256[name])
    sha256s[name] = snakemake.params.sha256[name]
counties = atlas.load_merged(snakemake.input.sca, snakemake.input.outcomes)
doc, states = atlas.derive_state_effects(counties, sha256s, snakemake.params.min_counties)
write_frame(states, snakemake.output.states)
atlas.write_yaml(doc, snakemake.output.effects)
log.info("%d state effects from %d counties", len(doc["effects"]), len(counties))
