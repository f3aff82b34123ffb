"""What every review command shares: the project's paths, the error a reviewer sees, safe printing."""

from __future__ import annotations

import argparse
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from analysis.inputs import bibliography


class ReviewError(Exception):
    """An expected problem: the message is shown as it is, and review exits with 1."""


@dataclass(frozen=True)
class Project:
    root: Path
    extracted: Path
    bibliography: Path
    releases: Path


def find_root(start: Path) -> Path:
    """The project folder: the nearest folder holding Snakefile and config/config.yaml."""
    for folder in (start, *start.parents):
        if (folder / "Snakefile").is_file() and (folder / "config" / "config.yaml").is_file():
            return folder
    return start


def project(args: argparse.Namespace) -> Project:
    root = find_root(Path.cwd())
    config: dict = {}
    try:
        loaded = yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))
        config = loaded if isinstance(loaded, dict) else {}
    except (OSError, yaml.YAMLError):
        pass

    def choose(given: str | None, key: str, default: str) -> Path:
        if given:
            return Path(given)
        return root / str(config.get(key) or default)

    return Project(
        root,
        choose(getattr(args, "extracted", None), "extracted_dir", "extracted"),
        choose(getattr(args, "bibliography", None), "bibliography", "references"),
        Path(args.releases) if getattr(args, "releases", None) else root / "releases",
    )


def show_path(path: Path | str) -> str:
    """A path as the reviewer would type it: relative to the current folder when shorter."""
    path = Path(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return relative if len(relative) <= len(str(path)) else str(path)


def printable(text: str) -> str:
    """Text safe to print or to put in a comment: no control or line-separator characters."""
    return "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)


def read_bibliography(path: Path) -> list[bibliography.Reference]:
    try:
        return bibliography.read_bibliography(path)
    except bibliography.BibliographyError as err:
        raise ReviewError(
            f"The bibliography ({show_path(path)}) has {len(err.problems)} problem(s); fix them "
            "first:\n" + "\n".join(f"  - {p}" for p in err.problems)
        ) from None
