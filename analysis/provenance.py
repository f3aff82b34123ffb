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


def build_info(inputs: list[str] | None, settings: dict, root: Path = ROOT) -> dict:
    """Version, commit, commit epoch and input fingerprint of this build.

    With ``inputs`` None no input is read and there is no fingerprint: the
    workflow reads the settings this way while it is parsed, and the rule
    check_inputs computes the fingerprint."""
    commit = _git("rev-parse", "HEAD", cwd=root) or "unknown"
    if commit != "unknown" and _git("status", "--porcelain", "--untracked-files=no", cwd=root):
        commit += "-dirty"
    epoch = os.environ.get("SOURCE_DATE_EPOCH") or _git("log", "-1", "--format=%ct", cwd=root) or "0"
    info = {
        "version": str(citation(root).get("version", "0.0.0")),
        "commit": commit,
        "epoch": int(epoch),
    }
    if inputs is not None:
        info["fingerprint"] = fingerprint(inputs, settings)
    return info
