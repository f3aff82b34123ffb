"""``review status``: studies by status and theme, the evidence gaps, and what changed since
the last release in ``releases/``."""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.codebook.vocabulary import OUTCOMES, THEMES
from analysis.inputs import bibliography, extraction, records
from analysis.review.common import Project, project, show_path
from analysis.versions import latest_release


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _differ(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is not b
    return not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def release_changes(release: Path, documents: list[tuple[Path, dict]]) -> list[str]:
    """Plain-English lines: what changed in the extraction files since ``release``."""
    from analysis.inputs.effects import effect_rows

    old_effects = _read_csv(release / "effects.csv")
    old_studies_rows = _read_csv(release / "extractions.csv")
    old_studies = {r["study"] for r in old_studies_rows if r.get("study")} | {
        r["study"] for r in old_effects if r.get("study")
    }
    now = {doc["study"]: doc for _, doc in documents}
    added = sorted(set(now) - old_studies)
    removed = sorted(old_studies - set(now))
    old = {(r.get("study"), r.get("effect_id")): r for r in old_effects}
    new = {(r["study"], r["effect_id"]): r for r in effect_rows(documents)}
    effects_added = sorted(k for k in new if k not in old and k[0] not in added)
    effects_removed = sorted(k for k in old if k not in new and k[0] not in removed)
    changed = sorted(
        k
        for k in set(old) & set(new)
        if old[k].get("measure") != new[k]["measure"]
        or _differ(_number(old[k].get("yi")), new[k]["yi"])
        or _differ(_number(old[k].get("vi")), new[k]["vi"])
    )
    recoded = set(k[0] for k in effects_added + effects_removed + changed)
    first_row = {}
    for row in old_studies_rows:
        first_row.setdefault(row.get("study"), row)
    for study, row in first_row.items():
        if study in now:
            for name in ("design", "status"):
                if name in row and row[name] != str(now[study].get(name, "")):
                    recoded.add(study)

    def listing(items: Sequence[Any], limit: int = 12) -> str:
        shown = [i if isinstance(i, str) else f"{i[0]}/{i[1]}" for i in items[:limit]]
        more = f" and {len(items) - limit} more" if len(items) > limit else ""
        return ", ".join(shown) + more

    lines = [f"Since release {release.name} ({show_path(release)}):"]
    lines.append(f"  studies added: {len(added)}" + (f" ({listing(added)})" if added else ""))
    lines.append(f"  studies removed: {len(removed)}" + (f" ({listing(removed)})" if removed else ""))
    lines.append(f"  studies recoded: {len(recoded)}" + (f" ({listing(sorted(recoded))})" if recoded else ""))
    lines.append(
        f"  effects added to earlier studies: {len(effects_added)}; removed: "
        f"{len(effects_removed)}; with a changed value: {len(changed)}"
        + (f" ({listing(changed)})" if changed else "")
    )
    if not old_effects and not old_studies_rows:
        lines.append("  (the release has no effects.csv or extractions.csv to compare with)")
    return lines


def _corpus_lines(paths: Project, documents: list, problems: list, keys: set[str] | None) -> list[str]:
    """How many files, studies by status, context documents, and what is not coded yet."""
    bad_files = len({p.file for p in problems})
    counts = records.count_records(d for _, d in documents)  # the brief's and CHANGES.md's counts
    lines = [f"Extraction files in {show_path(paths.extracted)}: {len(documents) + bad_files}"]
    lines.append(
        f"  studies: {counts.studies} (coded, with effects: {counts.coded}; "
        f"narrative, findings only: {counts.narrative})"
    )
    if counts.context:
        lines.append(
            f"  context documents (reports, policy papers; not counted as studies): {counts.context}"
        )
    lines.append(
        "  identified by: "
        + "; ".join(f"{records.SOURCES.get(k, k)}: {n}" for k, n in counts.identified.items() if n)
    )
    if bad_files:
        lines.append(f"  files with problems, left out below: {bad_files} (run `review check`)")
    if keys is None:
        lines.append("  the bibliography has problems (run `review check`)")
    else:
        coded = {d["study"] for _, d in documents} | {Path(p.file).stem for p in problems}
        missing = sorted(keys - coded)
        sample = f" (e.g. {', '.join(missing[:8])})" if missing else ""
        lines.append(f"  bibliography entries without an extraction file: {len(missing)}{sample}")
    return lines


def gap_counts(studies: list[dict]) -> tuple[dict[tuple[str, str], list[int]], dict[str, list[int]]]:
    """Studies per (theme, outcome) and per theme, each as [coded, narrative]."""
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    by_theme: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for doc in studies:
        if doc["status"] == "coded":
            effects = [e for e in doc.get("effects") or [] if e.get("role", "primary") == "primary"]
            pairs = {(e["theme"], e["outcome"]) for e in effects}
            slot = 0
        else:
            pairs = {(t, o) for t in doc.get("themes", []) for o in doc.get("outcomes", [])}
            pairs |= {(t, "") for t in doc.get("themes", [])}
            slot = 1
        for pair in pairs:
            if pair[1]:
                cells[pair][slot] += 1
        for theme in {t for t, _ in pairs}:
            by_theme[theme][slot] += 1
    return cells, by_theme


def _gap_lines(cells: dict[tuple[str, str], list[int]], by_theme: dict[str, list[int]]) -> list[str]:
    """The studies-by-theme table and the theme x outcome gap map."""
    lines = ["", "Studies by theme (coded / narrative):"]
    for theme in THEMES:
        coded_n, narrative_n = by_theme.get(theme, [0, 0])
        lines.append(f"  {theme:<10} {coded_n:>4} / {narrative_n}")
    lines.append("")
    lines.append("Evidence gaps: studies per theme and outcome (coded/narrative; '.' = none)")
    width = max(len(o) for o in OUTCOMES) + 1
    lines.append("  " + " " * 11 + "".join(f"{o:>{width}}" for o in OUTCOMES))
    for theme in THEMES:
        row = ""
        for outcome in OUTCOMES:
            c, n = cells.get((theme, outcome), [0, 0])
            row += f"{(f'{c}/{n}' if c or n else '.'):>{width}}"
        lines.append(f"  {theme:<11}{row}")
    return lines


def status_lines(paths: Project) -> list[str]:
    try:
        references = bibliography.read_bibliography(paths.bibliography)
        keys: set[str] | None = {r.key for r in references}
    except bibliography.BibliographyError:
        keys = None
    documents, problems = extraction.load_corpus(paths.extracted, keys)
    lines = _corpus_lines(paths, documents, problems, keys)
    studies = [d for _, d in documents if d.get("kind", "study") == "study"]
    lines += _gap_lines(*gap_counts(studies))
    lines.append("")
    release = latest_release(paths.releases)
    if release is None:
        lines.append(
            f"No release yet ({show_path(paths.releases)}/v*/ does not exist), so there "
            "is nothing to compare with."
        )
    else:
        lines += release_changes(release, documents)
        if problems:
            lines.append("  (files with problems are left out of this comparison)")
    return lines


def run(args: argparse.Namespace) -> int:
    print("\n".join(status_lines(project(args))))
    return 0
