"""The O(n) multilevel/CHE REML and the CR2 variance against dense n x n algebra.

The dense versions below write the README's formulas literally (Σ as an n x n
matrix, a generic bounded optimiser for REML, scipy's matrix square root for
CR2), so they share no code with ``analysis.pooling.multilevel`` / ``robust``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg, optimize

from analysis.pooling import multilevel, robust

# The dense optimiser (L-BFGS-B, gradient tolerance 1e-12) reaches the REML
# optimum to about 1e-7 relative; the engine iterates to 1e-10.
DENSE_RTOL = 1e-5
# Same formula, two implementations: agreement to rounding.
ROUNDING_RTOL = 1e-8


def simulate(seed: int, k: int, rho: float, sigma2=(0.05, 0.03), p: int = 1):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=k)
    unit = np.repeat(np.arange(k), sizes)
    n = unit.size
    v = rng.uniform(0.01, 0.3, n)
    err = np.sqrt(v) * (np.sqrt(rho) * rng.normal(size=k)[unit] + np.sqrt(1 - rho) * rng.normal(size=n))
    y = 0.2 + rng.normal(0, np.sqrt(sigma2[0]), k)[unit] + rng.normal(0, np.sqrt(sigma2[1]), n) + err
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))]) if p > 1 else None
    order = rng.permutation(n)  # units interleaved: the engine must sort them
    return y[order], v[order], unit[order], None if X is None else X[order]


def dense_sigma(v, unit, rho, s1, s2):
    same = unit[:, None] == unit[None, :]
    sd = np.sqrt(v)
    V = np.where(same, rho * np.outer(sd, sd), 0.0)
    np.fill_diagonal(V, v)
    return V + s1 * same + s2 * np.eye(len(v))


def dense_reml(y, v, unit, rho, X):
    X = np.ones((len(y), 1)) if X is None else X

    def negative(theta):
        S = dense_sigma(v, unit, rho, *theta)
        W = np.linalg.inv(S)
        XWX = X.T @ W @ X
        beta = np.linalg.solve(XWX, X.T @ W @ y)
        e = y - X @ beta
        return 0.5 * (np.linalg.slogdet(S)[1] + np.linalg.slogdet(XWX)[1] + e @ W @ e)

    found = optimize.minimize(negative, [0.02, 0.02], method="L-BFGS-B", bounds=[(0, None)] * 2,
                              options={"ftol": 1e-15, "gtol": 1e-12})  # fmt: skip
    S = dense_sigma(v, unit, rho, *found.x)
    W = np.linalg.inv(S)
    cov = np.linalg.inv(X.T @ W @ X)
    return found.x, cov @ X.T @ W @ y, cov


@pytest.mark.parametrize("rho", [0.0, 0.6])
@pytest.mark.parametrize("p", [1, 2])
def test_reml_matches_dense(rho, p):
    y, v, unit, X = simulate(3, 30, rho, p=p)
    fit = multilevel.fit_multilevel(y, v, unit, rho=rho, X=X)
    theta, beta, cov = dense_reml(y, v, unit, rho, X)
    assert fit.converged
    np.testing.assert_allclose([fit.sigma2_unit, fit.sigma2_effect], theta, rtol=DENSE_RTOL, atol=1e-7)
    np.testing.assert_allclose(fit.beta, beta, rtol=DENSE_RTOL)
    np.testing.assert_allclose(fit.cov, cov, rtol=DENSE_RTOL)


def test_component_on_the_boundary_is_zero():
    """No between-unit variance in the data and an assumed rho larger than the truth: σ²_unit = 0."""
    y, v, unit, _ = simulate(5, 40, 0.0, sigma2=(0.0, 0.02))
    fit = multilevel.fit_multilevel(y, v, unit, rho=0.8)
    theta, beta, _ = dense_reml(y, v, unit, 0.8, None)
    assert fit.converged and fit.sigma2_unit == 0.0 and theta[0] < 1e-6
    np.testing.assert_allclose(fit.sigma2_effect, theta[1], rtol=DENSE_RTOL)
    np.testing.assert_allclose(fit.beta, beta, rtol=DENSE_RTOL)


def test_row_order_does_not_matter():
    y, v, unit, _ = simulate(7, 25, 0.6)
    first = multilevel.fit_multilevel(y, v, unit, rho=0.6)
    order = np.argsort(-y)
    second = multilevel.fit_multilevel(y[order], v[order], unit[order], rho=0.6)
    np.testing.assert_allclose(first.beta, second.beta, rtol=1e-10)
    np.testing.assert_allclose(first.sigma2_unit, second.sigma2_unit, rtol=1e-8, atol=1e-12)


def dense_cr2(fit):
    """README formula for CR2 and Satterthwaite df with every matrix dense."""
    b = fit.blocks
    S = dense_sigma(b.v, b.index, b.rho, fit.sigma2_unit, fit.sigma2_effect)
    W, M, X = np.linalg.inv(S), fit.cov, b.X
    e = b.y - X @ fit.beta
    units = [np.flatnonzero(b.index == j) for j in range(b.k)]
    meat, g_rows = 0.0, []
    for rows in units:
        Sj, Xj, Wj = S[np.ix_(rows, rows)], X[rows], W[np.ix_(rows, rows)]
        R = np.linalg.cholesky(Sj).T  # Σ_j = R'R
        B = R @ (Sj - Xj @ M @ Xj.T) @ R.T
        A = R.T @ np.real(linalg.inv(linalg.sqrtm(B))) @ R
        u = Xj.T @ Wj @ A @ e[rows]
        meat = meat + np.outer(u, u)
        g_rows.append(M @ Xj.T @ Wj @ A)
    V = M @ meat @ M
    dfs = []
    for c in range(X.shape[1]):
        P = np.zeros((b.k, b.k))
        for j, rj in enumerate(units):
            gj = g_rows[j][c]
            for m, rm in enumerate(units):
                gm = g_rows[m][c]
                P[j, m] = (gj @ S[np.ix_(rj, rj)] @ gj if j == m else 0.0) - (gj @ X[rj]) @ M @ (X[rm].T @ gm)
        dfs.append(np.trace(P) ** 2 / np.sum(P**2))
    return np.sqrt(np.diag(V)), np.array(dfs)


@pytest.mark.parametrize("p", [1, 2])
def test_cr2_matches_dense(p):
    y, v, unit, X = simulate(11, 15, 0.6, p=p)
    fit = multilevel.fit_multilevel(y, v, unit, rho=0.6, X=X)
    found = robust.cr2(fit)
    se, df = dense_cr2(fit)
    np.testing.assert_allclose(found.se, se, rtol=ROUNDING_RTOL)
    np.testing.assert_allclose(found.df, df, rtol=ROUNDING_RTOL)


def test_rho_out_of_range_is_refused():
    with pytest.raises(ValueError, match="rho"):
        multilevel.fit_multilevel([0.1, 0.2], [0.1, 0.1], [1, 1], rho=1.0)
