# Stage 3: forest and funnel plots of every analysis, and the evidence gap map.


rule draw_figures:
    input:
        pooled=results("pooled.csv"),
        units=results("units.csv"),
        effects=results("effects.csv"),
        studies=results("studies.csv"),
        references=results("references.csv"),
        code=analysis_code("draw_figures"),
    output:
        # update(): kept while the job runs, so figures/index.csv gives the last
        # run's hashes and unchanged figures are not drawn again (analysis/figures/draw.py).
        index=update(results("figures", "index.csv")),
    log:
        results("logs", "draw_figures.log"),
    benchmark:
        results("benchmarks", "draw_figures.tsv")
    # SVGs drawn in the job's process while threads - 1 fresh processes rasterise the
    # PNGs of those already drawn (same files as one process); see figure_threads (common.smk).
    threads: figure_threads
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../analysis/scripts/draw_figures.py"
