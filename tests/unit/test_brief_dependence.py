"""The brief's dependent-effects and moderator tables, from dependence.csv and metaregression.csv."""

import math

import pandas as pd

from analysis.brief.dependence import dependence_rows, moderator_rows
from analysis.brief.results import Analysis


class _A(Analysis):
    def __init__(self, aid, measure="OR"):
        self.row = {"analysis_id": aid, "theme": "bonding", "outcome": "health", "measure": measure}


def _dependence(ci_che=(0.1, 0.5)):
    base = {"analysis_id": "a", "k": 3, "n_effects": 6, "se": 0.1, "stat": 1, "p": 0.01, "note": ""}
    return pd.DataFrame(
        [
            {**base, "model": "aggregate", "estimate": 0.3, "ci_low": 0.1, "ci_high": 0.5, "df": math.nan},
            {**base, "model": "multilevel", "estimate": 0.3, "ci_low": 0.1, "ci_high": 0.5, "df": math.nan},
            {**base, "model": "che", "estimate": 0.3, "ci_low": 0.1, "ci_high": 0.5, "df": math.nan},
            {
                **base,
                "model": "che-rve",
                "estimate": 0.3,
                "ci_low": ci_che[0],
                "ci_high": ci_che[1],
                "df": 2.5,
            },
        ]
    )


def _rho(low=0.1):
    return pd.DataFrame(
        [
            {"analysis_id": "a", "rho": r, "estimate": 0.3, "ci_low": low, "ci_high": 0.5}
            for r in (0.2, 0.6, 0.9)
        ]
    )


def test_the_three_models_are_shown_on_the_natural_scale():
    (row,) = dependence_rows([_A("a")], _dependence(), _rho())
    assert row["k"] == "3" and row["n_effects"] == "6"
    assert row["models"][0] == f"{math.exp(0.3):.2f} ({math.exp(0.1):.2f}\u00a0to\u00a0{math.exp(0.5):.2f})"
    assert row["models"][2].endswith("df 2.5")
    assert "every CI lies clear of no association" in row["words"]


def test_a_model_that_disagrees_is_said():
    (row,) = dependence_rows([_A("a")], _dependence(ci_che=(-0.1, 0.5)), _rho())
    assert row["words"].startswith("The conclusion depends on the model")


def test_the_assumed_correlation_that_matters_is_said():
    rho = _rho()
    rho.loc[rho["rho"] == 0.9, "ci_low"] = -0.2
    (row,) = dependence_rows([_A("a")], _dependence(), rho)
    assert "assumed correlation (rho 0.2 to 0.9)" in row["words"]


def test_no_dependent_effects_gives_no_rows():
    assert dependence_rows([_A("a")], _dependence().iloc[0:0], _rho()) == []


def test_a_moderator_test_reads_as_a_between_study_association():
    table = pd.DataFrame(
        [
            {"analysis_id": "a", "moderator": "uk_sample", "kind": "categorical", "term": term,
             "estimate": est, "se": 0.1, "stat": 1.0, "p": 0.5, "ci_low": est - 0.2, "ci_high": est + 0.2,
             "qm": 0.08, "qm_df": 1, "qm_df2": 5, "qm_p": 0.795, "r2": 0.0, "tau2": 0.01, "k": 7}
            for term, est in (("intrcpt", 0.36), ("uk_sample:true", -0.03))
        ]
    )  # fmt: skip
    (row,) = moderator_rows([_A("a")], table)
    assert row["test"] == "F(1, 5) = 0.08, p 0.795"
    assert row["terms"].startswith("true vs false: ratio of ORs 0.97")
    assert "not an effect of the moderator" in row["caveats"] and "few units (7)" in row["caveats"]


def test_a_long_dependence_table_keeps_the_analyses_with_most_samples_and_says_so(monkeypatch):
    from analysis.brief import common
    from analysis.brief.dependence import robustness_tables

    monkeypatch.setattr(common, "TABLE_ROWS", 2)
    ids, ks = ("a", "b", "c"), (3, 9, 5)
    dependence = pd.concat(
        [_dependence().assign(analysis_id=i, k=k) for i, k in zip(ids, ks)], ignore_index=True
    )
    rho = pd.concat([_rho().assign(analysis_id=i) for i in ids], ignore_index=True)
    every = dependence_rows([_A(i) for i in ids], dependence, rho)
    tables = robustness_tables([_A(i) for i in ids], {"dependence": dependence, "rho": rho})
    kept = [r["analysis_id"] for r in tables["dependence"]]
    assert kept == [r["analysis_id"] for r in every if r["analysis_id"] in ("b", "c")]
    assert tables["notes"]["dependence"].startswith("1 more analysis with several effects from one sample")
    assert "All 3 are in the results file `sensitivity/dependence.csv`" in tables["notes"]["dependence"]
    assert tables["moderators"] == [] and tables["notes"]["moderators"] == ""
    monkeypatch.setattr(common, "TABLE_ROWS", 3)
    assert robustness_tables([_A(i) for i in ids], {"dependence": dependence, "rho": rho})["notes"] == {
        "dependence": "",
        "moderators": "",
    }
