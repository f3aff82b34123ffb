"""Combine the effects of one study sample into one, as metafor's ``aggregate()``.

Several effects from the same people are correlated. With compound symmetry
(every pair correlated ``rho``) their sampling covariance matrix is
V_ij = rho * sqrt(v_i v_j) (i != j), V_ii = v_i, and with W = V⁻¹ the combined
effect is (1'W y) / (1'W 1) with variance 1 / (1'W 1). The matrices are m x m
for the m effects of one sample, which is small.
"""

from __future__ import annotations

import numpy as np


def aggregate(yi: np.ndarray, vi: np.ndarray, *, rho: float) -> tuple[float, float]:
    """Combine m correlated effects of one sample.

    Parameters
    ----------
    yi, vi : array_like of shape (m,)
        Effects and sampling variances (> 0), on one scale.
    rho : float
        Assumed correlation between any two of them, 0 <= rho < 1.

    Returns
    -------
    (float, float)
        Combined effect and its variance; a single effect passes through.
    """
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if not 0 <= rho < 1:
        raise ValueError(f"The assumed within-sample correlation rho must be in [0, 1), not {rho}.")
    if y.size == 0 or y.shape != v.shape:
        raise ValueError("Need at least one effect, with one variance per effect.")
    if y.size == 1:
        return float(y[0]), float(v[0])
    sd = np.sqrt(v)
    V = rho * np.outer(sd, sd)
    np.fill_diagonal(V, v)
    W1 = np.linalg.solve(V, np.ones_like(y))  # W 1, V symmetric
    total = float(W1.sum())
    return float(W1 @ y) / total, 1.0 / total


def aggregate_units(
    y: np.ndarray, v: np.ndarray, unit: np.ndarray, *, rho: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Combine the effects of each unit (one study sample) with ``aggregate``.

    Parameters
    ----------
    y, v : array_like of shape (n,)
        Effects and sampling variances.
    unit : array_like of shape (n,)
        Unit label of each effect (sortable: an integer code or a string).
    rho : float
        Assumed correlation between effects of one unit.

    Returns
    -------
    labels, yi, vi : numpy.ndarray of shape (k,)
        Sorted unit labels and each unit's combined effect and variance. Within
        a unit, effects are combined in their input order.
    """
    y, v, unit = np.asarray(y, dtype=float), np.asarray(v, dtype=float), np.asarray(unit)
    order = np.argsort(unit, kind="stable")
    labels, starts, counts = np.unique(unit[order], return_index=True, return_counts=True)
    yi, vi = y[order][starts], v[order][starts]  # single effects pass through
    for i in np.flatnonzero(counts > 1):
        members = order[starts[i] : starts[i] + counts[i]]
        yi[i], vi[i] = aggregate(y[members], v[members], rho=rho)
    return labels, yi, vi
