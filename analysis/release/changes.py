"""CHANGES.md: what changed between two releases, in a reviewer's words.

Compares the previous release's tables with the new ones:

- studies added, removed or recoded (``extractions.csv``: one row per effect
  or narrative record; recoded = any field of a study or of one of its
  effects changed, named with the effect ids and fields);
- each pooled estimate that moved (``pooled.csv`` by ``analysis_id``), old ->
  new on the natural scale (exp for OR/RR, tanh for ZCOR/ZPCOR), and whether
  its CI went from excluding to including no effect or back;
- certainty (GRADE) changes, where the tables carry a ``certainty`` column;
- analyses that appeared, and analyses that disappeared ("retired").

Everything here is a pure function of the tables (lists of CSV rows as
strings), so it is tested on small hand-made tables.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from analysis.codebook.measures import natural
from analysis.inputs.records import count_records

# Two numbers are "the same" within this relative tolerance: pooled.csv holds
# 15 significant digits, and a rebuild on another platform may differ in the
# last few (BLAS, libm), which is not a change a reviewer should see.
REL_TOL = 1e-9

# Columns of extractions.csv that identify a row rather than code it.
ROW_KEY = ("study", "effect_id")

# Columns naming where a row came from; a change there alone is not a recoding.
IGNORED_COLUMNS = ("file",)
NATURAL_NAME = {
    "OR": "OR",
    "RR": "RR",
    "ZCOR": "r",
    "ZPCOR": "partial r",
    "SMD": "g",
    "MD": "MD",
    "RD": "RD",
    "GEN": "effect",
}


@dataclass(frozen=True)
class ReleaseTables:
    """The tables of one release that CHANGES.md compares (rows as read from CSV)."""

    extractions: list[dict[str, str]]
    pooled: list[dict[str, str]]
    references: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def from_folder(cls, folder: str | Path) -> ReleaseTables:
        folder = Path(folder)
        return cls(
            read_rows(folder / "extractions.csv"),
            read_rows(folder / "pooled.csv"),
            read_rows(folder / "references.csv"),
        )


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts of strings ([] when the file is absent)."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------ numbers


def _float(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def _number(value: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (trailing zeros kept), never in exponent form."""
    if not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    text = f"{value:#.{digits}g}"
    if "e" in text:  # very large or very small: write it out
        exponent = int(text.split("e")[1])
        text = f"{value:.{max(digits - 1 - exponent, 0)}f}"
    return text.rstrip(".")


def _same(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def ci_includes_no_effect(row: dict[str, str]) -> bool | None:
    """True when the row's 95% CI includes no effect (0 on the analysis scale); None if unknown."""
    low, high = _float(row.get("ci_low")), _float(row.get("ci_high"))
    if math.isnan(low) or math.isnan(high):
        return None
    return low <= 0.0 <= high


@dataclass(frozen=True)
class Shown:
    """One pooled row as a reader sees it: estimate [CI] on the natural scale."""

    name: str
    estimate: str
    ci_low: str
    ci_high: str

    def text(self) -> str:
        ci = f" [{self.ci_low}, {self.ci_high}]" if self.ci_low != "n/a" else ""
        return f"{self.estimate}{ci}"


def shown(row: dict[str, str], digits: int = 3) -> Shown:
    measure = row.get("measure", "")
    values = [natural(measure, _float(row.get(c))) for c in ("estimate", "ci_low", "ci_high")]
    return Shown(NATURAL_NAME.get(measure, measure), *(_number(v, digits) for v in values))


def shown_pair(old: dict[str, str], new: dict[str, str]) -> tuple[Shown, Shown]:
    """Old and new rows with enough digits that a change shows (3, up to 6)."""
    for digits in range(3, 7):
        a, b = shown(old, digits), shown(new, digits)
        if a.text() != b.text():
            return a, b
    return a, b


def _k(row: dict[str, str]) -> str:
    k, studies = row.get("k", ""), row.get("n_studies", "")
    text = f"k = {k}" if k else ""
    if studies and studies != k:
        text += f", {studies} studies"
    return text


# ------------------------------------------------------------------ studies


@dataclass(frozen=True)
class StudyChange:
    """How one study's coding changed: effects added, removed, and changed (with fields)."""

    study: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (effect id or "" for study-level, fields)


def _rows_by_study(rows: list[dict[str, str]]) -> dict[str, dict[str, dict[str, str]]]:
    studies: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        studies.setdefault(row.get("study", ""), {})[row.get("effect_id", "")] = row
    return studies


# Study-level fields repeated on every row of a study (effect fields are the rest).
STUDY_FIELDS = (
    "kind",
    "design",
    "country",
    "status",
    "findings",
    "not_poolable",
    "themes",
    "outcomes",
    "study_notes",
    "coder",
)


def _diff(old: dict[str, str], new: dict[str, str], columns: list[str]) -> tuple[str, ...]:
    return tuple(
        c
        for c in columns
        if c not in ROW_KEY and c not in IGNORED_COLUMNS and (old.get(c) or "") != (new.get(c) or "")
    )


def compare_studies(
    old: list[dict[str, str]], new: list[dict[str, str]]
) -> tuple[list[str], list[str], list[StudyChange]]:
    """(added study keys, removed study keys, recoded studies), each sorted by key."""
    before, after = _rows_by_study(old), _rows_by_study(new)
    columns = list(dict.fromkeys([*(old[0] if old else {}), *(new[0] if new else {})]))
    study_columns = [c for c in columns if c in STUDY_FIELDS]
    effect_columns = [c for c in columns if c not in STUDY_FIELDS]
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    recoded = []
    for study in sorted(set(before) & set(after)):
        b, a = before[study], after[study]
        b_effects, a_effects = set(b) - {""}, set(a) - {""}
        first_b, first_a = next(iter(b.values())), next(iter(a.values()))
        changed: list[tuple[str, tuple[str, ...]]] = []
        study_fields = _diff(first_b, first_a, study_columns)
        if study_fields:
            changed.append(("", study_fields))
        for effect in sorted(b_effects & a_effects):
            fields = _diff(b[effect], a[effect], effect_columns)
            if fields:
                changed.append((effect, fields))
        change = StudyChange(
            study, tuple(sorted(a_effects - b_effects)), tuple(sorted(b_effects - a_effects)), tuple(changed)
        )
        if change.added or change.removed or change.changed:
            recoded.append(change)
    return added, removed, recoded


def _study_label(study: str, rows: list[dict[str, str]], references: list[dict[str, str]]) -> str:
    ref = next((r for r in references if r.get("key") == study), None)
    label = f"**{study}**"
    if ref:
        author = (ref.get("author") or "").split(" and ")[0].split(",")[0].strip()
        more = " et al." if " and " in (ref.get("author") or "") else ""
        title = (ref.get("title") or "").rstrip(".")
        label += f" ({author}{more} {ref.get('year', '')}, *{title}*)".replace(" ,", ",")
    mine = [r for r in rows if r.get("study") == study]
    effects = sorted(r["effect_id"] for r in mine if r.get("effect_id"))
    first = mine[0] if mine else {}
    facts = [first.get("design", ""), first.get("country", "").replace(";", ", ")]
    if effects:
        facts.append(f"{len(effects)} effect{'s' if len(effects) != 1 else ''}: {', '.join(effects)}")
    else:
        facts.append("narrative record, no pooled effect")
    return label + ": " + "; ".join(f for f in facts if f)


def _recoded_text(change: StudyChange) -> str:
    parts = []
    for effect, fields in change.changed:
        what = f"effect {effect}" if effect else "study fields"
        parts.append(f"{what} ({', '.join(fields)})")
    if change.added:
        parts.append(f"effect{'s' if len(change.added) > 1 else ''} added: {', '.join(change.added)}")
    if change.removed:
        parts.append(f"effect{'s' if len(change.removed) > 1 else ''} removed: {', '.join(change.removed)}")
    return f"**{change.study}**: " + "; ".join(parts)


# ------------------------------------------------------------------ pooled estimates


@dataclass(frozen=True)
class EstimateChange:
    analysis_id: str
    old: dict[str, str]
    new: dict[str, str]


def _moved(old: dict[str, str], new: dict[str, str]) -> bool:
    numbers = ("estimate", "ci_low", "ci_high")
    if any(not _same(_float(old.get(c)), _float(new.get(c))) for c in numbers):
        return True
    return any((old.get(c) or "") != (new.get(c) or "") for c in ("k", "n_studies", "n_effects"))


def compare_pooled(
    old: list[dict[str, str]], new: list[dict[str, str]]
) -> tuple[list[EstimateChange], list[str], list[str], int]:
    """(moved estimates, new analysis ids, retired analysis ids, number unchanged)."""
    before = {r["analysis_id"]: r for r in old}
    after = {r["analysis_id"]: r for r in new}
    moved = [
        EstimateChange(a, before[a], after[a])
        for a in sorted(set(before) & set(after))
        if _moved(before[a], after[a]) or _certainty(before[a]) != _certainty(after[a])
    ]
    unchanged = len(set(before) & set(after)) - len(moved)
    return moved, sorted(set(after) - set(before)), sorted(set(before) - set(after)), unchanged


def _certainty(row: dict[str, str]) -> str:
    return (row.get("certainty") or "").strip()


def _ci_phrase(old: dict[str, str], new: dict[str, str]) -> str:
    was, now = ci_includes_no_effect(old), ci_includes_no_effect(new)
    if was is None or now is None:
        return ""
    if was and not now:
        return "its CI now **excludes** no effect (it included it)"
    if now and not was:
        return "its CI now **includes** no effect (it excluded it)"
    return "its CI still includes no effect" if now else "its CI still excludes no effect"


def _moved_text(change: EstimateChange, certainty_known: bool) -> str:
    a, b = shown_pair(change.old, change.new)
    name = b.name or a.name
    line = f"`{change.analysis_id}`: {name} {a.text()} ({_k(change.old)}) -> {b.text()} ({_k(change.new)})"
    phrases = [p for p in [_ci_phrase(change.old, change.new)] if p]
    if certainty_known:
        was, now = _certainty(change.old) or "not rated", _certainty(change.new) or "not rated"
        phrases.append(f"certainty {was} -> {now}" if was != now else f"certainty unchanged ({now})")
    return line + ("; " + "; ".join(phrases) if phrases else "") + "."


def _pooled_text(row: dict[str, str]) -> str:
    s = shown(row)
    certainty = f"; certainty {_certainty(row)}" if _certainty(row) else ""
    return f"`{row['analysis_id']}`: {s.name} {s.text()} ({_k(row)}){certainty}"


# ------------------------------------------------------------------ the document


def _plural(n: int, word: str, words: str = "") -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def _summary(tables: ReleaseTables) -> str:
    """The counts of the release, from analysis.inputs.records (the brief's counts too)."""
    counts = count_records(
        {**r, "status": r.get("status") or ("coded" if r.get("effect_id") else "narrative")}
        for r in tables.extractions
    )
    effects = [r for r in tables.extractions if r.get("effect_id")]
    context = f" and {_plural(counts.context, 'context record')}" if counts.context else ""
    return (
        f"{_plural(counts.studies, 'study', 'studies')} ({counts.coded} with coded effects, "
        f"{counts.narrative} narrative){context}, {_plural(len(effects), 'effect')}, "
        f"{_plural(len(tables.pooled), 'analysis', 'analyses')}"
    )


def changes_markdown(
    version: str,
    new: ReleaseTables,
    previous: ReleaseTables | None = None,
    previous_version: str | None = None,
    certainty_note: str = "",
) -> str:
    """CHANGES.md of release ``version``, compared with ``previous`` (None: the first release)."""
    lines = [f"# Changes in v{version}", ""]
    if previous is None:
        lines += ["First release.", "", f"It holds {_summary(new)}.", ""]
        lines += [
            'Cite an estimate as "Evidence brief v' + version + ', estimate <analysis_id>"; '
            "every analysis keeps its `analysis_id` in later releases.",
            "",
        ]
        return "\n".join(lines)
    lines += [f"Compared with v{previous_version}. This release holds {_summary(new)}.", ""]

    added, removed, recoded = compare_studies(previous.extractions, new.extractions)
    lines += ["## Studies", ""]
    if not (added or removed or recoded):
        lines += ["No study was added, removed or recoded.", ""]
    if added:
        lines += [f"Added ({len(added)}):", ""]
        lines += [f"- {_study_label(s, new.extractions, new.references)}" for s in added] + [""]
    if removed:
        lines += [f"Removed ({len(removed)}):", ""]
        lines += [f"- {_study_label(s, previous.extractions, previous.references)}" for s in removed]
        lines += [""]
    if recoded:
        lines += [f"Recoded ({len(recoded)}; the fields that changed are in brackets):", ""]
        lines += [f"- {_recoded_text(c)}" for c in recoded] + [""]

    certainty_known = any("certainty" in r for r in new.pooled[:1] + previous.pooled[:1])
    moved, appeared, retired, unchanged = compare_pooled(previous.pooled, new.pooled)
    lines += ["## Pooled estimates", ""]
    lines += [
        (
            "Estimates on the natural scale (odds and risk ratios, correlations r, Hedges' g), "
            "with 95% CIs; k is the number of independent samples."
        ),
        "",
    ]
    if moved:
        lines += [f"Moved ({len(moved)}):", ""]
        lines += [f"- {_moved_text(c, certainty_known)}" for c in moved] + [""]
    else:
        lines += ["No pooled estimate moved.", ""]
    lines += [f"Unchanged: {_plural(unchanged, 'analysis', 'analyses')}.", ""]
    if not certainty_known:
        lines += [
            certainty_note
            or "Certainty (GRADE) changes are not listed: the pooled table has no certainty column.",
            "",
        ]
    if appeared:
        lines += [f"## New analyses ({len(appeared)})", ""]
        by_id = {r["analysis_id"]: r for r in new.pooled}
        lines += [f"- {_pooled_text(by_id[a])}" for a in appeared] + [""]
    if retired:
        lines += [f"## Retired analyses ({len(retired)})", ""]
        lines += [
            (f"These analyses are no longer reported; their last estimate is in v{previous_version}."),
            "",
        ]
        by_id = {r["analysis_id"]: r for r in previous.pooled}
        lines += [f"- {_pooled_text(by_id[a])} (retired)" for a in retired] + [""]
    return "\n".join(lines)
