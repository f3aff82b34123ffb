"""Dependent effects: the aggregated, multilevel, CHE and CHE-RVE models side by side.

``dependence_rows`` writes the rows of ``sensitivity/dependence.csv`` (contract,
"Dependent effects and moderators") for one analysis in which some unit gives two
or more effects. ``robustness.py`` reads them back for the brief.
"""

from __future__ import annotations

import math

from analysis.pooling import meta, multilevel, robust

MODELS = ("aggregate", "multilevel", "che", "che-rve")
COLUMNS = ["analysis_id", "model", "k", "n_effects", "estimate", "se", "stat", "df", "p", "ci_low",
           "ci_high", "sigma2_unit", "sigma2_effect", "tau2", "rho", "note"]  # fmt: skip


def _row(analysis_id: str, model: str, k: int, n: int, **fields) -> dict:
    row = dict.fromkeys(COLUMNS, math.nan)
    row.update(analysis_id=analysis_id, model=model, k=k, n_effects=n, note="")
    row.update(fields)
    return row


def dependence_rows(
    analysis_id: str, y, v, unit, aggregated: meta.MetaFit, *, rho: float, alpha: float
) -> list[dict]:
    """The four rows of one analysis, in ``MODELS`` order.

    Parameters
    ----------
    analysis_id : str
    y, v, unit : array_like of shape (n,)
        Every effect of the analysis with its unit (independent sample).
    aggregated : meta.MetaFit
        The primary analysis (``aggregate()`` with ``rho`` then ``rma()``, as pooled.csv).
    rho : float
        Assumed within-unit correlation (config ``rho``), for ``aggregate`` and ``vcalc``.
    alpha : float
        1 - confidence level.
    """
    n, k = len(y), aggregated.k
    rows = [
        _row(analysis_id, "aggregate", k, n, estimate=aggregated.estimate, se=aggregated.se,
             stat=aggregated.stat, df=aggregated.df if math.isfinite(aggregated.df) else math.nan,
             p=aggregated.p, ci_low=aggregated.ci_low, ci_high=aggregated.ci_high,
             tau2=aggregated.tau2, rho=rho, note=aggregated.note)
    ]  # fmt: skip
    for model, model_rho in (("multilevel", 0.0), ("che", rho)):
        fit = multilevel.fit_multilevel(y, v, unit, rho=model_rho, alpha=alpha)
        shown_rho = math.nan if model == "multilevel" else rho
        components = dict(sigma2_unit=fit.sigma2_unit, sigma2_effect=fit.sigma2_effect, rho=shown_rho)
        rows.append(
            _row(analysis_id, model, k, n, estimate=fit.beta[0], se=fit.se[0], stat=fit.stat[0],
                 p=fit.p[0], ci_low=fit.ci_low[0], ci_high=fit.ci_high[0], note=fit.note, **components)
        )  # fmt: skip
    if not fit.converged:
        rows.append(
            _row(analysis_id, "che-rve", k, n, rho=rho, note="CHE did not converge: no CR2 inference")
        )
        return rows
    found = robust.cr2(fit, alpha=alpha)
    rows.append(
        _row(analysis_id, "che-rve", k, n, estimate=found.beta[0], se=found.se[0], stat=found.stat[0],
             df=found.df[0], p=found.p[0], ci_low=found.ci_low[0], ci_high=found.ci_high[0],
             note="" if k > 2 else "2 units: CR2 df are very small", **components)
    )  # fmt: skip
    return rows
