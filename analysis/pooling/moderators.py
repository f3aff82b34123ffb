"""Meta-regression and subgroup analysis, as metafor's ``rma(yi, vi, mods = ...)``.

The mixed-effects model uses the same tau² estimators as ``meta.fit_model``
(REML, ML, DL, HE: metafor's residual-heterogeneity estimators; EE: none). The
omnibus test of the moderators is QM (chi², df p - 1) under ``wald`` and
F = QM / (p - 1) with (p - 1, k - p) df under ``knha``, with QM built from the
(Knapp-Hartung scaled) covariance of the coefficients, as metafor. A subgroup
analysis is the same model with dummies for all but the first level (levels
sorted), whose omnibus test is the test for subgroup differences, plus a
separate pooled estimate within each subgroup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.pooling.meta import MetaFit, check_inputs, cochran_q, fit, fit_model, typical_variance


@dataclass(frozen=True, eq=False)
class MetaRegression:
    """A fitted meta-regression.

    Attributes
    ----------
    names : tuple of str, length p
        "intrcpt" then the moderator names.
    estimate, se, stat, p, ci_low, ci_high : numpy.ndarray of shape (p,)
        Coefficients with their SE, z or t, p-value and confidence limits.
    tau2, i2 : float
        Residual between-study variance and residual I² (percent, tau²-based).
    qe, qe_df, qe_p : float
        Test of residual heterogeneity.
    qm, qm_df1, qm_df2, qm_p : float
        Omnibus test of the moderators: QM with ``qm_df2 = inf`` (chi²) under
        ``wald``, F(qm_df1, qm_df2) under ``knha``.
    test : str
        "QM" (chi²) or "F".
    r2 : float
        Pseudo R² in percent, max(0, (tau²_RE - tau²_ME) / tau²_RE); NaN for EE
        or when tau²_RE = 0.
    """

    estimator: str
    ci_method: str
    k: int
    names: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: float
    i2: float
    qe: float
    qe_df: float
    qe_p: float
    qm: float
    qm_df1: float
    qm_df2: float
    qm_p: float
    test: str
    r2: float
    note: str


def meta_regression(
    y: np.ndarray,
    v: np.ndarray,
    mods: np.ndarray,
    names: list[str],
    *,
    estimator: str,
    ci_method: str,
    alpha: float,
) -> MetaRegression:
    """Mixed-effects meta-regression of ``y`` on an intercept and ``mods``.

    Parameters
    ----------
    y, v : array_like of shape (k,)
        Effects and sampling variances.
    mods : array_like of shape (k, m)
        Moderators (without the intercept column, which is added).
    names : list of str, length m
        Moderator names.
    estimator, ci_method, alpha
        As ``meta.fit``.

    Raises
    ------
    ValueError
        If k <= m + 1 or the design is not of full rank.
    """
    y, v = check_inputs(y, v, estimator=estimator, ci_method=ci_method, alpha=alpha)
    X = np.column_stack([np.ones_like(y), np.asarray(mods, dtype=float).reshape(len(y), -1)])
    k, p = X.shape
    if k <= p or np.linalg.matrix_rank(X) < p:
        raise ValueError(
            f"{p - 1} moderator column(s) cannot be estimated from {k} units "
            "(too few units, or moderators that do not vary independently)."
        )
    model = fit_model(y, v, X, estimator=estimator, ci_method=ci_method, alpha=alpha)
    qe, qe_df, qe_p = cochran_q(y, v, X)
    b = model.beta[1:]
    try:
        qm = float(b @ np.linalg.solve(model.cov[1:, 1:], b))
    except np.linalg.LinAlgError:  # Knapp-Hartung covariance 0: the model fits exactly
        qm = math.nan
    if ci_method == "knha":
        test, qm, df2 = "F", qm / (p - 1), float(k - p)
        qm_p = float(stats.f.sf(qm, p - 1, df2))
    else:
        test, df2 = "QM", math.inf
        qm_p = float(stats.chi2.sf(qm, p - 1))
    r2 = math.nan
    if model.estimator != "EE":
        tau2_re = fit_model(y, v, X[:, :1], estimator=model.estimator, ci_method=ci_method, alpha=alpha).tau2
        if tau2_re > 0:
            r2 = max(0.0, 100 * (tau2_re - model.tau2) / tau2_re)
    s2 = typical_variance(v, X)
    return MetaRegression(
        estimator=model.estimator, ci_method=ci_method, k=k, names=("intrcpt", *names),
        estimate=model.beta, se=model.se, stat=model.stat, p=model.pvalue,
        ci_low=model.ci_low, ci_high=model.ci_high,
        tau2=model.tau2, i2=100 * model.tau2 / (model.tau2 + s2),
        qe=qe, qe_df=float(qe_df), qe_p=qe_p, qm=qm, qm_df1=float(p - 1), qm_df2=df2,
        qm_p=qm_p, test=test, r2=r2, note=model.note,
    )  # fmt: skip


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Pooled estimate per subgroup and the test for subgroup differences.

    Attributes
    ----------
    levels : tuple of str
        Subgroups, sorted.
    fits : tuple of MetaFit
        One per level (a single-unit subgroup is reported, not pooled).
    test : MetaRegression or None
        The model with level dummies; its QM / F is the test for subgroup
        differences. None when there are fewer than 2 subgroups, fewer than 3
        units, or no residual df (k <= number of subgroups); ``note`` says why.
    """

    levels: tuple[str, ...]
    fits: tuple[MetaFit, ...]
    test: MetaRegression | None
    note: str


def subgroup_analysis(
    y: np.ndarray, v: np.ndarray, groups: list[str], *, estimator: str, ci_method: str, alpha: float
) -> SubgroupAnalysis:
    """Pool within each subgroup and test whether the subgroups differ.

    Parameters
    ----------
    y, v : array_like of shape (k,)
        Effects and sampling variances.
    groups : sequence of str, length k
        Subgroup of each unit.
    estimator, ci_method, alpha
        As ``meta.fit``.
    """
    y, v = check_inputs(y, v, estimator=estimator, ci_method=ci_method, alpha=alpha)
    groups = np.asarray(groups, dtype=str)
    levels = tuple(sorted(set(groups)))
    fits = tuple(
        fit(
            y[groups == level],
            v[groups == level],
            estimator=estimator,
            ci_method=ci_method,
            alpha=alpha,
        )
        for level in levels
    )
    k, note, test = len(y), "", None
    if len(levels) < 2:
        note = "one subgroup only: no test for subgroup differences"
    elif k < 3 or k <= len(levels):
        note = f"{k} units in {len(levels)} subgroups: too few for a test of subgroup differences"
    else:
        dummies = np.column_stack([groups == level for level in levels[1:]]).astype(float)
        test = meta_regression(
            y, v, dummies, list(levels[1:]), estimator=estimator, ci_method=ci_method, alpha=alpha
        )
    return SubgroupAnalysis(levels, fits, test, note)


# Columns of sensitivity/metaregression.csv (contract, "Dependent effects and moderators").
METAREGRESSION_COLUMNS = ["analysis_id", "moderator", "kind", "term", "estimate", "se", "stat", "p",
                          "ci_low", "ci_high", "qm", "qm_df", "qm_df2", "qm_p", "r2", "tau2", "k"]  # fmt: skip


def label(value) -> str:
    """A categorical moderator value as its level name: booleans are "false" / "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def moderator_kind(values: list) -> str | None:
    """ "numeric", "categorical", or None when some unit lacks it, kinds mix or it does not vary."""
    if any(value is None for value in values):
        return None
    numeric = [isinstance(value, (int, float)) and not isinstance(value, bool) for value in values]
    if all(numeric):
        return "numeric" if len(set(values)) > 1 else None
    if any(numeric):
        return None
    return "categorical" if len({label(value) for value in values}) > 1 else None


def metaregression_rows(
    analysis_id: str, y, v, name: str, values: list, *, estimator: str, ci_method: str, alpha: float
) -> list[dict]:
    """Rows of metaregression.csv for one analysis and one unit-level moderator.

    ``rma(yi, vi, mods = ~ x)`` for a number, ``~ factor(x)`` for labels (reference
    level the first in ``sorted()`` order, terms ``<name>:<level>``). No rows when
    the moderator is not usable (``moderator_kind`` None) or the model has no
    residual df (k <= number of coefficients), where metafor stops with an error.

    Parameters
    ----------
    y, v : array_like of shape (k,)
        Aggregated unit effects and variances.
    values : list of length k
        The moderator's value for each unit (None: unknown).
    """
    kind = moderator_kind(values)
    if kind is None:
        return []
    if kind == "numeric":
        mods, terms = np.asarray(values, dtype=float)[:, None], [name]
    else:
        labels = [label(value) for value in values]
        levels = sorted(set(labels))
        mods = np.column_stack([[item == level for item in labels] for level in levels[1:]]).astype(float)
        terms = [f"{name}:{level}" for level in levels[1:]]
    if len(y) <= mods.shape[1] + 1:
        return []
    try:
        fit = meta_regression(y, v, mods, terms, estimator=estimator, ci_method=ci_method, alpha=alpha)
    except ValueError:  # levels that coincide with others: not estimable, as in metafor
        return []
    shared = {"qm": fit.qm, "qm_df": fit.qm_df1, "qm_df2": fit.qm_df2 if fit.qm_df2 < math.inf else math.nan,
              "qm_p": fit.qm_p, "r2": fit.r2, "tau2": fit.tau2, "k": fit.k}  # fmt: skip
    return [
        {"analysis_id": analysis_id, "moderator": name, "kind": kind, "term": term,
         "estimate": fit.estimate[i], "se": fit.se[i], "stat": fit.stat[i], "p": fit.p[i],
         "ci_low": fit.ci_low[i], "ci_high": fit.ci_high[i], **shared}
        for i, term in enumerate(fit.names)
    ]  # fmt: skip
