"""Release versions (MAJOR.MINOR.PATCH) and the release folders ``releases/vX.Y.Z``.

The one place that finds releases: ``make release`` (the versions already
used, the previous release that CHANGES.md compares with) and ``review
status`` (what changed since the last release) both ask here, so they agree on
what a release is: a folder named ``v`` + MAJOR.MINOR.PATCH, no leading zeros.
"""

from __future__ import annotations

import re
from pathlib import Path

Version = tuple[int, int, int]

VERSION_PATTERN = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
RELEASES = "releases"


def version_of(text: str) -> Version | None:
    """(major, minor, patch) of 'X.Y.Z' or 'vX.Y.Z'; None for anything else."""
    match = VERSION_PATTERN.fullmatch(text.removeprefix("v")) if isinstance(text, str) else None
    return tuple(int(part) for part in match.groups()) if match else None  # type: ignore[return-value]


def version_text(version: Version) -> str:
    return ".".join(map(str, version))


def release_folders(folder: Path, needs: str | None = None) -> dict[Version, Path]:
    """Every release folder ``folder/vX.Y.Z`` by version (holding the file ``needs``, if given)."""
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.iterdir():
        version = version_of(path.name) if path.name.startswith("v") else None
        if version is not None and path.is_dir() and (needs is None or (path / needs).is_file()):
            found[version] = path
    return dict(sorted(found.items()))


def latest_release(folder: Path, below: Version | None = None, needs: str | None = None) -> Path | None:
    """The highest release folder (below ``below``, if given), or None when there is none."""
    found = {v: p for v, p in release_folders(folder, needs).items() if below is None or v < below}
    return found[max(found)] if found else None
