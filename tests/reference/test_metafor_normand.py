"""metafor's documented results for specialist stroke care and length of stay (dat.normand1999).

Data: Normand (1999), Statistics in Medicine 18:321-359, as distributed in
Viechtbauer's R package ``metadat`` (``dat.normand1999``). Reference values:
metafor (Viechtbauer 2010) manual and test suite, as collected in
``tests/data/reference/metafor-results.md``. Effects are Hedges' g with the exact bias
correction and mean differences (``conftest.normand``).
"""

from __future__ import annotations

from analysis.pooling import meta
from tests.reference.tolerance import DEC2, DEC4, check


def test_smd_reml(normand):
    """rma(yi, vi, data=escalc("SMD", ...dat.normand1999)) (metafor manual; Normand 1999)."""
    f = meta.fit(normand["yi_smd"], normand["vi_smd"], estimator="REML", ci_method="wald", alpha=0.05)
    check(f.estimate, -0.5371, DEC4)
    check(f.se, 0.3087, DEC4)
    check(f.ci_low, -1.1421, DEC4)
    check(f.ci_high, 0.0679, DEC4)
    check(f.tau2, 0.7908, DEC4)
    check(f.tau2_se, 0.4281, DEC4)
    check(f.q, 123.7293, DEC4)
    assert f.q_df == 8
    check(f.i2, 95.49, DEC2)
    check(f.h2, 22.20, DEC2)


def test_md_reml(normand):
    """rma(yi, vi, data=escalc("MD", ...dat.normand1999)) (metafor manual; Normand 1999)."""
    f = meta.fit(normand["yi_md"], normand["vi_md"], estimator="REML", ci_method="wald", alpha=0.05)
    check(f.estimate, -15.1060, DEC4)
    check(f.se, 8.9466, DEC4)
    check(f.ci_low, -32.6409, DEC4)
    check(f.ci_high, 2.4289, DEC4)
    check(f.tau2, 684.6462, DEC4)
    check(f.q, 238.9158, DEC4)
    assert f.q_df == 8
    check(f.i2, 98.97, DEC2)
