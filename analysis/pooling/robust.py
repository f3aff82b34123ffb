"""Cluster-robust (CR2) inference for a multilevel or CHE fit, as clubSandwich.

metafor's ``robust(fit, cluster = unit, clubSandwich = TRUE)`` with the fitted
marginal covariance Σ as working model and W = Σ⁻¹ (Pustejovsky & Tipton
2018). For unit j, with Σ_j = R_j'R_j, M = (X'WX)⁻¹ and e_j the residuals:

    A_j = R_j' (R_j (Σ_j - X_j M X_j') R_j')^(-1/2) R_j,
    V_CR2 = M [Σ_j X_j' W_j A_j e_j e_j' A_j W_j X_j] M.

Satterthwaite df for coefficient c: with g_j = c' M X_j' W_j A_j (1 x m_j), h_j = g_j X_j
and P_jk = δ_jk g_j Σ_j g_j' - h_j M h_k', df = (Σ_j P_jj)² / Σ_jk P_jk²; the
double sum is taken in O(k p²) as Σ_j a_j² - 2 Σ_j a_j h_j M h_j' + tr((M H'H)²),
a_j = g_j Σ_j g_j', H the k x p matrix of the h_j.

The per-unit matrices are m_j x m_j (the inverse square root has no
low-rank form), done in batches of units of equal size: the cost is
O(Σ m_j³), linear in n for units of bounded size (2-13 effects in the seed corpus).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.pooling.multilevel import MultilevelFit

# Eigenvalues of B_j below this fraction of its largest are treated as 0 in
# B_j^(-1/2) (a unit whose residuals are fitted exactly), as a generalised
# inverse: rounding leaves such eigenvalues at ~1e-16 of the largest.
EIGEN_FLOOR = 1e-12


@dataclass(frozen=True)
class RobustFit:
    """CR2 inference for each coefficient.

    Attributes
    ----------
    beta, se, stat, df, p, ci_low, ci_high : numpy.ndarray of shape (p,)
        The model's coefficients, CR2 SEs, t statistics, Satterthwaite df, two-sided
        p-values from t(df) and (1 - alpha) t-based confidence limits.
    cov : numpy.ndarray of shape (p, p)
        V_CR2.
    """

    beta: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    df: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    cov: np.ndarray


def _inverse_sqrt(B: np.ndarray) -> np.ndarray:
    """Symmetric B^(-1/2) of a batch (g, m, m) of PSD matrices (generalised at 0)."""
    values, vectors = np.linalg.eigh(B)
    floor = EIGEN_FLOOR * np.maximum(values.max(axis=1, keepdims=True), 1e-300)
    root = np.where(values > floor, 1 / np.sqrt(np.where(values > floor, values, 1.0)), 0.0)
    return (vectors * root[:, None, :]) @ np.swapaxes(vectors, 1, 2)


def _unit_terms(fit: MultilevelFit, members: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For units of one size m (rows ``members``, shape (g, m)): Σ_j, X_j'W_jA_j and X_j.

    Returns arrays of shape (g, m, m), (g, p, m) and (g, m, p).
    """
    b = fit.blocks
    v, Xj = b.v[members], b.X[members]  # (g, m), (g, m, p)
    sd = np.sqrt(v)
    m = members.shape[1]
    Sigma = b.rho * sd[:, :, None] * sd[:, None, :] + fit.sigma2_unit  # (g, m, m)
    Sigma[:, np.arange(m), np.arange(m)] = v + fit.sigma2_unit + fit.sigma2_effect
    lower = np.linalg.cholesky(Sigma)  # Σ = L L', so R = L'
    Wj = np.linalg.inv(Sigma)
    resid_cov = Sigma - Xj @ fit.cov @ np.swapaxes(Xj, 1, 2)
    Lt = np.swapaxes(lower, 1, 2)
    A = lower @ _inverse_sqrt(Lt @ resid_cov @ lower) @ Lt
    return Sigma, np.swapaxes(Xj, 1, 2) @ Wj @ A, Xj


def cr2(fit: MultilevelFit, *, alpha: float = 0.05) -> RobustFit:
    """CR2 standard errors with Satterthwaite df, as clubSandwich's ``coef_test``.

    Parameters
    ----------
    fit : MultilevelFit
        A converged ``multilevel.fit_multilevel`` result.
    alpha : float
        1 - confidence level.
    """
    b, M = fit.blocks, fit.cov
    p = b.X.shape[1]
    resid = b.y - b.X @ fit.beta
    counts = b.counts
    meat = np.zeros((p, p))
    G_all, Sigma_all, X_all = [], [], []  # per size: (g, p, m) M X'WA, Σ, X
    for m in np.unique(counts):
        starts = b.starts[counts == m]
        members = starts[:, None] + np.arange(m)[None, :]  # (g, m)
        Sigma, XWA, Xj = _unit_terms(fit, members)
        u = XWA @ resid[members][:, :, None]  # X_j'W_jA_j e_j: (g, p, 1)
        meat += np.einsum("gpi,gqi->pq", u, u)
        G_all.append(M @ XWA)
        Sigma_all.append(Sigma)
        X_all.append(Xj)
    cov = M @ meat @ M
    se = np.sqrt(np.diag(cov))
    df = np.array([_satterthwaite(c, G_all, Sigma_all, X_all, M) for c in range(p)])
    stat = fit.beta / se
    crit = stats.t.ppf(1 - alpha / 2, df)
    return RobustFit(
        beta=fit.beta, se=se, stat=stat, df=df, p=2 * stats.t.sf(np.abs(stat), df),
        ci_low=fit.beta - crit * se, ci_high=fit.beta + crit * se, cov=cov,
    )  # fmt: skip


def _satterthwaite(c: int, G_all, Sigma_all, X_all, M: np.ndarray) -> float:
    """Satterthwaite df of coefficient ``c`` (module docstring), in O(Σ m_j² + k p²)."""
    a, H = [], []
    for G, Sigma, Xj in zip(G_all, Sigma_all, X_all, strict=True):
        g = G[:, c, :]  # (g, m)
        a.append(np.einsum("gi,gij,gj->g", g, Sigma, g))
        H.append(np.einsum("gi,gip->gp", g, Xj))
    a, H = np.concatenate(a), np.concatenate(H)  # (k,), (k, p)
    hmh = np.einsum("kp,pq,kq->k", H, M, H)
    MHH = M @ (H.T @ H)
    total_sq = float(a @ a - 2 * a @ hmh + np.trace(MHH @ MHH))
    numerator = float(a.sum() - hmh.sum()) ** 2
    return numerator / total_sq if total_sq > 0 else math.nan
