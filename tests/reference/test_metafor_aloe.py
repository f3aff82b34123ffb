"""metafor's documented results for partial correlations from regression studies (dat.aloe2013).

Data: Aloe & Thompson (2013), Journal of the Society for Social Work and
Research 4:44-57, as distributed in Viechtbauer's R package ``metadat``
(``dat.aloe2013``). Reference values: metafor (Viechtbauer 2010) manual and
test suite, metafor >= 4.4 variance formulas, as collected in
``tests/data/reference/metafor-results.md`` (``conftest.aloe``).
"""

from __future__ import annotations

import math

from analysis.pooling import meta
from tests.reference.tolerance import DEC2, DEC4, check


def test_conversions_row_one(aloe):
    """escalc("PCOR"/"ZPCOR") row 1 of dat.aloe2013 (metadat; Aloe & Thompson 2013)."""
    check(aloe["yi_pcor"][0], 0.3012, DEC4)
    check(aloe["yi_zpcor"][0], 0.3108, DEC4)
    check(aloe["vi_zpcor"][0], 0.0047, DEC4)


def test_pcor_reml(aloe):
    """rma(yi, vi, data=escalc("PCOR", ...dat.aloe2013)) (metafor manual; Aloe & Thompson 2013)."""
    f = meta.fit(aloe["yi_pcor"], aloe["vi_pcor"], estimator="REML", ci_method="wald", alpha=0.05)
    check(f.estimate, 0.2048, DEC4)
    check(f.se, 0.0820, DEC4)
    check(f.ci_low, 0.0442, DEC4)
    check(f.ci_high, 0.3655, DEC4)
    check(f.tau2, 0.0298, DEC4)
    check(f.q, 40.1986, DEC4)
    assert f.q_df == 4
    check(f.i2, 88.91, DEC2)


def test_zpcor_reml(aloe):
    """rma(yi, vi, data=escalc("ZPCOR", ...dat.aloe2013)) and predict(..., transf=transf.ztor)
    (metafor manual; Aloe & Thompson 2013)."""
    f = meta.fit(aloe["yi_zpcor"], aloe["vi_zpcor"], estimator="REML", ci_method="wald", alpha=0.05)
    check(f.estimate, 0.2108, DEC4)
    check(f.se, 0.0859, DEC4)
    check(f.tau2, 0.0324, DEC4)
    check(f.q, 38.1200, DEC4)
    assert f.q_df == 4
    check(math.tanh(f.estimate), 0.2077, DEC4)
    check(math.tanh(f.ci_low), 0.0424, DEC4)
    check(math.tanh(f.ci_high), 0.3620, DEC4)
    check(math.tanh(f.pi_low), -0.1781, DEC4)
    check(math.tanh(f.pi_high), 0.5381, DEC4)
