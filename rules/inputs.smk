# Stage 1: the reviewers' inputs (bibliography, extraction files) checked, then as tables.


onstart:
    # One build per results folder at a time (the Makefile runs Snakemake with
    # --nolock): a lock of our own, held by this process until it ends. Under it,
    # what killed runs left (temporary files, scratch folders) is removed.
    try:
        HELD_LOCK.append(_io.build_lock(RESULTS))
    except _io.BuildLocked as err:
        print(err, file=sys.stderr)
        sys.exit(1)
    _io.remove_leftovers(RESULTS)


rule stamp_corpus:
    # A new name whenever an extraction file is added, removed or changed: the stamp is
    # missing, this job writes it (removing the older ones beside it), and check_inputs
    # reruns. Only rm and touch: the stamp is an empty file.
    output:
        stamp=CORPUS_STAMP,
    log:
        # Bookkeeping, like the stamp: in .cache/, so a run stopped by bad input changes no log.
        results(".cache", "stamp_corpus.log"),
    threads: 1
    resources:
        mem_mb=100,
        runtime=5,
    shell:
        '((cd "$(dirname {output.stamp:q})" && for old in corpus-*.stamp; do'
        ' [ "$old" = "$(basename {output.stamp:q})" ] || rm -f -- "$old"; done)'
        " && touch {output.stamp:q}) 2> {log:q}"


rule check_inputs:
    input:
        extractions=CORPUS_STAMP,
        second_coder=SECOND_CODER_FILES,
        bib=BIB_FILES,
        schema=schema_file("extraction"),
        code=analysis_code("check_inputs"),
    output:
        checked=checked(),
    log:
        results("logs", "check_inputs.log"),
    benchmark:
        results("benchmarks", "check_inputs.tsv")
    # Files that changed are parsed in this many processes (a cold check is mostly parsing).
    threads: 2
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        corpus=CORPUS,
        cache=results(".cache", "studies.pack"),
        settings=SETTINGS,
    script:
        "../analysis/scripts/check_inputs.py"


rule parse_bibliography:
    input:
        bib=BIB_FILES,
        checked=checked(),
        code=analysis_code("parse_bibliography"),
    output:
        csv=results("references.csv"),
        bib=results("references.bib"),
    log:
        results("logs", "parse_bibliography.log"),
    benchmark:
        results("benchmarks", "parse_bibliography.tsv")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=15,
    params:
        corpus=CORPUS,
        # Read only: check_inputs (which ran first) writes it; each entry's parse, by its bytes.
        cache=results(".cache", "bibliography.json"),
    script:
        "../analysis/scripts/parse_bibliography.py"


rule convert_effects:
    input:
        checked=checked(),
        references=results("references.csv"),
        schema=schema_file("extraction"),
        code=analysis_code("convert_effects"),
    output:
        effects=results("effects.csv"),
        studies=results("studies.csv"),
    log:
        results("logs", "convert_effects.log"),
    benchmark:
        results("benchmarks", "convert_effects.tsv")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        corpus=CORPUS,
        # Read only: check_inputs (which ran first) writes it; not an output (never deleted).
        cache=results(".cache", "studies.pack"),
    script:
        "../analysis/scripts/convert_effects.py"
