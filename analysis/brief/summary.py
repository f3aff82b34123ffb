"""Key messages: the plain-language summary (after Cochrane's and Campbell's), one message
per claim of the seed report, and the GRADE Summary of Findings table.

The words are generated from the results by the rules in :data:`SUMMARY_RULES` (printed in
the brief); only each claim's policy reading and what it cannot tell are protocol text
(``messages`` in report/themes.yaml). A new study changes the lead evidence, its numbers
and the certainty wording, and so the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.brief.common import text
from analysis.brief.results import Analysis
from analysis.codebook.formats import escape_md
from analysis.codebook.vocabulary import CONSTRUCT_EXPOSURE, OUTCOME_DIRECTION, OUTCOMES, THEME_EXPOSURE
from analysis.rating import certainty as grade
from analysis.rating.verdicts import crosses

SUMMARY_RULES: tuple[str, ...] = (
    "Lead evidence for a claim: the pool of the most independent studies among the claim's "
    "analyses; without a pool, the single study with the best certainty (mobility outcomes "
    "first, then the most participants); without either, the Atlas reanalysis.",
    "How sure we can be, in GRADE's words for the lead evidence's certainty: high, "
    '"go together"; moderate, "probably go together"; low, "may go together"; very low, '
    '"went with ... where it was measured, but we are very uncertain whether this holds". Where the lead CI includes no effect, the same words '
    'say "little or no association". A claim with no coded number is not rated: we are very '
    "uncertain.",
    "UK policy: the protocol's firm reading when the lead evidence is of moderate or high "
    "certainty, its cautious reading otherwise.",
)

# GRADE's wording (Santesso et al. 2020, J Clin Epidemiol 119:126-135), for associations.
_SURE = {
    "high": (
        "{Exposure} and {better} go together.",
        "There is little or no association between {exposure} and {outcome}.",
    ),
    "moderate": (
        "{Exposure} and {better} probably go together.",
        "There is probably little or no association between {exposure} and {outcome}.",
    ),
    "low": (
        "{Exposure} and {better} may go together.",
        "There may be little or no association between {exposure} and {outcome}.",
    ),
    "very low": (
        "{Exposure} went with {better} where it was measured, but we are very uncertain "
        "whether it holds in the UK, or whether one causes the other.",
        "We are very uncertain whether {exposure} and {outcome} are associated at all.",
    ),
}
# How consistently an Atlas association holds from state to state (atlas._consistency's first word).
_STATES = {
    "consistently": "much the same in every state",
    "in direction, not in strength": "the same direction in every state, not the same strength",
    "not consistently": "absent or reversed in some states",
}
_OUTCOME_WORD = {
    "mobility": "upward mobility",
    "income": "income",
    "employment": "employment",
    "education": "results at school",
    "health": "health",
    "crime": "crime",
}


def _exposure(a: Analysis) -> str:
    construct, theme = text(a.row.get("construct")), text(a.row.get("theme"))
    return CONSTRUCT_EXPOSURE.get(construct) or THEME_EXPOSURE.get(theme, f"more {theme} capital")


def _rank_single(a: Analysis, degenerate: Mapping[str, bool]) -> tuple:
    outcome = text(a.row.get("outcome"))
    return (
        degenerate.get(a.id, False),
        grade.LEVELS.index(a.rating.level),
        OUTCOMES.index(outcome) if outcome in OUTCOMES else len(OUTCOMES),
        -sum(float(u["n"]) for u in a.units if str(u.get("n", "")) not in ("", "nan")),
    )


def lead_analysis(found: list[Analysis], degenerate: Mapping[str, bool]) -> Analysis | None:
    """The lead evidence for a claim (rules above)."""
    pools = [a for a in found if a.pooled and int(a.row.get("n_studies") or 0) >= 2]
    if pools:
        return max(pools, key=lambda a: (int(a.row["n_studies"]), int(a.row["k"])))
    singles = [a for a in found if not a.pooled and not a.atlas]
    if singles:
        return min(singles, key=lambda a: _rank_single(a, degenerate))
    atlas = [a for a in found if a.atlas and a.pooled]
    return atlas[0] if atlas else None


def sure_sentence(a: Analysis | None) -> str:
    """How sure we can be, in GRADE's words."""
    if a is None:
        return "No study gives a number that could be coded, so the evidence cannot be rated: we are very uncertain."
    outcome = text(a.row.get("outcome"))
    better, worse = OUTCOME_DIRECTION.get(outcome, OUTCOME_DIRECTION["other"])
    null = crosses(a.row.get("ci_low"), a.row.get("ci_high"))
    towards = better if null or float(a.row["estimate"]) > 0 else worse
    template = _SURE[a.rating.level][1 if null else 0]
    exposure = _exposure(a)
    return template.format(
        Exposure=exposure[:1].upper() + exposure[1:],
        exposure=exposure,
        better=towards,
        outcome=_OUTCOME_WORD.get(outcome, outcome),
    )


_WHY = {
    "inconsistency": "inconsistent",
    "imprecision": "imprecise",
    "indirectness": "mostly from outside the UK",
    "small-study effects": "signs of small-study effects",
}


def why_sentence(a: Analysis) -> str:
    """'(Very low certainty: observational; mostly from outside the UK.)'"""
    start = "randomised" if a.rating.start == "high" else "observational"
    domains = sorted({d.split(":")[0] for d in a.rating.downgrades})
    words = [start, *(_WHY.get(d, d) for d in domains)]
    if "indirectness: no UK sample" in a.rating.downgrades:
        words[words.index(_WHY["indirectness"])] = "no UK sample"
    return f"({a.rating.level.capitalize()} certainty: {'; '.join(words)}.)"


def _number(row: Mapping[str, Any], level: str) -> str:
    return f"{row['measure']} {row['effect']}, {level}% CI {row['ci']}"


def evidence_sentences(
    lead: Analysis | None,
    found: list[Analysis],
    rows: Mapping[str, dict],
    atlas: Mapping[str, dict],
    level: str,
) -> list[str]:
    """What the evidence shows (numbers from the results)."""
    out = []
    if lead is not None and lead.pooled and not lead.atlas:
        r = rows[lead.id]
        out.append(
            f"Pooling {r['n_studies']} studies ({r['participants']} participants): "
            f"{lead.text.split(' (the CI')[0].lower()} ({_number(r, level)})."
        )
    elif lead is not None and not lead.atlas:
        r = rows[lead.id]
        what = r.get("combined") or ""
        out.append(
            f"The firmest single study, {r['study']}, found "
            f"{lead.text.split(' (the CI')[0].lower()} ({_number(r, level)}{'; ' + what if what else ''})."
        )
    for a in found:
        if a.atlas and a.id in atlas and atlas[a.id]["national"]:
            x = atlas[a.id]
            states = _STATES.get(x["consistency"].split(":")[0].lower(), "")
            out.append(
                f"Across US counties, {x['words']} and upward mobility correlate at "
                f"r {x['national']} ({level}% CI {x['national_ci']})" + (f"; {states}." if states else ".")
            )
            break
    return out


def _study_line(s: Mapping[str, Any], role: str) -> str:
    """A named study in one sentence: its role, design and country, and its main finding
    (the extraction file's findings up to the first semicolon, from after their first colon
    when they have one: the result, not the description)."""
    first = s["finding"].split(";")[0]
    finding = escape_md(first.split(": ", 1)[-1].strip().rstrip("."))
    finding = finding[:1].upper() + finding[1:]
    status = "; no poolable number" if s["status"] != "coded" else ""
    cite = f"[@{s['key']}]" if s["cite"] else escape_md(s["label"])
    design = s["design"].split(" (")[0].lower()
    return f"{role[:1].upper() + role[1:]} {cite} ({design}, {s['country']}{status}) found: {finding}."


def key_messages(
    messages: list[Mapping[str, Any]],
    analyses: list[Analysis],
    rows: Mapping[str, dict],
    atlas: Mapping[str, dict],
    studies: list[dict],
    level: str,
) -> list[dict]:
    """One message per claim: title, evidence, certainty, policy, limits (Markdown)."""
    by_key = {s["key"]: s for s in studies}
    degenerate = {aid: r["degenerate"] for aid, r in rows.items()}
    out = []
    for m in messages:
        themes = list(m.get("themes") or [])
        found = [a for a in analyses if text(a.row.get("theme")) in themes]
        lead = lead_analysis(found, degenerate)
        mine = [s for s in studies if set(s["theme_keys"]) & set(themes)]
        uk = sum(1 for s in mine if s["uk"])
        shows = evidence_sentences(lead, found, rows, atlas, level)
        for k in m.get("key_studies") or []:
            if k["study"] in by_key:
                shows.append(_study_line(by_key[k["study"]], k["role"]))
        sure = escape_md(sure_sentence(lead)) + (" " + escape_md(why_sentence(lead)) if lead else "")
        firm = lead is not None and lead.rating.level in ("high", "moderate")
        policy = " ".join(str(m["policy"]["firm" if firm else "weak"]).split())
        limits = " ".join(str(m["limits"]).split())
        cannot = [limits, f"UK studies: {uk} of {len(mine)}."]
        out.append(
            {
                "key": m["key"],
                "title": m["title"],
                "question": str(m.get("question") or ""),
                "question_md": escape_md(m.get("question") or m["title"]),
                "sure": sure,
                "shows": " ".join(shows),
                "policy": escape_md(policy),
                "cannot": escape_md(" ".join(cannot)),
                "lead": lead.id if lead else "",
                "level": lead.rating.level if lead else "not rated",
            }
        )
    return out


def load_messages(path: str | Path) -> list[dict]:
    import yaml

    return list((yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("messages") or [])


def summary_of_findings(
    messages: list[dict], analyses: list[Analysis], rows: Mapping[str, dict], studies: list[dict]
) -> dict:
    """The GRADE Summary of Findings table: one row per claim's lead outcome, footnoted reasons."""
    by_id = {a.id: a for a in analyses}
    notes: list[str] = []
    out = []
    for m in messages:
        a = by_id.get(m["lead"])
        if a is None:
            out.append(
                {"claim": m["title"], "outcome": "", "participants": "", "effect": "No coded number",
                 "certainty": "Not rated", "marks": "", "comment": "Findings in words only (see the theme section)."}
            )  # fmt: skip
            continue
        r = rows[a.id]
        marks = []
        for reason in a.rating.downgrades:
            if reason not in notes:
                notes.append(reason)
            marks.append("abcdefghijklmnopqrstuvwxyz"[notes.index(reason)])
        what = " areas" if "areas" in r["participants"] else " participants"
        count = r["participants"].replace(" areas", "")
        what = "" if count == "not reported" else what
        unit = "states of one US dataset" if a.atlas else ("study" if r["n_studies"] == "1" else "studies")
        n = r["k"] if a.atlas else r["n_studies"]
        out.append(
            {
                "claim": m["title"],
                "outcome": r["outcome"],
                "participants": f"{count}{what} ({n} {unit})",
                "effect": f"{r['measure']} {r['effect']} ({r['ci']})"
                + (f"; {r['combined']}" if r.get("combined") else ""),
                "certainty": a.rating.level.capitalize(),
                "marks": ",".join(sorted(marks)),
                "comment": r["reading"],
            }
        )
    return {
        "rows": out,
        "notes": [{"mark": "abcdefghijklmnopqrstuvwxyz"[i], "text": n} for i, n in enumerate(notes)],
    }
