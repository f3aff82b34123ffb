# Stage 2: pool every theme x outcome x metric x construct cell.


rule pool_analyses:
    input:
        effects=results("effects.csv"),
        code=analysis_code(
            "pooling", "meta", "aggregate", "bias", "sensitivity", "moderators", "io"
        ),
    output:
        pooled=results("pooled.csv"),
        units=results("units.csv"),
    log:
        results("logs", "pool_analyses.log"),
    benchmark:
        results("benchmarks", "pool_analyses.tsv")
    params:
        estimator=config["estimator"],
        ci_method=config["ci_method"],
        rho=config["rho"],
        alpha=config["alpha"],
    script:
        "../analysis/scripts/pool_analyses.py"


rule run_sensitivity:
    input:
        effects=results("effects.csv"),
        code=analysis_code(
            "pooling", "meta", "aggregate", "bias", "sensitivity", "moderators", "io"
        ),
    output:
        leave_one_out=results("sensitivity", "leave_one_out.csv"),
        estimators=results("sensitivity", "estimators.csv"),
        rho=results("sensitivity", "rho.csv"),
        trimfill=results("sensitivity", "trimfill.csv"),
        subgroups=results("sensitivity", "subgroups.csv"),
    log:
        results("logs", "run_sensitivity.log"),
    benchmark:
        results("benchmarks", "run_sensitivity.tsv")
    params:
        estimator=config["estimator"],
        ci_method=config["ci_method"],
        rho=config["rho"],
        alpha=config["alpha"],
    script:
        "../analysis/scripts/run_sensitivity.py"
