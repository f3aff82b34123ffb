# Stage 3b: rating. Certainty (GRADE-like), reading and verdict of every analysis; the
# brief, CHANGES.md and the release read results/certainty.csv and never rate again.


rule rate_certainty:
    input:
        pooled=results("pooled.csv"),
        units=results("units.csv"),
        studies=results("studies.csv"),
        themes=report_file("themes.yaml"),
        code=analysis_code("rate_certainty"),
    output:
        certainty=results("certainty.csv"),
    log:
        results("logs", "rate_certainty.log"),
    benchmark:
        results("benchmarks", "rate_certainty.tsv")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../analysis/scripts/rate_certainty.py"
