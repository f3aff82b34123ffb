"""The whole workflow on a corpus of metafor's reference datasets, in a temporary folder.

Expected values: metafor's documented results in tests/data/reference/metafor-results.md
(4 decimals; tolerance 5e-5, tau² 1e-4 relative).
"""

from __future__ import annotations

import math
import os

import pytest

from tests.conftest import ROOT
from tests.workflow.conftest import read_csv, reference_corpus, run_workflow

TOL = 5e-5


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return reference_corpus(tmp_path_factory.mktemp("corpus"))


def snapshot(folder):
    """Every file under ``folder`` with its modification time (to prove nothing else changed)."""
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def tracked_tree():
    """The project's own files (tracked or new, not git-ignored) with their mtimes."""
    import subprocess

    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    files = {ROOT / p for p in listed if p and (ROOT / p).is_file()}
    files |= {p for p in (ROOT / "results").rglob("*") if p.is_file()}  # the default results_dir
    return {p: p.stat().st_mtime_ns for p in files}


@pytest.fixture(scope="module")
def reml_knha(corpus, tmp_path_factory):
    extracted, bib = corpus
    results = tmp_path_factory.mktemp("reml")
    before = tracked_tree()
    run_workflow(extracted, bib, results)  # everything, the brief included
    return results, before


def by_id(rows):
    return {r["analysis_id"]: r for r in rows}


def close(value, expected, tol=TOL):
    return abs(float(value) - expected) <= tol


def test_pooled_matches_metafor_reml_knapp_hartung(reml_knha):
    results, _ = reml_knha
    pooled = by_id(read_csv(results / "pooled.csv"))
    bcg = pooled["linking-health-rr"]
    assert bcg["k"] == "13" and bcg["estimator"] == "REML" and bcg["ci_method"] == "knha"
    assert close(bcg["estimate"], -0.7145) and close(bcg["se"], 0.1808)
    assert close(bcg["ci_low"], -1.1084) and close(bcg["ci_high"], -0.3206)
    assert float(bcg["tau2"]) == pytest.approx(0.3132, rel=1e-3)
    assert close(bcg["q"], 152.2330) and bcg["q_df"] == "12"
    assert close(bcg["egger_stat"], -0.7812) and close(bcg["egger_p"], 0.4512)
    # exp of the KH prediction interval: [0.14, 1.76]
    assert round(math.exp(float(bcg["pi_low"])), 2) == 0.14
    assert round(math.exp(float(bcg["pi_high"])), 2) == 1.76
    molloy = pooled["bonding-health-zcor"]
    assert close(molloy["estimate"], 0.1499) and float(molloy["tau2"]) == pytest.approx(0.0081, abs=5e-5)
    assert close(molloy["q"], 38.1595)
    normand = pooled["workplace-other-smd"]
    assert close(normand["estimate"], -0.5371) and close(normand["q"], 123.7293)
    aloe = pooled["education-education-zpcor"]
    assert close(aloe["estimate"], 0.2108) and close(aloe["q"], 38.1200)


def test_numbers_have_at_least_ten_significant_digits(reml_knha):
    results, _ = reml_knha
    text = (results / "pooled.csv").read_text(encoding="utf-8")
    estimate = by_id(read_csv(results / "pooled.csv"))["linking-health-rr"]["estimate"]
    assert len(estimate.lstrip("-0.").replace(".", "")) >= 10, estimate
    assert "\r" not in text


def test_effects_table_has_contract_columns(reml_knha):
    results, _ = reml_knha
    rows = read_csv(results / "effects.csv")
    for column in (
        "study",
        "effect_id",
        "theme",
        "outcome",
        "measure",
        "yi",
        "vi",
        "input_form",
        "formula",
        "locator",
        "yi_printed",
    ):
        assert column in rows[0]
    first = next(r for r in rows if r["study"] == "bcg01")
    assert close(first["yi"], -0.8893) and close(first["vi"], 0.3256)


def test_writes_only_under_results_dir(reml_knha):
    _, before = reml_knha
    assert tracked_tree() == before


def test_dl_wald(corpus, tmp_path):
    extracted, bib = corpus
    run_workflow(
        extracted, bib, tmp_path, f"{tmp_path}/pooled.csv", config={"estimator": "DL", "ci_method": "wald"}
    )
    bcg = by_id(read_csv(tmp_path / "pooled.csv"))["linking-health-rr"]
    assert (bcg["estimator"], bcg["ci_method"]) == ("DL", "wald")
    assert close(bcg["estimate"], -0.7141) and close(bcg["ci_low"], -1.0644)
    assert close(bcg["ci_high"], -0.3638) and float(bcg["tau2"]) == pytest.approx(0.3088, rel=1e-3)
    assert close(bcg["i2"], 92.1173)


def test_bad_file_stops_before_anything_is_written(corpus, tmp_path):
    extracted, bib = corpus
    run_workflow(extracted, bib, tmp_path, f"{tmp_path}/pooled.csv")
    before = snapshot(tmp_path)
    broken = tmp_path.parent / f"{tmp_path.name}-broken"  # results_dir may not hold an input
    broken.mkdir()
    for path in extracted.iterdir():
        (broken / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    bad = (broken / "molloy01.yaml").read_text(encoding="utf-8").replace("theme: bonding", "theme: family")
    (broken / "molloy01.yaml").write_text(bad + "extra_field: 1\n", encoding="utf-8")
    done = run_workflow(broken, bib, tmp_path, f"{tmp_path}/pooled.csv", check=False)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert (
        "molloy01.yaml: study molloy01, effect adherence, field 'theme': 'family' is not an allowed value"
        in output
    )
    assert "field 'extra_field': unknown field(s) extra_field" in output
    assert "Traceback" not in output

    # The check's own log is rewritten by each check (it now holds the problems), and the
    # per-file cache (.cache/, not a result) records the bad file's problems on purpose, as
    # the corpus stamp (.cache/) records the new corpus.
    def results(state: dict) -> dict:
        kept, cache = tmp_path / "logs" / "check_inputs.log", tmp_path / ".cache"
        return {p: t for p, t in state.items() if p != kept and cache not in p.parents}

    assert results(snapshot(tmp_path)) == results(before)


def test_second_run_does_nothing(corpus, tmp_path):
    extracted, bib = corpus
    run_workflow(extracted, bib, tmp_path, f"{tmp_path}/pooled.csv")
    done = run_workflow(extracted, bib, tmp_path, f"{tmp_path}/pooled.csv")
    assert "Nothing to be done" in done.stdout + done.stderr


def test_one_new_study_reruns_the_chain(corpus, tmp_path):
    extracted, bib = corpus
    run_workflow(extracted, bib, tmp_path, f"{tmp_path}/pooled.csv")
    pooled_before = (tmp_path / "pooled.csv").read_bytes()
    path = extracted / "molloy01.yaml"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original.replace("adherence", "adherence2"), encoding="utf-8")
        os.utime(path)
        done = run_workflow(extracted, bib, tmp_path, f"{tmp_path}/pooled.csv")
        assert "convert_effects" in done.stderr + done.stdout
        assert (tmp_path / "pooled.csv").read_bytes() == pooled_before  # same numbers
    finally:
        path.write_text(original, encoding="utf-8")
