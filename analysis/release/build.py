"""Versioned, citable releases: ``make release VERSION=X.Y.Z``.

A release is a frozen, checksummed folder ``releases/vX.Y.Z/`` built from the
*committed* inputs only: HEAD is cloned into a temporary folder and the same
Snakemake workflow runs there, with SOURCE_DATE_EPOCH set to the commit time,
so that building the same commit again gives the same bytes
(``make verify-release``, analysis.release.verify, does exactly that and compares
every file). The folder holds the brief (HTML, PDF), the tables
(effects, pooled, references, the extraction files as one table), a
Frictionless Data Package describing every table, provenance.json, CHANGES.md
(compared with the previous release) and SHA256SUMS (analysis.release.assemble).

The release is tagged ``vX.Y.Z`` (an annotated tag on the commit that was
built); the maintainer then commits the folder (the commands are printed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis.release.assemble import WORKFLOW_OUTPUTS
from analysis.release.checks import check_release
from analysis.release.repo import RELEASES, ReleaseError, Version, clone, git, version_text

# How a build tree's own code is asked to assemble its release folder. ``python -m
# analysis.release`` exists in every layout so far (analysis/release.py up to v0.1.0,
# the package's __main__ after it), so any release can be rebuilt by any later code.
ASSEMBLE_MODULE = "analysis.release"


def build_environment(tree: Path, epoch: int, version: str = "") -> dict[str, str]:
    """The environment of a release build: fixed time, zone, locale and hash seed; the
    version being released (the brief then says "Version X", not "unreleased build")."""
    env = dict(os.environ)
    env.update(
        {
            "SOURCE_DATE_EPOCH": str(epoch),
            # The clone's own analysis package, not an editable install of another work tree.
            "PYTHONPATH": os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "TZ": "UTC",
            "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0",  # set and dict-of-set orders; see the README
            "BRIEF_RELEASE": version,
        }
    )
    return env


def run_workflow(tree: Path, epoch: int, cores: int, log: Path, version: str = "") -> None:
    """The project's Snakemake workflow in ``tree``, results in tree/results."""
    targets = [f"results/{path}" for path in WORKFLOW_OUTPUTS]
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        str(cores),
        *targets,
        "--config",
        "results_dir=results",
    ]
    _run_logged(command, tree, build_environment(tree, epoch, version), log, "w",
                f"The workflow failed in the release build (log: {log}):")  # fmt: skip


def _run_logged(command: list[str], tree: Path, env: dict, log: Path, mode: str, failure: str) -> None:
    """Run ``command`` in ``tree`` with its output in ``log``; on failure, raise with its tail."""
    with open(log, mode, encoding="utf-8") as handle:
        done = subprocess.run(
            command, cwd=tree, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False
        )
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        raise ReleaseError(failure + "\n" + "\n".join(tail))


def _assemble_in_tree(tree: Path, out: Path, version: Version, commit: str, epoch: int, log: Path) -> None:
    """Run the tree's own ``--assemble`` (so a release is a function of its commit alone)."""
    command = [
        sys.executable,
        "-m",
        ASSEMBLE_MODULE,
        version_text(version),
        "--assemble",
        str(out),
        "--commit",
        commit,
    ]
    env = build_environment(tree, epoch, version_text(version))
    _run_logged(command, tree, env, log, "a", "Assembling the release folder failed:")


def build_release(
    repo: Path,
    commit: str,
    version: Version,
    out: Path,
    *,
    cores: int = 2,
    keep: Path | None = None,
) -> float:
    """Clone ``commit`` of ``repo``, run the workflow, write the release folder ``out``.

    The folder is assembled by the clone's own code (so a release is a function of its
    commit alone, whatever code rebuilds it). ``keep``: copy the whole build tree there
    (tests compare two builds file by file). Returns seconds taken.
    """
    start = time.monotonic()
    out = out.resolve()
    with tempfile.TemporaryDirectory(prefix="release-build-") as tmp:
        tree = Path(tmp) / "src"
        clone(repo, commit, tree)
        epoch = int(git(tree, "log", "-1", "--format=%ct", commit))
        log = Path(tmp) / "workflow.log"
        run_workflow(tree, epoch, cores, log, version_text(version))
        _assemble_in_tree(tree, out, version, commit, epoch, log)
        if keep is not None:
            shutil.copytree(tree, keep, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    return time.monotonic() - start


def make_release(repo: Path, version_arg: str, *, cores: int = 2, tag: bool = True) -> Path:
    """``make release``: check, build HEAD, write releases/vX.Y.Z, tag; return the folder."""
    version = check_release(repo, version_arg)
    text = version_text(version)
    commit = git(repo, "rev-parse", "HEAD")
    target = repo / RELEASES / f"v{text}"
    if tag and not git(repo, "var", "GIT_COMMITTER_IDENT", check=False):
        raise ReleaseError(
            "git does not know who is tagging: set `git config user.name` and "
            "`git config user.email`, then release."
        )
    print(f"Building release v{text} from commit {commit[:12]} (a clean clone of HEAD)...", flush=True)
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        staged = Path(tmp) / f"v{text}"
        seconds = build_release(repo, commit, version, staged, cores=cores)
        target.parent.mkdir(exist_ok=True)
        partial = target.parent / f".v{text}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(staged, partial)
        os.replace(partial, target)
    if tag:
        git(repo, "tag", "--annotate", f"v{text}", "--message", f"Evidence brief v{text}", commit)
    if not (target / "certainty.csv").is_file():
        print(
            "Note: no certainty.csv (analysis.brief.context.analyses could not rate the analyses), so "
            "CHANGES.md lists no certainty changes."
        )
    files = len(list(target.iterdir()))
    rel = target.relative_to(repo)
    print(
        f"Release v{text}: {rel}/ ({files} files, built in {seconds:.0f} s)"
        + (f", tagged v{text} on {commit[:12]}." if tag else " (not tagged).")
    )
    print("Check it (sha256sum -c SHA256SUMS inside the folder), then commit and publish it:")
    print(f"    git add {rel} && git commit -m 'Release v{text}'")
    print(f"    git push && git push origin v{text}")
    return target
