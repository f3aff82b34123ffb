"""Leave-one-out fitted all at once (analysis/pooling/batch.py) against one meta.fit per refit."""

import math

import numpy as np
import pytest

from analysis.pooling import batch, leaveout, meta, sensitivity

FIELDS = ("k", "estimate", "se", "ci_low", "ci_high", "p", "tau2", "i2")


def _data(seed: int, k: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.2, spread, k), rng.uniform(0.01, 0.2, k)


def _one_by_one(y, v, **settings):
    return [meta.fit(np.delete(y, i), np.delete(v, i), **settings) for i in range(len(y))]


def _assert_same(got, expected):
    assert len(got) == len(expected)
    for row, ref in zip(got, expected, strict=True):
        for name in FIELDS:
            a, b = getattr(row, name), getattr(ref, name)
            if math.isnan(b):
                assert math.isnan(a), name
            else:
                # the same algorithm; sums are taken in another order
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), name
        assert (row.estimator, row.note) == (ref.estimator, ref.note)


@pytest.fixture(params=["rows", "series"])
def path(request, monkeypatch):
    """Leave-one-out over rows built out (batch) or by power series (leaveout), at any k."""
    if request.param == "series":
        monkeypatch.setattr(leaveout, "SERIES_FROM_K", 3)
    return request.param


@pytest.mark.parametrize("estimator", meta.ESTIMATORS)
@pytest.mark.parametrize("ci_method", meta.CI_METHODS)
@pytest.mark.parametrize(("seed", "k", "spread"), [(1, 3, 0.3), (2, 12, 0.01), (3, 25, 0.5), (4, 60, 1.0)])
def test_every_refit_equals_its_own_fit(estimator, ci_method, seed, k, spread, path):
    y, v = _data(seed, k, spread)
    settings = {"estimator": estimator, "ci_method": ci_method, "alpha": 0.05}
    _assert_same(leaveout.leave_one_out(y, v, **settings), _one_by_one(y, v, **settings))


def test_homogeneous_data_give_tau2_zero_exactly_and_identical_effects_are_said(path):
    y, v = np.full(6, 0.4), np.linspace(0.02, 0.1, 6)
    rows = leaveout.leave_one_out(y, v, estimator="REML", ci_method="knha", alpha=0.05)
    assert all(row.tau2 == 0.0 and row.note == "all effects are identical" for row in rows)
    _assert_same(rows, _one_by_one(y, v, estimator="REML", ci_method="knha", alpha=0.05))


def test_a_refit_that_does_not_converge_falls_back_to_dl_as_meta_fit(monkeypatch, path):
    monkeypatch.setattr(meta, "MAX_ITERATIONS", 2)
    monkeypatch.setattr(batch, "MAX_ITERATIONS", 2)
    y, v = _data(5, 20, 0.6)
    settings = {"estimator": "REML", "ci_method": "knha", "alpha": 0.05}
    rows = leaveout.leave_one_out(y, v, **settings)
    assert any(row.estimator == "DL" for row in rows)  # the cap bites somewhere
    _assert_same(rows, _one_by_one(y, v, **settings))


def test_blocks_of_rows_give_the_same_numbers_as_one_block(monkeypatch):
    y, v = _data(6, 40, 0.4)
    settings = {"estimator": "REML", "ci_method": "wald", "alpha": 0.05}
    whole = leaveout.leave_one_out(y, v, **settings)
    monkeypatch.setattr(batch, "BLOCK_CELLS", 100)  # blocks of 2 rows
    assert leaveout.leave_one_out(y, v, **settings) == whole


def test_sensitivity_leave_one_out_uses_the_batch_from_three_units_and_meta_below():
    y, v = _data(7, 3, 0.3)
    rows = sensitivity.leave_one_out(y, v, estimator="REML", ci_method="knha", alpha=0.05)
    assert all(isinstance(row, batch.RowFit) for row in rows)
    two = sensitivity.leave_one_out(y[:2], v[:2], estimator="REML", ci_method="knha", alpha=0.05)
    assert [row.k for row in two] == [1, 1] and not any(row.pooled for row in two)


def test_a_data_set_of_one_unit_is_refused():
    with pytest.raises(ValueError, match="at least 2 units"):
        batch.fit_rows(np.zeros((3, 1)), np.ones((3, 1)), estimator="REML", ci_method="knha", alpha=0.05)


def test_cached_quantiles_are_scipys_own_values():
    from scipy import stats

    for df in (1, 2, 7.0, 120):
        assert meta.quantile("t", 0.975, df) == stats.t.ppf(0.975, df)
        assert meta.quantile("chi2", 0.025, df) == stats.chi2.ppf(0.025, df)
    assert meta.quantile("norm", 0.995) == stats.norm.ppf(0.995)


def test_a_unit_that_outweighs_the_rest_a_million_times_leaves_out_exactly(path):
    # Its weight is set to 0 in its own row, not subtracted from the total.
    y, v = _data(8, 15, 0.3)
    y, v = y + 40.0, v.copy()  # far from 0: the sums of squares are taken on centred effects
    v[4] = v[4] * 1e-6
    for estimator in ("REML", "ML"):
        settings = {"estimator": estimator, "ci_method": "knha", "alpha": 0.05}
        _assert_same(leaveout.leave_one_out(y, v, **settings), _one_by_one(y, v, **settings))
