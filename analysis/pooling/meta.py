"""Random- and equal-effects meta-analysis of one set of effects, as metafor's ``rma.uni``.

Where each number comes from:

- tau² for ``DL`` and ``HE`` is PyMARE's (``DerSimonianLaird``, ``Hedges``), which
  uses metafor's formulas, also with moderators.
- tau² for ``ML`` and ``REML`` is computed here by metafor's algorithm, Fisher
  scoring on tau², in O(k) vector code (started at the DerSimonian-Laird value;
  metafor starts at Hedges', which only changes the path).
  PyMARE's ``VarianceBasedLikelihoodEstimator`` is fast enough but searches a
  bounded grid to about 1e-6 relative and has no notion of non-convergence, which
  metafor's ``method = c("REML", "DL")`` fallback needs; a reference test
  cross-checks the two. Two safeguards differ from metafor's defaults without
  changing the answer: a step is halved until the (restricted) log-likelihood
  does not fall by more than its rounding and tau² stays >= 0 (metafor halves
  only to stay >= 0, and keeps the halved step), and when the likelihood already falls from tau² = 0 on, the
  estimate is 0 exactly instead of a value creeping towards it.
- Coefficients and their covariance are PyMARE's ``WeightedLeastSquares`` at that
  tau², with ``small_sample_correction`` "knapp-hartung" (``knha``, the scale
  factor not truncated at 1, as metafor's ``test = "knha"``) or "wald".
- Q, the Q-profile CI of tau², tau²-based I² and H² and the prediction interval
  are computed here, as metafor's ``rma``, ``confint`` and ``predict``.

PyMARE imports sympy (about a second), so it is imported inside the functions
that call it, not at module level. Nothing here builds a k x k matrix.

Deviation from metafor, on purpose: metafor stops Fisher scoring once tau²
changes by < 1e-5, which can leave its printed tau² up to ~1e-5 from the
optimum; this engine iterates to ``TAU2_THRESHOLD``. Statistics that depend on
tau² can therefore differ in the 4th decimal where metafor stopped early (bcg
with ``mods = ~ablat``: tau² 0.07635 here vs 0.0764 printed; molloy2014: z
4.7502 vs 4.7501); the reference tests show both come from metafor's early stop.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from analysis.pooling.likelihood import likelihood_terms, trace_p, typical_variance, wls

# Estimators, with metafor's names: REML (default), ML, DerSimonian-Laird,
# Hedges (method of moments), and the equal-effects model (tau² = 0).
ESTIMATORS = ("REML", "ML", "DL", "HE", "EE")
# "knha": Knapp-Hartung SE and t with k - p df (default); "wald": z.
CI_METHODS = ("knha", "wald")
# PyMARE's spelling of each CI method.
_PYMARE_CORRECTION = {"knha": "knapp-hartung", "wald": "wald"}
# Fisher scoring stops when tau² moves by less than this fraction of
# tau² + the typical sampling variance (the I² scale): far below the 4 decimals
# reported, far above double-precision noise. metafor's default is 1e-5 absolute.
TAU2_THRESHOLD = 1e-10
# Fisher scoring converges linearly; on flat likelihoods it took up to ~4,000
# iterations at this threshold in a sweep of 3,000 simulated data sets (median 9).
# Each iteration is O(k). metafor's default is 100 at its looser threshold.
MAX_ITERATIONS = 10_000
# Step halving gives up here: the step is then below rounding of tau².
MIN_STEP = 2.0**-40
# A step is kept unless the log-likelihood falls by more than this fraction of it
# (at least 1): near the optimum a step changes it by less than the rounding of
# its sum, and halving on that noise would stop short of the root of the score.
LOGLIK_ROUNDING = 1e-12
# Relative precision of the Q-profile roots (brentq's rtol floor is 4 * eps).
QPROFILE_RTOL = 1e-12


@dataclass(frozen=True)
class Tau2Estimate:
    """Between-study variance from one estimator.

    Attributes
    ----------
    value : float
        tau², >= 0 (NaN if an iterative estimator did not converge).
    se : float
        Its standard error from the Fisher information (ML, REML); NaN otherwise.
    converged : bool
        False when Fisher scoring hit ``MAX_ITERATIONS``.
    iterations : int
        Fisher scoring iterations (0 for the non-iterative estimators).
    """

    value: float
    se: float
    converged: bool
    iterations: int


@dataclass(frozen=True, eq=False)
class ModelFit:
    """A fitted (mixed-effects) meta-regression ``y ~ X`` with tau².

    Attributes
    ----------
    estimator : str
        Estimator actually used (``DL`` after a failed ``REML``/``ML``).
    ci_method : str
        ``knha`` or ``wald``.
    k, p : int
        Units and coefficients.
    beta, se, stat, pvalue, ci_low, ci_high : numpy.ndarray of shape (p,)
        Coefficients, their SEs (Knapp-Hartung under ``knha``), z or t statistics,
        two-sided p-values and (1 - alpha) confidence limits.
    cov : numpy.ndarray of shape (p, p)
        Covariance of ``beta`` (scaled by q_w under ``knha``).
    df : float
        t degrees of freedom ``k - p`` under ``knha``; ``inf`` under ``wald``.
    tau2, tau2_se : float
        Residual between-study variance and its SE.
    weights : numpy.ndarray of shape (k,)
        Model weights ``1 / (v + tau2)``.
    note : str
        What the reader should know ("" when nothing), e.g. the DL fallback.
    """

    estimator: str
    ci_method: str
    k: int
    p: int
    beta: np.ndarray
    cov: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: float
    tau2: float
    tau2_se: float
    weights: np.ndarray
    note: str


@dataclass(frozen=True)
class MetaFit:
    """Summary of a random- (or equal-) effects model without moderators.

    All statistics are floats, NaN where undefined (for example every
    heterogeneity field when ``k == 1``). ``i2`` is in percent.
    ``stat`` is z under ``wald`` and t with ``df = k - 1`` under ``knha``.
    """

    estimator: str
    ci_method: str
    k: int
    pooled: bool
    estimate: float
    se: float
    stat: float
    df: float
    p: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    tau2_se: float
    tau2_ci_low: float
    tau2_ci_high: float
    tau: float
    tau_ci_low: float
    tau_ci_high: float
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    h2: float
    h2_ci_low: float
    h2_ci_high: float
    q: float
    q_df: float
    q_p: float
    note: str


@functools.lru_cache(maxsize=1024)
def quantile(distribution: str, q: float, df: float = math.inf) -> float:
    """scipy's quantile function of "norm", "t" (df) or "chi2" (df), cached: leave-one-out and
    subgroups ask for the same few thousands of times (the same value as scipy's, not a copy)."""
    if distribution == "norm":
        return float(stats.norm.ppf(q))
    return float(getattr(stats, distribution).ppf(q, df))


def check_inputs(
    y: np.ndarray, v: np.ndarray, *, estimator: str, ci_method: str, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Validate effects and settings, returning float arrays of shape (k,).

    Raises
    ------
    ValueError
        With a message naming the problem.
    """
    y = np.asarray(y, dtype=float).ravel()
    v = np.asarray(v, dtype=float).ravel()
    if estimator not in ESTIMATORS:
        raise ValueError(f"Unknown estimator {estimator!r}; use one of {', '.join(ESTIMATORS)}.")
    if ci_method not in CI_METHODS:
        raise ValueError(f"Unknown ci_method {ci_method!r}; use one of {', '.join(CI_METHODS)}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, not {alpha}.")
    if y.size == 0 or y.shape != v.shape:
        raise ValueError(
            f"Need one variance per effect and at least one effect "
            f"(got {y.size} effects, {v.size} variances)."
        )
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("Every effect must be a finite number with a finite, positive variance.")
    return y, v


def moment_tau2(Y: np.ndarray, V: np.ndarray, X: np.ndarray, estimator: str, ci_method: str) -> np.ndarray:
    """tau² by PyMARE's DerSimonian-Laird or Hedges estimator, of shape (n,), for the n data
    sets that are the columns of ``Y`` and ``V`` (k, n) with design ``X`` (k, p)."""
    from pymare.estimators import DerSimonianLaird, Hedges  # costs ~1 s: import on use

    cls = DerSimonianLaird if estimator == "DL" else Hedges
    model = cls(small_sample_correction=_PYMARE_CORRECTION[ci_method])
    model.fit(Y, V, X)
    return np.asarray(model.params_["tau2"], dtype=float).reshape(Y.shape[1])


def _fisher_scoring(y, v, X, method: str) -> Tau2Estimate:
    """ML or REML tau² by Fisher scoring (metafor's algorithm, see module docstring)."""
    k, p = X.shape
    w, Xw, A, e = wls(y, v, X, 0.0)
    tr_p0 = trace_p(w, Xw, A)
    scale = (k - p) / tr_p0  # typical sampling variance: the convergence scale
    score, info, loglik = likelihood_terms(y, v, X, 0.0, method)
    if score <= 0:  # the likelihood falls from tau² = 0 on
        return Tau2Estimate(0.0, _tau2_se(info), True, 0)
    tau2 = max(0.0, float(w @ e**2 - (k - p)) / tr_p0)  # DerSimonian-Laird start
    score, info, loglik = likelihood_terms(y, v, X, tau2, method)
    for iteration in range(1, MAX_ITERATIONS + 1):
        if not info > 0:  # lost to rounding: weights spanning ~16 orders of magnitude
            break
        step = 1.0
        while True:
            new = max(0.0, tau2 + step * score / info)
            new_terms = likelihood_terms(y, v, X, new, method)
            if new_terms[2] >= loglik - LOGLIK_ROUNDING * max(1.0, abs(loglik)) or step < MIN_STEP:
                break
            step /= 2
        change = abs(new - tau2)
        tau2, (score, info, loglik) = new, new_terms
        if change <= TAU2_THRESHOLD * (tau2 + scale):
            return Tau2Estimate(tau2, _tau2_se(info), True, iteration)
    return Tau2Estimate(math.nan, math.nan, False, iteration)


def _tau2_se(information: float) -> float:
    """SE of tau² from the Fisher information (times 2) of ``likelihood.likelihood_terms``."""
    return math.sqrt(2 / information) if information > 0 else math.nan


def estimate_tau2(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, *, estimator: str, ci_method: str
) -> Tau2Estimate:
    """Estimate the (residual) between-study variance.

    Parameters
    ----------
    y, v : numpy.ndarray of shape (k,)
        Effects and sampling variances.
    X : numpy.ndarray of shape (k, p)
        Design matrix (a column of ones without moderators); needs k > p.
    estimator : {"REML", "ML", "DL", "HE", "EE"}
    ci_method : {"knha", "wald"}
        Only passed on to PyMARE, which needs it explicitly; tau² does not depend on it.
    """
    if estimator == "EE":
        return Tau2Estimate(0.0, math.nan, True, 0)
    if estimator in ("DL", "HE"):
        return Tau2Estimate(
            float(moment_tau2(y[:, None], v[:, None], X, estimator, ci_method)[0]), math.nan, True, 0
        )
    return _fisher_scoring(y, v, X, estimator)


def _coefficients(y, v, X, tau2: float, ci_method: str) -> tuple[np.ndarray, np.ndarray]:
    """beta of shape (p,) and its covariance (p, p) from PyMARE's WeightedLeastSquares."""
    from pymare.estimators import WeightedLeastSquares  # costs ~1 s: import on use

    model = WeightedLeastSquares(tau2=tau2, small_sample_correction=_PYMARE_CORRECTION[ci_method])
    model.fit(y[:, None], X, v[:, None])
    return model.params_["fe_params"][:, 0], model.params_["inv_cov"][:, :, 0]


def fit_model(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, *, estimator: str, ci_method: str, alpha: float
) -> ModelFit:
    """Fit ``y ~ X`` with the given tau² estimator (metafor ``rma(yi, vi, mods)``).

    Parameters
    ----------
    y, v : numpy.ndarray of shape (k,)
        Effects and sampling variances (validated by ``check_inputs``).
    X : numpy.ndarray of shape (k, p)
        Full-rank design matrix including the intercept; k > p.
    estimator, ci_method, alpha
        See ``ESTIMATORS``, ``CI_METHODS``; CIs have level 1 - alpha.

    Notes
    -----
    ML and REML that do not converge fall back to DL, as metafor's
    ``method = c("REML", "DL")``, and ``note`` says so.
    """
    k, p = X.shape
    if k <= p:
        raise ValueError(f"A model with {p} coefficients needs more than {p} units (got {k}).")
    note = ""
    tau2 = estimate_tau2(y, v, X, estimator=estimator, ci_method=ci_method)
    if not tau2.converged:
        note = f"{estimator} did not converge in {MAX_ITERATIONS} iterations; DL used instead"
        estimator = "DL"
        tau2 = estimate_tau2(y, v, X, estimator="DL", ci_method=ci_method)
    beta, cov = _coefficients(y, v, X, tau2.value, ci_method)
    se = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    if ci_method == "knha":
        df = float(k - p)
        pvalue, crit = 2 * stats.t.sf(np.abs(stat), df), quantile("t", 1 - alpha / 2, df)
    else:
        df = math.inf
        pvalue, crit = 2 * stats.norm.sf(np.abs(stat)), quantile("norm", 1 - alpha / 2)
    return ModelFit(
        estimator=estimator, ci_method=ci_method, k=k, p=p, beta=beta, cov=cov, se=se, stat=stat,
        pvalue=pvalue, ci_low=beta - crit * se, ci_high=beta + crit * se, df=df,
        tau2=tau2.value, tau2_se=tau2.se, weights=1.0 / (v + tau2.value), note=note,
    )  # fmt: skip


def cochran_q(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> tuple[float, int, float]:
    """Cochran's Q (metafor's QE with moderators), its df k - p and p-value."""
    w, _, _, e = wls(y, v, X, 0.0)
    q, df = float(w @ e**2), X.shape[0] - X.shape[1]
    return q, df, float(stats.chi2.sf(q, df))


def q_profile(y: np.ndarray, v: np.ndarray, X: np.ndarray, *, alpha: float) -> tuple[float, float]:
    """Q-profile (1 - alpha) CI of tau², as metafor's ``confint()``.

    Solves Q(tau²) = sum w_i (y_i - x_i beta)², w_i = 1/(v_i + tau²), equal to the
    chi² quantiles 1 - alpha/2 (lower bound) and alpha/2 (upper bound) with k - p
    df, by brentq. A bound is 0 when Q(0) is already below its quantile. The
    interval does not depend on the estimator.
    """

    def q_gen(tau2: float) -> float:
        w, _, _, e = wls(y, v, X, tau2)
        return float(w @ e**2)

    df = X.shape[0] - X.shape[1]
    q0, scale = q_gen(0.0), typical_variance(v, X)
    bounds = []
    for level in (1 - alpha / 2, alpha / 2):
        target = quantile("chi2", level, df)
        if q0 <= target:
            bounds.append(0.0)
            continue
        high = scale
        while q_gen(high) > target:  # Q falls towards 0 as tau² grows
            high *= 10
        bounds.append(
            optimize.brentq(lambda t, q=target: q_gen(t) - q, 0.0, high, xtol=1e-300, rtol=QPROFILE_RTOL)
        )
    return bounds[0], bounds[1]


def _single(y: float, v: float, *, estimator: str, ci_method: str, alpha: float) -> MetaFit:
    """One unit: reported, not pooled (its own value, SE and Wald CI)."""
    se = math.sqrt(v)
    z, crit = y / se, quantile("norm", 1 - alpha / 2)
    heterogeneity = (
        "pi_low pi_high tau2 tau2_se tau2_ci_low tau2_ci_high tau tau_ci_low tau_ci_high "
        "i2 i2_ci_low i2_ci_high h2 h2_ci_low h2_ci_high q q_df q_p"
    ).split()
    return MetaFit(
        estimator=estimator, ci_method=ci_method, k=1, pooled=False, estimate=y, se=se, stat=z,
        df=math.nan, p=float(2 * stats.norm.sf(abs(z))), ci_low=y - crit * se,
        ci_high=y + crit * se, note="one unit: reported, not pooled (Wald CI of that unit)",
        **dict.fromkeys(heterogeneity, math.nan),
    )  # fmt: skip


def fit(y: np.ndarray, v: np.ndarray, *, estimator: str, ci_method: str, alpha: float) -> MetaFit:
    """Pool effects: metafor ``rma(yi, vi, method, test)`` with ``confint`` and ``predict``.

    Parameters
    ----------
    y, v : array_like of shape (k,)
        Effects and their sampling variances (> 0), one per independent unit.
    estimator : {"REML", "ML", "DL", "HE", "EE"}
    ci_method : {"knha", "wald"}
    alpha : float
        1 - confidence level of every interval (CI, PI, Q-profile).

    Returns
    -------
    MetaFit
        ``k == 1`` is reported unpooled. I² and H² are tau²-based,
        I² = 100 tau² / (tau² + s²), H² = (tau² + s²) / s²; for ``EE`` they are
        metafor's Q-based values (100 (Q - df) / Q truncated at 0, Q / df) and the
        prediction interval equals the CI.
    """
    y, v = check_inputs(y, v, estimator=estimator, ci_method=ci_method, alpha=alpha)
    k = y.size
    if k == 1:
        return _single(float(y[0]), float(v[0]), estimator=estimator, ci_method=ci_method, alpha=alpha)
    X = np.ones((k, 1))
    model = fit_model(y, v, X, estimator=estimator, ci_method=ci_method, alpha=alpha)
    q, q_df, q_p = cochran_q(y, v, X)
    t_low, t_high = q_profile(y, v, X, alpha=alpha)
    s2, tau2 = typical_variance(v, X), float(model.tau2)
    if model.estimator == "EE":
        i2 = max(0.0, 100 * (q - q_df) / q) if q > 0 else 0.0
        h2 = q / q_df
    else:
        i2, h2 = 100 * tau2 / (tau2 + s2), (tau2 + s2) / s2
    estimate, se = float(model.beta[0]), float(model.se[0])
    crit = quantile("norm", 1 - alpha / 2) if ci_method == "wald" else quantile("t", 1 - alpha / 2, k - 1)
    half = float(crit * math.sqrt(tau2 + se**2))
    notes = [model.note] if model.note else []
    if np.ptp(y) == 0:
        notes.append("all effects are identical")
    return MetaFit(
        estimator=model.estimator, ci_method=ci_method, k=k, pooled=True,
        estimate=estimate, se=se, stat=float(model.stat[0]), df=model.df,
        p=float(model.pvalue[0]), ci_low=float(model.ci_low[0]), ci_high=float(model.ci_high[0]),
        pi_low=estimate - half, pi_high=estimate + half,
        tau2=tau2, tau2_se=model.tau2_se, tau2_ci_low=t_low, tau2_ci_high=t_high,
        tau=math.sqrt(tau2), tau_ci_low=math.sqrt(t_low), tau_ci_high=math.sqrt(t_high),
        i2=i2, i2_ci_low=100 * t_low / (t_low + s2), i2_ci_high=100 * t_high / (t_high + s2),
        h2=h2, h2_ci_low=(t_low + s2) / s2, h2_ci_high=(t_high + s2) / s2,
        q=q, q_df=float(q_df), q_p=q_p, note="; ".join(notes),
    )  # fmt: skip
