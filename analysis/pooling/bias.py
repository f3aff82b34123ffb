"""Small-study effects: Egger's regression test and trim-and-fill, as metafor.

``egger_test`` is metafor's ``regtest()`` default: the same model (same tau²
estimator and CI method) with the standard error sqrt(v) as moderator, testing
its slope (z under ``wald``, t with k - 2 df under ``knha``); the intercept is
the "limit estimate" (the effect as the SE goes to 0) with its CI.

``trim_and_fill`` is metafor's ``trimfill()`` default, the L0 estimator of Duval
and Tweedie (2000). The side on which studies are missing is chosen as metafor
does: the Egger-type model's slope < 0 means missing on the right, else on the
left. The pooled estimate of the trimmed data is re-estimated with the same
estimator until k0 no longer changes; the k0 most extreme effects are then
mirrored about that estimate and the filled data are pooled with the same
settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.pooling.meta import MetaFit, check_inputs, fit, fit_model

# Trim-and-fill gives up after this many iterations, as metafor's ``maxiter``.
TRIMFILL_MAX_ITERATIONS = 100
# Egger's test and trim-and-fill need a slope: at least 3 units (df k - 2 >= 1).
MIN_UNITS = 3
# ... and they compare studies: publication bias acts on studies, not on the samples (say,
# the states) of one study, so the units must come from at least 3 studies (CONTRACT.md).
MIN_STUDIES = 3


def compares_studies(studies) -> bool:
    """Whether units from these studies (one study key per unit) can be tested for small-study
    effects: they come from at least MIN_STUDIES different studies."""
    return len(set(studies)) >= MIN_STUDIES


@dataclass(frozen=True)
class EggerTest:
    """Egger's regression test (``regtest``).

    ``stat`` is z (``df`` NaN) under ``wald`` and t with ``df = k - 2`` under
    ``knha``. ``limit_*`` is the intercept: the estimate as SE -> 0, with its CI.
    """

    stat: float
    df: float
    p: float
    slope: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float


def testable(y: np.ndarray, v: np.ndarray) -> bool:
    """Whether small-study effects can be looked for: k >= 3, SEs and effects that differ."""
    return len(y) >= MIN_UNITS and np.ptp(np.sqrt(v)) > 0 and np.ptp(y) > 0


def _slope_model(y, v, *, estimator, ci_method, alpha):
    """The Egger-type model y ~ sqrt(v), or None if there is nothing to test."""
    if not testable(y, v):
        return None
    X = np.column_stack([np.ones_like(y), np.sqrt(v)])
    return fit_model(y, v, X, estimator=estimator, ci_method=ci_method, alpha=alpha)


def egger_test(
    y: np.ndarray, v: np.ndarray, *, estimator: str, ci_method: str, alpha: float
) -> EggerTest | None:
    """Egger's test of funnel-plot asymmetry on the model's own settings.

    Parameters
    ----------
    y, v : array_like of shape (k,)
        Effects and sampling variances.
    estimator, ci_method, alpha
        As ``meta.fit``.

    Returns
    -------
    EggerTest or None
        None when k < 3, every SE is the same (no slope to test) or every
        effect is the same (no asymmetry).
    """
    y, v = check_inputs(y, v, estimator=estimator, ci_method=ci_method, alpha=alpha)
    model = _slope_model(y, v, estimator=estimator, ci_method=ci_method, alpha=alpha)
    if model is None:
        return None
    df = model.df if ci_method == "knha" else float("nan")
    return EggerTest(
        float(model.stat[1]),
        df,
        float(model.pvalue[1]),
        float(model.beta[1]),
        float(model.beta[0]),
        float(model.ci_low[0]),
        float(model.ci_high[0]),
    )


@dataclass(frozen=True, eq=False)
class TrimFill:
    """Trim-and-fill result.

    Attributes
    ----------
    k0 : int
        Estimated number of missing units (L0).
    side : str
        "left" or "right": where units were imputed.
    fit : MetaFit
        The model of the filled data (the original model when k0 = 0).
    yi, vi : numpy.ndarray of shape (k + k0,)
        Filled data: the observed units, then the imputed ones.
    """

    k0: int
    side: str
    fit: MetaFit
    yi: np.ndarray
    vi: np.ndarray


def missing_side(slope: float) -> str:
    """metafor's choice of side from the Egger-type slope: < 0 "right", else "left"."""
    return "right" if slope < 0 else "left"


def trim_and_fill(
    y: np.ndarray, v: np.ndarray, *, estimator: str, ci_method: str, alpha: float, side: str | None
) -> TrimFill | None:
    """Duval and Tweedie's trim-and-fill with the L0 estimator (metafor ``trimfill``).

    Parameters
    ----------
    y, v : array_like of shape (k,)
        Effects and sampling variances.
    estimator, ci_method, alpha
        As ``meta.fit``; used for choosing the side, the iterations and the
        filled model.
    side : {"left", "right"} or None
        Where units are missing; None chooses as metafor (``missing_side`` of
        the slope of ``egger_test``'s model, which a caller that already has it
        can pass instead).

    Returns
    -------
    TrimFill or None
        None when ``egger_test`` would be None, or the L0 iterations did not
        settle within ``TRIMFILL_MAX_ITERATIONS``.
    """
    y, v = check_inputs(y, v, estimator=estimator, ci_method=ci_method, alpha=alpha)
    settings = dict(estimator=estimator, ci_method=ci_method, alpha=alpha)
    if not testable(y, v):
        return None
    if side is None:
        side = missing_side(float(_slope_model(y, v, **settings).beta[1]))
    if side not in ("left", "right"):
        raise ValueError(f"trim-and-fill needs side 'left' or 'right' (got {side!r}).")
    sign = -1.0 if side == "right" else 1.0  # work as if units were missing on the left
    order = np.argsort(sign * y, kind="stable")
    ys, vs = sign * y[order], v[order]
    k, k0, previous = len(y), 0, -1
    for _ in range(TRIMFILL_MAX_ITERATIONS):
        if k0 == previous:
            break
        previous = k0
        kept = k - k0
        centre = (
            ys[0]
            if kept == 1
            else float(fit_model(ys[:kept], vs[:kept], np.ones((kept, 1)), **settings).beta[0])
        )
        centred = ys - centre
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)  # ties: first
        sr = ranks[centred > 0].sum()
        k0 = max(0, round((4 * sr - k * (k + 1)) / (2 * k - 1)))
    else:
        return None
    if k0 == 0:
        return TrimFill(0, side, fit(y, v, **settings), y, v)
    filled_y = np.concatenate([y, sign * (2 * centre - ys[k - k0 :])])
    filled_v = np.concatenate([v, vs[k - k0 :]])
    return TrimFill(k0, side, fit(filled_y, filled_v, **settings), filled_y, filled_v)
