"""``python -m analysis.release X.Y.Z [--verify]``: what ``make release`` and ``make verify-release`` run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.release.repo import ReleaseError, git, parse_version, version_text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.release",
        description="Versioned, citable releases: make release VERSION=X.Y.Z.",
    )
    parser.add_argument("version", help="the release version, MAJOR.MINOR.PATCH")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the git work tree")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--no-tag", action="store_true", help="do not create the git tag")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="rebuild the release's commit (from its tag, or proven from the history) and compare every file",
    )
    # Inside a build tree: the tree's own code assembles the folder (analysis.release.assemble).
    parser.add_argument("--assemble", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--commit", help=argparse.SUPPRESS)
    return parser


def _verify(repo: Path, version: str, cores: int) -> int:
    from analysis.release.verify import verify_release

    proven, differ = verify_release(repo, version, cores=cores)
    version = version_text(parse_version(version))
    built = f"v{version} was built from commit {proven.commit} ({proven.proof})"
    if differ:
        print(f"{built}; its rebuild differs in: {', '.join(differ)}", file=sys.stderr)
        return 1
    print(f"{built}; the rebuild of that commit reproduces every file byte for byte.")
    if proven.proof.startswith("commit "):
        print(f"(This clone has no tag v{version}; `git fetch origin tag v{version}` fetches it.)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    repo = args.repo.resolve()
    try:
        if args.assemble:
            from analysis.release.assemble import assemble

            epoch = int(git(repo, "log", "-1", "--format=%ct", args.commit))
            assemble(repo, args.assemble, parse_version(args.version), args.commit, epoch)
            return 0
        if args.verify:
            return _verify(repo, args.version, args.cores)
        from analysis.release.build import make_release

        make_release(repo, args.version, cores=args.cores, tag=not args.no_tag)
    except ReleaseError as err:
        print(
            f"release refused: {err}" if "\n" not in str(err) else f"release failed: {err}", file=sys.stderr
        )
        return 1
    return 0
