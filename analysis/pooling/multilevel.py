"""Three-level and CHE models, as metafor's ``rma.mv(yi, V, random = ~ 1 | unit/effect)``.

Several effects per unit (independent sample). The marginal covariance of the
effects of unit j (m_j effects) is

    Σ_j = V_j + σ²_unit J + σ²_effect I,

with J the m_j x m_j matrix of ones and V_j the sampling covariance:
``diag(v)`` for the multilevel model, metafor's ``vcalc(vi, cluster, obs, rho)``
(v on the diagonal, rho sqrt(v_i v_k) off it) for the correlated and
hierarchical effects (CHE) model. Both are "diagonal plus rank 2":

    Σ_j = diag(d) + U C U',   d = (1 - rho) v + σ²_effect,
    U = [1, sqrt(v)] (m_j x 2),  C = diag(σ²_unit, rho),

(rho = 0 gives the multilevel model; a unit with one effect keeps its own v).
So Σ_j⁻¹ (Woodbury), log|Σ_j| (determinant lemma) and every trace the REML
score and Fisher information need are sums over effects of 2 x 2 algebra:
one iteration costs O(n p²) for n effects and p coefficients, whatever the
unit sizes, and no n x n (or m_j x m_j) matrix is formed.

REML is maximised by Fisher scoring on (σ²_unit, σ²_effect) >= 0, from half the
DerSimonian-Laird tau² of the effects each, halving a step until the restricted
log-likelihood does not fall; a component whose optimum is on the boundary is
held at 0 (metafor, which optimises log σ², prints a tiny positive number
there instead). The coefficients are GLS at the optimum, with a z test
(``test = "z"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

# Fisher scoring stops when no component moves by more than this fraction of
# (component + the typical sampling variance), as meta.TAU2_THRESHOLD.
THRESHOLD = 1e-10
# Iteration cap; each iteration is O(n). Typical fits take 5-40 iterations.
MAX_ITERATIONS = 2_000
# Step halving gives up below this step (rounding of the components).
MIN_STEP = 2.0**-40


@dataclass(frozen=True)
class Blocks:
    """Effects sorted by unit, with the per-unit block structure.

    Attributes
    ----------
    y, v : numpy.ndarray of shape (n,)
        Effects and sampling variances, sorted by unit (stable).
    X : numpy.ndarray of shape (n, p)
        Design matrix (a column of ones for the pooled effect).
    starts : numpy.ndarray of shape (k,)
        Index of each unit's first effect.
    index : numpy.ndarray of shape (n,)
        Unit number (0 .. k-1) of each effect.
    rho : float
        Within-unit sampling correlation (0: the multilevel model).
    """

    y: np.ndarray
    v: np.ndarray
    X: np.ndarray
    starts: np.ndarray
    index: np.ndarray
    rho: float

    @property
    def k(self) -> int:
        return len(self.starts)

    @property
    def counts(self) -> np.ndarray:
        """Effects per unit, shape (k,)."""
        return np.diff(np.append(self.starts, len(self.y)))

    @property
    def U(self) -> np.ndarray:
        """Low-rank factor [1, sqrt(v)], shape (n, 2)."""
        return np.column_stack([np.ones_like(self.v), np.sqrt(self.v)])


def make_blocks(y, v, unit, *, rho: float, X: np.ndarray | None = None) -> Blocks:
    """Sort effects by unit and record the blocks.

    Parameters
    ----------
    y, v : array_like of shape (n,)
        Effects and sampling variances (finite, v > 0).
    unit : array_like of shape (n,)
        Unit label of each effect (sortable).
    rho : float
        Correlation of the sampling errors of two effects of one unit, 0 <= rho < 1.
    X : array_like of shape (n, p), optional
        Design matrix; default a column of ones.
    """
    y, v, unit = np.asarray(y, dtype=float), np.asarray(v, dtype=float), np.asarray(unit)
    if not 0 <= rho < 1:
        raise ValueError(f"The assumed within-sample correlation rho must be in [0, 1), not {rho}.")
    if y.size == 0 or y.shape != v.shape or unit.shape != y.shape:
        raise ValueError("Need at least one effect, with one variance and one unit per effect.")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("Every effect must be a finite number with a finite, positive variance.")
    X = np.ones((y.size, 1)) if X is None else np.asarray(X, dtype=float).reshape(y.size, -1)
    order = np.argsort(unit, kind="stable")
    _, starts, index = np.unique(unit[order], return_index=True, return_inverse=True)
    return Blocks(y[order], v[order], X[order], starts, index.ravel(), float(rho))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a'b for a (n, p) and b (n, q), or a'b for vectors, without BLAS.

    Reductions over n are memory-bound; numpy's einsum loop does them at full
    speed, while BLAS, on a loaded machine, can lose more time starting and
    spinning threads than the sum takes (measured: 30 ms against 0.01 ms for
    n = 27,000 on a shared 2-core host).
    """
    spec = {(1, 1): "n,n->", (1, 2): "n,nq->q", (2, 1): "np,n->p", (2, 2): "np,nq->pq"}
    return np.einsum(spec[a.ndim, b.ndim], a, b)


class _Structure:
    """Σ⁻¹ products and log|Σ| at given components, from the Woodbury identity.

    With F = D⁻¹U and L_j = (I + C S_j)⁻¹ C (2 x 2, S_j = U_j'D_j⁻¹U_j):
    Σ_j⁻¹ = D_j⁻¹ - F_j L_j F_j' and |Σ_j| = |D_j| |I + C S_j|. The 2 x 2 algebra is
    written out (inverse, determinant), one array of shape (k,) per entry.
    """

    def __init__(self, blocks: Blocks, sigma2_unit: float, sigma2_effect: float):
        self.b = blocks
        self.d = (1 - blocks.rho) * blocks.v + sigma2_effect  # (n,)
        self.sd = np.sqrt(blocks.v)  # second column of U
        s11, s12, s22 = self.moments(1)  # S_j = U_j'D_j⁻¹U_j
        c1, c2 = sigma2_unit, blocks.rho
        det = (1 + c1 * s11) * (1 + c2 * s22) - c1 * c2 * s12**2  # |I + C S_j|, > 0
        # L_j = (I + C S_j)⁻¹ C, symmetric.
        self.L = np.stack([c1 * (1 + c2 * s22), -c1 * c2 * s12, c2 * (1 + c1 * s11)]) / det  # (3, k)
        self.logdet = float(np.log(self.d).sum() + np.log(det).sum())

    def _sum(self, a: np.ndarray) -> np.ndarray:
        """Per-unit sums of the rows of ``a`` (n, ...) -> (k, ...)."""
        return np.add.reduceat(a, self.b.starts, axis=0)

    def moments(self, power: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entries 11, 12, 22 of U_j'D_j^(-power)U_j, each of shape (k,)."""
        w = self.d**-power
        return self._sum(w), self._sum(w * self.sd), self._sum(w * self.b.v)

    def _times_l(self, t1: np.ndarray, t2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        L11, L12, L22 = (x.reshape(x.shape + (1,) * (t1.ndim - 1)) for x in self.L)
        return L11 * t1 + L12 * t2, L12 * t1 + L22 * t2

    def solve(self, x: np.ndarray) -> np.ndarray:
        """Σ⁻¹ x for x of shape (n,) or (n, q)."""
        scale = (1 / self.d).reshape((-1,) + (1,) * (x.ndim - 1))
        sd = self.sd.reshape(scale.shape)
        xd = x * scale
        lt1, lt2 = self._times_l(self._sum(xd), self._sum(xd * sd))  # L_j F_j' x_j
        i = self.b.index
        return xd - scale * (lt1[i] + sd * lt2[i])

    def _trace_l(self, m11, m12, m22) -> np.ndarray:
        """tr(L_j N_j) for symmetric N_j with entries m11, m12, m22: shape (k,)."""
        L11, L12, L22 = self.L
        return L11 * m11 + 2 * L12 * m12 + L22 * m22

    def trace_inverse(self) -> float:
        """Σ_j tr(Σ_j⁻¹) = Σ 1/d - tr(L F'F), F'F = U'D⁻²U."""
        return float((1 / self.d).sum() - self._trace_l(*self.moments(2)).sum())

    def trace_inverse_squared(self) -> float:
        """Σ_j tr(Σ_j⁻²) = Σ d⁻² - 2 tr(L S3) + tr(L S2 L S2), S2 = U'D⁻²U, S3 = U'D⁻³U."""
        L11, L12, L22 = self.L
        n11, n12, n22 = self.moments(2)
        # LS2 = L S2 (not symmetric): entries a, b (row 1), c, e (row 2).
        a, b = L11 * n11 + L12 * n12, L11 * n12 + L12 * n22
        c, e = L12 * n11 + L22 * n12, L12 * n12 + L22 * n22
        tr_square = a * a + 2 * b * c + e * e
        return float((self.d**-2).sum() - 2 * self._trace_l(*self.moments(3)).sum() + tr_square.sum())


@dataclass(frozen=True)
class _Terms:
    """REML log-likelihood, score (2,), Fisher information (2, 2) and the GLS fit."""

    loglik: float
    score: np.ndarray
    information: np.ndarray
    beta: np.ndarray
    M: np.ndarray  # (X'Σ⁻¹X)⁻¹, (p, p)


def _reml_terms(blocks: Blocks, theta: np.ndarray) -> _Terms:
    """Everything one Fisher scoring step needs, in O(n p²).

    With P = W - G M G', W = Σ⁻¹, G = W X, M = (X'WX)⁻¹ and the derivatives
    Σ_1 = blockdiag(J) (σ²_unit), Σ_2 = I (σ²_effect): score_a = (r'Σ_a r - tr(P Σ_a)) / 2
    with r = P y, information_ab = tr(P Σ_a P Σ_b) / 2, where
    tr(P A P B) = tr(WAWB) - 2 tr(M G'AWBG) + tr(M G'AG M G'BG).
    """
    s = _Structure(blocks, float(theta[0]), float(theta[1]))
    X, y = blocks.X, blocks.y
    G = s.solve(X)  # (n, p)
    M = np.linalg.inv(_cross(X, G))
    beta = M @ _cross(G, y)
    e = y - np.einsum("np,p->n", X, beta)
    r = s.solve(e)  # P y
    w1 = s.solve(np.ones_like(y))  # W 1
    q = s._sum(w1)  # 1'W_j 1: (k,)
    a = s._sum(G)  # 1'G_j: (k, p)
    WG = s.solve(G)  # W G: (n, p)
    b = s._sum(WG)  # 1'W_j G_j: (k, p)
    rsum = s._sum(r)  # 1'r_j: (k,)
    AA, GG = _cross(a, a), _cross(G, G)  # G'JG, G'G
    trace_pj = q.sum() - np.trace(M @ AA)
    trace_p = s.trace_inverse() - np.trace(M @ GG)
    score = 0.5 * np.array([_cross(rsum, rsum) - trace_pj, _cross(r, r) - trace_p])
    MAA, MGG = M @ AA, M @ GG
    i11 = _cross(q, q) - 2 * np.trace(M @ _cross(a, q[:, None] * a)) + np.trace(MAA @ MAA)
    i12 = _cross(w1, w1) - 2 * np.trace(M @ _cross(a, b)) + np.trace(MAA @ MGG)
    i22 = s.trace_inverse_squared() - 2 * np.trace(M @ _cross(G, WG)) + np.trace(MGG @ MGG)
    information = 0.5 * np.array([[i11, i12], [i12, i22]])
    loglik = -0.5 * (s.logdet + np.linalg.slogdet(_cross(X, G))[1] + _cross(e, r))
    return _Terms(float(loglik), score, information, beta, M)


def _start(blocks: Blocks) -> np.ndarray:
    """Half the DerSimonian-Laird tau² of the effects (dependence ignored) to each component."""
    w = 1 / blocks.v
    X = blocks.X
    Xw = X * w[:, None]
    A = np.linalg.inv(_cross(X, Xw))
    e = blocks.y - np.einsum("np,p->n", X, A @ _cross(Xw, blocks.y))
    n, p = X.shape
    tr_p = w.sum() - np.trace(A @ _cross(Xw, Xw))
    tau2 = max(0.0, float(_cross(w, e**2) - (n - p)) / tr_p) if n > p else 0.0
    return np.array([tau2 / 2, tau2 / 2])


def _step(terms: _Terms, theta: np.ndarray) -> np.ndarray:
    """Fisher scoring direction, holding at 0 a component whose step would leave [0, inf)."""
    free = np.ones(2, dtype=bool)
    for _ in range(2):
        direction = np.zeros(2)
        sub = np.ix_(free, free)
        try:
            direction[free] = np.linalg.solve(terms.information[sub], terms.score[free])
        except np.linalg.LinAlgError:
            direction[free] = terms.score[free] / np.maximum(np.diag(terms.information)[free], 1e-300)
        blocked = free & (theta <= 0) & (direction < 0)
        if not blocked.any():
            return direction
        free &= ~blocked
    return np.zeros(2)


def reml(blocks: Blocks) -> tuple[np.ndarray, _Terms, bool, int]:
    """REML estimates of (σ²_unit, σ²_effect) by Fisher scoring.

    Returns
    -------
    theta : numpy.ndarray of shape (2,)
    terms : _Terms at theta
    converged : bool
    iterations : int
    """
    scale = len(blocks.v) / float((1 / blocks.v).sum())  # typical sampling variance
    theta = _start(blocks)
    terms = _reml_terms(blocks, theta)
    for iteration in range(1, MAX_ITERATIONS + 1):
        direction = _step(terms, theta)
        step = 1.0
        while True:
            new = np.maximum(0.0, theta + step * direction)
            change = np.abs(new - theta)
            small = np.all(change <= THRESHOLD * (theta + scale))  # below rounding of the optimum
            new_terms = _reml_terms(blocks, new)
            if new_terms.loglik >= terms.loglik or small or step < MIN_STEP:
                break
            step /= 2
        theta, terms = new, new_terms
        if small or np.all(change <= THRESHOLD * (theta + scale)):
            return theta, terms, True, iteration
    return theta, terms, False, MAX_ITERATIONS


@dataclass(frozen=True, eq=False)
class MultilevelFit:
    """A fitted three-level (``rho = 0``) or CHE model.

    Attributes
    ----------
    k, n_effects : int
        Units and effects.
    rho : float
        Within-unit sampling correlation of V (0 for the multilevel model).
    beta, se, stat, p, ci_low, ci_high : numpy.ndarray of shape (p,)
        Coefficients with z tests (NaN when REML did not converge).
    cov : numpy.ndarray of shape (p, p)
        (X'Σ⁻¹X)⁻¹.
    sigma2_unit, sigma2_effect : float
        REML variance components.
    converged : bool
    iterations : int
    blocks : Blocks
        The data, for the cluster-robust variance (``robust.cr2``).
    note : str
    """

    k: int
    n_effects: int
    rho: float
    beta: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    cov: np.ndarray
    sigma2_unit: float
    sigma2_effect: float
    converged: bool
    iterations: int
    blocks: Blocks
    note: str


def fit_multilevel(y, v, unit, *, rho: float = 0.0, X=None, alpha: float = 0.05) -> MultilevelFit:
    """metafor ``rma.mv(yi, V, random = ~ 1 | unit/effect, method = "REML", test = "z")``.

    Parameters
    ----------
    y, v : array_like of shape (n,)
        Effects and sampling variances.
    unit : array_like of shape (n,)
        Independent sample of each effect; each effect is its own level below it.
    rho : float
        0 for the multilevel model (V = diag(v)); the assumed correlation for
        CHE (V from ``vcalc(vi, cluster = unit, obs = effect, rho = rho)``).
    X : array_like of shape (n, p), optional
        Design matrix; default a column of ones (the pooled effect).
    alpha : float
        1 - confidence level.
    """
    blocks = make_blocks(y, v, unit, rho=rho, X=X)
    n, p = blocks.X.shape
    if n <= p:
        raise ValueError(f"A model with {p} coefficient(s) needs more than {p} effects (got {n}).")
    theta, terms, converged, iterations = reml(blocks)
    note = ""
    beta, cov = terms.beta, terms.M
    if not converged:
        note = f"REML did not converge in {MAX_ITERATIONS} iterations: no estimate"
        beta, cov = np.full(p, math.nan), np.full((p, p), math.nan)
        theta = np.full(2, math.nan)
    se = np.sqrt(np.diag(cov))
    stat = beta / se
    crit = stats.norm.ppf(1 - alpha / 2)
    return MultilevelFit(
        k=blocks.k, n_effects=n, rho=blocks.rho, beta=beta, se=se, stat=stat,
        p=2 * stats.norm.sf(np.abs(stat)), ci_low=beta - crit * se, ci_high=beta + crit * se,
        cov=cov, sigma2_unit=float(theta[0]), sigma2_effect=float(theta[1]),
        converged=converged, iterations=iterations, blocks=blocks, note=note,
    )  # fmt: skip
