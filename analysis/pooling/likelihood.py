"""The likelihood of the (mixed-effects) meta-regression model at a given tau², as metafor.

``meta`` estimates tau² by Fisher scoring on these terms; ``batch`` has the same
terms for many intercept-only data sets at once. Nothing here builds a k x k matrix.
"""

from __future__ import annotations

import math

import numpy as np


def wls(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float):
    """Weighted least squares with weights 1 / (v + tau2).

    Returns
    -------
    w : numpy.ndarray of shape (k,)
    Xw : numpy.ndarray of shape (k, p)
        ``W X``.
    A : numpy.ndarray of shape (p, p)
        ``(X'WX)^-1`` (a plain reciprocal when p = 1, the common case).
    resid : numpy.ndarray of shape (k,)
    """
    w = 1.0 / (v + tau2)
    Xw = X * w[:, None]
    M = X.T @ Xw
    A = 1.0 / M if M.shape == (1, 1) else np.linalg.inv(M)
    return w, Xw, A, y - X @ (A @ (Xw.T @ y))


def trace_p(w: np.ndarray, Xw: np.ndarray, A: np.ndarray) -> float:
    """tr(P) with P = W - W X A X'W, in O(k p²)."""
    return float(w.sum() - np.trace(A @ (Xw.T @ Xw)))


def likelihood_terms(y, v, X, tau2: float, method: str) -> tuple[float, float, float]:
    """Score, Fisher information (both times 2) and log-likelihood at tau2.

    Parameters
    ----------
    y, v : numpy.ndarray of shape (k,)
    X : numpy.ndarray of shape (k, p)
    method : {"ML", "REML"}

    Returns
    -------
    score, information, loglik : float
        The Fisher scoring step is ``score / information``; the SE of tau² is
        ``sqrt(2 / information)``. With P = W - W X A X'W: REML score
        y'PPy - tr(P), information tr(PP); ML score y'PPy - tr(W), information tr(W²).
    """
    if X.shape[1] == 1:
        return _one_column_terms(y, v, X[:, 0], tau2, method)
    w, Xw, A, e = wls(y, v, X, tau2)
    Py = w * e  # P y = W (y - X beta)
    loglik = -0.5 * (np.log(v + tau2).sum() + Py @ e)
    if method == "ML":
        return float(Py @ Py - w.sum()), float(w @ w), float(loglik)
    B = A @ (Xw.T @ Xw)  # A X'W²X
    C = A @ ((Xw * w[:, None]).T @ Xw)  # A X'W³X
    tr_pp = w @ w - 2 * np.trace(C) + np.sum(B * B.T)
    log_det_a = math.log(A[0, 0]) if A.shape == (1, 1) else np.linalg.slogdet(A)[1]
    loglik += 0.5 * log_det_a  # - 0.5 log|X'WX|
    return float(Py @ Py - (w.sum() - np.trace(B))), float(tr_pp), float(loglik)


def _one_column_terms(y, v, x, tau2: float, method: str) -> tuple[float, float, float]:
    """``likelihood_terms`` with one coefficient (the intercept-only model): the same
    formulas with the p x p matrices as numbers, in half the numpy calls."""
    vt = v + tau2
    w = 1.0 / vt
    xw = x * w
    a = 1.0 / float(xw @ x)
    e = y - x * (a * float(xw @ y))
    py = w * e
    loglik = -0.5 * (float(np.log(vt).sum()) + float(py @ e))
    ww = float(w @ w)
    if method == "ML":
        return float(py @ py) - float(w.sum()), ww, loglik
    b = a * float(xw @ xw)  # A X'W²X
    tr_pp = ww - 2 * a * float((xw * w) @ xw) + b * b
    return float(py @ py) - (float(w.sum()) - b), tr_pp, loglik + 0.5 * math.log(a)


def typical_variance(v: np.ndarray, X: np.ndarray) -> float:
    """metafor's "typical" sampling variance s² = (k - p) / tr(P) at tau² = 0.

    For ``X`` a column of ones this is (k-1) Σw / ((Σw)² - Σw²), w = 1/v.
    """
    w, Xw, A, _ = wls(np.zeros(len(v)), v, X, 0.0)
    return (len(v) - X.shape[1]) / trace_p(w, Xw, A)
