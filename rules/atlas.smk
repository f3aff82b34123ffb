# Reanalysis of the public Social Capital Atlas against Opportunity Atlas
# mobility (analysis/atlas.py). Meaningful only where the data folder
# config["atlas"]["dir"] exists: the Snakefile asks for atlas_targets(config),
# which is empty otherwise. The workflow never writes into extracted/:
# `make atlas` copies results/atlas/sca2022.yaml to extracted/sca2022.yaml.
import os

ATLAS_DIR = config["atlas"]["dir"]


rule correlate_atlas_counties:
    input:
        sca=os.path.join(ATLAS_DIR, "social_capital_county.csv"),
        outcomes=os.path.join(ATLAS_DIR, "county_outcomes_simple.csv"),
        code=analysis_code("atlas_county"),
    output:
        csv=results("atlas", "county_correlations.csv"),
    log:
        results("logs", "correlate_atlas_counties.log"),
    benchmark:
        results("benchmarks", "correlate_atlas_counties.tsv")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        sha256=config["atlas"]["sha256"],
    script:
        "../analysis/scripts/atlas_county.py"


rule derive_atlas_effects:
    input:
        sca=os.path.join(ATLAS_DIR, "social_capital_county.csv"),
        outcomes=os.path.join(ATLAS_DIR, "county_outcomes_simple.csv"),
        code=analysis_code("atlas_states"),
    output:
        effects=results("atlas", "sca2022.yaml"),
        states=results("atlas", "state_correlations.csv"),
    log:
        results("logs", "derive_atlas_effects.log"),
    benchmark:
        results("benchmarks", "derive_atlas_effects.tsv")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        sha256=config["atlas"]["sha256"],
        min_counties=config["atlas"]["min_counties"],
    script:
        "../analysis/scripts/atlas_states.py"
