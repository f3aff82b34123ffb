"""Within-study aggregation and the effects table -> pooled / units / sensitivity tables."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.pooling import analyses as pooling
from analysis.pooling import bias, dependence, meta, moderators, robustness, sensitivity
from analysis.pooling.aggregate import aggregate, aggregate_units

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = dict(estimator="REML", ci_method="knha", rho=0.6, alpha=0.05)
# The column lists the issue fixes (pooled.csv and the units table).
POOLED = (
    "analysis_id theme outcome measure construct k n_studies n_effects n_participants "
    "estimator ci_method pooled estimate se stat p ci_low ci_high pi_low pi_high tau2 "
    "tau2_ci_low tau2_ci_high tau i2 i2_ci_low i2_ci_high h2 h2_ci_low h2_ci_high q q_df "
    "q_p egger_stat egger_p egger_df trimfill_k0 trimfill_side trimfill_estimate note"
).split()
UNITS = ("analysis_id study sample n_effects yi vi se ci_low ci_high weight n design country").split()


def effect(
    study,
    effect_id,
    yi,
    vi,
    *,
    sample="",
    theme="bonding",
    outcome="income",
    measure="SMD",
    construct="",
    role="primary",
    n=100.0,
    design="cohort",
    country="GB",
):
    return dict(
        study=study,
        effect_id=effect_id,
        sample=sample,
        theme=theme,
        outcome=outcome,
        measure=measure,
        construct=construct,
        yi=yi,
        vi=vi,
        role=role,
        n=n,
        design=design,
        country=country,
    )


@pytest.fixture
def effects() -> pd.DataFrame:
    rows = [
        effect(
            f"s{i}",
            "e1",
            y,
            v,
            design="rct" if i % 2 else "cohort",
            country="GB;FR" if i < 3 else "US",
        )
        for i, (y, v) in enumerate(
            [(0.3, 0.02), (0.1, 0.03), (0.5, 0.05), (0.25, 0.01), (0.4, 0.04), (-0.1, 0.06)]
        )
    ]
    rows += [
        effect("s0", "e2", 0.2, 0.03, n=120),  # same sample as s0/e1: aggregated
        effect("s1", "e2", 0.6, 0.05, sample="girls"),  # another sample: its own unit
        effect("s0", "e3", 9.0, 0.01, role="sensitivity"),  # never pooled
        effect("s7", "e1", 0.2, 0.04, construct="trust", n=math.nan),  # a one-unit analysis
        effect("s8", "e1", 0.1, 0.04, outcome="health", n=math.nan),
        effect("s9", "e1", 0.3, 0.02, outcome="health", n=math.nan),
    ]
    return pd.DataFrame(rows)


def test_aggregate_single_effect_passes_through():
    assert aggregate([0.3], [0.02], rho=0.6) == (0.3, 0.02)


def test_aggregate_independent_is_inverse_variance():
    y, v = np.array([0.1, 0.4, 0.2]), np.array([0.02, 0.05, 0.04])
    w = 1 / v
    combined, variance = aggregate(y, v, rho=0.0)
    assert combined == pytest.approx(np.sum(w * y) / w.sum())
    assert variance == pytest.approx(1 / w.sum())


def test_aggregate_compound_symmetry():
    """metafor aggregate(): with equal variances the mean, with variance v (1 + (m-1) rho) / m;
    in general (1'W y) / (1'W 1) with W the inverse of V_ij = rho sqrt(v_i v_j)."""
    combined, variance = aggregate([0.1, 0.3, 0.5], [0.04, 0.04, 0.04], rho=0.6)
    assert combined == pytest.approx(0.3) and variance == pytest.approx(0.04 * 2.2 / 3)
    y, v, rho = np.array([0.1, 0.4, 0.2]), np.array([0.02, 0.05, 0.04]), 0.3
    V = rho * np.sqrt(np.outer(v, v)) + (1 - rho) * np.diag(v)
    W = np.linalg.inv(V)
    combined, variance = aggregate(y, v, rho=rho)
    assert combined == pytest.approx(W.sum(0) @ y / W.sum())
    assert variance == pytest.approx(1 / W.sum())


def test_aggregate_rejects_impossible_rho():
    with pytest.raises(ValueError, match="rho"):
        aggregate([0.1, 0.2], [0.1, 0.1], rho=1.0)


def test_aggregate_units_sorts_units_and_keeps_singletons():
    labels, yi, vi = aggregate_units([0.5, 0.1, 0.3], [0.04, 0.02, 0.04], [2, 1, 2], rho=0.6)
    assert list(labels) == [1, 2] and (yi[0], vi[0]) == (0.1, 0.02)
    assert (yi[1], vi[1]) == aggregate([0.5, 0.3], [0.04, 0.04], rho=0.6)


def test_pooled_and_units_columns(effects):
    pooled, units = pooling.pool_effects(effects, **SETTINGS)
    assert list(pooled.columns) == POOLED and list(units.columns) == UNITS
    assert list(pooled["analysis_id"]) == sorted(pooled["analysis_id"])
    assert list(pooled["analysis_id"]) == [
        "bonding-health-smd",
        "bonding-income-smd",
        "bonding-income-smd-trust",
    ]
    assert units.equals(units.sort_values(["analysis_id", "study", "sample"]).reset_index(drop=True))


def test_units_samples_and_roles(effects):
    pooled, units = pooling.pool_effects(effects, **SETTINGS)
    row = pooled.set_index("analysis_id").loc["bonding-income-smd"]
    assert (row["k"], row["n_studies"], row["n_effects"]) == (7, 6, 8)
    s0 = units[(units["analysis_id"] == "bonding-income-smd") & (units["study"] == "s0")]
    assert len(s0) == 1 and s0["n_effects"].item() == 2 and s0["n"].item() == 120
    assert (s0["yi"].item(), s0["vi"].item()) == pytest.approx(aggregate([0.3, 0.2], [0.02, 0.03], rho=0.6))
    assert row["n_participants"] == 120 + 6 * 100  # unit n: the largest of its effects
    assert 9.0 not in units["yi"].to_list()  # the sensitivity-role effect


def test_pooled_values_are_the_model_of_the_units(effects):
    pooled, units = pooling.pool_effects(effects, **SETTINGS)
    row = pooled.set_index("analysis_id").loc["bonding-income-smd"]
    cell = units[units["analysis_id"] == "bonding-income-smd"]
    y, v = cell["yi"].to_numpy(), cell["vi"].to_numpy()
    f = meta.fit(y, v, estimator="REML", ci_method="knha", alpha=0.05)
    assert bool(row["pooled"]) and row["estimator"] == "REML" and row["ci_method"] == "knha"
    for name in (
        "estimate",
        "se",
        "stat",
        "p",
        "ci_low",
        "pi_high",
        "tau2",
        "tau2_ci_high",
        "i2",
        "h2_ci_low",
        "q",
        "q_p",
    ):
        assert row[name] == getattr(f, name), name
    egger = bias.egger_test(y, v, estimator="REML", ci_method="knha", alpha=0.05)
    assert (row["egger_stat"], row["egger_p"], row["egger_df"]) == (egger.stat, egger.p, 5)
    trimfill = bias.trim_and_fill(y, v, estimator="REML", ci_method="knha", alpha=0.05, side=None)
    assert (row["trimfill_k0"], row["trimfill_side"]) == (trimfill.k0, trimfill.side)
    assert cell["weight"].sum() == pytest.approx(100)
    w = 1 / (v + f.tau2)
    assert cell["weight"].to_numpy() == pytest.approx(100 * w / w.sum())
    assert cell["ci_low"].to_numpy() == pytest.approx(y - 1.959963984540054 * np.sqrt(v))


def test_one_unit_and_two_units(effects):
    pooled, _ = pooling.pool_effects(effects, **SETTINGS)
    one = pooled.set_index("analysis_id").loc["bonding-income-smd-trust"]
    assert not one["pooled"] and one["k"] == 1 and "not pooled" in one["note"]
    assert (one["estimate"], one["se"]) == (0.2, 0.2)
    assert math.isnan(one["tau2"]) and math.isnan(one["n_participants"])
    two = pooled.set_index("analysis_id").loc["bonding-health-smd"]
    assert two["pooled"] and two["k"] == 2 and math.isnan(two["egger_stat"])
    assert math.isnan(two["trimfill_k0"]) and "at least 3 units" in two["note"]


def test_missing_numbers_are_empty_cells(effects):
    """Through pandas and through the workflow's writer (analysis.io.csv_text)."""
    from analysis.io import csv_text

    pooled, units = pooling.pool_effects(effects, **SETTINGS)
    for table in (pooled, units):
        for text in (
            table.to_csv(index=False),
            csv_text(table.to_dict("records"), list(table.columns)),
        ):
            back = pd.read_csv(io.StringIO(text), keep_default_na=False, dtype=str)
            assert not back.isin(["nan", "NaN", "<NA>", "None"]).any().any()
    text = csv_text(pooled.to_dict("records"), list(pooled.columns))
    back = pd.read_csv(io.StringIO(text), keep_default_na=False, dtype=str)
    trust = back[back["analysis_id"] == "bonding-income-smd-trust"].iloc[0]
    assert trust["tau2"] == "" and trust["egger_df"] == "" and trust["n_participants"] == ""
    assert trust["k"] == "1" and trust["pooled"] == "false"
    income = back[back["analysis_id"] == "bonding-income-smd"].iloc[0]
    assert (income["q_df"], income["egger_df"], income["n_participants"]) == ("6", "5", "720")


def test_unusable_effects_are_left_out_and_said(effects):
    broken = pd.concat(
        [
            effects,
            pd.DataFrame([effect("s9", "bad", math.nan, 0.1), effect("s9", "zero", 0.1, 0.0)]),
        ]
    )
    pooled, _ = pooling.pool_effects(broken, **SETTINGS)
    row = pooled.set_index("analysis_id").loc["bonding-income-smd"]
    assert row["k"] == 7 and "2 effect(s) without a finite yi" in row["note"]


def test_any_row_order_gives_identical_output(effects):
    pooled, units = pooling.pool_effects(effects, **SETTINGS)
    tables = pooling.sensitivity_tables(effects, **SETTINGS)
    for seed in range(3):
        shuffled = effects.sample(frac=1, random_state=seed)
        again, again_units = pooling.pool_effects(shuffled, **SETTINGS)
        assert pooled.equals(again) and units.equals(again_units)
        again_tables = pooling.sensitivity_tables(shuffled, **SETTINGS)
        assert all(tables[name].equals(again_tables[name]) for name in tables)


def test_construct_missing_counts_as_one_value(effects):
    effects.loc[effects["construct"] == "", "construct"] = None
    pooled, _ = pooling.pool_effects(effects, **SETTINGS)
    assert "bonding-income-smd" in set(pooled["analysis_id"])
    assert (pooled.set_index("analysis_id").loc["bonding-income-smd", "construct"]) == ""


def test_sensitivity_tables(effects):
    tables = pooling.sensitivity_tables(effects, **SETTINGS)
    assert set(tables) == {"leave_one_out", "estimators", "rho", "trimfill", "subgroups", "dependence",
                           "metaregression"}  # fmt: skip
    loo = tables["leave_one_out"]
    assert set(loo["analysis_id"]) == {"bonding-income-smd"} and len(loo) == 7
    assert (loo["k"] == 6).all()
    estimators = tables["estimators"]
    assert list(estimators["estimator"][:5]) == list(meta.ESTIMATORS)
    assert len(estimators) == 5 * 2  # two analyses with k >= 2
    rho = tables["rho"]
    assert sorted(set(rho["rho"])) == list(sensitivity.RHO_GRID)
    income = rho[rho["analysis_id"] == "bonding-income-smd"].set_index("rho")
    assert income.loc[0.2, "estimate"] != income.loc[0.9, "estimate"]  # s0 re-aggregated
    pooled, _ = pooling.pool_effects(effects, **SETTINGS)
    assert (
        income.loc[0.6, "estimate"] == pooled.set_index("analysis_id").loc["bonding-income-smd", "estimate"]
    )
    assert list(tables["trimfill"]["analysis_id"]) == ["bonding-income-smd"]
    groups = tables["subgroups"]
    design = groups[(groups["analysis_id"] == "bonding-income-smd") & (groups["moderator"] == "design")]
    assert list(design["subgroup"]) == ["cohort", "rct"]
    assert (design["test"] == "F").all() and (design["test_df1"] == 1).all()
    country = groups[(groups["analysis_id"] == "bonding-income-smd") & (groups["moderator"] == "country")]
    assert list(country["subgroup"]) == ["GB", "US"]  # first country of "GB;FR"
    health = groups[groups["analysis_id"] == "bonding-health-smd"]
    assert (health["test"] == "").all() and health["test_p"].isna().all()


def test_importing_pooling_does_not_import_pymare():
    """PyMARE costs about a second to import (sympy); only a fit should pay it."""
    code = (
        "import sys; import analysis.pooling.analyses, analysis.pooling.aggregate, analysis.pooling.sensitivity; "
        "assert 'pymare' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


@pytest.mark.parametrize("ci_method", ["knha", "wald"])
@pytest.mark.parametrize("scale", [1e-10, 1.0, 1e6])
def test_identical_effects_and_extreme_variances_never_crash(ci_method, scale):
    rows = [effect(f"s{i}", "e1", 0.3, scale * (i + 1), design=["rct", "cohort"][i % 2]) for i in range(6)]
    settings = {**SETTINGS, "ci_method": ci_method}
    pooled, _ = pooling.pool_effects(pd.DataFrame(rows), **settings)
    assert pooled["estimate"].item() == pytest.approx(0.3) and pooled["tau2"].item() == 0
    tables = pooling.sensitivity_tables(pd.DataFrame(rows), **settings)
    assert len(tables["leave_one_out"]) == 6 and len(tables["subgroups"]) == 3


def test_dependence_table(effects):
    """One row per model, in the contract's order, for the analysis whose s0 gives two effects."""
    table = pooling.sensitivity_tables(effects, **SETTINGS)["dependence"]
    assert list(table.columns) == dependence.COLUMNS
    assert set(table["analysis_id"]) == {"bonding-income-smd"}  # health: one effect per unit
    assert list(table["model"]) == list(dependence.MODELS)
    rows = table.set_index("model")
    pooled, _ = pooling.pool_effects(effects, **SETTINGS)
    primary = pooled.set_index("analysis_id").loc["bonding-income-smd"]
    assert rows.loc["aggregate", "estimate"] == primary["estimate"]
    assert rows.loc["aggregate", "tau2"] == primary["tau2"] and rows.loc["aggregate", "df"] == 6
    assert (rows["k"] == 7).all() and (rows["n_effects"] == 8).all()
    assert math.isnan(rows.loc["multilevel", "rho"]) and rows.loc["che", "rho"] == 0.6
    assert math.isnan(rows.loc["multilevel", "df"]) and rows.loc["che-rve", "df"] > 0
    assert rows.loc["che-rve", "estimate"] == rows.loc["che", "estimate"]
    assert rows.loc["che-rve", "sigma2_unit"] == rows.loc["che", "sigma2_unit"]
    assert math.isnan(rows.loc["che", "tau2"]) and math.isnan(rows.loc["aggregate", "sigma2_unit"])


def test_rho_reaches_the_che_model(effects):
    """The config's rho is the one of aggregate and vcalc; the multilevel model ignores it."""
    low = pooling.sensitivity_tables(effects, **{**SETTINGS, "rho": 0.2})["dependence"].set_index("model")
    high = pooling.sensitivity_tables(effects, **SETTINGS)["dependence"].set_index("model")
    assert low.loc["che", "rho"] == 0.2 and low.loc["aggregate", "rho"] == 0.2
    assert low.loc["che", "estimate"] != high.loc["che", "estimate"]
    assert low.loc["aggregate", "estimate"] != high.loc["aggregate", "estimate"]
    assert low.loc["multilevel", "estimate"] == high.loc["multilevel", "estimate"]


def with_moderators(effects, values):
    """Give each study of bonding-income-smd the moderators in ``values`` (study -> dict)."""
    effects = effects.copy()
    effects["moderators"] = [json.dumps(values.get(study, {})) if values.get(study) else ""
                             for study in effects["study"]]  # fmt: skip
    return effects


def income_units(effects):
    found = {a.analysis_id: a for a in pooling.analyses(effects, rho=0.6)}
    return found["bonding-income-smd"].units


def test_metaregression_categorical_and_numeric(effects):
    studies = [f"s{i}" for i in range(6)]
    uk = {s: {"uk_sample": i < 3, "year": 2000 + i} for i, s in enumerate(studies)}
    table = pooling.sensitivity_tables(with_moderators(effects, uk), **SETTINGS)["metaregression"]
    assert list(table.columns) == moderators.METAREGRESSION_COLUMNS
    income = table[table["analysis_id"] == "bonding-income-smd"]
    # s1's "girls" sample is a unit of s1: it carries s1's study-level moderators.
    assert list(income["moderator"]) == ["uk_sample", "uk_sample", "year", "year"]
    # Reference level "false", the first in sorted() order.
    assert list(income["term"]) == ["intrcpt", "uk_sample:true", "intrcpt", "year"]
    assert list(income["kind"]) == ["categorical"] * 2 + ["numeric"] * 2
    assert (income["k"] == 7).all() and (income["qm_df"] == 1).all() and (income["qm_df2"] == 5).all()
    units = income_units(with_moderators(effects, uk))
    labels = [moderators.label(m["uk_sample"]) for m in units["moderators"]]
    fit = moderators.meta_regression(units["yi"], units["vi"], [[x == "true"] for x in labels], ["t"],
                                     estimator="REML", ci_method="knha", alpha=0.05)  # fmt: skip
    assert income["estimate"].iloc[1] == pytest.approx(fit.estimate[1], rel=1e-12)


def test_metaregression_needs_the_moderator_for_every_unit(effects):
    partial = {"s0": {"uk_sample": True}, "s1": {"uk_sample": False}}
    table = pooling.sensitivity_tables(with_moderators(effects, partial), **SETTINGS)["metaregression"]
    assert table.empty


def test_disagreeing_effects_leave_the_unit_unknown(effects):
    """Validation refuses this; a hand-made effects table gives no value for that unit."""
    effects = with_moderators(effects, {f"s{i}": {"year": 2000 + i} for i in range(6)})
    effects.loc[(effects["study"] == "s0") & (effects["effect_id"] == "e2"), "moderators"] = '{"year": 1990}'
    unit = income_units(effects).iloc[0]
    assert unit["study"] == "s0" and unit["moderators"] == {}


def test_robustness_says_when_rho_changes_the_conclusion(effects):
    tables = pooling.sensitivity_tables(effects, **SETTINGS)
    [found] = robustness.robustness(tables["dependence"], tables["rho"])
    assert found.analysis_id == "bonding-income-smd" and list(found.models["model"]) == list(
        dependence.MODELS
    )
    flags = found.excludes_null
    assert set(flags) == {*dependence.MODELS, "rho=0.2", "rho=0.6", "rho=0.9"}
    assert found.depends_on_rho is (len({flags["rho=0.2"], flags["rho=0.6"], flags["rho=0.9"]}) > 1)
    # A grid on which the CI crosses 0 at one rho only: the conclusion depends on rho.
    rho = tables["rho"].copy()
    rho.loc[rho["rho"] == 0.9, ["ci_low", "ci_high"]] = [-0.1, 0.5]
    rho.loc[rho["rho"] != 0.9, ["ci_low", "ci_high"]] = [0.1, 0.5]
    [changed] = robustness.robustness(tables["dependence"], rho)
    assert changed.depends_on_rho and changed.excludes_null["rho=0.9"] is False


def test_moderator_tests_carry_their_caveats(effects):
    uk = {f"s{i}": {"uk_sample": i < 3} for i in range(6)}
    table = pooling.sensitivity_tables(with_moderators(effects, uk), **SETTINGS)["metaregression"]
    [test] = robustness.moderator_tests(table)
    assert (test.moderator, test.kind, test.test, test.k, test.df1, test.df2) == (
        "uk_sample",
        "categorical",
        "F",
        7,
        1,
        5,
    )
    assert list(test.terms["term"]) == ["uk_sample:true"]
    assert test.caveats[0] == robustness.BETWEEN_STUDIES and "few units (7)" in test.caveats[1]
