"""The bad-input corpus (tests/data/bad/cases.yaml): every careless or hostile input
gets its exact, one-line error (or is handled correctly), never a traceback, and
nothing is written where it should not be.

Each case goes through the check the workflow runs before any other job
(``analysis.inputs.check.check_inputs``, the rule check_inputs) and through the
``review`` command a reviewer runs; the settings go through the parse-time
``check_config`` (rules/common.smk).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml

from analysis.inputs.check import InputError, check_config, check_corpus, check_inputs
from analysis.inputs.extraction import read_extraction
from analysis.review import cli as review
from analysis.review import sheet
from tests.conftest import ROOT

BAD = ROOT / "tests" / "data" / "bad"
CASES: dict[str, dict] = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))["cases"]
GOOD_BIB = BAD / "_good" / "references.bib"
GOOD_STUDY = BAD / "_good" / "rothon2012.yaml"
BIB_KEYS = {"rothon2012", "other2020"}


def ids(kind: str) -> list[str]:
    return [name for name, case in CASES.items() if case["kind"] == kind]


def case_bytes(case: dict) -> bytes:
    raw = (BAD / case["file"]).read_bytes()
    if "fill" in case:
        raw = raw.replace(b"@@FILL@@", case["fill"]["text"].encode() * case["fill"]["times"])
    return raw


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def setup_case(case: dict, root: Path) -> tuple[Path, Path]:
    """An extracted/ folder and a bibliography for one case, under ``root``."""
    extracted, bib = root / "extracted", GOOD_BIB
    extracted.mkdir()
    kind = case["kind"]
    if kind == "extraction":
        (extracted / case.get("as", "rothon2012.yaml")).write_bytes(case_bytes(case))
    elif kind == "second-coder":
        shutil.copy(GOOD_STUDY, extracted)
        (extracted / "second-coder").mkdir()
        (extracted / "second-coder" / "rothon2012.yaml").write_bytes(case_bytes(case))
    elif kind == "bibliography":
        shutil.copy(GOOD_STUDY, extracted)
        bib = root / "refs.bib"
        bib.write_bytes(case_bytes(case))
    elif kind == "folder":
        setup = case["setup"]
        if setup != "empty-extracted" and setup != "missing-extracted":
            shutil.copy(GOOD_STUDY, extracted)
        if setup == "missing-bibliography":
            bib = root / "no-such-file.bib"
        elif setup == "empty-bibliography-folder":
            bib = root / "references"
            bib.mkdir()
        elif setup == "missing-extracted":
            extracted.rmdir()
            extracted = root / "no-such-folder"
        elif setup == "dangling-link":
            (extracted / "other2020.yaml").symlink_to(root / "moved-away.yaml")
        elif setup == "only-second-coder":
            (extracted / "rothon2012.yaml").unlink()
            (extracted / "second-coder").mkdir()
            shutil.copy(GOOD_STUDY, extracted / "second-coder")
    return extracted, bib


def lines_of(text: str) -> list[str]:
    return text.splitlines()


def assert_one_line(expected: str, output: str) -> None:
    assert any(expected in line for line in lines_of(output)), f"{expected!r} not in:\n{output}"


def test_the_corpus_is_large_and_every_file_is_used():
    assert len(CASES) >= 40
    used = {case["file"] for case in CASES.values() if "file" in case}
    on_disk = {p.name for p in BAD.iterdir() if p.is_file() and p.name != "cases.yaml"}
    assert on_disk == used, "every corpus file belongs to a case, and every case's file exists"
    for name, case in CASES.items():
        assert ("expect" in case) != bool(case.get("accept")), name


# ---------------------------------------------------------------- the workflow's check


CHECKED = ids("extraction") + ids("second-coder") + ids("bibliography") + ids("folder")


@pytest.mark.parametrize("name", CHECKED)
def test_workflow_check(name, tmp_path):
    case = CASES[name]
    extracted, bib = setup_case(case, tmp_path)
    results = tmp_path / "results"
    before = snapshot(tmp_path)
    start = time.monotonic()
    try:
        check_inputs(extracted, bib, results)
        output = None
    except InputError as err:  # any other exception fails the test: no traceback allowed
        output = str(err)
    elapsed = time.monotonic() - start
    if case.get("accept"):
        assert output is None, output
    else:
        assert output is not None, "the bad input was accepted"
        assert_one_line(case["expect"], output)
        assert all(". Fix: " in line for line in lines_of(output)), output
    assert elapsed < case.get("max_seconds", 30)
    after = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("results/")}
    assert after == before, "the check changed the inputs"
    if output is not None:
        # Only the per-file cache (not a result): its entries report the bad file again.
        written = set(snapshot(results)) if results.exists() else set()
        assert written <= {".cache/studies.pack"}, "a failed check wrote results"


@pytest.mark.parametrize("name", [n for n in ids("extraction") + ids("sheet") if CASES[n].get("literal")])
def test_markup_is_kept_literally(name, tmp_path):
    case = CASES[name]
    if case["kind"] == "extraction":
        extracted, _ = setup_case(case, tmp_path)
        data, problems = read_extraction(extracted / "rothon2012.yaml")
        assert problems == []
    else:
        plan = sheet.plan_import(BAD / case["file"], tmp_path, BIB_KEYS)
        assert plan.problems == []
        data = yaml.safe_load(plan.files[0].text)
    for path, expected in case["literal"].items():
        value = data
        for part in path.split("."):
            value = value[int(part)] if part.isdigit() else value[part]
        assert value == expected


# ---------------------------------------------------------------- the review command


def run_review(capsys, *argv: str) -> tuple[int, str]:
    code = review.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("name", CHECKED)
def test_review_check(name, tmp_path, capsys):
    case = CASES[name]
    extracted, bib = setup_case(case, tmp_path)
    before = snapshot(tmp_path)
    code, output = run_review(capsys, "check", "--extracted", str(extracted), "--bibliography", str(bib))
    assert "Traceback" not in output
    if case.get("accept"):
        assert code == 0, output
        assert output.strip().splitlines()[-1].startswith("No problems")
    else:
        assert code == 1, output
        assert_one_line(case["expect"], output)
        assert "problem(s) in" in output.strip().splitlines()[-1]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ids("sheet"))
def test_review_import(name, tmp_path, capsys, monkeypatch):
    case = CASES[name]
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    start = time.monotonic()
    code, output = run_review(
        capsys,
        "import",
        str(BAD / case["file"]),
        "--extracted",
        str(extracted),
        "--bibliography",
        str(GOOD_BIB),
    )
    assert time.monotonic() - start < case.get("max_seconds", 30)
    assert "Traceback" not in output
    if case.get("accept"):
        assert code == 0, output
        assert (extracted / "rothon2012.yaml").is_file()
    else:
        assert code == 1, output
        assert_one_line(case["expect"], output)
        assert "nothing was written" in output
        assert list(extracted.iterdir()) == [], "a refused import wrote a file"


@pytest.mark.parametrize("name", ids("key"))
def test_review_new(name, tmp_path, capsys, monkeypatch):
    case = CASES[name]
    monkeypatch.chdir(tmp_path)
    extracted = tmp_path / "project" / "extracted"
    code, output = run_review(
        capsys, "new", case["key"], "--extracted", str(extracted), "--bibliography", str(GOOD_BIB)
    )
    assert code == 1 and "Traceback" not in output
    assert_one_line(case["expect"], output)
    assert not extracted.exists() or list(extracted.iterdir()) == []
    assert list(tmp_path.iterdir()) == [] or [p.name for p in tmp_path.iterdir()] == ["project"]
    assert not (tmp_path / "pwned").exists()


# ---------------------------------------------------------------- settings (parse time, issue 16)


def config_for(tmp_path: Path, **changes) -> dict:
    config = {
        "extracted_dir": str(ROOT / "extracted"),
        "bibliography": str(ROOT / "references"),
        "results_dir": str(tmp_path / "results"),
        "rho": 0.6,
        "alpha": 0.05,
        "atlas": {"dir": str(tmp_path / "atlas"), "sha256": {}},
    }
    config.update(changes)
    return config


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"results_dir": str(ROOT / "references")}, "overlaps bibliography"),
        ({"results_dir": str(ROOT / "extracted")}, "overlaps extracted_dir"),
        ({"results_dir": str(ROOT / "extracted" / "out")}, "overlaps extracted_dir"),
        ({"bibliography": "RESULTS/references.bib"}, "overlaps bibliography"),
        ({"results_dir": str(ROOT)}, "is or contains the repository"),
        ({"results_dir": "/"}, "is or contains the repository"),
        ({"results_dir": str(ROOT / "analysis")}, "lies inside the repository's own 'analysis'"),
        ({"results_dir": str(ROOT / ".git" / "x")}, "lies inside the repository's own '.git'"),
        ({"results_dir": "FILE"}, "is an existing file, not a folder"),
        ({"alpha": math.nan}, "config: alpha = nan is not a number"),
        ({"rho": math.nan}, "config: rho = nan is not a number"),
        ({"atlas": {"dir": "x", "sha256": {"a.csv": "0" * 64 + "\n"}}}, "atlas.sha256.a.csv is not 64 hex"),
    ],
)
def test_settings_that_are_refused(tmp_path, changes, expected):
    (tmp_path / "a-file").write_text("x")
    changes = {
        k: (v.replace("RESULTS", str(tmp_path / "results")) if isinstance(v, str) else v)
        for k, v in changes.items()
    }
    if changes.get("results_dir") == "FILE":
        changes["results_dir"] = str(tmp_path / "a-file")
    problems = check_config(config_for(tmp_path, **changes), ROOT)
    assert len(problems) == 1 and expected in problems[0], problems
    assert "\n" not in problems[0] and "Fix: " in problems[0]


def test_settings_that_are_fine(tmp_path):
    assert check_config(config_for(tmp_path), ROOT) == []
    assert check_config(config_for(tmp_path, results_dir=str(ROOT / "results")), ROOT) == []
    assert check_config(config_for(tmp_path, results_dir="results"), ROOT) == []


# ---------------------------------------------------------------- the checker's cache and warnings


def test_cache_is_keyed_on_content_not_on_size_and_time(tmp_path):
    """A same-size edit with the old modification time (touch -r) is checked again."""
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    study = extracted / "rothon2012.yaml"
    shutil.copy(GOOD_STUDY, study)
    results = tmp_path / "results"
    check_inputs(extracted, GOOD_BIB, results)
    assert (results / ".cache" / "studies.pack").is_file()
    stat = study.stat()
    text = study.read_text(encoding="utf-8")
    bad = text.replace("design: cohort", "design: cohorX")
    assert len(bad) == len(text)
    study.write_text(bad, encoding="utf-8")
    os.utime(study, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(InputError, match="'cohorX' is not an allowed value"):
        check_inputs(extracted, GOOD_BIB, results)


def test_a_construct_close_to_an_existing_one_is_a_warning(tmp_path):
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    text = GOOD_STUDY.read_text(encoding="utf-8")
    for key, construct in (("rothon2012", "high-vs-low"), ("other2020", "high-versus-low")):
        doc = text.replace("rothon2012", key).replace(
            "    or: 2.57", f"    construct: {construct}\n    or: 2.57"
        )
        (extracted / f"{key}.yaml").write_text(doc, encoding="utf-8")
    third = text.replace("rothon2012", "third2021").replace(
        "    or: 2.57", "    construct: high-vs-low\n    or: 2.57"
    )
    (extracted / "third2021.yaml").write_text(third, encoding="utf-8")
    result = check_corpus(extracted, keys={"rothon2012", "other2020", "third2021"})
    assert result.problems == []
    assert len(result.warnings) == 1, result.warnings
    warning = result.warnings[0]
    assert warning.file.endswith("other2020.yaml")
    assert "'high-versus-low' is used by no other study but is close to 'high-vs-low'" in warning.text
    assert "constructs in use: high-versus-low, high-vs-low" in warning.text
