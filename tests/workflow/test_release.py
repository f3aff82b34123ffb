"""Two releases in a row in a throwaway git repository, through `make release`.

The repository is a copy of this project's working tree (without .venv, results and
.git) committed afresh under a temporary folder; it uses this project's .venv through a
symlink. Release 0.1.0 is made, a study is added and committed, release 0.2.0 is made:
its CHANGES.md names the study and the estimate it moved. Then every refusal is tried,
and 0.1.0's commit is rebuilt and compared byte for byte, and two builds of one commit
are compared file by file (figures included).
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analysis.io import sha256_file
from analysis.release import build as release
from tests.conftest import ROOT

SKIP = {
    ".git",
    ".venv",
    "results",
    ".snakemake",
    ".pytest_cache",
    ".hypothesis",
    "releases",
    "__pycache__",
    ".ruff_cache",
    "build",
}
NEW_STUDY = "releasetest2026"


def run(repo: Path, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=900, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return done


def make(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    # -o: the shared .venv is installed already; never reinstall it from a test.
    return run(repo, "make", "--no-print-directory", "-o", ".venv/.installed", *args, check=check)


def commit(repo: Path, message: str) -> None:
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "--quiet", "-m", message)


def set_version(repo: Path, version: str, date: str) -> None:
    """What a maintainer does before a release: CITATION.cff, then `make zenodo`."""
    path = repo / "CITATION.cff"
    text = path.read_text(encoding="utf-8")
    lines = [
        f'version: "{version}"'
        if line.startswith("version:")
        else f'date-released: "{date}"'
        if line.startswith("date-released:")
        else line
        for line in text.splitlines()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    make(repo, "zenodo")


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sha256sum_check(folder: Path) -> None:
    done = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    listed = {line.split("  ", 1)[1] for line in (folder / "SHA256SUMS").read_text().splitlines()}
    assert listed == {p.name for p in folder.iterdir()} - {"SHA256SUMS"}


def add_study(repo: Path, pooled: list[dict]) -> str:
    """A new extraction file (and its bib entry) joining an existing pooled analysis; its id."""
    target = next(r for r in pooled if r["measure"] in ("OR", "ZCOR") and int(r["k"]) >= 2)
    effect = {
        "id": "release-test",
        "theme": target["theme"],
        "outcome": target["outcome"],
        "outcome_label": "An outcome",
        "exposure": "An exposure",
        "locator": "Table 2",
    }
    if target["construct"]:
        effect["construct"] = target["construct"]
    if target["measure"] == "OR":
        effect.update({"or": 3.5, "ci": [2.5, 4.9], "quote": "OR = 3.5, 95% CI 2.5 to 4.9"})
    else:
        effect.update({"r": 0.6, "n": 900, "quote": "r = 0.6 (n = 900)"})
    document = {
        "study": NEW_STUDY,
        "design": "cohort",
        "country": ["GB"],
        "status": "coded",
        "identified_by": "packet-2",
        "findings": "A large effect, added by the release test.",
        "effects": [effect],
    }
    (repo / "extracted" / f"{NEW_STUDY}.yaml").write_text(
        yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
    )
    bib = min((repo / "references").glob("*.bib"))
    with open(bib, "a", encoding="utf-8") as handle:
        handle.write(
            f"\n@article{{{NEW_STUDY},\n  author = {{Tester, Tina and Other, Olga}},\n"
            "  title = {A cohort study added between two releases},\n"
            "  journal = {Journal of Tests},\n  year = {2026}\n}\n"
        )
    return target["analysis_id"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.skip("git and make are needed to make releases")
    repo = tmp_path_factory.mktemp("release") / "project"
    shutil.copytree(ROOT, repo, symlinks=True, ignore=lambda folder, names: [n for n in names if n in SKIP])
    (repo / ".venv").symlink_to(Path(sys.prefix))  # the venv running these tests
    run(repo, "git", "init", "--quiet")
    run(repo, "git", "config", "user.name", "Release Test")
    run(repo, "git", "config", "user.email", "release-test@example.org")
    with open(repo / ".git" / "info" / "exclude", "a", encoding="utf-8") as handle:
        handle.write(".venv\n")  # a symlink here; .gitignore's `.venv/` matches folders only
    commit(repo, "The project as it is")
    set_version(repo, "0.1.0", "2026-01-15")
    commit(repo, "Prepare v0.1.0")
    return repo


@pytest.fixture(scope="module")
def first(repo) -> Path:
    done = make(repo, "release", "VERSION=0.1.0")
    assert "git add releases/v0.1.0" in done.stdout  # the commands to run next are printed
    folder = repo / "releases" / "v0.1.0"
    assert run(repo, "git", "cat-file", "-t", "v0.1.0").stdout.strip() == "tag"  # annotated
    commit(repo, "Release v0.1.0")
    return folder


@pytest.fixture(scope="module")
def second(repo, first) -> tuple[Path, str]:
    moved = add_study(repo, rows(first / "pooled.csv"))
    set_version(repo, "0.2.0", "2026-02-20")
    commit(repo, f"Add {NEW_STUDY}")
    make(repo, "release", "VERSION=0.2.0")
    commit(repo, "Release v0.2.0")
    return repo / "releases" / "v0.2.0", moved


EXPECTED = {
    "brief.html",
    "brief.pdf",
    "effects.csv",
    "pooled.csv",
    "references.bib",
    "references.csv",
    "extractions.csv",
    "datapackage.json",
    "provenance.json",
    "CHANGES.md",
    "SHA256SUMS",
    "CITATION.cff",
}


def test_first_release(repo, first):
    assert EXPECTED <= {p.name for p in first.iterdir()}
    sha256sum_check(first)
    assert "First release." in (first / "CHANGES.md").read_text(encoding="utf-8")
    record = json.loads((first / "provenance.json").read_text(encoding="utf-8"))
    tagged = run(repo, "git", "rev-list", "-n", "1", "v0.1.0").stdout.strip()
    assert record["version"] == "0.1.0" and record["commit"] == tagged
    assert record["inputs"]["config/config.yaml"] and any(
        k.startswith("extracted/") for k in record["inputs"]
    )
    assert set(record["settings"]) == {"estimator", "ci_method", "rho", "alpha"}
    assert record["packages"]["snakemake"] and record["python"]
    # The brief carries the release's version and commit (from CITATION.cff and git).
    html = (first / "brief.html").read_text(encoding="utf-8")
    assert "0.1.0" in html and tagged[:12] in html
    # extractions.csv: one row per effect or narrative record, every extraction file.
    extractions = rows(first / "extractions.csv")
    assert {r["study"] for r in extractions} == {p.stem for p in (repo / "extracted").glob("*.yaml")}
    assert sum(1 for r in extractions if r["effect_id"]) == len(rows(first / "effects.csv"))
    # certainty.csv: the brief's rating of every analysis (what CHANGES.md compares next time).
    certainty = rows(first / "certainty.csv")
    pooled_ids = sorted(r["analysis_id"] for r in rows(first / "pooled.csv"))
    assert [r["analysis_id"] for r in certainty] == pooled_ids
    assert {r["certainty"] for r in certainty} <= {"high", "moderate", "low", "very low"}


def test_frictionless_validates_the_data_package(first, second):
    frictionless = shutil.which("frictionless", path=str(Path(sys.executable).parent))
    if frictionless is None:
        pytest.skip("frictionless is not installed (add it from requirements.lock)")
    for folder in (first, second[0]):
        done = subprocess.run(
            [frictionless, "validate", "datapackage.json"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-4000:]


def test_second_release_names_the_added_study_and_the_moved_estimate(first, second):
    folder, analysis_id = second
    sha256sum_check(folder)
    sha256sum_check(first)
    text = (folder / "CHANGES.md").read_text(encoding="utf-8")
    assert text.startswith("# Changes in v0.2.0\n") and "Compared with v0.1.0." in text
    studies = text.split("## Studies", 1)[1].split("## Pooled estimates", 1)[0]
    assert f"Added (1):\n\n- **{NEW_STUDY}** (Tester et al. 2026, *A cohort study added" in studies
    assert "Removed" not in studies and "Recoded" not in studies
    estimates = text.split("## Pooled estimates", 1)[1]
    moved = [line for line in estimates.splitlines() if line.startswith(f"- `{analysis_id}`:")]
    assert moved and " -> " in moved[0], estimates
    assert "Retired" not in text
    assert "certainty" in moved[0]  # both releases have certainty.csv: the change is stated
    record = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    assert record["previous_release"] == "0.1.0"
    assert f"extracted/{NEW_STUDY}.yaml" in record["inputs"]


def test_every_analysis_keeps_its_id(first, second):
    before = {r["analysis_id"] for r in rows(first / "pooled.csv")}
    after = {r["analysis_id"] for r in rows(second[0] / "pooled.csv")}
    assert before <= after  # a study was only added: nothing retired, nothing renamed


@pytest.mark.parametrize(
    "version, message",
    [
        ("0.2.0", "release refused: Version 0.2.0 already exists (releases/v0.2.0)"),
        ("0.1.5", "release refused: Version 0.1.5 is not greater than the last release, 0.2.0"),
        (
            "0.3.0",
            (
                "release refused: CITATION.cff says version 0.2.0, not 0.3.0: set version and "
                "date-released in CITATION.cff, run `make zenodo`, commit, then release."
            ),
        ),
        ("0.3", "release refused: VERSION must look like 1.2.0 (MAJOR.MINOR.PATCH), not '0.3'."),
    ],
)
def test_refusals(repo, second, version, message):
    done = make(repo, "release", f"VERSION={version}", check=False)
    assert done.returncode != 0
    assert message in done.stderr
    if version != "0.2.0":
        assert not (repo / "releases" / f"v{version}").exists()
    assert run(repo, "git", "status", "--porcelain").stdout == ""  # nothing written


def test_refuses_a_dirty_tree(repo, second):
    path = repo / "extracted" / f"{NEW_STUDY}.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("3.5", "3.6"), encoding="utf-8")
    try:
        done = make(repo, "release", "VERSION=0.3.0", check=False)
    finally:
        path.write_text(original, encoding="utf-8")
    assert done.returncode != 0
    assert (
        f"release refused: The git tree has uncommitted changes (extracted/{NEW_STUDY}.yaml): "
        "commit them, then release"
    ) in done.stderr
    assert make(repo, "release", check=False).stdout.startswith("Say which version")


def test_rebuilding_a_release_commit_reproduces_every_file(repo, second):
    done = make(repo, "verify-release", "VERSION=0.1.0")
    tagged = run(repo, "git", "rev-list", "-n", "1", "v0.1.0").stdout.strip()
    assert f"v0.1.0 was built from commit {tagged} (tag v0.1.0)" in done.stdout
    assert "reproduces every file byte for byte" in done.stdout


def clone_of(repo: Path, target: Path, *options: str) -> Path:
    """A clone of the test repository using the same .venv (``--no-tags``: as a fresh clone of a
    remote the tags were never pushed to)."""
    run(repo, "git", "clone", "--quiet", *options, str(repo), str(target))
    (target / ".venv").symlink_to(Path(sys.prefix))
    with open(target / ".git" / "info" / "exclude", "a", encoding="utf-8") as handle:
        handle.write(".venv\n")  # never committed by `git add -A` below
    run(target, "git", "config", "user.name", "Release Test")
    run(target, "git", "config", "user.email", "release-test@example.org")
    return target


def test_a_fresh_clone_without_tags_rebuilds_a_release_as_the_readme_says(repo, second, tmp_path):
    """The README's route, on a clone without tags: the commit is proven from the history."""
    fresh = clone_of(repo, tmp_path / "fresh", "--no-tags")
    assert run(fresh, "git", "tag").stdout == ""
    built = run(repo, "git", "rev-list", "-n", "1", "v0.2.0").stdout.strip()
    added = run(repo, "git", "log", "--format=%H", "-n", "1", "--", "releases/v0.2.0").stdout.strip()
    done = make(fresh, "verify-release", "VERSION=0.2.0")
    assert (
        f"v0.2.0 was built from commit {built} (commit {added[:12]}, which added releases/v0.2.0 on top "
        "of it); the rebuild of that commit reproduces every file byte for byte."
    ) in done.stdout
    assert "git fetch origin tag v0.2.0" in done.stdout
    # ... and the sources of the release, as the README says.
    run(fresh, "git", "fetch", "--quiet", "origin", "tag", "v0.2.0")
    run(fresh, "git", "checkout", "--quiet", "v0.2.0")
    assert run(fresh, "git", "rev-parse", "HEAD").stdout.strip() == built


@pytest.fixture(scope="module")
def forged(repo, second, tmp_path_factory) -> Path:
    """A genuine v0.1.0-labelled build of v0.2.0's commit: consistent in itself (its own
    provenance.json names the commit it was built from, SHA256SUMS holds), but not the release."""
    other = run(repo, "git", "rev-list", "-n", "1", "v0.2.0").stdout.strip()
    folder = tmp_path_factory.mktemp("forged") / "v0.1.0"
    release.build_release(repo, other, (0, 1, 0), folder)
    sha256sum_check(folder)
    assert json.loads((folder / "provenance.json").read_text(encoding="utf-8"))["commit"] == other
    return folder


def _swap_in(clone: Path, forged: Path) -> None:
    shutil.rmtree(clone / "releases" / "v0.1.0")
    shutil.copytree(forged, clone / "releases" / "v0.1.0")
    commit(clone, "Replace v0.1.0")


def test_a_forged_release_folder_fails_against_the_tag(repo, forged, tmp_path):
    clone = clone_of(repo, tmp_path / "tagged")
    _swap_in(clone, forged)
    done = make(clone, "verify-release", "VERSION=0.1.0", check=False)
    tagged = run(repo, "git", "rev-list", "-n", "1", "v0.1.0").stdout.strip()
    other = run(repo, "git", "rev-list", "-n", "1", "v0.2.0").stdout.strip()
    assert done.returncode != 0
    assert (
        f"release refused: releases/v0.1.0/provenance.json names commit {other[:12]}, but v0.1.0 was "
        f"built from {tagged[:12]} (tag v0.1.0): the folder is not that release."
    ) in done.stderr


def test_a_forged_release_folder_fails_against_the_history(repo, forged, tmp_path):
    clone = clone_of(repo, tmp_path / "untagged", "--no-tags")
    _swap_in(clone, forged)  # a later commit replaces the folder
    done = make(clone, "verify-release", "VERSION=0.1.0", check=False)
    assert done.returncode != 0
    assert "releases/v0.1.0 was changed after commit" in done.stderr
    assert "a release folder is never changed" in done.stderr
    # Committed on top of the release's commit, as a release is: its parent is not the commit
    # its provenance.json names.
    built = run(repo, "git", "rev-list", "-n", "1", "v0.1.0").stdout.strip()
    run(clone, "git", "checkout", "--quiet", "-b", "forged", built)
    shutil.copytree(forged, clone / "releases" / "v0.1.0")
    commit(clone, "Release v0.1.0")
    done = make(clone, "verify-release", "VERSION=0.1.0", check=False)
    assert done.returncode != 0
    assert "adds releases/v0.1.0, but its provenance.json names commit" in done.stderr
    assert f"while its parent is {built[:12]}" in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2  # the line, and make's own


def test_two_builds_of_one_commit_are_identical_figures_included(repo, second, tmp_path):
    """Build the 0.2.0 commit twice in two temporary folders; compare every file's sha256."""
    commit_id = run(repo, "git", "rev-list", "-n", "1", "v0.2.0").stdout.strip()
    builds = []
    for name in ("one", "two"):
        release.build_release(
            repo, commit_id, (0, 2, 0), tmp_path / name / "release", keep=tmp_path / name / "tree"
        )
        builds.append(tmp_path / name)

    def digests(build: Path) -> dict[str, str]:
        files = {f"release/{p.name}": p for p in (build / "release").iterdir()}
        results = build / "tree" / "results"
        volatile = {"logs", "benchmarks", ".cache"}  # timings and file stamps, never released
        files.update(
            {
                f"results/{p.relative_to(results)}": p
                for p in results.rglob("*")
                if p.is_file() and not volatile & set(p.relative_to(results).parts)
            }
        )
        return {name: sha256_file(path) for name, path in files.items()}

    one, two = map(digests, builds)
    assert any(name.endswith(".svg") for name in one) and any(name.endswith(".png") for name in one)
    assert one.keys() == two.keys()
    differ = sorted(name for name in one if one[name] != two[name])
    assert not differ, f"not reproducible: {differ}"
    # The release folder of the same commit made by `make release` is the same too.
    for path in (repo / "releases" / "v0.2.0").iterdir():
        assert one[f"release/{path.name}"] == sha256_file(path), path.name
