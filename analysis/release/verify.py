"""``make verify-release VERSION=X.Y.Z``: rebuild the release's commit and compare every file.

Which commit a release was built from is never taken from the folder's own
``provenance.json`` (a folder built from another commit would then "reproduce"
itself). It is proven from git:

- from the tag ``vX.Y.Z`` when this clone has it (``make release`` creates it on
  the commit it built), which must be in the history of HEAD;
- otherwise (a fresh clone: tags travel only when fetched) from the committed
  history: ``releases/vX.Y.Z`` was added by one commit R (``make release`` prints
  the command that makes it), unchanged since; R has one parent C, and the
  ``provenance.json`` committed in R names C. The folder is then the one
  committed on top of C, and only a rebuild of C can reproduce it.

Either way the folder's ``provenance.json`` must name that commit, and the
rebuild must reproduce every file byte for byte.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from analysis.io import sha256_file
from analysis.release.build import build_release
from analysis.release.repo import (
    RELEASES,
    ReleaseError,
    Version,
    git,
    is_ancestor,
    parse_version,
    tagged_commit,
    version_text,
)

FETCH_TAGS = "git fetch origin 'refs/tags/*:refs/tags/*'"


@dataclass(frozen=True)
class ReleaseCommit:
    """The commit a release was built from, and how that is known."""

    commit: str
    proof: str  # one phrase for the reader: "tag v0.1.0" or "commit R, which added ..."


def _commit_from_history(repo: Path, version: Version) -> ReleaseCommit:
    text = version_text(version)
    folder = f"{RELEASES}/v{text}"
    if git(repo, "rev-parse", "--is-shallow-repository", check=False) == "true":
        raise ReleaseError(
            f"This clone has no tag v{text} and only part of the history, so the release's commit "
            f"cannot be proven: run `git fetch --unshallow` (or `{FETCH_TAGS}`), then verify again."
        )
    added = git(repo, "log", "--format=%H", "--diff-filter=A", "HEAD", "--", f"{folder}/provenance.json")
    if not added:
        raise ReleaseError(
            f"This clone has no tag v{text}, and no commit of its history adds {folder}: fetch the "
            f"tags (`{FETCH_TAGS}`), or commit the release folder as `make release` says, then verify again."
        )
    release = added.splitlines()[-1]  # the oldest: the commit that first added the folder
    parents = git(repo, "rev-list", "--parents", "-n", "1", release).split()[1:]
    recorded = json.loads(git(repo, "show", f"{release}:{folder}/provenance.json", strip=False))
    named = str(recorded.get("commit", ""))
    if len(parents) != 1 or named != parents[0] or recorded.get("version") != text:
        raise ReleaseError(
            f"Commit {release[:12]} adds {folder}, but its provenance.json names commit {named[:12]} "
            f"(version {recorded.get('version')}) while its parent is "
            f"{' and '.join(p[:12] for p in parents) or 'none'}: the folder was not committed on top of "
            f"the commit it was built from. Fetch the tags (`{FETCH_TAGS}`) to verify against the tag."
        )
    if git(repo, "rev-parse", f"{release}:{folder}") != git(repo, "rev-parse", f"HEAD:{folder}"):
        raise ReleaseError(
            f"{folder} was changed after commit {release[:12]} added it: a release folder is never "
            f"changed. Restore it (`git checkout {release[:12]} -- {folder}`), or fetch the tags "
            f"(`{FETCH_TAGS}`) to verify against the tag."
        )
    return ReleaseCommit(parents[0], f"commit {release[:12]}, which added {folder} on top of it")


def release_commit(repo: Path, version: Version) -> ReleaseCommit:
    """The commit release ``version`` was built from, proven from the tag or from the history."""
    text = version_text(version)
    tagged = tagged_commit(repo, version)
    if tagged is None:
        return _commit_from_history(repo, version)
    if not is_ancestor(repo, tagged):
        raise ReleaseError(
            f"The tag v{text} is on commit {tagged[:12]}, which is not in the history of HEAD: "
            "check out the branch the release was made on, then verify again."
        )
    return ReleaseCommit(tagged, f"tag v{text}")


def verify_release(repo: Path, version_arg: str, *, cores: int = 2) -> tuple[ReleaseCommit, list[str]]:
    """Rebuild a release's commit and compare every file; return the commit and the names that differ."""
    version = parse_version(version_arg)
    text = version_text(version)
    folder = repo / RELEASES / f"v{text}"
    if not (folder / "provenance.json").is_file():
        raise ReleaseError(f"No release folder {RELEASES}/v{text} with a provenance.json here.")
    proven = release_commit(repo, version)
    try:
        named = json.loads((folder / "provenance.json").read_text(encoding="utf-8")).get("commit")
    except (ValueError, AttributeError):
        named = None
    if named != proven.commit:
        raise ReleaseError(
            f"{RELEASES}/v{text}/provenance.json names commit {str(named)[:12]}, but v{text} was built "
            f"from {proven.commit[:12]} ({proven.proof}): the folder is not that release."
        )
    with tempfile.TemporaryDirectory(prefix="release-verify-") as tmp:
        rebuilt = Path(tmp) / "rebuilt"
        build_release(repo, proven.commit, version, rebuilt, cores=cores)
        names = sorted({p.name for p in folder.iterdir()} | {p.name for p in rebuilt.iterdir()})
        differ = [
            n
            for n in names
            if not (folder / n).is_file()
            or not (rebuilt / n).is_file()
            or sha256_file(folder / n) != sha256_file(rebuilt / n)
        ]
    return proven, differ
