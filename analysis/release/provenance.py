"""A release's ``provenance.json``: what it was built from.

The commit and its time, the sha256 of every tracked input, the git tree of
the code, the estimator settings, the Python and package versions, the
outside tools, and how to rebuild it.

Hook for the renderer (the Quarto helper fills it): when the built tree has
``results/brief/renderer.json`` (a JSON object written by the rule that renders
the brief, e.g. ``{"name": "quarto", "version": "1.6.40"}``), it is recorded
as ``"renderer"``. Until a rule writes that file the key is absent and the
record is exactly as before.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import shutil
import subprocess
import time
from pathlib import Path

from analysis.io import sha256_file
from analysis.release.repo import git

# Tracked inputs whose sha256 goes into provenance.json: everything a reviewer
# or the configuration decides (the code is identified by the commit).
INPUT_FOLDERS = ("extracted", "references", "config", "schemas", "report")
CODE_PATHS = ("Snakefile", "rules", "analysis", "schemas", "report")
SETTINGS = ("estimator", "ci_method", "rho", "alpha")
# Written by the brief's render rule (under results_dir) to name the renderer; see above.
RENDERER_RECORD = "brief/renderer.json"


def locked_packages(lock: Path) -> dict[str, str]:
    """Package versions: what is installed, for every package pinned in requirements.lock."""
    versions = {}
    if not lock.is_file():
        return versions
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" not in line:
            continue
        name = line.split("==")[0].strip()
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return dict(sorted(versions.items(), key=lambda kv: kv[0].lower()))


def _tool_versions() -> dict[str, str]:
    tools = {}
    try:
        import pypandoc

        tools["pandoc"] = pypandoc.get_pandoc_version()
    except Exception:  # noqa: BLE001 - a missing tool is recorded, not fatal
        tools["pandoc"] = "not found"
    quarto = shutil.which("quarto")
    if quarto:
        done = subprocess.run([quarto, "--version"], capture_output=True, text=True, check=False)
        tools["quarto"] = done.stdout.strip()
    return tools


def renderer(results: Path) -> dict | None:
    """The renderer the brief was rendered with, as the render rule recorded it (None: not recorded)."""
    path = results / RENDERER_RECORD
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    return record if isinstance(record, dict) else None


def settings(tree: Path) -> dict:
    """The estimator settings of the tree's config/config.yaml."""
    import yaml

    config = yaml.safe_load((tree / "config" / "config.yaml").read_text(encoding="utf-8"))
    return {k: config.get(k) for k in SETTINGS}


def input_fingerprint(tree: Path) -> str:
    """The brief footer's input fingerprint: extraction files, bibliography and settings."""
    from analysis import provenance as build_provenance

    inputs = [str(p) for p in sorted((tree / "extracted").glob("*.y*ml"))]
    inputs += [str(p) for p in sorted((tree / "references").glob("*.bib"))]
    return build_provenance.fingerprint(inputs, settings(tree))


def provenance(tree: Path, version: str, commit: str, epoch: int, previous: str | None) -> dict:
    """What the release was built from: commit, inputs (sha256), settings, software."""
    tracked = git(tree, "ls-files", "--", *INPUT_FOLDERS).splitlines()
    inputs = {path: sha256_file(tree / path) for path in sorted(tracked) if (tree / path).is_file()}
    code = {path: git(tree, "rev-parse", f"{commit}:{path}", check=False) for path in CODE_PATHS}
    lock = tree / "requirements.lock"
    record = {
        "version": version,
        "tag": f"v{version}",
        "previous_release": previous,
        "commit": commit,
        "commit_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)),
        "source_date_epoch": epoch,
        "input_fingerprint": input_fingerprint(tree),
        "inputs": inputs,
        "code": {k: v for k, v in code.items() if v},
        "settings": settings(tree),
        "python": platform.python_version(),
        "packages": locked_packages(lock),
        "requirements_lock_sha256": sha256_file(lock) if lock.is_file() else "",
        "tools": _tool_versions(),
        "rebuild": f"git checkout v{version} && make brief   # or: make verify-release VERSION={version}",
    }
    rendered_by = renderer(tree / "results")
    if rendered_by is not None:
        record["renderer"] = rendered_by
    return record
