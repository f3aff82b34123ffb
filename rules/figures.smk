# Stage 3: forest and funnel plots of every analysis, and the evidence gap map.


def figure_threads(wildcards):
    """Two cores for a first build (every figure is drawn: one core draws the SVGs while
    the other rasterises the PNGs, and nothing else runs beside it); one once the index
    exists, where a rebuild redraws only the changed analyses' figures: a one-core job
    starts as soon as the pools are done, beside the sensitivity shards, instead of
    waiting for both cores to be free."""
    return 1 if os.path.exists(results("figures", "index.csv")) else 2


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
    # PNGs of those already drawn (same files as one process); see figure_threads.
    threads: figure_threads
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../analysis/scripts/draw_figures.py"
