"""Leave-one-out by power series (analysis/pooling/leaveout.py): the same models as one meta.fit per refit."""

import numpy as np
import pytest

from analysis.pooling import leaveout, meta

FIELDS = ("k", "estimate", "se", "ci_low", "ci_high", "p", "tau2", "i2")


def _correlations(seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Fisher-z correlations of studies of 40 to 5,000 people, as a large review holds."""
    rng = np.random.default_rng(seed)
    n = np.exp(rng.uniform(np.log(40), np.log(5000), k)).astype(int)
    v = 1.0 / (n - 3.0)
    return np.arctanh(np.clip(0.2 + rng.normal(0, 0.1, k) + rng.normal(0, 1, k) * np.sqrt(v), -0.95, 0.95)), v


@pytest.mark.parametrize(("estimator", "ci_method"), [("REML", "knha"), ("ML", "wald"), ("EE", "knha")])
def test_a_large_analysis_by_series_equals_each_refit(estimator, ci_method, monkeypatch):
    y, v = _correlations(1, 2000)
    direct = []
    original = leaveout.Units._direct
    monkeypatch.setattr(
        leaveout.Units, "_direct", lambda self, i, t: direct.append(i) or original(self, i, t)
    )
    rows = leaveout.leave_one_out(y, v, estimator=estimator, ci_method=ci_method, alpha=0.05)
    assert len(rows) == 2000 and len(direct) < 20  # the series, not 2,000 sums of 1,999 units
    for i in (0, 1, 999, 1999):
        ref = meta.fit(np.delete(y, i), np.delete(v, i), estimator=estimator, ci_method=ci_method, alpha=0.05)
        for name in FIELDS:
            assert getattr(rows[i], name) == pytest.approx(getattr(ref, name), rel=1e-9, abs=1e-12), name
        assert (rows[i].estimator, rows[i].note) == (ref.estimator, ref.note)


def test_series_sums_equal_direct_sums_within_their_range():
    y, v = _correlations(2, 500)
    units = leaveout.Units(y, v)
    rows = np.arange(0, 500, 7)
    centre = 0.02
    # tau² from the centre out to the series' limit, on both sides
    tau2 = centre + np.linspace(-1, 1, len(rows)) * leaveout.RATIO * (v.min() + centre)
    tau2[len(rows) // 2] = centre  # the median is the centre
    got = np.array(units.sums(rows, tau2))
    expected = np.array([units._direct(int(r), float(t)) for r, t in zip(rows, tau2, strict=True)]).T
    assert np.allclose(got, expected, rtol=1e-12, atol=0)


def test_a_tau2_far_from_every_centre_or_a_dominant_unit_is_summed_directly(monkeypatch):
    y, v = _correlations(3, 200)
    v[5] = 1e-9  # unit 5 holds nearly all the weight
    units = leaveout.Units(y, v)
    direct = []
    original = leaveout.Units._direct
    monkeypatch.setattr(
        leaveout.Units, "_direct", lambda self, i, t: direct.append(i) or original(self, i, t)
    )
    monkeypatch.setattr(leaveout, "CENTRES", 1)
    tau2 = np.array([0.0, 0.0, 0.0, 5.0])  # at tau² 0 unit 5 outweighs the rest a thousand times
    got = np.array(units.sums(np.array([1, 5, 9, 11]), tau2))
    assert sorted(direct) == [5, 11]
    expected = np.array([original(units, r, t) for r, t in zip([1, 5, 9, 11], tau2, strict=True)]).T
    assert np.allclose(got, expected, rtol=1e-12, atol=0)


def test_rows_split_between_tau2_zero_and_small_values_all_go_by_series(monkeypatch):
    # Borderline heterogeneity: some refits' tau² is 0, the others' a little above it.
    y, v = _correlations(4, 300)
    units = leaveout.Units(y, v)
    direct = []
    original = leaveout.Units._direct
    monkeypatch.setattr(
        leaveout.Units, "_direct", lambda self, i, t: direct.append(i) or original(self, i, t)
    )
    rows = np.arange(0, 300, 3)
    tau2 = np.where(rows % 2 == 0, 0.0, 0.05 + 1e-4 * rows / 300)
    got = np.array(units.sums(rows, tau2))
    assert direct == []
    expected = np.array([original(units, int(r), float(t)) for r, t in zip(rows, tau2, strict=True)]).T
    assert np.allclose(got, expected, rtol=1e-12, atol=0)


def test_identical_effects_are_found_per_left_out_unit():
    assert leaveout._identical(np.array([1.0, 1.0, 1.0])).tolist() == [True, True, True]
    assert leaveout._identical(np.array([1.0, 2.0, 1.0, 1.0])).tolist() == [False, True, False, False]
    assert leaveout._identical(np.array([1.0, 2.0, 2.0, 1.0])).tolist() == [False] * 4
    assert leaveout._identical(np.array([1.0, 2.0, 3.0])).tolist() == [False] * 3


@pytest.mark.parametrize("estimator", ["REML", "EE"])
def test_an_effect_far_from_the_rest_leaves_out_without_losing_digits(estimator):
    # Its w y² is most of Σw y²: taking it out of the total would cancel the rest's spread.
    rng = np.random.default_rng(1)
    y, v = rng.normal(0, 1, 300), np.ones(300)
    y[0], v[0] = 1e4, 1e-2
    settings = {"estimator": estimator, "ci_method": "knha", "alpha": 0.05}
    rows = leaveout.leave_one_out(y, v, **settings)
    for i in (0, 1):
        ref = meta.fit(np.delete(y, i), np.delete(v, i), **settings)
        for name in FIELDS:
            assert getattr(rows[i], name) == pytest.approx(getattr(ref, name), rel=1e-9, abs=1e-12), name


def test_a_refit_whose_other_effects_are_identical_has_a_zero_not_a_nan_se():
    y, v = np.full(250, 0.3), np.linspace(0.01, 0.1, 250)
    y[4] = 0.31
    for estimator in ("REML", "EE"):
        row = leaveout.leave_one_out(y, v, estimator=estimator, ci_method="knha", alpha=0.05)[4]
        ref = meta.fit(np.delete(y, 4), np.delete(v, 4), estimator=estimator, ci_method="knha", alpha=0.05)
        assert row.note == ref.note == "all effects are identical"
        assert not np.isnan(row.se) and row.se == pytest.approx(ref.se, abs=1e-12)
        assert row.estimate == pytest.approx(ref.estimate, rel=1e-12)
