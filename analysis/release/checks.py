"""What ``make release`` refuses before it builds anything, each with one line saying what to do."""

from __future__ import annotations

from pathlib import Path

from analysis.release import zenodo
from analysis.release.repo import (
    ReleaseError,
    Version,
    git,
    parse_version,
    previous_release_folder,
    released_versions,
    version_text,
)


def _check_tree(repo: Path) -> None:
    if not git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False):
        raise ReleaseError("The repository has no commit yet: commit the inputs, then release.")
    dirty = git(repo, "status", "--porcelain", strip=False).splitlines()  # "XY path"
    if dirty:
        shown = ", ".join(line[3:] for line in dirty[:3]) + (", ..." if len(dirty) > 3 else "")
        raise ReleaseError(
            f"The git tree has uncommitted changes ({shown}): commit them, then "
            "release (a release is built from committed files only)."
        )


def _check_version(repo: Path, version: Version) -> None:
    text = version_text(version)
    earlier = released_versions(repo)
    if version in earlier:
        raise ReleaseError(
            f"Version {text} already exists ({earlier[version]}): a release is never "
            "rebuilt in place; choose a higher version."
        )
    if earlier and version < max(earlier):
        last = version_text(max(earlier))
        raise ReleaseError(
            f"Version {text} is not greater than the last release, {last}: choose a version above {last}."
        )


def _check_citation(repo: Path, version: Version) -> None:
    text = version_text(version)
    cff = zenodo.read_cff(repo / "CITATION.cff") if (repo / "CITATION.cff").is_file() else {}
    if str(cff.get("version", "")) != text:
        raise ReleaseError(
            f"CITATION.cff says version {cff.get('version', '(none)')}, not {text}: "
            "set version and date-released in CITATION.cff, run `make zenodo`, "
            "commit, then release."
        )
    last_folder = previous_release_folder(repo, version)
    last_cff = last_folder / "CITATION.cff" if last_folder else None
    if last_cff is not None and last_cff.is_file():
        last_date = str(zenodo.read_cff(last_cff).get("date-released", ""))
        if str(cff.get("date-released", "")) < last_date:
            raise ReleaseError(
                f"CITATION.cff's date-released {cff.get('date-released')} is before "
                f"{last_folder.name}'s ({last_date}): set date-released in "
                "CITATION.cff, run `make zenodo`, commit, then release."
            )
    problems = zenodo.check_cff(cff)
    if problems:
        raise ReleaseError(
            f"{problems[0]} (and {len(problems) - 1} more): fix CITATION.cff, commit, then release."
            if len(problems) > 1
            else f"{problems[0]}: fix CITATION.cff, commit, then release."
        )
    current = repo / ".zenodo.json"
    if not current.is_file() or current.read_text(encoding="utf-8") != zenodo.zenodo_json(cff):
        raise ReleaseError(
            ".zenodo.json does not match CITATION.cff: run `make zenodo`, commit, then release."
        )


def check_release(repo: Path, version_arg: str) -> Version:
    """Refuse, with one line saying what to do, anything that must not be released."""
    version = parse_version(version_arg)
    _check_tree(repo)
    _check_version(repo, version)
    _check_citation(repo, version)
    return version
