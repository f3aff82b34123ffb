"""Releases without a build: CHANGES.md on small hand-made tables, the refusals in tiny git
repositories, extractions.csv from the codebook, the data package, CITATION.cff and .zenodo.json."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analysis.release import assemble, changes, checks, datapackage, extractions, zenodo
from analysis.release import repo as git_repo
from analysis.release.changes import ReleaseTables
from tests.conftest import ROOT

# ------------------------------------------------------------------ CHANGES.md

STUDY = {
    "kind": "study",
    "design": "cohort",
    "country": "GB",
    "status": "coded",
    "findings": "",
    "study_notes": "",
    "file": "",
}


def extraction(study: str, effect_id: str, **fields) -> dict:
    return {
        "study": study,
        "effect_id": effect_id,
        **STUDY,
        "file": f"extracted/{study}.yaml",
        "theme": "bonding",
        "outcome": "health",
        "or": "1.5",
        "ci_low": "1.2",
        "ci_high": "1.9",
        **fields,
    }


def pooled(analysis_id: str, measure: str, estimate: float, low: float, high: float, k: int, **extra) -> dict:
    return {
        "analysis_id": analysis_id,
        "measure": measure,
        "estimate": repr(estimate),
        "ci_low": repr(low),
        "ci_high": repr(high),
        "k": str(k),
        "n_studies": str(k),
        "n_effects": str(k),
        **extra,
    }


OLD = ReleaseTables(
    extractions=[
        extraction("alpha2001", "mh"),
        extraction("alpha2001", "edu", theme="education", outcome="education"),
        extraction("beta2002", "mh", **{"or": "2.0", "ci_low": "1.1", "ci_high": "3.6"}),
        extraction("gone2003", "mh"),
        {**extraction("story2004", ""), "status": "narrative", "findings": "A story."},
    ],
    pooled=[
        pooled("bonding-health-or", "OR", math.log(1.6), math.log(0.9), math.log(2.8), 3),
        pooled("bonding-mobility-zcor", "ZCOR", math.atanh(0.2), math.atanh(0.1), math.atanh(0.3), 4),
        pooled("linking-income-or", "OR", 0.1, -0.05, 0.25, 2),
        pooled("education-education-or", "OR", 0.3, 0.1, 0.5, 2),
    ],
    references=[
        {"key": "new2024", "author": "Smith, Jane and Roe, R.", "year": "2024", "title": "A new cohort"}
    ],
)
NEW = ReleaseTables(
    extractions=[
        extraction("alpha2001", "mh"),
        extraction("alpha2001", "edu", theme="education", outcome="education", **{"or": "1.6"}),
        extraction("alpha2001", "extra"),
        extraction("beta2002", "mh", **{"or": "2.0", "ci_low": "1.1", "ci_high": "3.6"}),
        extraction("new2024", "mh"),
        {**extraction("story2004", ""), "status": "narrative", "findings": "A story."},
    ],
    pooled=[
        pooled("bonding-health-or", "OR", math.log(1.45), math.log(1.05), math.log(2.0), 4),
        pooled("bonding-mobility-zcor", "ZCOR", math.atanh(0.2), math.atanh(0.1), math.atanh(0.3), 4),
        pooled("linking-income-or", "OR", 0.2, 0.05, 0.35, 2),
        pooled("bridging-income-smd", "SMD", 0.25, 0.1, 0.4, 3),
    ],
    references=OLD.references,
)


def test_first_release_says_so():
    text = changes.changes_markdown("0.1.0", NEW)
    assert text.startswith("# Changes in v0.1.0\n")
    assert "First release." in text
    assert "It holds 4 studies (3 with coded effects, 1 narrative), 5 effects, 4 analyses." in text


@pytest.fixture(scope="module")
def doc() -> str:
    return changes.changes_markdown("0.2.0", NEW, OLD, "0.1.0")


def section(text: str, title: str) -> str:
    return text.split(title, 1)[1].split("\n\n##", 1)[0] if title in text else ""


def test_studies_added_removed_recoded(doc):
    studies = section(doc, "## Studies")
    added = studies.split("Added (1):")[1].split("Removed")[0]
    assert "**new2024** (Smith et al. 2024, *A new cohort*): cohort; GB; 1 effect: mh" in added
    removed = studies.split("Removed (1):")[1].split("Recoded")[0]
    assert "**gone2003**" in removed
    recoded = studies.split("Recoded (1;")[1]
    # alpha2001: the OR of one effect changed and an effect was added; beta2002 did not change.
    assert "**alpha2001**: effect edu (or); effect added: extra" in recoded
    assert "beta2002" not in studies and "story2004" not in studies


def test_moved_estimates_on_the_natural_scale_with_ci_crossing(doc):
    moved = section(doc, "## Pooled estimates")
    line = next(li for li in moved.splitlines() if "`bonding-health-or`" in li)
    assert "OR 1.60 [0.900, 2.80] (k = 3) -> 1.45 [1.05, 2.00] (k = 4)" in line
    assert "its CI now **excludes** no effect (it included it)" in line
    line = next(li for li in moved.splitlines() if "`linking-income-or`" in li)
    assert "its CI now **excludes** no effect" in line
    assert "`bonding-mobility-zcor`" not in moved  # did not move
    assert "Moved (2):" in moved and "Unchanged: 1 analysis." in moved
    assert "Certainty (GRADE) changes are not listed" in moved


def test_ci_that_comes_to_include_no_effect_is_named():
    old = ReleaseTables([], [pooled("a-b-zcor", "ZCOR", 0.3, 0.1, 0.5, 3)])
    new = ReleaseTables([], [pooled("a-b-zcor", "ZCOR", 0.2, -0.01, 0.41, 4)])
    text = changes.changes_markdown("1.1.0", new, old, "1.0.0")
    assert "`a-b-zcor`: r 0.291 [0.0997, 0.462] (k = 3) -> 0.197 [-0.0100, 0.388] (k = 4)" in text
    assert "its CI now **includes** no effect (it excluded it)" in text


def test_new_and_retired_analyses(doc):
    new = section(doc, "## New analyses (1)")
    assert "`bridging-income-smd`: g 0.250 [0.100, 0.400] (k = 3)" in new
    retired = section(doc, "## Retired analyses (1)")
    assert "`education-education-or`" in retired and "(retired)" in retired
    assert "last estimate is in v0.1.0" in retired


def test_certainty_changes_when_the_tables_have_them():
    old = ReleaseTables(
        [],
        [
            pooled("a-b-or", "OR", 0.3, 0.1, 0.5, 3, certainty="low"),
            pooled("c-d-or", "OR", 0.3, 0.1, 0.5, 3, certainty="low"),
        ],
    )
    new = ReleaseTables(
        [],
        [
            pooled("a-b-or", "OR", 0.31, 0.12, 0.5, 4, certainty="moderate"),
            pooled("c-d-or", "OR", 0.3, 0.1, 0.5, 3, certainty="very low"),
        ],
    )
    text = changes.changes_markdown("1.1.0", new, old, "1.0.0")
    assert "certainty low -> moderate" in text
    assert "`c-d-or`" in text and "certainty low -> very low" in text  # only certainty moved
    assert "Certainty (GRADE) changes are not listed" not in text


def test_tiny_differences_are_not_moves_and_digits_grow_until_a_move_shows():
    a = pooled("a-b-smd", "SMD", 0.123456789012345, 0.1, 0.2, 3)
    same = {**a, "estimate": "0.123456789012346"}
    assert changes.compare_pooled([a], [same])[0] == []
    moved = {**a, "estimate": "0.12346"}
    old, new = changes.shown_pair(a, moved)
    assert old.estimate != new.estimate and old.estimate == "0.123457"


def test_natural_scale():
    assert changes.natural("OR", math.log(2)) == pytest.approx(2)
    assert changes.natural("ZPCOR", math.atanh(0.3)) == pytest.approx(0.3)
    assert changes.natural("SMD", 0.4) == 0.4
    assert changes._number(1234.5) == "1234"  # round half to even
    assert changes._number(-0.000123456) == "-0.000123"
    assert changes._number(math.tanh(-0.01)) == "-0.0100"
    assert changes._number(12.0) == "12.0" and changes._number(100.0) == "100"


# ------------------------------------------------------------------ versions and refusals


def test_parse_version():
    assert git_repo.parse_version("1.2.3") == (1, 2, 3)
    assert git_repo.parse_version("v0.10.0") == (0, 10, 0)
    assert git_repo.parse_version("0.10.0") > git_repo.parse_version("0.9.9")
    for bad in ("1.2", "1.2.3.4", "01.2.3", "1.2.x", ""):
        with pytest.raises(git_repo.ReleaseError, match="MAJOR.MINOR.PATCH"):
            git_repo.parse_version(bad)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def tiny_repo(tmp_path) -> Path:
    """A git repository with only CITATION.cff and .zenodo.json (version 0.3.0)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "--quiet")
    _git(repo, "config", "user.name", "Test")
    _git(repo, "config", "user.email", "test@example.org")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    cff.update({"version": "0.3.0", "date-released": "2026-01-31"})
    (repo / "CITATION.cff").write_text(yaml.safe_dump(cff, sort_keys=False), encoding="utf-8")
    zenodo.write_zenodo(repo)
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", "inputs")
    return repo


def test_check_release_accepts_a_clean_consistent_repository(tiny_repo):
    assert checks.check_release(tiny_repo, "0.3.0") == (0, 3, 0)


def test_refuses_a_dirty_tree(tiny_repo):
    (tiny_repo / "new.yaml").write_text("study: x\n", encoding="utf-8")
    with pytest.raises(git_repo.ReleaseError, match=r"uncommitted changes \(new.yaml\): commit"):
        checks.check_release(tiny_repo, "0.3.0")
    (tiny_repo / "new.yaml").unlink()
    with open(tiny_repo / "CITATION.cff", "a", encoding="utf-8") as handle:
        handle.write("# edited\n")
    with pytest.raises(git_repo.ReleaseError, match=r"uncommitted changes \(CITATION.cff\): commit"):
        checks.check_release(tiny_repo, "0.3.0")


def test_refuses_an_existing_or_lower_version(tiny_repo):
    _git(tiny_repo, "tag", "-a", "v0.3.0", "-m", "x")
    with pytest.raises(git_repo.ReleaseError, match=r"Version 0.3.0 already exists \(tag v0.3.0\)"):
        checks.check_release(tiny_repo, "0.3.0")
    (tiny_repo / "releases" / "v0.4.0").mkdir(parents=True)
    (tiny_repo / "releases" / "v0.4.0" / "pooled.csv").write_text("analysis_id\n", encoding="utf-8")
    _git(tiny_repo, "add", "-A")
    _git(tiny_repo, "commit", "--quiet", "-m", "release folder")
    with pytest.raises(git_repo.ReleaseError, match="not greater than the last release, 0.4.0"):
        checks.check_release(tiny_repo, "0.3.1")


def test_refuses_a_version_citation_cff_does_not_state(tiny_repo):
    with pytest.raises(
        git_repo.ReleaseError,
        match="CITATION.cff says version 0.3.0, not 0.4.0: set version and date-released in CITATION.cff",
    ):
        checks.check_release(tiny_repo, "0.4.0")


def test_refuses_a_release_date_before_the_last_release(tiny_repo):
    last = tiny_repo / "releases" / "v0.2.0"
    last.mkdir(parents=True)
    (last / "pooled.csv").write_text("analysis_id\n", encoding="utf-8")
    (last / "CITATION.cff").write_text('version: "0.2.0"\ndate-released: "2026-03-01"\n', encoding="utf-8")
    _git(tiny_repo, "add", "-A")
    _git(tiny_repo, "commit", "--quiet", "-m", "v0.2.0")
    with pytest.raises(
        git_repo.ReleaseError,
        match=r"date-released 2026-01-31 is before v0.2.0's "
        r"\(2026-03-01\): set date-released",
    ):
        checks.check_release(tiny_repo, "0.3.0")


def test_refuses_a_stale_zenodo_json(tiny_repo):
    (tiny_repo / ".zenodo.json").write_text("{}\n", encoding="utf-8")
    _git(tiny_repo, "commit", "--quiet", "-am", "stale")
    with pytest.raises(git_repo.ReleaseError, match=r"\.zenodo\.json does not match CITATION.cff"):
        checks.check_release(tiny_repo, "0.3.0")


def test_previous_release_folder_is_the_highest_below(tmp_path):
    for name in ("v0.1.0", "v0.2.0", "v0.10.0", "v1.0.0", "notes"):
        (tmp_path / "releases" / name).mkdir(parents=True)
        (tmp_path / "releases" / name / "pooled.csv").write_text("analysis_id\n", encoding="utf-8")
    assert git_repo.previous_release_folder(tmp_path, (0, 10, 1)).name == "v0.10.0"
    assert git_repo.previous_release_folder(tmp_path, (0, 10, 0)).name == "v0.2.0"
    assert git_repo.previous_release_folder(tmp_path, (0, 1, 0)) is None


# ------------------------------------------------------------------ tables and package


def _schema() -> dict:
    return yaml.safe_load((ROOT / "schemas" / "extraction.schema.yaml").read_text(encoding="utf-8"))


def test_extraction_rows_one_per_effect_or_narrative_record(tmp_path):
    folder = tmp_path / "extracted"
    folder.mkdir()
    (folder / "b2001.yaml").write_text(
        yaml.safe_dump(
            {
                "study": "b2001",
                "design": "cohort",
                "country": ["GB", "US"],
                "status": "coded",
                "notes": "study note",
                "effects": [
                    {
                        "id": "z",
                        "theme": "bonding",
                        "outcome": "health",
                        "or": 1.5,
                        "ci": [1.2, 1.9],
                        "locator": "T2",
                        "quote": "OR 1.5 (1.2-1.9)",
                        "notes": "effect note",
                    },
                    {
                        "id": "a",
                        "theme": "bonding",
                        "outcome": "income",
                        "counts": {"ai": 1, "bi": 2, "ci": 3, "di": 4},
                        "measure": "OR",
                        "locator": "T3",
                        "quote": "1 2 3 4",
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    (folder / "a2000.yaml").write_text(
        yaml.safe_dump(
            {
                "study": "a2000",
                "design": "qualitative",
                "country": ["GB"],
                "status": "narrative",
                "findings": "Folded\n  text.",
            }
        ),
        encoding="utf-8",
    )
    columns, rows = extractions.extraction_rows(folder, _schema())
    names = [c.name for c in columns]
    assert names[:2] == ["study", "design"] and "effect_id" in names and "file" in names
    assert {
        "ci_low",
        "ci_high",
        "counts_ai",
        "groups_sd2",
        "computed_by",
        "study_notes",
        "effect_notes",
    } <= set(names)
    assert [(r["study"], r["effect_id"]) for r in rows] == [("a2000", None), ("b2001", "a"), ("b2001", "z")]
    narrative, counts, ratio = rows
    assert narrative["findings"] == "Folded text." and narrative["kind"] == "study"  # schema default
    assert ratio["country"] == "GB;US" and ratio["ci_low"] == 1.2 and ratio["ci_high"] == 1.9
    assert ratio["study_notes"] == "study note" and ratio["effect_notes"] == "effect note"
    assert counts["counts_di"] == 4 and counts["ci_low"] is None
    assert ratio["file"] == "extracted/b2001.yaml"


def test_infer_type():
    assert datapackage.infer_type("k", ["1", "12", ""]) == "integer"
    assert datapackage.infer_type("yi", ["1", "1.5e-05", "-0.2"]) == "number"
    assert datapackage.infer_type("reverse", ["true", "false", ""]) == "boolean"
    assert datapackage.infer_type("study", ["2001"]) == "string"  # identifiers stay text
    assert datapackage.infer_type("label", ["1", "x"]) == "string"
    assert datapackage.infer_type("empty", ["", ""]) == "string"


def test_sha256sums_is_sorted_and_skips_itself(tmp_path):
    (tmp_path / "b.csv").write_text("b\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("a\n", encoding="utf-8")
    (tmp_path / "SHA256SUMS").write_text("old\n", encoding="utf-8")
    text = assemble.sha256sums(tmp_path)
    assert [line.split("  ")[1] for line in text.splitlines()] == ["a.txt", "b.csv"]
    (tmp_path / "SHA256SUMS").write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_datapackage_validates_with_frictionless_and_catches_a_bad_value(tmp_path):
    frictionless = pytest.importorskip(
        "frictionless", reason="frictionless is not installed (add it from requirements.lock)"
    )
    (tmp_path / "references.csv").write_text("key,year,title\na2000,2000,T\nb2001,2001,U\n", encoding="utf-8")
    (tmp_path / "pooled.csv").write_text("analysis_id,k,estimate,i2\nx-y-or,3,0.25,1e-05\n", encoding="utf-8")
    (tmp_path / "effects.csv").write_text("study,effect_id,yi,reverse\na2000,e1,0.1,true\n", encoding="utf-8")
    columns = extractions.extraction_columns(_schema())
    from analysis.io import csv_text

    (tmp_path / "extractions.csv").write_text(
        csv_text(
            [
                {
                    "study": "a2000",
                    "design": "cohort",
                    "status": "coded",
                    "effect_id": "e1",
                    "theme": "bonding",
                    "or": 1.5,
                }
            ],
            [c.name for c in columns],
        ),
        encoding="utf-8",
    )
    cff = zenodo.read_cff(ROOT / "CITATION.cff")
    package = datapackage.datapackage(
        tmp_path, cff, "0.1.0", "2026-01-01T00:00:00Z", extractions.extraction_table_schema(columns)
    )
    (tmp_path / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    fields = {f["name"]: f for f in package["resources"][2]["schema"]["fields"]}  # pooled
    assert fields["k"]["type"] == "integer" and fields["i2"]["type"] == "number"
    assert "Cite estimates by it" in fields["analysis_id"]["description"]
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    # A study that is not in the bibliography, and an enum value outside the codebook.
    (tmp_path / "extractions.csv").write_text(
        csv_text([{"study": "zzz", "design": "anecdote", "status": "coded"}], [c.name for c in columns]),
        encoding="utf-8",
    )
    package = datapackage.datapackage(
        tmp_path, cff, "0.1.0", "2026-01-01T00:00:00Z", extractions.extraction_table_schema(columns)
    )
    (tmp_path / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    kinds = {e[0] for e in report.flatten(["type"])}
    assert not report.valid and {"constraint-error", "foreign-key"} <= kinds


# ------------------------------------------------------------------ CITATION.cff and Zenodo


def test_citation_cff_is_valid_by_cffconvert():
    cffconvert = shutil.which("cffconvert", path=str(Path(sys.executable).parent))
    if cffconvert is None:
        pytest.skip("cffconvert is not installed (add it from requirements.lock)")
    done = subprocess.run(
        [cffconvert, "--validate", "-i", str(ROOT / "CITATION.cff")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert zenodo.check_cff(zenodo.read_cff(ROOT / "CITATION.cff")) == []


def test_check_cff_lists_missing_fields_and_bad_dates():
    problems = zenodo.check_cff({"cff-version": "1.2.0", "title": "x", "date-released": "31/01/2026"})
    assert any("'authors' is missing" in p for p in problems)
    assert any("'version' is missing" in p for p in problems)
    assert any("31/01/2026" in p for p in problems)


AUTHORS = [
    {
        "given-names": "Jane",
        "family-names": "Smith",
        "name-particle": "van",
        "name-suffix": "Jr.",
        "affiliation": "Uni",
        "orcid": "https://orcid.org/0000-0002-1825-0097",
    },
    {"given-names": "Ann"},
    {"family-names": "Roe", "affiliation": "Lab"},
    {"alias": "the-coder"},
    {"name": "Evidence Brief Team", "orcid": "https://orcid.org/0000-0001-5109-3700"},
]


def test_zenodo_json_matches_cffconvert():
    cffconvert = pytest.importorskip(
        "cffconvert", reason="cffconvert is not installed (add it from requirements.lock)"
    )
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    for authors in (cff["authors"], AUTHORS):
        text = yaml.safe_dump({**cff, "authors": authors}, sort_keys=False)
        theirs = json.loads(cffconvert.Citation(cffstr=text).as_zenodo())
        ours = zenodo.zenodo_metadata(zenodo.read_cff_text(text))
        assert ours.pop("upload_type") == "dataset"
        assert ours == theirs


def test_zenodo_creators_without_cffconvert():
    creators = zenodo.zenodo_metadata({"authors": AUTHORS})["creators"]
    assert creators[0] == {
        "affiliation": "Uni",
        "name": "van Smith Jr., Jane",
        "orcid": "0000-0002-1825-0097",
    }
    assert [c.get("name") for c in creators[1:]] == ["Ann", "Roe", "the-coder", "Evidence Brief Team"]


def test_committed_zenodo_json_is_generated_from_citation_cff():
    path = ROOT / ".zenodo.json"
    if not path.is_file():
        pytest.skip(".zenodo.json is not in this tree yet (run `make zenodo`)")
    assert path.read_text(encoding="utf-8") == zenodo.zenodo_json(zenodo.read_cff(ROOT / "CITATION.cff"))


# ------------------------------------------------------------------ make release: VERSION


@pytest.fixture
def fake_make(tmp_path):
    """The project's Makefile in a folder whose .venv/bin/python only records its arguments."""
    if shutil.which("make") is None:
        pytest.skip("make is needed to run the Makefile")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "requirements.lock").touch()
    (tmp_path / "pyproject.toml").touch()
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/../../called"\n', encoding="utf-8")
    python.chmod(0o755)
    (tmp_path / ".venv" / ".installed").touch()

    def make(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["make", "--no-print-directory", "-o", ".venv/.installed", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )

    return tmp_path, make


def test_make_passes_a_plain_version_as_one_argument(fake_make):
    folder, make = fake_make
    for target, extra in (("release", []), ("verify-release", ["--verify"])):
        done = make(target, "VERSION=0.2.0", "CORES=3")
        assert done.returncode == 0, done.stderr
        called = (folder / "called").read_text(encoding="utf-8").splitlines()
        assert called == ["-m", "analysis.release", "0.2.0", *extra, "--cores", "3"]


@pytest.mark.parametrize(
    "value",
    [
        "0.2.0; touch {folder}/hacked;",
        "0.1.0 --repo /tmp",
        "$(shell touch {folder}/hacked)",
        "${{shell touch {folder}/hacked}}",
        "`touch {folder}/hacked`",
        "0.1.0' && touch {folder}/hacked && '",
        '0.1.0" && touch {folder}/hacked && "',
        "0.1.0\ntouch {folder}/hacked",
        "--help",
    ],
)
def test_make_refuses_a_version_that_is_not_digits_and_dots_before_any_shell_sees_it(fake_make, value):
    folder, make = fake_make
    for target in ("release", "verify-release"):
        done = make(target, "VERSION=" + value.format(folder=folder))
        assert done.returncode != 0
        assert "release refused: VERSION must look like 1.2.0 (MAJOR.MINOR.PATCH)" in done.stderr
        # From the environment too (make reads it as a variable of its own).
        env = {**os.environ, "VERSION": value.format(folder=folder)}
        done = make(target, env=env)
        assert done.returncode != 0 and "release refused: VERSION" in done.stderr
    assert not (folder / "called").exists() and not (folder / "hacked").exists()


def test_make_refuses_cores_that_are_not_a_number(fake_make):
    folder, make = fake_make
    done = make("release", "VERSION=0.2.0", "CORES=2; touch hacked")
    assert done.returncode != 0 and "release refused: CORES must be a whole number" in done.stderr
    assert not (folder / "called").exists() and not (folder / "hacked").exists()


def test_make_brief_refuses_cores_that_are_not_a_number(fake_make):
    folder, make = fake_make
    snakemake = folder / ".venv" / "bin" / "snakemake"
    snakemake.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/../../called"\n', encoding="utf-8"
    )
    snakemake.chmod(0o755)
    for value in ("2; touch {folder}/hacked", "$(shell touch {folder}/hacked)", "2 --forceall"):
        done = make("brief", "CORES=" + value.format(folder=folder))
        assert done.returncode != 0 and "CORES must be a whole number" in done.stderr
    assert not (folder / "called").exists() and not (folder / "hacked").exists()
    done = make("brief", "CORES=3")
    assert done.returncode == 0, done.stderr
    # make brief runs Snakemake through its stamp check (analysis/uptodate.py).
    called = (folder / "called").read_text(encoding="utf-8").splitlines()
    assert called[:2] == ["-m", "analysis.uptodate"] and called[2].endswith("/snakemake"), called
    assert called[3:5] == ["--cores", "3"], called


def test_make_without_a_version_says_which_to_give(fake_make):
    folder, make = fake_make
    done = make("release")
    assert done.returncode != 0
    assert done.stdout.startswith("Say which version: make release VERSION=X.Y.Z")
    assert not (folder / "called").exists()


def test_python_refuses_what_make_lets_through():
    for bad in ("0.3", "01.2.3", "v", "1.2.3.4", "..", "1.2.3\n"):
        with pytest.raises(git_repo.ReleaseError, match="MAJOR.MINOR.PATCH"):
            git_repo.parse_version(bad)
