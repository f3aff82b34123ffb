"""A handful of the bad-input corpus (tests/data/bad/cases.yaml) through the real
`snakemake` command: a clear error, a non-zero exit, no traceback, nothing
written outside results_dir, and the earlier results byte for byte intact.

The corpus is checked by the rule check_inputs, before any other job: only its
own log changes when it fails (it then holds the problems). Settings are
checked while Snakemake reads the workflow, before anything is read or written.
"""

from __future__ import annotations

import base64
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.workflow.conftest import BRIEF_TARGETS, run_workflow, small_corpus

BAD = ROOT / "tests" / "data" / "bad"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))["cases"]
TARGETS = BRIEF_TARGETS
WORKFLOW_CASES = [
    "second-coder-key-number",
    "construct-trailing-newline",
    "number-se-underflows",
    "quote-over-a-csv-field",
    "construct-300-characters",
    "yaml-billion-laughs",
    "yaml-deep-nesting",
    "quote-5-megabytes",
    "number-nan",
    "study-key-path",
    "study-key-shell-metacharacters",
    "bib-unclosed-brace",
    "extracted-empty",
    "bibliography-missing",
]


# The check's own log: the record of the latest check, rewritten by each.
CHECK_LOG = "logs/check_inputs.log"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def results_snapshot(folder: Path) -> dict[str, bytes]:
    """The results, without the check's log and the caches (.cache/: not results; the
    per-file cache records a bad file's problems on purpose, to report them again)."""
    return {k: v for k, v in snapshot(folder).items() if k != CHECK_LOG and not k.startswith(".cache/")}


def neighbours(*folders: Path) -> dict[str, list[str]]:
    """The names in the folders around a run, where a path like ../../x would land."""
    return {str(f): sorted(p.name for p in f.iterdir()) for f in folders}


def fill(case: dict) -> bytes:
    raw = (BAD / case["file"]).read_bytes()
    if "fill" in case:
        raw = raw.replace(b"@@FILL@@", case["fill"]["text"].encode() * case["fill"]["times"])
    return raw


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A good corpus built once to the brief: the 'earlier results' every case must leave intact."""
    root = tmp_path_factory.mktemp("hostile")
    extracted, bib = small_corpus(root / "good")
    results = root / "results"
    run_workflow(extracted, bib, results, *[str(results / t) for t in TARGETS])
    return root, results


@pytest.mark.parametrize("name", WORKFLOW_CASES)
def test_bad_input_through_snakemake(name, built, tmp_path):
    root, results = built
    case = CASES[name]
    extracted, bib = small_corpus(tmp_path / "case")
    if case["kind"] == "extraction":
        (extracted / case.get("as", "rothon2012.yaml")).write_bytes(fill(case))
    elif case["kind"] == "second-coder":
        (extracted / "second-coder").mkdir()
        (extracted / "second-coder" / "rothon2012.yaml").write_bytes(fill(case))
    elif case["kind"] == "bibliography":
        bib = tmp_path / "refs.bib"
        bib.write_bytes(fill(case))
    elif case["setup"] == "empty-extracted":
        shutil.rmtree(extracted)
        extracted.mkdir()
    elif case["setup"] == "missing-bibliography":
        bib = tmp_path / "no-such-file.bib"
    results_before = results_snapshot(results)
    inputs_before = snapshot(tmp_path)
    around = (ROOT, ROOT.parent, tmp_path.parent, results.parent)
    around_before = neighbours(*around)
    start = time.monotonic()
    done = run_workflow(extracted, bib, results, *[str(results / t) for t in TARGETS], check=False)
    elapsed = time.monotonic() - start
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert any(case["expect"] in line for line in output.splitlines()), output[-3000:]
    assert "nothing was run and earlier results are unchanged" in output
    assert "Traceback" not in output
    assert results_snapshot(results) == results_before, "earlier results changed"
    assert snapshot(tmp_path) == inputs_before, "the workflow changed its inputs"
    assert neighbours(*around) == around_before, "the workflow wrote outside results_dir"
    assert elapsed < 120


def test_markup_in_text_reaches_the_brief_as_text(built, tmp_path):
    """HTML in a study's findings is accepted and shown literally, never as markup; LaTeX
    commands of the bibliography are text (no file read, no javascript: link); a quote
    that a spreadsheet would run as a formula is neutralised in effects.csv."""
    root, _ = built
    extracted, bib = small_corpus(tmp_path / "case")
    case = CASES["html-in-text"]
    hostile_quote = fill(case).replace(b'quote: "(', b'quote: "=HYPERLINK(x) (')
    assert b"HYPERLINK" in hostile_quote
    (extracted / "rothon2012.yaml").write_bytes(hostile_quote)
    bib_file = bib / "references.bib"
    hostile = r"\includegraphics{/etc/passwd} \input{/etc/hostname} \url{javascript:alert(document.cookie)} "
    bib_file.write_text(
        bib_file.read_text(encoding="utf-8").replace(
            "title   = {Family social support,", "title   = {" + hostile + "Family social support,"
        ),
        encoding="utf-8",
    )
    results = tmp_path / "results"
    run_workflow(extracted, bib, results, str(results / "studies.csv"), str(results / TARGETS[0]))
    studies = (results / "studies.csv").read_text(encoding="utf-8")
    assert "<script>alert('x')</script><b>Pupils</b>" in studies
    html = (results / TARGETS[0]).read_text(encoding="utf-8")
    assert "<script>alert('x')</script>" not in html
    assert "javascript:alert(document.cookie)" in html, "the command's argument is shown as text"
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", html, re.IGNORECASE)
    assert "/etc/passwd" in html.lower() and "ncludegraphics" in html, (
        "the command is shown as text (title case)"
    )
    passwd = Path("/etc/passwd").read_bytes()[:24]
    assert base64.b64encode(passwd)[:24].decode() not in html, "a local file was embedded"
    assert "\\textbackslash{}includegraphics" in (results / "references.bib").read_text(encoding="utf-8")
    effects = (results / "effects.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(x) (OR" in effects and ",=HYPERLINK" not in effects and ',"=HYPERLINK' not in effects


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({"results_dir": "BIB"}, "overlaps bibliography"),
        ({"bibliography": "RESULTS/references.bib"}, "overlaps bibliography"),
        ({"results_dir": "EXTRACTED"}, "overlaps extracted_dir"),
        ({"results_dir": str(ROOT)}, "is or contains the repository"),
        ({"results_dir": "FILE"}, "is an existing file, not a folder"),
        ({"alpha": "nan"}, "config: alpha = nan is not a number"),
        ({"rho": "nan"}, "config: rho = nan is not a number"),
    ],
)
def test_settings_are_refused_before_anything_is_read_or_written(built, tmp_path, setting, expected):
    root, results = built
    extracted, bib = small_corpus(tmp_path / "case")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    names = {
        "BIB": str(bib),
        "EXTRACTED": str(extracted),
        "FILE": str(tmp_path / "a-file"),
        "RESULTS": str(results),
    }
    config = {k: names.get(v, v.replace("RESULTS", str(results))) for k, v in setting.items()}
    before, inputs_before, repo_before = snapshot(results), snapshot(tmp_path), neighbours(ROOT)
    done = run_workflow(
        extracted, bib, results, *[str(results / t) for t in TARGETS], config=config, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    lines = [line for line in output.splitlines() if expected in line]
    assert len(lines) == 1 and "Fix: " in lines[0], output[-3000:]
    assert "Traceback" not in output
    assert snapshot(results) == before and snapshot(tmp_path) == inputs_before
    assert neighbours(ROOT) == repo_before


def test_a_dry_run_and_lint_write_nothing(tmp_path):
    extracted, bib = small_corpus(tmp_path / "case")
    results = tmp_path / "fresh-results"
    for flag in ("-n", "--lint"):
        run_workflow(extracted, bib, results, flag, check=False)
        assert not results.exists(), f"snakemake {flag} wrote {sorted(map(str, results.rglob('*')))}"


def test_a_second_build_of_one_folder_is_refused(built):
    """Two builds of one results folder at once (make brief uses --nolock) would corrupt it."""
    from analysis.io import build_lock

    root, results = built
    extracted, bib = root / "good" / "extracted", root / "good" / "references"
    before = snapshot(results)
    lock = build_lock(results)  # this test is the build that is running
    try:
        done = run_workflow(
            extracted,
            bib,
            results,
            str(results / "references.csv"),
            "--forcerun",
            "parse_bibliography",
            check=False,
        )
    finally:
        lock.close()
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert any(
        "another build of this folder is running; nothing was done" in line for line in output.splitlines()
    ), output[-3000:]
    assert "Traceback" not in output
    assert snapshot(results) == before


def test_leftovers_of_killed_runs_are_removed_by_the_next_run(built):
    root, results = built
    extracted, bib = root / "good" / "extracted", root / "good" / "references"
    stale_file = results / "figures" / ".forest-x.svg.k2j3h4g5.tmp"  # 0 bytes, as after kill -9
    stale_file.write_bytes(b"")
    stale_dir = results / "brief" / ".render-html.tmp"
    stale_dir.mkdir()
    (stale_dir / "brief.html").write_text("half", encoding="utf-8")
    before = {
        k: v
        for k, v in snapshot(results).items()
        if ".tmp" not in k and not k.startswith(("logs", "benchmarks", ".cache/"))
    }
    run_workflow(extracted, bib, results, str(results / "references.csv"), "--forcerun", "parse_bibliography")
    assert not stale_file.exists() and not stale_dir.exists()
    after = {
        k: v for k, v in snapshot(results).items() if not k.startswith(("logs", "benchmarks", ".cache/"))
    }
    assert after == before
