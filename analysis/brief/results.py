"""The analyses as the brief reads them: pooled.csv joined with its units, its studies, its
figures and its rating (certainty.csv, written by rule rate_certainty)."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.brief.common import ATLAS_STUDY, rows, sort_key, text, truthy
from analysis.codebook.formats import is_number
from analysis.rating import certainty as grade
from analysis.rating.table import participants, rating_of
from analysis.rating.verdicts import Verdict


@dataclass
class Analysis:
    """One row of pooled.csv with everything the brief says about it."""

    row: dict
    units: list[dict]
    studies: list[str]
    designs: tuple[str, ...]
    countries: tuple[str, ...]
    participants: str
    rating: grade.Rating
    text: str
    verdict: Verdict
    figures: list[dict]
    small_study_assessed: bool = False

    @property
    def id(self) -> str:
        return text(self.row["analysis_id"])

    @property
    def pooled(self) -> bool:
        return (
            truthy(self.row.get("pooled", int(self.row.get("k") or 0) >= 2))
            and is_number(self.row.get("estimate"))
            and int(self.row.get("k") or 0) >= 2
        )

    @property
    def atlas(self) -> bool:
        return ATLAS_STUDY in self.studies

    @property
    def independent(self) -> bool:
        """A pool of two or more independent studies (not the samples of one study)."""
        return self.pooled and int(self.row.get("n_studies") or 0) >= 2


def analyses(pooled, units, studies, certainty, figures=None) -> list[Analysis]:
    """Every analysis of pooled.csv with its rating from certainty.csv, in theme and outcome
    order (within a theme, published studies first and our Atlas reanalysis after them)."""
    study_rows = {text(s["study"]): s for s in rows(studies)}
    rated = {text(r["analysis_id"]): r for r in rows(certainty)}
    by_analysis: dict[str, list[dict]] = {}
    for unit in rows(units):
        by_analysis.setdefault(text(unit.get("analysis_id")), []).append(unit)
    figs: dict[str, list[dict]] = {}
    for fig in rows(figures):
        figs.setdefault(text(fig.get("analysis_id")), []).append(fig)
    out = []
    for row in sorted(rows(pooled), key=sort_key):
        aid = text(row["analysis_id"])
        if aid not in rated:
            raise ValueError(f"certainty.csv has no row for analysis {aid}: re-run rule rate_certainty.")
        its_units = by_analysis.get(aid, [])
        keys = sorted({text(u.get("study")) for u in its_units})
        designs = tuple(sorted({text(study_rows[s]["design"]) for s in keys if s in study_rows}))
        countries = tuple(sorted({text(study_rows[s]["country"]) for s in keys if s in study_rows}))
        shown, _ = participants(its_units, set(designs))
        r = rated[aid]
        out.append(
            Analysis(
                row=row,
                units=its_units,
                studies=keys,
                designs=designs,
                countries=countries,
                participants=shown,
                rating=rating_of(r),
                text=text(r.get("reading")),
                verdict=Verdict(text(r.get("verdict")), text(r.get("verdict_text"))),
                figures=figs.get(aid, []),
                small_study_assessed=truthy(r.get("small_study_assessed")),
            )
        )
    return sorted(out, key=lambda a: (sort_key(a.row)[0], a.atlas, *sort_key(a.row)[1:]))
