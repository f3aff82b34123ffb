"""The evidence the brief lists: the flow of records, the studies included, the context
documents, the claims not traced to a source, and every coded number with its quote."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from analysis.brief.common import KEY, relative, rows, text, truthy, year
from analysis.codebook.formats import fmt_int, is_number
from analysis.codebook.vocabulary import DESIGN_NAME, OUTCOME_NAME, THEME_SHORT, country_words, list_words
from analysis.inputs.records import RecordCounts


def study_weights(units) -> dict[str, float]:
    """Study key -> its largest weight (percent, summed over its samples) in any analysis."""
    per: dict[tuple[str, str], float] = {}
    for u in rows(units):
        w = float(u["weight"]) if is_number(u.get("weight")) else 0.0
        key = (text(u.get("analysis_id")), text(u.get("study")))
        per[key] = per.get(key, 0.0) + w
    out: dict[str, float] = {}
    for (_, study), w in per.items():
        out[study] = max(out.get(study, 0.0), w)
    return out


def study_entry(
    s: Mapping[str, Any],
    labels: Mapping[str, str],
    weights: Mapping[str, float],
    years: Mapping[str, int],
    atlas: str,
) -> dict:
    key = text(s["study"])
    return {
        "key": key,
        "cite": key if key in labels and KEY.match(key) else "",
        "label": labels.get(key, key),
        "design": DESIGN_NAME.get(text(s.get("design")), text(s.get("design"))),
        "country": country_words(s.get("country")),
        "status": "coded" if text(s.get("status")) == "coded" else "narrative only",
        "themes": list_words(s.get("themes"), THEME_SHORT),
        "effects": str(int(s.get("n_effects") or 0)),
        "finding": text(s.get("findings")),
        "not_poolable": text(s.get("not_poolable")),
        "atlas": key == atlas,
        "theme_keys": [x for x in text(s.get("themes")).split(";") if x],
        "weight": weights.get(key, 0.0),
        "uk": "GB" in text(s.get("country")).split(";"),
        "year": years.get(key, 0),
    }


def reference_years(references) -> dict[str, int]:
    return {text(r["key"]): year(r.get("year")) for r in rows(references)}


def untraced_claims(claims: Iterable[Mapping[str, Any]], keys: set[str]) -> list[dict]:
    out = []
    for c in claims or []:
        key = text(c.get("attributed_to"))
        out.append(
            {
                "id": text(c.get("id")),
                "claim": text(c.get("claim")),
                "attributed_to": key,
                "cite": key if key in keys and KEY.match(key) else "",
                "where": text(c.get("where")),
                "found_instead": text(c.get("found_instead")),
            }
        )
    return out


def coded_effects(effects, labels: Mapping[str, str]) -> tuple[list[dict], list[dict]]:
    """(quoted, computed): every coded effect with its source quote, and per study the
    count of effects computed by the workflow from public data (no quote)."""
    quoted, computed = [], {}
    for e in rows(effects):
        study = text(e.get("study"))
        if text(e.get("computed_by")) and not text(e.get("quote")):
            computed[study] = computed.get(study, 0) + 1
            continue
        theme, outcome = text(e.get("theme")), text(e.get("outcome"))
        quoted.append(
            {
                "study": study,
                "what": (f"{THEME_SHORT.get(theme, theme)}, {OUTCOME_NAME.get(outcome, outcome).lower()}"),
                "exposure": text(e.get("exposure")),
                "outcome_label": text(e.get("outcome_label")),
                "printed": text(e.get("printed")),
                "reversed": truthy(e.get("reverse")),
                "sensitivity": text(e.get("role")) == "sensitivity",
                "locator": text(e.get("locator")),
                "quote": text(e.get("quote")),
            }
        )
    counts = [{"study": s, "n": str(n)} for s, n in sorted(computed.items())]
    return quoted, counts


def records_section(records: RecordCounts, prisma: Mapping[str, str] | None, qmd_dir: Path) -> dict:
    """The flow of records (PRISMA 2020) for the template."""
    return {
        "sources": [{"words": w, "n": fmt_int(n)} for _, w, n in records.sources()],
        "not_recorded": fmt_int(records.identified.get("not recorded", 0)),
        "identified": fmt_int(records.identified_total),
        "records": fmt_int(records.records),
        "context": fmt_int(records.context),
        "studies": fmt_int(records.studies),
        "not_retrieved": fmt_int(records.not_retrieved),
        "sought": fmt_int(records.studies + records.not_retrieved),
        "unreached": fmt_int(records.unreached),
        "read": fmt_int(records.read),
        "read_narrative": fmt_int(records.read_narrative),
        "narrative": fmt_int(records.narrative),
        "coded": fmt_int(records.coded),
        "pooled": "" if records.pooled is None else fmt_int(records.pooled),
        "figure": (
            {"path": relative(prisma["svg"], qmd_dir), "alt": prisma["alt"], "id": "fig-prisma"}
            if prisma
            else None
        ),
    }
