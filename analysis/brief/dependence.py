"""Several effects from one sample, and moderators: the aggregated, multilevel and CHE-RVE
estimates side by side (sensitivity/dependence.csv), and the moderator tests
(sensitivity/metaregression.csv), in the brief's words."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analysis.brief.common import analysis_label, capped, left_out_note, text
from analysis.brief.results import Analysis
from analysis.codebook.formats import fmt, fmt_interval, fmt_p, is_number
from analysis.codebook.measures import MEASURE_SYMBOL, RATIO_MEASURES, natural
from analysis.codebook.vocabulary import THEME_SHORT
from analysis.pooling.robustness import moderator_tests, robustness

# The models shown, in the order of the table (CONTRACT: dependence.csv).
SHOWN_MODELS = (("aggregate", "Aggregated"), ("multilevel", "Multilevel"), ("che-rve", "CHE, robust (CR2)"))


def _estimate(row: Mapping[str, Any], measure: str) -> str:
    if not is_number(row.get("estimate")):
        return "not estimated"
    words = (
        f"{fmt(natural(measure, row['estimate']))} ({fmt_interval(measure, row['ci_low'], row['ci_high'])})"
    )
    if text(row.get("model")) == "che-rve" and is_number(row.get("df")):
        words += f", df {fmt(row['df'], 1)}"
    return words


def _words(item) -> str:
    """Whether the conclusion depends on the model or on the assumed correlation."""
    if item.depends_on_model and item.depends_on_rho:
        return "The conclusion depends on both the model and the assumed correlation (rho)."
    if item.depends_on_model:
        return "The conclusion depends on the model: only some models' CIs lie clear of no association."
    if item.depends_on_rho:
        return "The conclusion depends on the assumed correlation (rho 0.2 to 0.9)."
    side = [v for k, v in item.excludes_null.items() if v is not None]
    if side and all(side):
        return (
            "Same conclusion under every model and every assumed correlation: every CI lies clear of "
            "no association."
        )
    if side and not any(side):
        return (
            "Same conclusion under every model and every assumed correlation: every CI includes no "
            "association."
        )
    return "Not every model could be fitted; see the notes."


def _label(a: Analysis | None, analysis_id: str) -> str:
    if a is None:
        return analysis_id
    return f"{THEME_SHORT.get(text(a.row.get('theme')), '')}: {analysis_label(a.row)}"


def dependence_rows(all_analyses: list[Analysis], dependence, rho_table) -> list[dict]:
    """One row per analysis with dependent effects: the three models side by side, in words."""
    if dependence is None or rho_table is None or dependence.empty:
        return []
    by_id = {a.id: a for a in all_analyses}
    out = []
    for item in robustness(dependence, rho_table):
        a = by_id.get(item.analysis_id)
        measure = text(a.row.get("measure")) if a else ""
        models = {text(r["model"]): r for r in item.models.to_dict("records")}
        notes = sorted({text(r.get("note")) for r in models.values() if text(r.get("note"))})
        first = next(iter(models.values()))
        out.append(
            {
                "analysis_id": item.analysis_id,
                "label": _label(a, item.analysis_id),
                "measure": MEASURE_SYMBOL.get(measure, measure),
                "k": text(first.get("k")),
                "n_effects": text(first.get("n_effects")),
                "models": [_estimate(models.get(m, {}), measure) for m, _ in SHOWN_MODELS],
                "words": _words(item) + (" " + " ".join(notes) if notes else ""),
            }
        )
    return out


def _term_words(term: str, moderator: str) -> str:
    if term == moderator:
        return "per unit"
    level = term.split(":", 1)[1] if ":" in term else term
    return "true vs false" if level == "true" else f"{level} vs the reference level"


def moderator_rows(all_analyses: list[Analysis], metaregression) -> list[dict]:
    """One row per analysis and moderator: the test, each term on the natural scale, caveats."""
    if metaregression is None or metaregression.empty:
        return []
    by_id = {a.id: a for a in all_analyses}
    out = []
    for test in moderator_tests(metaregression):
        a = by_id.get(test.analysis_id)
        measure = text(a.row.get("measure")) if a else ""
        ratio = measure in RATIO_MEASURES
        terms = "; ".join(
            f"{_term_words(t['term'], test.moderator)}: "
            f"{'ratio of ' + MEASURE_SYMBOL.get(measure, measure) + 's' if ratio else 'difference'} "
            f"{fmt(natural(measure, t['estimate']))} ({fmt_interval(measure, t['ci_low'], t['ci_high'])})"
            for t in test.terms.to_dict("records")
        )
        df = f"{fmt(test.df1, 0)}, {fmt(test.df2, 0)}" if not math.isnan(test.df2) else fmt(test.df1, 0)
        out.append(
            {
                "label": _label(a, test.analysis_id),
                "moderator": test.moderator,
                "k": str(test.k),
                "test": f"{test.test}({df}) = {fmt(test.stat)}, p {fmt_p(test.p)}",
                "terms": terms,
                "r2": "" if math.isnan(test.r2) else f"{fmt(test.r2, 0)}%",
                "caveats": "; ".join(test.caveats),
            }
        )
    return out


def _most_samples(row: Mapping[str, Any]) -> tuple:
    return (-int(row["k"]) if row["k"].isdigit() else 0,)


def robustness_tables(all_analyses: list[Analysis], sensitivity: Mapping[str, Any]) -> dict:
    """The dependence and moderator tables, each capped at ``common.TABLE_ROWS`` rows (the
    analyses with the most samples, in the table's order), and the notes that say how many
    rows each leaves out and which results file holds them all ('' when none)."""
    dependence, left_d = capped(
        dependence_rows(all_analyses, sensitivity.get("dependence"), sensitivity.get("rho")),
        rank=_most_samples,
    )
    moderators, left_m = capped(
        moderator_rows(all_analyses, sensitivity.get("metaregression")), rank=_most_samples
    )
    notes = {
        "dependence": left_out_note(
            left_d, len(dependence), ("analysis with several effects from one sample",
                                      "analyses with several effects from one sample"),
            "the {n} with the most independent samples", "sensitivity/dependence.csv", ", under every model",
        ),
        "moderators": left_out_note(
            left_m, len(moderators), ("moderator test", "moderator tests"),
            "the {n} of the analyses with the most samples", "sensitivity/metaregression.csv",
        ),
    }  # fmt: skip
    return {"dependence": dependence, "moderators": moderators, "notes": notes}
