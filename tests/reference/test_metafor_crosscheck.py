"""Cross-checks of the tau² estimators on metafor's reference datasets.

ML and REML tau² are computed by this engine with metafor's Fisher scoring
(``analysis.pooling.meta``); here they are compared with PyMARE's
``VarianceBasedLikelihoodEstimator`` and with a direct maximisation of the
(restricted) likelihood written with k x k matrices, and DL / HE with their
closed forms as in metafor's ``rma.uni``. Data: dat.bcg (Colditz et al. 1994),
dat.molloy2014 (Molloy et al. 2014) and dat.normand1999 (Normand 1999) from
Viechtbauer's ``metadat``; formulas: Viechtbauer (2005), J Educ Behav Stat 30:261-293.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from analysis.pooling import meta

# PyMARE's bounded search stops at a bracket of 1e-6 of its starting width, which
# leaves tau² within about 1e-6 relative of the optimum; 1e-5 allows for that.
PYMARE_RTOL = 1e-5
# Our Fisher scoring and a bounded scalar search with xatol 1e-12 both reach the
# optimum to far better than this.
DIRECT_RTOL = 1e-7


def datasets(bcg, molloy, normand):
    return {
        "bcg": (bcg["yi"], bcg["vi"]),
        "molloy": (molloy["yi"], molloy["vi"]),
        "normand": (normand["yi_smd"], normand["vi_smd"]),
    }


def direct_tau2(y, v, X, method):
    """Maximise the (restricted) log-likelihood over tau² with dense matrices."""

    def negative_loglik(tau2):
        V_inv = np.diag(1 / (v + tau2))
        xvx = X.T @ V_inv @ X
        e = y - X @ np.linalg.solve(xvx, X.T @ V_inv @ y)
        value = np.log(v + tau2).sum() + e @ V_inv @ e
        return 0.5 * (value + (np.linalg.slogdet(xvx)[1] if method == "REML" else 0))

    return minimize_scalar(
        negative_loglik, bounds=(0, 10 * np.var(y) + 1), method="bounded", options={"xatol": 1e-12}
    ).x


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_likelihood_tau2_matches_pymare_and_direct_maximum(bcg, molloy, normand, method):
    """Fisher scoring vs PyMARE and dense maximisation (metafor's rma.uni ML/REML;
    data Colditz et al. 1994, Molloy et al. 2014, Normand 1999 via metadat)."""
    from pymare.estimators import VarianceBasedLikelihoodEstimator

    for name, (y, v) in datasets(bcg, molloy, normand).items():
        y, v = y.to_numpy(), v.to_numpy()
        X = np.ones((len(y), 1))
        ours = meta.estimate_tau2(y, v, X, estimator=method, ci_method="wald").value
        pymare = VarianceBasedLikelihoodEstimator(method=method, small_sample_correction="wald")
        theirs = float(pymare.fit(y[:, None], v[:, None], X).params_["tau2"].item())
        assert ours == pytest.approx(theirs, rel=PYMARE_RTOL), name
        assert ours == pytest.approx(direct_tau2(y, v, X, method), rel=DIRECT_RTOL), name


def test_reml_with_moderator_matches_direct_maximum(bcg):
    """REML with mods = ~ablat (metafor manual example; Colditz et al. 1994): optimum 0.0763480."""
    y, v = bcg["yi"].to_numpy(), bcg["vi"].to_numpy()
    X = np.column_stack([np.ones(len(y)), bcg["ablat"]])
    ours = meta.estimate_tau2(y, v, X, estimator="REML", ci_method="knha").value
    assert ours == pytest.approx(direct_tau2(y, v, X, "REML"), rel=DIRECT_RTOL)


def test_moment_estimators_closed_form(bcg, molloy, normand):
    """DL: (Q - (k-1)) / (Σw - Σw²/Σw); HE: Σ(y - ȳ)²/(k-1) - mean(v); both truncated at 0
    (metafor rma.uni; data Colditz et al. 1994, Molloy et al. 2014, Normand 1999)."""
    for name, (y, v) in datasets(bcg, molloy, normand).items():
        y, v = y.to_numpy(), v.to_numpy()
        X = np.ones((len(y), 1))
        w = 1 / v
        q = np.sum(w * (y - np.sum(w * y) / w.sum()) ** 2)
        dl = max(0.0, (q - (len(y) - 1)) / (w.sum() - np.sum(w**2) / w.sum()))
        he = max(0.0, np.var(y, ddof=1) - v.mean())
        assert meta.estimate_tau2(y, v, X, estimator="DL", ci_method="wald").value == pytest.approx(
            dl, rel=1e-12
        ), name
        assert meta.estimate_tau2(y, v, X, estimator="HE", ci_method="wald").value == pytest.approx(
            he, rel=1e-12
        ), name
