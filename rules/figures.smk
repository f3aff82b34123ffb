# Stage 3: forest and funnel plots of every analysis, and the evidence gap map.


rule draw_figures:
    input:
        pooled=results("pooled.csv"),
        units=results("units.csv"),
        effects=results("effects.csv"),
        studies=results("studies.csv"),
        references=results("references.csv"),
        code=analysis_code("figures", "plots", "brief", "io"),
    output:
        index=results("figures", "index.csv"),
    log:
        results("logs", "draw_figures.log"),
    benchmark:
        results("benchmarks", "draw_figures.tsv")
    script:
        "../analysis/scripts/draw_figures.py"
