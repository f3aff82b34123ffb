"""The headline results: one row per analysis as the tables show it, the figures of an
analysis, and how sure the brief can be, in words."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from analysis.brief import common
from analysis.brief.common import (
    ATLAS_STUDY,
    analysis_label,
    capped,
    relative,
    text,
)
from analysis.brief.results import Analysis
from analysis.codebook.formats import fmt, fmt_i2, fmt_interval, fmt_p, fmt_tau, is_number
from analysis.codebook.measures import MEASURE_SYMBOL, natural
from analysis.codebook.vocabulary import THEME_SHORT
from analysis.rating import certainty as grade

# Short names of the GRADE domains, for the headline table.
DOMAIN_SHORT = ("inconsistency", "imprecision", "indirectness", "small-study effects")


def certainty_cell(rating: grade.Rating) -> str:
    domains = [d for d in DOMAIN_SHORT if any(r.startswith(d) for r in rating.downgrades)]
    level = rating.level.capitalize()
    return f"{level} (down for {', '.join(domains)})" if domains else level


def _cited(a: Analysis) -> list[str]:
    cited = list(a.studies)
    if len(cited) > common.CITED_STUDIES:
        weight: dict[str, float] = {}
        for u in a.units:
            w = float(u["weight"]) if is_number(u.get("weight")) else 0.0
            weight[text(u.get("study"))] = weight.get(text(u.get("study")), 0.0) + w
        cited, _ = capped(cited, common.CITED_STUDIES, rank=lambda s: -weight.get(s, 0.0))
    return cited


def headline_row(a: Analysis, labels: Mapping[str, str]) -> dict:
    """The numbers of one analysis as the headline table shows them."""
    r = a.row
    measure = text(r.get("measure"))
    k = int(r.get("k") or 0)
    n_studies = int(r.get("n_studies") or len(a.studies) or 0)
    cited = _cited(a)
    return {
        "analysis_id": a.id,
        "theme": THEME_SHORT.get(text(r.get("theme")), text(r.get("theme"))),
        "outcome": analysis_label(r) + (" (Atlas)" if ATLAS_STUDY in a.studies else ""),
        "k": str(k),
        "n_studies": str(n_studies),
        "samples": f"{k} ({n_studies})",
        "participants": a.participants,
        "measure": MEASURE_SYMBOL.get(measure, measure),
        "effect": fmt(natural(measure, r.get("estimate"))),
        "ci": fmt_interval(measure, r.get("ci_low"), r.get("ci_high")),
        "pi": fmt_interval(measure, r.get("pi_low"), r.get("pi_high")) if a.pooled else "",
        "i2": fmt_i2(r.get("i2")) if a.pooled else "",
        "tau": fmt_tau(r.get("tau2")) if a.pooled else "",
        "certainty": a.rating.level,
        "certainty_cell": certainty_cell(a.rating),
        "reasons": list(a.rating.downgrades),
        "notes": list(a.rating.notes),
        "reading": a.text,
        "study": ", ".join(labels.get(s, s) for s in a.studies),
        "study_keys": list(a.studies),
        "cited_keys": cited,
        "uncited": (
            f" and {len(a.studies) - len(cited):,} more (those cited weigh most; "
            f"`units.csv` lists every study)"
        )
        if len(cited) < len(a.studies)
        else "",
        "atlas": ATLAS_STUDY in a.studies,
        "verdict": a.verdict.label,
        "verdict_text": a.verdict.text,
        # Egger's test only where small-study effects were assessed (10 or more studies).
        "egger_p": fmt_p(r.get("egger_p")) if a.small_study_assessed else "",
        "independent": a.independent,
        "pooled": a.pooled,
        # Identical effects give a zero standard error: a degenerate pool, never "firmest".
        "degenerate": not (is_number(r.get("se")) and 0 < float(r["se"]) < math.inf),
        "n_known": sum(float(u["n"]) for u in a.units if is_number(u.get("n"))),
    }


def figure_entries(a: Analysis, figures_dir: Path, qmd_dir: Path) -> list[dict]:
    order = {"forest": 0, "funnel": 1}
    out = []
    for fig in sorted(a.figures, key=lambda f: order.get(text(f.get("kind")), 9)):
        svg = text(fig.get("svg"))
        if not svg:
            continue
        out.append(
            {
                "kind": text(fig.get("kind")),
                "path": relative(figures_dir / svg, qmd_dir),
                "alt": text(fig.get("alt")),
                "id": f"fig-{text(fig.get('kind'))}-{a.id}",
            }
        )
    return out


def certainty_summary(ratings: list[grade.Rating]) -> str:
    """How sure the brief can be, in words, from the ratings (for 'In brief')."""
    if not ratings:
        return "There is nothing to rate yet."
    n = len(ratings)
    good = sum(1 for r in ratings if r.level in ("high", "moderate"))
    if good:
        words = f"{good} of {n} analyses reach moderate or high certainty; the rest are low or very low."
    else:
        words = f"None of the {n} analyses reaches moderate or high certainty."
    observational = sum(1 for r in ratings if r.start == "low")
    reasons = []
    if observational == n:
        reasons.append("every analysis rests on observational studies")
    elif observational:
        verb = "rests" if observational == 1 else "rest"
        reasons.append(f"{observational} {verb} on observational studies")
    for domain, one, many in (
        ("indirectness", "has no UK sample", "have no UK sample"),
        ("inconsistency", "is inconsistent or rests on one sample", "are inconsistent or rest on one sample"),
        ("imprecision", "is imprecise", "are imprecise"),
        ("small-study effects", "shows small-study effects", "show small-study effects"),
    ):
        count = sum(1 for r in ratings if any(d.startswith(domain) for d in r.downgrades))
        if count:
            reasons.append(f"{count} {one if count == 1 else many}")
    if reasons:
        words += " Why: " + "; ".join(reasons) + "."
    if observational == n:
        words += " The numbers describe associations, not the effect of building social capital."
    return words
