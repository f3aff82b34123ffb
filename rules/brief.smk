# Stage 4: the evidence brief (HTML and PDF) from the results.
# While the workflow is parsed only the renderer setting is checked (a PATH look-up):
# the software versions and the renderer's version are recorded by rule record_software.
from analysis.brief import render as _render

try:
    QUARTO_STAMP = _render.quarto_stamp(config["renderer"])
except _render.RendererError as _err:
    print(_err, file=sys.stderr)
    sys.exit(1)


rule record_software:
    input:
        # The pinned environment: a new lock file means new versions.
        lock=os.path.join(workflow.basedir, "requirements.lock"),
        code=analysis_code("record_software"),
    output:
        software=results("brief", "software.json"),
    log:
        results("logs", "record_software.log"),
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        renderer=config["renderer"],
        quarto=QUARTO_STAMP,
    script:
        "../analysis/scripts/record_software.py"


rule write_brief_source:
    input:
        template=report_file("brief.qmd"),
        software=results("brief", "software.json"),
        claims=report_file("claims.yaml"),
        themes=report_file("themes.yaml"),
        certainty=results("certainty.csv"),
        records=results("records.json"),
        prisma=results("brief", "prisma.svg"),
        csl=report_file("brief.csl"),
        # The nationwide county correlations exist only with the public Atlas data.
        atlas_county=[
            p for p in atlas_targets(config) if p.endswith("county_correlations.csv")
        ],
        pooled=results("pooled.csv"),
        units=results("units.csv"),
        effects=results("effects.csv"),
        studies=results("studies.csv"),
        references=results("references.csv"),
        bib=results("references.bib"),
        css=report_file("brief.css"),
        figures=results("figures", "index.csv"),
        leave_one_out=results("sensitivity", "leave_one_out.csv"),
        estimators=results("sensitivity", "estimators.csv"),
        rho=results("sensitivity", "rho.csv"),
        trimfill=results("sensitivity", "trimfill.csv"),
        subgroups=results("sensitivity", "subgroups.csv"),
        dependence=results("sensitivity", "dependence.csv"),
        metaregression=results("sensitivity", "metaregression.csv"),
        second_coder=SECOND_CODER_FILES,
        checked=checked(),
        code=analysis_code("write_brief_source"),
    output:
        qmd=results("brief", "brief.qmd"),
    log:
        results("logs", "write_brief_source.log"),
    benchmark:
        results("benchmarks", "write_brief_source.tsv")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        corpus=CORPUS,
        build=build_info(),
        settings={
            "estimator": config["estimator"],
            "ci_method": config["ci_method"],
            "rho": config["rho"],
            "alpha": config["alpha"],
        },
    script:
        "../analysis/scripts/write_brief_source.py"


rule render_brief_html:
    input:
        qmd=results("brief", "brief.qmd"),
        bib=results("references.bib"),
        css=report_file("brief.css"),
        csl=report_file("brief.csl"),
        prisma=results("brief", "prisma.svg"),
        figures=results("figures", "index.csv"),
        guard=report_file("guard.lua"),
        reader=report_file("read_pieces.lua"),
        software=results("brief", "software.json"),
        code=analysis_code("render_brief_html"),
    output:
        # update(): Snakemake keeps the earlier file while the job runs and puts it
        # back if the job fails (a failed render never loses the last good brief).
        html=update(results("brief", "brief.html")),
        # The renderer and its version, for the release's provenance.json.
        renderer=results("brief", "renderer.json"),
    log:
        results("logs", "render_brief_html.log"),
    benchmark:
        results("benchmarks", "render_brief_html.tsv")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        # The two renders hold the most memory of any job (Typst ~450 MiB at 10,000
        # studies); `make brief` passes --resources brief_render=1 so they never overlap.
        brief_render=1,
    params:
        epoch=build_info()["epoch"],
        # The pieces of brief.qmd pandoc has read, reused while unchanged (analysis/brief/pieces.py).
        cache=results(".cache", "brief-pieces"),
    script:
        "../analysis/scripts/render_brief_html.py"


rule render_brief_pdf:
    input:
        qmd=results("brief", "brief.qmd"),
        bib=results("references.bib"),
        csl=report_file("brief.csl"),
        prisma=results("brief", "prisma.svg"),
        figures=results("figures", "index.csv"),
        guard=report_file("guard.lua"),
        # The PDF's own filter: shorter long tables, citations as plain text.
        pdf_filter=report_file("pdf.lua"),
        software=results("brief", "software.json"),
        code=analysis_code("render_brief_pdf"),
        # Run by the shell command below (not a script: directive), so tracked here.
        script=os.path.join(
            workflow.basedir, "analysis", "scripts", "render_brief_pdf.py"
        ),
    output:
        pdf=update(results("brief", "brief.pdf")),
    log:
        results("logs", "render_brief_pdf.log"),
    benchmark:
        results("benchmarks", "render_brief_pdf.tsv")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        brief_render=1,
    params:
        epoch=build_info()["epoch"],
        python=sys.executable,
        # glibc's allocator hands freed blocks back (less memory for Typst; same bytes); a
        # user's own GLIBC_TUNABLES come after, so they win. See render_brief_pdf.py.
        tunables="glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=65536",
    shell:
        'GLIBC_TUNABLES="{params.tunables}${{GLIBC_TUNABLES:+:$GLIBC_TUNABLES}}"'
        " exec {params.python:q} {input.script:q}"
        " --qmd {input.qmd:q} --bib {input.bib:q} --pdf {output.pdf:q} --epoch {params.epoch}"
        " --figures {input.figures:q} --csl {input.csl:q} --prisma {input.prisma:q}"
        " --software {input.software:q} --log {log:q}"


rule count_records:
    input:
        checked=checked(),
        references=results("references.csv"),
        pooled=results("pooled.csv"),
        units=results("units.csv"),
        code=analysis_code("count_records"),
    output:
        counts=results("records.json"),
    log:
        results("logs", "count_records.log"),
    benchmark:
        results("benchmarks", "count_records.tsv")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        corpus=CORPUS,
        # Read only (check_inputs writes it): each file's record fields, parsed once per change.
        cache=results(".cache", "studies.pack"),
    script:
        "../analysis/scripts/count_records.py"


rule draw_prisma:
    input:
        counts=results("records.json"),
        code=analysis_code("draw_prisma"),
    output:
        svg=results("brief", "prisma.svg"),
        png=results("brief", "prisma.png"),
    log:
        results("logs", "draw_prisma.log"),
    benchmark:
        results("benchmarks", "draw_prisma.tsv")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../analysis/scripts/draw_prisma.py"
