"""metafor's rma.mv, vcalc and robust(clubSandwich = TRUE) results for dependent effects.

Data: Konstantopoulos (2011), Research Synthesis Methods 2:61-76 (56 schools in
11 districts) and Tanner-Smith, Tipton & Polanin (2016), Journal of Developmental
and Life-Course Criminology 2:85-112 (113 correlations in 17 studies), as
distributed in Viechtbauer's R package ``metadat`` (``dat.konstantopoulos2011``,
``dat.tannersmith2016``). Reference values: metafor 3.8-1 and clubSandwich 0.5.8
run as stated in ``tests/data/reference/metafor-results.md``.
"""

from __future__ import annotations

import pytest

from analysis.pooling import meta, moderators, multilevel, robust
from analysis.pooling.aggregate import aggregate_units
from tests.reference.tolerance import TAU2_REL, as_printed, check

# The README's call: rho = 0.6 for aggregate() and vcalc().
RHO = 0.6

# metafor's values as printed in the README: estimate, se, stat, p, ci_low, ci_high,
# df (None for z), variance components (tau² or σ²_unit, σ²_effect; None: as CHE).
EXPECTED = {
    "konstantopoulos": {
        "unit": "district",
        "aggregate-knha": ("0.218194", "0.102097", "2.1371", "0.0583", "-0.009291", "0.445680", "10", ["0.103931"]),
        "aggregate-wald": ("0.218194", "0.103922", "2.0996", "0.0358", "0.014511", "0.421878", None, ["0.103931"]),
        "multilevel": ("0.184713", "0.084556", "2.1845", "0.0289", "0.018987", "0.350440", None, ["0.065062", "0.032737"]),
        "che": ("0.191011", "0.086400", "2.2108", "0.0271", "0.021670", "0.360352", None, ["0.056330", "0.048074"]),
        "che-rve": ("0.191011", "0.086395", "2.2109", "0.0528", "-0.002872", "0.384894", "9.4995", None),
    },
    "tannersmith": {
        "unit": "studyid",
        "aggregate-knha": ("0.105359", "0.026706", "3.9451", "0.0012", "0.048744", "0.161974", "16", ["0.009544"]),
        "aggregate-wald": ("0.105359", "0.027845", "3.7837", "0.0002", "0.050783", "0.159934", None, ["0.009544"]),
        "multilevel": ("0.102359", "0.022400", "4.5696", "4.89e-06", "0.058456", "0.146262", None, ["0.006896", "0.002796"]),
        "che": ("0.102453", "0.023744", "4.3149", "1.60e-05", "0.055916", "0.148990", None, ["0.004572", "0.006072"]),
        "che-rve": ("0.102453", "0.023725", "4.3184", "0.0006", "0.051964", "0.152942", "15.2757", None),
    },
}  # fmt: skip
FIELDS = ("estimate", "se", "stat", "p", "ci_low", "ci_high")
MODELS = ("aggregate-knha", "aggregate-wald", "multilevel", "che", "che-rve")


def fitted(data, unit: str, model: str) -> tuple[dict, list[float]]:
    """One model's results as {field: value} and its variance components."""
    y, v, cluster = data["yi"], data["vi"], data[unit]
    if model.startswith("aggregate"):
        _, yi, vi = aggregate_units(y, v, cluster, rho=RHO)
        f = meta.fit(yi, vi, estimator="REML", ci_method=model.split("-")[1], alpha=0.05)
        return {**{name: getattr(f, name) for name in FIELDS}, "df": f.df}, [f.tau2]
    ml = multilevel.fit_multilevel(y, v, cluster, rho=0.0 if model == "multilevel" else RHO)
    assert ml.converged, ml.note
    if model == "che-rve":
        r = robust.cr2(ml)
        return {"estimate": r.beta[0], "se": r.se[0], "stat": r.stat[0], "p": r.p[0],
                "ci_low": r.ci_low[0], "ci_high": r.ci_high[0], "df": r.df[0]}, []  # fmt: skip
    return {"estimate": ml.beta[0], "se": ml.se[0], "stat": ml.stat[0], "p": ml.p[0],
            "ci_low": ml.ci_low[0], "ci_high": ml.ci_high[0]}, [ml.sigma2_unit, ml.sigma2_effect]  # fmt: skip


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dataset", sorted(EXPECTED))
def test_dependent_effects(dataset, model, request):
    """aggregate() + rma(), rma.mv(~ 1 | unit/effect), CHE via vcalc and robust() CR2 (README)."""
    data = request.getfixturevalue(dataset)
    found, components = fitted(data, EXPECTED[dataset]["unit"], model)
    *values, df, sigma2 = EXPECTED[dataset][model]
    for name, text in zip(FIELDS, values, strict=True):
        check(found[name], *as_printed(text))
    if df is not None:
        check(found["df"], *as_printed(df))
    for got, text in zip(components, sigma2 or [], strict=True):
        check(got, float(text), TAU2_REL)


# ~ year uses the uncentred year (about 1990): X'WX has a condition number of about
# 1.8e11, so the intercept (year 0) and its SE are fixed by double precision only to
# about 1.8e11 x 2.2e-16 = 4e-5 relative in any implementation (metafor's and this
# engine's differ by 4e-8 relative). 1e-6 relative allows for that; the slope, F and
# tau² still match to their printed digits.
UNCENTRED = 1e-6


def printed_value(text: str, moderator: str):
    value, tol = as_printed(text)
    if moderator == "year":
        tol = tol.plus_relative(UNCENTRED, "uncentred year: X'WX condition number 1.8e11")
    return value, tol


def district_units(data):
    """The 11 aggregated districts with their mean year and decade label (README)."""
    labels, yi, vi = aggregate_units(data["yi"], data["vi"], data["district"], rho=RHO)
    year = data.groupby("district")["year"].mean().loc[labels].to_numpy()
    decade = [f"{int(y // 10 * 10)}s" for y in year]
    return yi, vi, year, decade


# README: Knapp-Hartung terms (estimate, se, t, p, ci_low, ci_high), Wald SEs, and per
# model F (df1, df2), its p, QM under Wald with p, residual tau², R².
REGRESSION = {
    "year": {
        "terms": [("0", "-2.079104", "23.095780", "-0.0900", "0.9302", "-54.325387", "50.167180"),
                  ("year", "0.001153", "0.011600", "0.0994", "0.9230", "-0.025089", "0.027395")],
        "wald_se": ["23.516082", "0.011812"],
        "f": ("0.009884", 1, 9, "0.922985"), "qm": ("0.009534", "0.922217"), "tau2": "0.116660",
    },
    "decade": {
        "terms": [("0", "0.215145", "0.229673", "0.9367", "0.3801", "-0.327945", "0.758235"),
                  ("1980s", "-0.222888", "0.445380", "-0.5004", "0.6321", "-1.276046", "0.830269"),
                  ("1990s", "0.074218", "0.287004", "0.2586", "0.8034", "-0.604438", "0.752874"),
                  ("2000s", "-0.072146", "0.356391", "-0.2024", "0.8453", "-0.914876", "0.770584")],
        "wald_se": ["0.233702", "0.453194", "0.292039", "0.362644"],
        "f": ("0.199071", 3, 7, "0.893797"), "qm": ("0.576797", "0.901723"), "tau2": "0.140312",
    },
}  # fmt: skip


def regression(konstantopoulos, moderator: str, ci_method: str):
    yi, vi, year, decade = district_units(konstantopoulos)
    if moderator == "year":
        mods, names = year[:, None], ["year"]
    else:
        levels = sorted(set(decade))
        mods = [[d == level for level in levels[1:]] for d in decade]
        names = levels[1:]
    return moderators.meta_regression(yi, vi, mods, names, estimator="REML", ci_method=ci_method, alpha=0.05)


@pytest.mark.parametrize("moderator", sorted(REGRESSION))
def test_meta_regression_knha(konstantopoulos, moderator):
    """rma(yi, vi, mods = ~ year | ~ factor(decade), test = "knha") on the districts (README)."""
    fit = regression(konstantopoulos, moderator, "knha")
    expected = REGRESSION[moderator]
    for i, (_, *values) in enumerate(expected["terms"]):
        found = [fit.estimate[i], fit.se[i], fit.stat[i], fit.p[i], fit.ci_low[i], fit.ci_high[i]]
        for got, text in zip(found, values, strict=True):
            check(got, *printed_value(text, moderator))
    f, df1, df2, f_p = expected["f"]
    check(fit.qm, *as_printed(f))
    assert (fit.test, fit.qm_df1, fit.qm_df2) == ("F", df1, df2)
    check(fit.qm_p, *as_printed(f_p))
    check(fit.tau2, float(expected["tau2"]), TAU2_REL)
    # R² 0%: the residual tau² exceeds the 0.103931 of the model without moderators.
    assert fit.r2 == 0.0


@pytest.mark.parametrize("moderator", sorted(REGRESSION))
def test_meta_regression_wald(konstantopoulos, moderator):
    """The same models with test = "z": Wald SEs and QM ~ chi²(m) (README)."""
    fit = regression(konstantopoulos, moderator, "wald")
    expected = REGRESSION[moderator]
    for got, text in zip(fit.se, expected["wald_se"], strict=True):
        check(got, *printed_value(text, moderator))
    qm, qm_p = expected["qm"]
    check(fit.qm, *as_printed(qm))
    assert fit.test == "QM" and fit.qm_df1 == expected["f"][1]
    check(fit.qm_p, *as_printed(qm_p))
    check(fit.tau2, float(expected["tau2"]), TAU2_REL)


def test_year_slope_wald(konstantopoulos):
    """~ year under Wald: slope z 0.0976, p 0.9222, CI [-0.021997, 0.024304] (README)."""
    fit = regression(konstantopoulos, "year", "wald")
    check(fit.stat[1], *as_printed("0.0976"))
    check(fit.p[1], *as_printed("0.9222"))
    check(fit.ci_low[1], *as_printed("-0.021997"))
    check(fit.ci_high[1], *as_printed("0.024304"))
