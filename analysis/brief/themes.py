"""Theme by theme: per kind of social capital, the report's claim, the analyses shown in
full, the others in a compact table, the narrative evidence, and a one-line summary."""

from __future__ import annotations

from analysis.brief import common
from analysis.brief.common import capped, left_out_note, pdf_cap
from analysis.codebook.vocabulary import THEME_TITLE, THEMES
from analysis.rating.verdicts import Claims

VERDICT_ORDER = ("supports", "qualifies", "contradicts", "inconclusive")

_VERBS = {  # (one analysis, several analyses)
    "supports": ("supports it", "support it"),
    "qualifies": ("qualifies it", "qualify it"),
    "contradicts": ("contradicts it", "contradict it"),
    "inconclusive": ("is inconclusive", "are inconclusive"),
}


def others_note(full: int, shown: int, left: int) -> str:
    """The words above a theme's table of the analyses shown without figures."""
    figures = (
        "their forest and funnel plots are in the folder `figures` of the results "
        "(`forest-` or `funnel-` and the identifier, as SVG and PNG)"
    )
    words = (
        f"The {full} analyses above rest on the most studies in this theme and are shown with their figures. "
    )
    if not left:
        return words + (
            f"The other {shown:,} are listed here; {figures}, their numbers in the results file `pooled.csv`."
        )
    return words + (
        f"Of the other {shown + left:,}, the table lists the {shown:,} that rest on "
        f"the most studies; {left:,} more are not shown. All are in the results "
        f"file `pooled.csv`; {figures}."
    )


def theme_summary(verdicts: list[str], narrative: int) -> str:
    """'Against the report's claim: 2 analyses qualify it; 1 is inconclusive.'"""
    if not verdicts:
        studies = "study" if narrative == 1 else "studies"
        return f"No coded numbers; the evidence is narrative only ({narrative} {studies})."
    parts = []
    for label in VERDICT_ORDER:
        n = verdicts.count(label)
        if n:
            one, many = _VERBS[label]
            parts.append(f"{n} {'analysis' if n == 1 else 'analyses'} {one if n == 1 else many}")
    return "Against the report's claim: " + "; ".join(parts) + "."


def _most_studies(r: dict) -> tuple:
    return (-int(r["n_studies"]), -int(r["k"]))


def _uk_then_recent(s: dict) -> tuple:
    return (not s["uk"], -s["year"])


def theme_sections(headline: list[dict], theme_of: dict[str, str], studies: list[dict], claims: Claims):
    """The theme sections of the brief, in the codebook's theme order."""
    out = []
    for theme in THEMES:
        rows = [r for r in headline if theme_of[r["analysis_id"]] == theme]
        narrative = [s for s in studies if s["status"] != "coded" and theme in s["theme_keys"]]
        claim = claims.themes[theme]
        full, _ = capped(rows, common.FIGURE_ANALYSES, rank=_most_studies)
        shown_ids = {r["analysis_id"] for r in full}
        others, others_left = capped(
            [r for r in rows if r["analysis_id"] not in shown_ids],
            common.THEME_TABLE_ROWS,
            rank=_most_studies,
        )
        narrative_shown, narrative_left = capped(narrative, common.THEME_TABLE_ROWS, rank=_uk_then_recent)
        n = common.PDF_THEME_ROWS
        others_pdf = pdf_cap(
            others, n, _most_studies, "analyses", f"the {n} that rest on the most studies", "pooled.csv"
        )
        narrative_pdf = pdf_cap(narrative_shown, n, _uk_then_recent, "studies",
                                "those about the UK first, then the most recent", "studies.csv")  # fmt: skip
        out.append(
            {
                "key": theme,
                "title": THEME_TITLE[theme],
                "claim": claim.claim,
                "where": claim.where,
                "analyses": full,
                "others": others,
                "others_pdf": others_pdf,
                "narrative_pdf": narrative_pdf,
                "others_note": others_note(len(full), len(others), others_left) if others else "",
                "narrative": narrative_shown,
                "narrative_note": left_out_note(
                    narrative_left,
                    len(narrative_shown),
                    ("study with findings only", "studies with findings only"),
                    "{n}: those about the UK first, then the most recent",
                    "studies.csv",
                    ", with their findings",
                ),
                "summary": theme_summary([r["verdict"] for r in rows], len(narrative)),
                "has_atlas": any(r["atlas"] for r in rows),
            }
        )
    return out
