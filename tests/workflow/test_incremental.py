"""A living review's rebuild: adding one study redoes exactly the jobs it touches, and the
incremental build's outputs are the bytes of a cold build of the same inputs.

The corpus is synthetic (benchmarks/generate.py, 16 studies); "add one study" writes the
next study of the same seed and its BibTeX entry, as the benchmarks do. Which jobs ran is
read from Snakemake's job list (its log), never from a time. The brief records the
commit of the code: a commit made while this test runs changes it between builds.
"""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import pytest

from benchmarks import generate as gen
from tests.workflow.conftest import run_workflow

SEED = 7
# Adding a study changes the bibliography, the corpus and every whole-corpus table, so
# these rerun (each at most once; the PRISMA counts and the certainty ratings change with
# the corpus); the brief is rendered again from its new source.
ALWAYS = {
    "stamp_corpus",
    "check_inputs",
    "parse_bibliography",
    "convert_effects",
    "count_records",
    "draw_prisma",
    "rate_certainty",
    "pool_analyses",
    "split_effects",
    "draw_figures",
    "combine_sensitivity",
    "write_brief_source",
    "render_brief_html",
    "render_brief_pdf",
}
# Their inputs do not change when a study is added.
NEVER = {"correlate_atlas_counties", "derive_atlas_effects"}
# Rerun only for the shards whose effects file changed.
PER_SHARD = "run_sensitivity"
# Files that differ between any two builds: logs and timings, and caches whose entries
# depend on what was built before (not outputs of the workflow).
NOT_COMPARED = re.compile(r"\A(?:logs|benchmarks|\.[^/]+)(?:/.*)?\Z")


def _jobs(done) -> list[str]:
    """The jobs Snakemake ran, as 'rule' or 'rule[wildcard value]', from its log (stderr)."""
    jobs, current = [], None
    assert "steps (100%) done" in done.stderr or "Nothing to be done" in done.stderr, done.stderr[-2000:]
    for line in (done.stderr + "\n" + done.stdout).splitlines():
        head = re.fullmatch(r"(?:local)?(?:rule|checkpoint) (\w+):", line)
        if head:
            current = head.group(1)
            jobs.append(current)
            continue
        wildcards = re.fullmatch(r"    wildcards: \w+=(\S+)", line)
        if current and wildcards:
            jobs[-1] = f"{current}[{wildcards.group(1)}]"
        elif not line.startswith("    "):
            current = None
    return [j for j in jobs if j != "all"]


def _shards(results: Path) -> dict[str, bytes]:
    folder = results / "sensitivity" / "shards"
    return {re.sub(r"\Aeffects-", "", p.stem): p.read_bytes() for p in sorted(folder.glob("effects-*.csv"))}


def _files(results: Path) -> list[str]:
    names = [p.relative_to(results).as_posix() for p in results.rglob("*") if p.is_file()]
    return sorted(n for n in names if not NOT_COMPARED.fullmatch(n))


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """(jobs of the no-op, jobs after adding a study, changed shards, incremental, cold)."""
    root = tmp_path_factory.mktemp("incremental")
    extracted, bib = gen.generate(16, SEED, root / "corpus")
    incremental, cold = root / "results", root / "results-cold"
    run_workflow(extracted, bib, incremental)
    noop = _jobs(run_workflow(extracted, bib, incremental))
    before = _shards(incremental)
    gen.add_study(extracted, bib, SEED)
    added = _jobs(run_workflow(extracted, bib, incremental))
    after = _shards(incremental)
    changed = {s for s in after if after[s] != before.get(s)}
    run_workflow(extracted, bib, cold)
    return noop, added, changed, incremental, cold


def test_a_no_op_rebuild_runs_no_job(builds):
    noop = builds[0]
    assert noop == []


def test_adding_a_study_reruns_exactly_the_jobs_it_touches(builds):
    _, added, changed, _, _ = builds
    assert len(added) == len(set(added)), f"a job ran twice: {added}"
    rules = {j.split("[")[0] for j in added}
    unknown = rules - ALWAYS - NEVER - {PER_SHARD}
    assert not unknown, f"jobs this test does not know (add them to ALWAYS or NEVER): {sorted(unknown)}"
    assert ALWAYS <= rules, f"expected to rerun but did not: {sorted(ALWAYS - rules)}"
    assert not rules & NEVER, f"reran though nothing it reads changed: {sorted(rules & NEVER)}"
    shards = {j[len(PER_SHARD) + 1 : -1] for j in added if j.startswith(PER_SHARD + "[")}
    assert changed, "the new study changed no shard of the sensitivity analyses"
    assert shards == changed, f"sensitivity shards rerun {sorted(shards)}, changed {sorted(changed)}"


def test_incremental_outputs_are_the_bytes_of_a_cold_build(builds):
    _, _, _, incremental, cold = builds
    names = _files(cold)
    assert names == _files(incremental)
    assert "brief/brief.html" in names and "pooled.csv" in names
    differ = [n for n in names if not filecmp.cmp(cold / n, incremental / n, shallow=False)]
    assert differ == []


def test_one_corpus_stamp_is_left_after_a_change(builds):
    """rule stamp_corpus writes the new stamp and removes the old one (the stamp's name is
    a digest of the extraction files' stamps: analysis/inputs/corpusstamp.py)."""
    _, _, _, incremental, _ = builds
    stamps = sorted(p.name for p in (incremental / ".cache").glob("corpus-*.stamp"))
    assert len(stamps) == 1, stamps


def test_the_rebuilt_brief_was_read_in_pieces_reusing_the_unchanged(builds):
    """The brief's page is read piece by piece, the pieces the new study left alone reused
    (analysis/brief/pieces.py), and still equals the cold build's (the test above)."""
    _, _, _, incremental, _ = builds
    log = (incremental / "logs" / "render_brief_html.log").read_text(encoding="utf-8")
    found = re.search(r"brief\.qmd in (\d+) pieces, (\d+) read, (\d+) reused", log)
    assert found, log
    pieces, read, reused = map(int, found.groups())
    assert pieces == read + reused and 0 < read < pieces and reused > 0
