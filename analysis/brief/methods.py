"""Methods and provenance: the model, the input forms and their formulas, the software."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.brief.common import rows, text
from analysis.codebook.formats import fmt, fmt_int, is_number
from analysis.codebook.measures import MEASURE_NAME
from analysis.codebook.vocabulary import CI_METHOD_NAME, ESTIMATOR_NAME

FORM_NAME = {
    "yi_vi": "Effect and variance as given",
    "yi_se": "Effect and standard error as given",
    "or_ci": "Odds ratio with 95% CI",
    "rr_ci": "Risk ratio with 95% CI",
    "counts_OR": "2×2 table, odds ratio",
    "counts_RR": "2×2 table, risk ratio",
    "counts_RD": "2×2 table, risk difference",
    "r_n": "Correlation with sample size",
    "t_n": "Regression t statistic with sample size",
    "groups_SMD": "Group means and SDs, g",
    "groups_MD": "Group means and SDs, mean difference",
    "d_n": "Cohen's d with group sizes",
}


def formulas(effects) -> list[dict]:
    out: dict[str, dict] = {}
    for e in rows(effects):
        form = text(e.get("input_form"))
        entry = out.setdefault(
            form,
            {
                "form": form,
                "formula": text(e.get("formula")),
                "measure": text(e.get("measure")),
                "effects": 0,
            },
        )
        entry["effects"] += 1
    return [dict(v, effects=str(v["effects"])) for _, v in sorted(out.items())]


def methods_section(
    effects, settings: Mapping[str, Any], software: Mapping[str, str], references: int
) -> dict:
    estimator = text(settings.get("estimator"))
    return {
        "model": (
            "Equal-effects meta-analysis (between-study variance fixed at 0)"
            if estimator == "EE"
            else "Random-effects meta-analysis; between-study variance by "
            + ESTIMATOR_NAME.get(estimator, estimator)
        ),
        "estimator": ESTIMATOR_NAME.get(estimator, estimator),
        "ci_method": CI_METHOD_NAME.get(text(settings.get("ci_method")), text(settings.get("ci_method"))),
        "rho": fmt(float(settings.get("rho")), 1) if is_number(settings.get("rho")) else "",
        "level": fmt_int(100 * (1 - float(settings.get("alpha", 0.05)))),
        "formulas": [
            dict(
                f,
                name=FORM_NAME.get(f["form"], f["form"]),
                measure=MEASURE_NAME.get(f["measure"], f["measure"]),
            )
            for f in formulas(effects)
        ],
        "software": [{"name": k, "version": v} for k, v in software.items()],
        "references": str(references),
    }
