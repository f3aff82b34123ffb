# Evidence brief on social capital and social mobility: the whole workflow.
# `make brief` runs it; any generated file can be asked for as a target,
# e.g. `.venv/bin/snakemake --cores 2 results/pooled.csv`.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/inputs.smk"
include: "rules/pooling.smk"
include: "rules/rating.smk"
include: "rules/figures.smk"
include: "rules/brief.smk"
include: "rules/atlas.smk"


rule all:
    input:
        brief_targets(),
        atlas_targets(config),
