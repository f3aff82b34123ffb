"""The bad-input corpus (tests/data/bad/cases.yaml): every careless or hostile input
gets its exact, one-line error (or is handled correctly), never a traceback, and
nothing is written where it should not be.

Each case goes through the check the workflow runs before any job
(``analysis.inputs.check.check_inputs``, called from rules/common.smk) and through the
``review`` command a reviewer runs.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml

from analysis.inputs.check import InputError, check_inputs
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
        assert not results.exists() or snapshot(results) == {}, "a failed check wrote results"


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
