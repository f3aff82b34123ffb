# Stage 2: pool every theme x outcome x metric x construct cell.
#
# The sensitivity analyses (leave-one-out grows with k²) run in
# config["sensitivity_shards"] jobs, so that they spread over a cluster and a
# new study re-runs only the shards of the analyses it touches: the
# checkpoint split_effects writes each shard's effects, Snakemake compares
# them with the last run's by checksum after the checkpoint, and re-runs only
# the run_sensitivity jobs whose shard changed (analysis/pooling/shards.py).
# Inside pool_analyses and run_sensitivity, an analysis whose effects, settings
# and code are unchanged is not computed again: its rows come from a pack in
# results/.cache/ (analysis/pooling/cache.py).
SENSITIVITY_SHARDS = list(range(config["sensitivity_shards"]))
SENSITIVITY_TABLES = [
    "leave_one_out",
    "estimators",
    "rho",
    "trimfill",
    "subgroups",
    "dependence",
    "metaregression",
]


wildcard_constraints:
    shard=r"\d+",


localrules:
    combine_sensitivity,


rule pool_analyses:
    input:
        effects=results("effects.csv"),
        code=analysis_code("pool_analyses"),
    output:
        pooled=results("pooled.csv"),
        units=results("units.csv"),
    log:
        results("logs", "pool_analyses.log"),
    benchmark:
        results("benchmarks", "pool_analyses.tsv")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        estimator=config["estimator"],
        ci_method=config["ci_method"],
        rho=config["rho"],
        alpha=config["alpha"],
        # Not an output: Snakemake would delete it before the job runs (cache.py).
        cache=results(".cache", "pool_analyses.pack"),
    script:
        "../analysis/scripts/pool_analyses.py"


checkpoint split_effects:
    input:
        effects=results("effects.csv"),
        code=analysis_code("split_effects"),
    output:
        expand(
            results("sensitivity", "shards", "effects-{shard}.csv"),
            shard=SENSITIVITY_SHARDS,
        ),
    log:
        results("logs", "split_effects.log"),
    benchmark:
        results("benchmarks", "split_effects.tsv")
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../analysis/scripts/split_effects.py"


rule run_sensitivity:
    input:
        effects=shard_effects,
        code=analysis_code("run_sensitivity"),
    output:
        leave_one_out=results("sensitivity", "shards", "{shard}", "leave_one_out.csv"),
        estimators=results("sensitivity", "shards", "{shard}", "estimators.csv"),
        rho=results("sensitivity", "shards", "{shard}", "rho.csv"),
        trimfill=results("sensitivity", "shards", "{shard}", "trimfill.csv"),
        subgroups=results("sensitivity", "shards", "{shard}", "subgroups.csv"),
        dependence=results("sensitivity", "shards", "{shard}", "dependence.csv"),
        metaregression=results("sensitivity", "shards", "{shard}", "metaregression.csv"),
    log:
        results("logs", "run_sensitivity-{shard}.log"),
    benchmark:
        results("benchmarks", "run_sensitivity-{shard}.tsv")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        estimator=config["estimator"],
        ci_method=config["ci_method"],
        rho=config["rho"],
        alpha=config["alpha"],
        # One pack per shard: the shards' jobs run at the same time.
        cache=results(".cache", "run_sensitivity-{shard}.pack"),
    script:
        "../analysis/scripts/run_sensitivity.py"


rule combine_sensitivity:
    input:
        shards=expand(
            results("sensitivity", "shards", "{shard}", "{table}.csv"),
            shard=SENSITIVITY_SHARDS,
            table=SENSITIVITY_TABLES,
        ),
        code=analysis_code("combine_sensitivity"),
    output:
        leave_one_out=results("sensitivity", "leave_one_out.csv"),
        estimators=results("sensitivity", "estimators.csv"),
        rho=results("sensitivity", "rho.csv"),
        trimfill=results("sensitivity", "trimfill.csv"),
        subgroups=results("sensitivity", "subgroups.csv"),
        dependence=results("sensitivity", "dependence.csv"),
        metaregression=results("sensitivity", "metaregression.csv"),
    log:
        results("logs", "combine_sensitivity.log"),
    benchmark:
        results("benchmarks", "combine_sensitivity.tsv")
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        tables=SENSITIVITY_TABLES,
    script:
        "../analysis/scripts/combine_sensitivity.py"
