"""Many intercept-only models at once: the rows of a matrix, each its own data set.

(Leave-one-out under REML, ML and EE is :mod:`analysis.pooling.leaveout`, which needs
no rows built out and reuses this module's Fisher scoring; under DL and HE it is
:func:`leave_one_out` here, whose history the next paragraphs tell.)

Leave-one-out refits an analysis once per unit; at k units that is k models of
k - 1 units each, k² work, and at 100,000 studies the analyses hold ~1,000
units. Fitting the k models one by one spends most of its time in the
per-call overhead of small numpy and scipy operations (at k = 100, 8 ms a
model). Here the k data sets are the rows of a k x (k - 1) matrix and every
step of ``meta.fit`` that the leave-one-out table prints (tau², the pooled
estimate, its SE, CI, p and I²) is taken for all rows at once (k = 100: 6 ms
for all 100 models; k = 1,000: 0.7 s instead of 20 s):

- tau² by the same Fisher scoring as ``meta._fisher_scoring`` (same start, step
  halving, threshold, iteration cap and DL fallback), each row stopping at
  its own convergence; DL and HE by PyMARE, which fits many data sets at once;
- the coefficient and its covariance by PyMARE's ``WeightedLeastSquares`` given
  every row's tau² (Knapp-Hartung or Wald, as ``meta._coefficients``);
- I² tau²-based (Q-based for EE), as ``meta.fit``.

The heterogeneity intervals (Q-profile) and the prediction interval are not
computed: the leave-one-out table does not print them. Results equal
``meta.fit`` on each row to rounding, not bit for bit (sums are taken in another
order; a test compares them at 1e-9 relative). Leave-one-out builds its rows in blocks of at most
``BLOCK_CELLS`` cells, so memory stays bounded at any k.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.pooling.meta import (
    _PYMARE_CORRECTION,
    LOGLIK_ROUNDING,
    MAX_ITERATIONS,
    MIN_STEP,
    TAU2_THRESHOLD,
    moment_tau2,
    quantile,
)

# Cells (rows x units) of one block of leave-one-out rows: 1 MB an array, so a
# block's ~10 arrays stay in cache (k = 1,000: 0.34 s with these blocks, 0.75 s
# with blocks of 8 MB arrays; k = 3,000: 3.4 s against 10.3 s).
BLOCK_CELLS = 131_072
# sums(rows, tau2): the sums of _row_sums of those rows of the data sets, at their tau².
Sums = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class RowFit:
    """The leave-one-out table's fields of one intercept-only model (as ``meta.MetaFit``)."""

    estimator: str
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    tau2: float
    i2: float
    note: str


def _row_sums(Y: np.ndarray, V: np.ndarray, tau2: np.ndarray) -> tuple[np.ndarray, ...]:
    """The sums of ``likelihood.likelihood_terms`` per row of ``Y`` at the row's tau²:
    Σw, Σw², Σw³, Σw e², Σw² e² and Σ log(v + tau²), with w = 1/(v + tau²) and e the
    residual from the row's weighted mean."""
    w = 1.0 / (V + tau2[:, None])
    sw = w.sum(axis=1)
    e = Y - ((w * Y).sum(axis=1) / sw)[:, None]
    py = w * e
    return (
        sw, (w * w).sum(axis=1), (w * w * w).sum(axis=1), (py * e).sum(axis=1), (py * py).sum(axis=1),
        np.log(V + tau2[:, None]).sum(axis=1),
    )  # fmt: skip


def _terms(sums: tuple[np.ndarray, ...], method: str):
    """Score, information (both times 2) and log-likelihood per row, as
    ``likelihood.likelihood_terms``, from the sums of :func:`_row_sums`."""
    sw, sw2, sw3, pe, pp, logsum = sums[:6]
    loglik = -0.5 * (logsum + pe)
    if method == "ML":
        return pp - sw, sw2, loglik
    b = sw2 / sw
    tr_pp = sw2 - 2 * sw3 / sw + b * b
    return pp - (sw - b), tr_pp, loglik + 0.5 * np.log(1.0 / sw)


def _typical_variance(V: np.ndarray) -> np.ndarray:
    """metafor's s² per row: (k - 1) Σw / ((Σw)² - Σw²), w = 1/v."""
    w = 1.0 / V
    sw = w.sum(axis=1)
    return (V.shape[1] - 1) / (sw - (w * w).sum(axis=1) / sw)


def _fisher_scoring(sums: Sums, n: int, m: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """ML or REML tau² of n data sets of m units (NaN where it did not converge) and
    whether it converged; ``sums(rows, tau2)`` gives :func:`_row_sums` of those rows."""
    zero = np.zeros(n)
    everything = np.arange(n)
    start = sums(everything, zero)
    sw, sw2, pe = start[0], start[1], start[3]
    tr_p0 = sw - sw2 / sw
    scale = (m - 1) / tr_p0
    score, info, loglik = _terms(start, method)
    tau2 = np.where(score <= 0, 0.0, np.maximum(0.0, (pe - (m - 1)) / tr_p0))
    converged = score <= 0  # the likelihood falls from tau² = 0 on: 0 exactly
    active = ~converged
    if active.any():
        rows = np.flatnonzero(active)
        score[rows], info[rows], loglik[rows] = _terms(sums(rows, tau2[rows]), method)
    for _ in range(MAX_ITERATIONS):
        active &= info > 0  # a lost information leaves the row unconverged, as meta's break
        if not active.any():
            break
        rows = np.flatnonzero(active)
        new, terms = _halving_steps(sums, rows, tau2, score, info, loglik, method)
        change = np.abs(new - tau2[rows])
        tau2[rows], score[rows], info[rows], loglik[rows] = new, *terms
        done = change <= TAU2_THRESHOLD * (new + scale[rows])
        converged[rows[done]] = True
        active[rows[done]] = False
    return np.where(converged, tau2, math.nan), converged


def _halving_steps(sums: Sums, rows, tau2, score, info, loglik, method):
    """One Fisher step per row, halved while its log-likelihood falls beyond rounding (as meta), down to MIN_STEP."""
    step = np.ones(len(rows))
    new = np.empty(len(rows))
    found = [np.empty(len(rows)) for _ in range(3)]
    pending = np.arange(len(rows))
    while pending.size:
        c = rows[pending]
        trial = np.maximum(0.0, tau2[c] + step[pending] * score[c] / info[c])
        t_score, t_info, t_loglik = _terms(sums(c, trial), method)
        floor = loglik[c] - LOGLIK_ROUNDING * np.maximum(1.0, np.abs(loglik[c]))
        accept = (t_loglik >= floor) | (step[pending] < MIN_STEP)
        taken = pending[accept]
        new[taken] = trial[accept]
        for into, value in zip(found, (t_score, t_info, t_loglik), strict=True):
            into[taken] = value[accept]
        pending = pending[~accept]
        step[pending] /= 2
    return new, found


def _moment_tau2(Y: np.ndarray, V: np.ndarray, estimator: str, ci_method: str) -> np.ndarray:
    """tau² per row by ``meta.moment_tau2`` (PyMARE, which wants the data sets as columns)."""
    return moment_tau2(Y.T, V.T, np.ones((Y.shape[1], 1)), estimator, ci_method)


def _tau2(Y, V, estimator: str, ci_method: str) -> tuple[np.ndarray, list[str], list[str]]:
    """tau² per row, the estimator used and its note (DL after a failed REML/ML, as meta.fit_model)."""
    n, m = Y.shape
    if estimator == "EE":
        return np.zeros(n), [estimator] * n, [""] * n
    if estimator in ("DL", "HE"):
        return _moment_tau2(Y, V, estimator, ci_method), [estimator] * n, [""] * n
    tau2, converged = _fisher_scoring(lambda rows, t: _row_sums(Y[rows], V[rows], t), n, m, estimator)
    used, notes = [estimator] * n, [""] * n
    failed = np.flatnonzero(~converged)
    if failed.size:
        tau2[failed] = _moment_tau2(Y[failed], V[failed], "DL", ci_method)
        for j in failed:
            used[j] = "DL"
            notes[j] = f"{estimator} did not converge in {MAX_ITERATIONS} iterations; DL used instead"
    return tau2, used, notes


def fit_rows(Y: np.ndarray, V: np.ndarray, *, estimator: str, ci_method: str, alpha: float) -> list[RowFit]:
    """Fit the intercept-only model to every row of ``Y`` (variances ``V``).

    Parameters
    ----------
    Y, V : numpy.ndarray of shape (n, m)
        n data sets of m >= 2 units each, validated as ``meta.check_inputs``
        validates one (finite effects, finite positive variances).
    estimator, ci_method, alpha
        As ``meta.fit``.

    Returns
    -------
    list of RowFit, length n (row order).
    """
    from pymare.estimators import WeightedLeastSquares  # costs ~1 s: import on use

    Y, V = np.ascontiguousarray(Y, dtype=float), np.ascontiguousarray(V, dtype=float)
    m = Y.shape[1]
    if m < 2:
        raise ValueError(f"fit_rows needs at least 2 units per data set (got {m}); use meta.fit.")
    tau2, used, notes = _tau2(Y, V, estimator, ci_method)
    model = WeightedLeastSquares(tau2=tau2, small_sample_correction=_PYMARE_CORRECTION[ci_method])
    model.fit(Y.T, np.ones((m, 1)), V.T)
    beta, se = model.params_["fe_params"][0], np.sqrt(model.params_["inv_cov"][0, 0])
    s2 = _typical_variance(V)
    w0 = 1.0 / V
    q = (w0 * (Y - ((w0 * Y).sum(axis=1) / w0.sum(axis=1))[:, None]) ** 2).sum(axis=1)
    identical = np.ptp(Y, axis=1) == 0
    return row_fits(m, beta, se, tau2, s2, q, identical, used, notes, ci_method=ci_method, alpha=alpha)


def row_fits(
    m, beta, se, tau2, s2, q, identical, used, notes, *, ci_method: str, alpha: float
) -> list[RowFit]:
    """The RowFit of each data set of m units from its estimate, SE, tau², typical
    variance s², Q at tau² = 0, whether its effects are identical, the estimator used
    and its note: CI and p (t with m - 1 df for Knapp-Hartung, else normal) and I²
    (tau²-based; Q-based for EE), as ``meta.fit``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    if ci_method == "knha":
        pvalue, crit = 2 * stats.t.sf(np.abs(stat), m - 1), quantile("t", 1 - alpha / 2, m - 1)
    else:
        pvalue, crit = 2 * stats.norm.sf(np.abs(stat)), quantile("norm", 1 - alpha / 2)
    fits = []
    for j in range(len(beta)):
        if used[j] == "EE":
            i2 = max(0.0, 100 * (q[j] - (m - 1)) / q[j]) if q[j] > 0 else 0.0
        else:
            i2 = 100 * tau2[j] / (tau2[j] + s2[j])
        note = "; ".join(filter(None, [notes[j], "all effects are identical" if identical[j] else ""]))
        fits.append(
            RowFit(
                estimator=used[j], k=m, estimate=float(beta[j]), se=float(se[j]),
                ci_low=float(beta[j] - crit * se[j]), ci_high=float(beta[j] + crit * se[j]),
                p=float(pvalue[j]), tau2=float(tau2[j]), i2=float(i2), note=note,
            )
        )  # fmt: skip
    return fits


def leave_one_out(
    y: np.ndarray, v: np.ndarray, *, estimator: str, ci_method: str, alpha: float
) -> list[RowFit]:
    """The model without each unit in turn (metafor ``leave1out``), k >= 3 units.

    Row j of each block is the data without unit j; a block holds at most
    ``BLOCK_CELLS`` cells, so memory is O(k) per row, whatever k.
    """
    y, v = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    k = len(y)
    size = max(1, BLOCK_CELLS // (k - 1))
    fits: list[RowFit] = []
    for start in range(0, k, size):
        left_out = np.arange(start, min(k, start + size))
        keep = np.arange(k)[None, :] != left_out[:, None]  # row j: every unit but left_out[j]
        Y = np.broadcast_to(y, keep.shape)[keep].reshape(len(left_out), k - 1)
        V = np.broadcast_to(v, keep.shape)[keep].reshape(len(left_out), k - 1)
        fits += fit_rows(Y, V, estimator=estimator, ci_method=ci_method, alpha=alpha)
    return fits
