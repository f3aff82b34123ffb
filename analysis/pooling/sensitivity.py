"""Sensitivity analyses of one pooled analysis.

- leave-one-out: the model without each unit in turn (metafor ``leave1out``), all
  k refits at once (``batch``);
- every estimator: the same data under REML, ML, DL, HE and EE;
- the assumed within-sample correlation: effects re-aggregated with other rho.
"""

from __future__ import annotations

import numpy as np

from analysis.pooling import batch, leaveout
from analysis.pooling.aggregate import aggregate_units
from analysis.pooling.meta import ESTIMATORS, MetaFit, check_inputs, fit

# The correlations between effects of one sample that the brief shows: weak,
# the workflow's default (0.6) and strong.
RHO_GRID = (0.2, 0.6, 0.9)


def leave_one_out(
    y: np.ndarray, v: np.ndarray, *, estimator: str, ci_method: str, alpha: float
) -> list[batch.RowFit] | list[MetaFit]:
    """Refit without each unit.

    Parameters
    ----------
    y, v : array_like of shape (k,)
        Unit effects and sampling variances.
    estimator, ci_method, alpha
        As ``meta.fit``.

    Returns
    -------
    list, length k
        Element i is the model without unit i: from ``leaveout.leave_one_out`` (all
        k models at once; the fields of the leave-one-out table) when k >= 3,
        else ``meta.fit`` of the one remaining unit.
    """
    y, v = check_inputs(y, v, estimator=estimator, ci_method=ci_method, alpha=alpha)
    if len(y) >= 3:
        return leaveout.leave_one_out(y, v, estimator=estimator, ci_method=ci_method, alpha=alpha)
    keep = ~np.eye(len(y), dtype=bool)
    return [fit(y[row], v[row], estimator=estimator, ci_method=ci_method, alpha=alpha) for row in keep]


def by_estimator(y: np.ndarray, v: np.ndarray, *, ci_method: str, alpha: float) -> dict[str, MetaFit]:
    """The model under every estimator in ``meta.ESTIMATORS`` (same CI method)."""
    return {
        estimator: fit(y, v, estimator=estimator, ci_method=ci_method, alpha=alpha)
        for estimator in ESTIMATORS
    }


def by_rho(
    y: np.ndarray,
    v: np.ndarray,
    unit: np.ndarray,
    *,
    rhos: tuple[float, ...],
    estimator: str,
    ci_method: str,
    alpha: float,
) -> dict[float, MetaFit]:
    """Re-aggregate effect-level data with each rho and refit.

    Parameters
    ----------
    y, v, unit : array_like of shape (n,)
        Effect-level data and the unit of each effect.
    rhos : tuple of float
        Correlations to try, for example ``RHO_GRID``.
    estimator, ci_method, alpha
        As ``meta.fit``.
    """
    fits = {}
    for rho in rhos:
        _, yi, vi = aggregate_units(y, v, unit, rho=rho)
        fits[rho] = fit(yi, vi, estimator=estimator, ci_method=ci_method, alpha=alpha)
    return fits
