"""Leave-one-out (metafor ``leave1out``) in O(k) work per Fisher step, at any k.

Omitting each of k units in turn gives k models of k - 1 units. Taken row by row
that is k² work at every step of the tau² iteration (k = 10,000: 10^8 cells a step,
seconds; k = 100,000: minutes a step). Every sum a model needs is a sum over all k
units at the row's tau² minus the left-out unit's own term, and the sums over all
units at a tau² t near a centre c are power series in d = (t - c) / (v_min + c):

    1 / (v + t)^p = (v_min + c)^-p  Σ_n C(p + n - 1, n) (-d)^n u^(p + n),
    log(v + t)    = log(v + c) + Σ_{n >= 1} (-1)^(n + 1) (d u)^n / n,

with u = (v_min + c) / (v + c) <= 1. So the moments Σ y^q u^m of the k units at one
centre (the median tau² of the rows being evaluated; rows further from it take the
median of the rest, up to ``CENTRES`` centres) give every row's sums in ``TERMS``
terms, with a truncation error below 1e-14 relative where |d| <= ``RATIO``. A row
whose tau² lies further from every centre, or whose left-out unit holds more
than ``OWN_SHARE`` of the weight or lies so far from the rest that its own term
would cancel the rest's sum of squares, is summed directly (in two passes) over its
k - 1 units instead.

tau² follows ``batch``'s Fisher scoring (the start, step halving, threshold, cap and
DL fallback of ``meta``); the estimate, its SE (Wald or Knapp-Hartung, as PyMARE's
``WeightedLeastSquares``), CI, p and I² follow ``batch.fit_rows``. DL and HE take
PyMARE's moment estimators on the rows built out (``batch.fit_rows``), as before, and
so do analyses of fewer than ``SERIES_FROM_K`` units, where that is faster.
Results equal ``meta.fit`` on each refit to rounding (tested at 1e-9 relative).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from analysis.pooling import batch

# Terms of each series and the largest |d| they are used at: 0.15^21 * C(23, 21) < 2e-15.
TERMS = 20
RATIO = 0.15
# A left-out unit with more of the weight than this is taken out by a direct sum, and so
# is one whose own w y² exceeds the rest's Σw e² this many times (it would cancel them).
OWN_SHARE = 0.9
SPREAD_RATIO = 1e4
# Centres tried per evaluation: each takes the rows within RATIO of the median of those
# left, so rows split between tau² = 0 and small positive values are all by series.
CENTRES = 4
# Below this many units the rows built out (batch.leave_one_out) are faster: the series'
# fixed cost per Fisher step (~1 ms) is more than k² cells (k = 150: 7 against 13 ms;
# k = 300: 54 against 21 ms).
SERIES_FROM_K = 200


class Units:
    """The k units of an analysis, effects centred on their inverse-variance mean (which
    leaves every residual unchanged and the sums of squares free of cancellation)."""

    def __init__(self, y: np.ndarray, v: np.ndarray) -> None:
        self.shift = float(np.sum(y / v) / np.sum(1.0 / v))
        self.y, self.v = y - self.shift, v
        self.powers = (np.ones_like(y), self.y, self.y * self.y)
        self.v_min = float(v.min())
        self.k = len(y)

    def sums(self, rows: np.ndarray, tau2: np.ndarray) -> tuple[np.ndarray, ...]:
        """``batch._row_sums`` of the models without unit ``rows[i]`` at ``tau2[i]``,
        and Σw y (centred) last."""
        out = np.empty((7, len(rows)))
        series = np.zeros(len(rows), dtype=bool)
        for _ in range(CENTRES):  # the rows' tau² may gather at several values (0 and a few near it)
            pending = np.flatnonzero(~series)
            if not pending.size:
                break
            # the middle value itself (not the mean of two), so each centre takes a row
            centre = float(np.partition(tau2[pending], pending.size // 2)[pending.size // 2])
            d = (tau2[pending] - centre) / (self.v_min + centre)
            near = pending[np.abs(d) <= RATIO]
            if near.size:
                out[:, near] = self._by_series(rows[near], tau2[near], centre, d[np.abs(d) <= RATIO])
                series[near] = True
        direct = ~series
        if series.any():  # a unit holding most of the weight: its own term would cancel the total
            own = 1.0 / (self.v[rows] + tau2)
            rest = np.where(series, out[0], 0.0)
            direct |= series & (own > OWN_SHARE * (rest + own))
            # or most of Σw y² (an effect far from the rest): Σw e² of the rest would cancel
            spread = np.where(series, np.abs(out[3]), 0.0)
            direct |= series & (own * self.y[rows] ** 2 > SPREAD_RATIO * spread)
        for i in np.flatnonzero(direct):
            out[:, i] = self._direct(int(rows[i]), float(tau2[i]))
        return tuple(out)

    def _by_series(self, rows, tau2, centre: float, d) -> np.ndarray:
        scale = self.v_min + centre
        u = scale / (self.v + centre)
        powers = u[None, :] ** np.arange(1, TERMS + 4)[:, None]  # u^1 .. u^(TERMS + 3)
        moments = [(powers * p[None, :]).sum(axis=1) for p in self.powers]  # Σ y^q u^m
        n = np.arange(TERMS + 1)
        steps = (-d)[:, None] ** n[None, :]

        def total(p: int, q: int) -> np.ndarray:  # Σ_j y_j^q / (v_j + t)^p over all k units
            coefficients = special.comb(p + n - 1, n)
            return ((steps * coefficients) * moments[q][p - 1 : p + TERMS][None, :]).sum(axis=1) / scale**p

        signs = np.where(n[1:] % 2 == 1, 1.0, -1.0) / n[1:]
        logs = float(np.log(self.v + centre).sum()) + (
            (d[:, None] ** n[None, 1:]) * (signs * moments[0][:TERMS])[None, :]
        ).sum(axis=1)
        own = 1.0 / (self.v[rows] + tau2)
        y_own = self.y[rows]
        sw, swy, swy2 = (total(1, q) - own * y_own**q for q in range(3))
        o2 = own * own
        sw2, sw2y, sw2y2 = (total(2, q) - o2 * y_own**q for q in range(3))
        sw3 = total(3, 0) - o2 * own
        return _finish(sw, swy, swy2, sw2, sw2y, sw2y2, sw3, logs - np.log(self.v[rows] + tau2))

    def _direct(self, left: int, tau2: float) -> np.ndarray:
        y, v = np.delete(self.y, left), np.delete(self.v, left)
        w = 1.0 / (v + tau2)
        w2 = w * w
        swy = (w * y).sum()
        e = y - swy / w.sum()  # residuals in two passes: no cancellation in Σw e²
        return np.array(
            [
                w.sum(),
                w2.sum(),
                (w2 * w).sum(),
                (w * e * e).sum(),
                (w2 * e * e).sum(),
                np.log(v + tau2).sum(),
                swy,
            ]
        )


def _finish(sw, swy, swy2, sw2, sw2y, sw2y2, sw3, logsum) -> np.ndarray:
    """Σw, Σw², Σw³, Σw e², Σw² e², Σ log(v + tau²) and Σw y from the sums of powers of y."""
    mu = swy / sw
    return np.array([sw, sw2, sw3, swy2 - mu * swy, sw2y2 - 2 * mu * sw2y + mu * mu * sw2, logsum, swy])


def _identical(y: np.ndarray) -> np.ndarray:
    """Per left-out unit: are the other k - 1 effects all equal (np.ptp == 0)?"""
    values, counts = np.unique(y, return_counts=True)
    if len(values) == 1:
        return np.ones(len(y), dtype=bool)
    if len(values) == 2 and counts.min() == 1:
        odd = values[np.argmin(counts)]
        return y == odd
    return np.zeros(len(y), dtype=bool)


def leave_one_out(
    y: np.ndarray, v: np.ndarray, *, estimator: str, ci_method: str, alpha: float
) -> list[batch.RowFit]:
    """The model without each unit in turn (metafor ``leave1out``), k >= 3 units; row i
    leaves out unit i. Memory and work per Fisher step are O(k) for REML, ML and EE from
    ``SERIES_FROM_K`` units on."""
    y, v = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    if estimator in ("DL", "HE") or len(y) < SERIES_FROM_K:
        return batch.leave_one_out(y, v, estimator=estimator, ci_method=ci_method, alpha=alpha)
    units = Units(y, v)
    k, m = units.k, units.k - 1
    rows = np.arange(k)
    used, notes = [estimator] * k, [""] * k
    if estimator == "EE":
        tau2 = np.zeros(k)
    else:
        tau2, converged = batch._fisher_scoring(units.sums, k, m, estimator)
        failed = np.flatnonzero(~converged)
        if failed.size:  # DL by PyMARE on the failed rows, built out
            Y, V = _built(y, failed), _built(v, failed)
            tau2[failed] = batch._moment_tau2(Y, V, "DL", ci_method)
            for j in failed:
                used[j] = "DL"
                notes[j] = (
                    f"{estimator} did not converge in {batch.MAX_ITERATIONS} iterations; DL used instead"
                )
    sw, _, _, pe, _, _, swy = units.sums(rows, tau2)
    sw0, sw0_2, _, q, _, _, _ = units.sums(rows, np.zeros(k))
    beta = swy / sw + units.shift
    if ci_method == "knha":  # PyMARE's Knapp-Hartung: (X'WX)^-1 e'We / (K - P)
        se = np.sqrt(pe / (m - 1) / sw)
    else:
        se = np.sqrt(1.0 / sw)
    s2 = (m - 1) * sw0 / (sw0 * sw0 - sw0_2)
    return batch.row_fits(
        m, beta, se, tau2, s2, q, _identical(y), used, notes, ci_method=ci_method, alpha=alpha
    )


def _built(x: np.ndarray, left: np.ndarray) -> np.ndarray:
    """The rows without unit ``left[i]``, built out: shape (len(left), k - 1)."""
    keep = np.arange(len(x))[None, :] != left[:, None]
    return np.broadcast_to(x, keep.shape)[keep].reshape(len(left), len(x) - 1)
