"""The git side of a release: versions, tags, clones, and what was released before."""

from __future__ import annotations

import subprocess
from pathlib import Path

from analysis.versions import RELEASES, Version, latest_release, release_folders, version_of, version_text

__all__ = ["RELEASES", "ReleaseError", "Version", "git", "parse_version", "version_text"]


class ReleaseError(RuntimeError):
    """A release was refused or failed; the message is one line a maintainer can act on."""


def parse_version(text: str) -> Version:
    """(major, minor, patch) of 'X.Y.Z' (a leading 'v' is allowed)."""
    version = version_of(text)
    if version is None:
        raise ReleaseError(f"VERSION must look like 1.2.0 (MAJOR.MINOR.PATCH), not {text!r}.")
    return version


def git(repo: Path, *args: str, check: bool = True, strip: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout.strip() if strip else done.stdout


def clone(repo: Path, commit: str, tree: Path) -> None:
    git(repo, "clone", "--quiet", "--no-checkout", str(repo), str(tree))
    git(tree, "checkout", "--quiet", "--detach", commit)


def tagged_commit(repo: Path, version: Version) -> str | None:
    """The commit the tag vX.Y.Z points to, or None when this clone has no such tag."""
    ref = f"refs/tags/v{version_text(version)}^{{commit}}"
    return git(repo, "rev-parse", "--verify", "--quiet", ref, check=False) or None


def is_ancestor(repo: Path, commit: str, of: str = "HEAD") -> bool:
    done = subprocess.run(
        ["git", "merge-base", "--is-ancestor", commit, of], cwd=repo, capture_output=True, check=False
    )
    return done.returncode == 0


def released_versions(repo: Path) -> dict[Version, str]:
    """Every earlier release, from tags vX.Y.Z and folders releases/vX.Y.Z: {version: where}."""
    found = {v: f"{RELEASES}/{p.name}" for v, p in release_folders(repo / RELEASES).items()}
    for tag in git(repo, "tag", "--list", "v*", check=False).splitlines():
        version = version_of(tag)
        if version is not None:
            found.setdefault(version, f"tag {tag}")
    return found


def previous_release_folder(tree: Path, version: Version) -> Path | None:
    """The highest releases/vA.B.C below ``version`` in a source tree (None: first release)."""
    return latest_release(tree / RELEASES, below=version, needs="pooled.csv")
