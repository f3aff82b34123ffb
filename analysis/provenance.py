"""What a build is made of: version, git commit, commit time and a fingerprint of the inputs.

Nothing here reads the clock: the build date is the commit's date (or
SOURCE_DATE_EPOCH when set), so that the same commit gives the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str, cwd: Path = ROOT) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def citation(root: Path = ROOT) -> dict:
    """CITATION.cff, the single source of citation metadata."""
    path = root / "CITATION.cff"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}


def fingerprint(paths: list[str], settings: dict) -> str:
    """sha256 over the inputs' names and bytes and the settings, as 16 hex digits."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(Path(path).name.encode() + b"\0")
        digest.update(Path(path).read_bytes())
        digest.update(b"\0")
    digest.update(repr(sorted(settings.items())).encode())
    return digest.hexdigest()[:16]


# Set by the release build (analysis.release.build.build_environment) to the version it builds.
RELEASE_ENV = "BRIEF_RELEASE"


def released_commits(root: Path = ROOT) -> dict[str, str]:
    """Version -> commit of every release folder (releases/v*/provenance.json)."""
    import json

    out = {}
    for path in sorted((root / "releases").glob("v*/provenance.json")):
        try:
            out[path.parent.name[1:]] = str(json.loads(path.read_text(encoding="utf-8")).get("commit", ""))
        except (OSError, ValueError):
            continue
    return out


def _version_key(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in text.split("."))


def release_label(version: str, commit: str, releases: dict[str, str], building: str = "") -> dict:
    """Whether this build is a release, and the words that say what it is.

    A release: the release build of ``version`` itself (``building``), or a clean build of
    the commit a release folder names. Anything else is an unreleased build after the
    latest release, with its commit (and "modified" when the tree is dirty)."""
    dirty = commit.endswith("-dirty")
    clean = commit.removesuffix("-dirty")
    if (building and building == version and not dirty) or (releases.get(version) == clean and not dirty):
        return {"released": True, "label": f"Version {version}", "after": ""}
    after = max(releases, key=_version_key) if releases else ""
    short = clean[:12] if clean and clean != "unknown" else "unknown"
    words = f"unreleased build after v{after}" if after else "unreleased build"
    words += f", commit {short}" + (", modified" if dirty else "")
    return {"released": False, "label": words[:1].upper() + words[1:], "after": after}


def build_info(inputs: list[str], settings: dict, root: Path = ROOT) -> dict:
    """Version, commit, commit epoch, input fingerprint and release label of this build."""
    commit = _git("rev-parse", "HEAD", cwd=root) or "unknown"
    if commit != "unknown" and _git("status", "--porcelain", "--untracked-files=no", cwd=root):
        commit += "-dirty"
    epoch = os.environ.get("SOURCE_DATE_EPOCH") or _git("log", "-1", "--format=%ct", cwd=root) or "0"
    version = str(citation(root).get("version", "0.0.0"))
    return {
        "version": version,
        "commit": commit,
        "epoch": int(epoch),
        "fingerprint": fingerprint(inputs, settings),
        **release_label(version, commit, released_commits(root), os.environ.get(RELEASE_ENV, "")),
    }
