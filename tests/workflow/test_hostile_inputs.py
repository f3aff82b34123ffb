"""A handful of the bad-input corpus (tests/data/bad/cases.yaml) through the real
`snakemake` command: a clear error, a non-zero exit, no traceback, nothing
written outside results_dir, and the earlier results byte for byte intact.
"""

from __future__ import annotations

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


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


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
    elif case["kind"] == "bibliography":
        bib = tmp_path / "refs.bib"
        bib.write_bytes(fill(case))
    elif case["setup"] == "empty-extracted":
        shutil.rmtree(extracted)
        extracted.mkdir()
    elif case["setup"] == "missing-bibliography":
        bib = tmp_path / "no-such-file.bib"
    results_before = snapshot(results)
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
    assert snapshot(results) == results_before, "earlier results changed"
    assert snapshot(tmp_path) == inputs_before, "the workflow changed its inputs"
    assert neighbours(*around) == around_before, "the workflow wrote outside results_dir"
    assert elapsed < 120


def test_markup_in_text_reaches_the_brief_as_text(built, tmp_path):
    """HTML in a study's findings is accepted and shown literally, never as markup."""
    root, _ = built
    extracted, bib = small_corpus(tmp_path / "case")
    case = CASES["html-in-text"]
    (extracted / "rothon2012.yaml").write_bytes(fill(case))
    results = tmp_path / "results"
    run_workflow(extracted, bib, results, str(results / "studies.csv"), str(results / TARGETS[0]))
    studies = (results / "studies.csv").read_text(encoding="utf-8")
    assert "<script>alert('x')</script><b>Pupils</b>" in studies
    html = (results / TARGETS[0]).read_text(encoding="utf-8")
    assert "<script>alert('x')</script>" not in html
