"""The certainty rules of analysis.rating.certainty, one test per rule, plus invariants."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.rating import certainty as grade
from analysis.rating.certainty import Evidence, rate

LOG = math.log


def evidence(**changes) -> Evidence:
    """A clean analysis: randomised, UK, precise, consistent, large (rated high)."""
    base = dict(
        measure="OR",
        k=5,
        designs=("rct",),
        countries=("GB",),
        ci=(LOG(1.2), LOG(1.6)),
        pi=(LOG(1.1), LOG(1.8)),
        i2=10.0,
        participants=5000,
        egger_p=0.5,
    )
    base.update(changes)
    return Evidence(**base)


def test_randomised_evidence_without_concerns_is_high():
    rating = rate(evidence())
    assert rating.start == "high"
    assert rating.level == "high"
    assert rating.downgrades == ()


@pytest.mark.parametrize(
    "design", ["cohort", "cross-sectional", "ecological", "quasi-experimental", "qualitative", "other"]
)
def test_observational_designs_start_low(design):
    assert grade.starting_level((design,)) == "low"
    assert rate(evidence(designs=(design,))).level == "low"


def test_a_mix_of_randomised_and_observational_starts_low():
    assert grade.starting_level(("rct", "cohort")) == "low"
    assert grade.starting_level(()) == "low"


def test_inconsistency_from_i2_above_50():
    rating = rate(evidence(i2=50.1))
    assert rating.level == "moderate"
    assert rating.downgrades == ("inconsistency: I² above 50%",)
    assert rate(evidence(i2=50.0)).level == "high"  # "above", not "at"


def test_inconsistency_from_prediction_interval_crossing_no_effect():
    rating = rate(evidence(pi=(LOG(0.9), LOG(1.9))))
    assert rating.downgrades == ("inconsistency: the prediction interval includes no effect",)


def test_inconsistency_counts_once_for_both_reasons():
    rating = rate(evidence(i2=80.0, pi=(LOG(0.9), LOG(1.9))))
    assert rating.level == "moderate"
    assert len(rating.downgrades) == 1
    assert "I² above 50%" in rating.downgrades[0]
    assert "prediction interval" in rating.downgrades[0]


def test_a_single_large_precise_study_is_not_rated_down():
    """GRADE judges neither the consistency of one study nor its precision by its being
    single: a large study with a narrow CI keeps its level (GRADE handbook 5.2.6)."""
    rating = rate(evidence(k=1, pi=(math.nan, math.nan), i2=math.nan))
    assert rating.downgrades == ()
    assert rating.level == "high"
    assert "inconsistency not judged (one sample)" in rating.notes


def test_a_single_small_or_wide_study_is_imprecise():
    one = dict(k=1, pi=(math.nan, math.nan), i2=math.nan)
    assert rate(evidence(**one, participants=120)).downgrades == ("imprecision: fewer than 400 participants",)
    assert rate(evidence(**one, ci=(LOG(0.9), LOG(1.3)))).downgrades == (
        "imprecision: the CI includes no effect",
    )


def test_imprecision_from_ci_crossing_no_effect():
    rating = rate(evidence(ci=(LOG(0.95), LOG(1.5)), pi=(LOG(1.01), LOG(1.6))))
    assert rating.downgrades == ("imprecision: the CI includes no effect",)


def test_imprecision_from_a_very_wide_ci():
    # OR 1.1 to 4.5: upper more than 4 times the lower.
    assert grade.is_very_wide("OR", LOG(1.1), LOG(4.5))
    assert not grade.is_very_wide("OR", LOG(1.1), LOG(4.3))
    rating = rate(evidence(ci=(LOG(1.1), LOG(4.5)), pi=(LOG(1.05), LOG(5.0))))
    assert rating.downgrades == ("imprecision: the CI is very wide",)


def test_very_wide_on_the_correlation_and_g_scales():
    assert grade.is_very_wide("ZCOR", math.atanh(0.1), math.atanh(0.55))
    assert not grade.is_very_wide("ZCOR", math.atanh(0.1), math.atanh(0.45))
    assert grade.is_very_wide("SMD", 0.1, 0.95)
    assert not grade.is_very_wide("SMD", 0.1, 0.8)
    assert not grade.is_very_wide("GEN", -10, 10)  # no benchmark: never "very wide"


def test_imprecision_from_fewer_than_400_participants():
    assert rate(evidence(participants=399)).downgrades == ("imprecision: fewer than 400 participants",)
    assert rate(evidence(participants=400)).level == "high"
    assert rate(evidence(participants=None)).level == "high"  # unknown: not judged


def test_indirectness_when_no_sample_is_from_the_uk():
    assert rate(evidence(countries=("US", "CA"))).downgrades == ("indirectness: no UK sample",)
    assert rate(evidence(countries=("US", "GB;FR"))).level == "high"  # one UK sample is enough


def test_small_study_effects_only_with_ten_studies():
    assert rate(evidence(k=10, egger_p=0.09)).downgrades == ("small-study effects: Egger's test p < 0.10",)
    assert rate(evidence(k=9, egger_p=0.01)).level == "high"
    assert rate(evidence(k=10, egger_p=0.10)).level == "high"
    assert rate(evidence(k=9)).notes == ("small-study effects not assessed (fewer than 10 studies)",)


def test_small_study_effects_count_studies_not_samples():
    """40 states of one dataset are 40 samples of one study: no small-study judgement."""
    states = evidence(k=40, n_studies=1, egger_p=0.001)
    assert rate(states).level == "high"
    assert not grade.small_study_assessed(states)
    assert grade.small_study_assessed(evidence(k=12, n_studies=12, egger_p=0.3))


def test_indirectness_on_the_share_of_non_uk_evidence():
    """Rated down when most samples or most of the weight are from outside the UK; a
    smaller share is said as mixed evidence."""
    most = rate(evidence(k=6, countries=("GB", "US"), non_uk_samples=5, non_uk_share=0.4))
    assert most.downgrades == ("indirectness: 5 of 6 samples (40% of the weight) from outside the UK",)
    heavy = rate(evidence(k=4, countries=("GB", "US"), non_uk_samples=2, non_uk_share=0.7))
    assert heavy.level == "moderate"
    mixed = rate(evidence(k=6, countries=("GB", "US"), non_uk_samples=2, non_uk_share=0.3))
    assert mixed.level == "high"
    assert "mixed evidence: 2 of 6 samples (30% of the weight) from outside the UK" in mixed.notes
    assert rate(evidence(k=3, non_uk_samples=0, non_uk_share=0.0)).notes == (
        "small-study effects not assessed (fewer than 10 studies)",
    )


def test_every_domain_costs_one_level_and_the_floor_is_very_low():
    worst = evidence(
        designs=("cohort",),
        countries=("US",),
        ci=(LOG(0.5), LOG(3.0)),
        pi=(LOG(0.2), LOG(8.0)),
        i2=90.0,
        participants=100,
        k=12,
        egger_p=0.01,
    )
    rating = rate(worst)
    assert rating.level == "very low"
    assert len(rating.downgrades) == 4
    assert rate(evidence(countries=("US",), i2=80.0)).level == "low"  # high - 2


def test_rules_are_written_down_for_every_domain():
    text = " ".join(grade.RULES)
    for word in ("randomised", "Inconsistency", "Imprecision", "Indirectness", "Egger"):
        assert word in text


@given(
    designs=st.lists(st.sampled_from(["rct", "cohort", "ecological"]), min_size=1, max_size=4),
    low=st.floats(-3, 3),
    width=st.floats(0, 3),
    i2=st.floats(0, 100),
    k=st.integers(1, 30),
    uk=st.booleans(),
)
def test_the_level_never_rises_above_the_start(designs, low, width, i2, k, uk):
    ev = evidence(
        designs=tuple(designs), ci=(low, low + width), i2=i2, k=k, countries=("GB",) if uk else ("US",)
    )
    rating = rate(ev)
    assert grade.LEVELS.index(rating.level) >= grade.LEVELS.index(rating.start)
    assert grade.LEVELS.index(rating.level) == min(
        grade.LEVELS.index(rating.start) + len(rating.downgrades), 3
    )


# --- small-study statistics compare studies, not the samples of one study -----------------


def _effects(studies: list[str]):
    import pandas as pd

    rows = []
    for i, (study, (y, v)) in enumerate(
        zip(studies, [(0.3, 0.02), (0.1, 0.03), (0.5, 0.05), (0.25, 0.01), (0.4, 0.04), (-0.1, 0.06)])
    ):
        rows.append(dict(study=study, effect_id=f"e{i}", sample=f"state-{i}", theme="linking",
                         outcome="mobility", measure="ZCOR", construct="", yi=y, vi=v, role="primary",
                         n=100.0, design="ecological", country="US"))  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize("studies, tested", [(["atlas"] * 6, False), (["a", "a", "a", "b", "b", "b"], False),
                                             (["a", "b", "c", "a", "b", "c"], True)])  # fmt: skip
def test_egger_and_trim_and_fill_only_across_three_or_more_studies(studies, tested):
    """CONTRACT.md: pooled.csv's egger_* and trimfill_* are empty when the samples come from
    fewer than 3 studies, and sensitivity/trimfill.csv has no row for them."""
    from analysis.pooling import analyses as pooling

    settings = dict(estimator="REML", ci_method="knha", alpha=0.05)
    pooled, _ = pooling.pool_effects(_effects(studies), rho=0.6, **settings)
    (row,) = pooled.to_dict("records")
    assert row["k"] == 6
    assert math.isfinite(row["egger_p"]) is tested and math.isfinite(row["trimfill_k0"]) is tested
    if not tested:
        assert "fewer than 3 studies" in row["note"]
    tables = pooling.sensitivity_tables(_effects(studies), rho=0.6, **settings)
    assert (len(tables["trimfill"]) == 1) is tested
    assert len(tables["leave_one_out"]) == 6  # leave-one-out still runs over the samples
