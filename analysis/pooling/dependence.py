"""Dependent effects: the aggregated, multilevel, CHE and CHE-RVE models side by side.

``dependence_rows`` writes the rows of ``sensitivity/dependence.csv`` (contract,
"Dependent effects and moderators") for one analysis in which some unit gives two
or more effects. ``robustness`` reads that table, ``rho.csv`` and
``metaregression.csv`` back and says, per analysis, whether the conclusion (the
CI excludes no association) holds under every model and every assumed
correlation: what the brief's robustness section shows.

On the analysis scale (log ratios, Fisher z, g) "no association" is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.pooling import meta, multilevel, robust

MODELS = ("aggregate", "multilevel", "che", "che-rve")
COLUMNS = ["analysis_id", "model", "k", "n_effects", "estimate", "se", "stat", "df", "p", "ci_low",
           "ci_high", "sigma2_unit", "sigma2_effect", "tau2", "rho", "note"]  # fmt: skip
# No association on the analysis scale of every measure (log OR, log RR, z, g, MD, RD).
NULL = 0.0


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


def excludes_null(low: float, high: float) -> bool | None:
    """Whether a CI lies wholly on one side of no association (None when it is missing)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return None
    return bool(low > NULL or high < NULL)


@dataclass(frozen=True)
class Robustness:
    """What the brief says about one analysis with dependent effects.

    Attributes
    ----------
    analysis_id : str
    models : pandas.DataFrame
        The analysis' rows of dependence.csv (aggregate, multilevel, che, che-rve).
    by_rho : pandas.DataFrame
        Its rows of rho.csv (the aggregated model at each assumed correlation).
    excludes_null : dict of str to bool or None
        Per model (``MODELS``) and per ``rho=<value>`` of rho.csv: does the CI exclude 0?
    depends_on_rho : bool
        True when the rho grid changes whether the aggregated CI excludes 0.
    depends_on_model : bool
        True when the models disagree on whether the CI excludes 0.
    """

    analysis_id: str
    models: pd.DataFrame
    by_rho: pd.DataFrame
    excludes_null: dict
    depends_on_rho: bool
    depends_on_model: bool


def robustness(dependence: pd.DataFrame, rho_table: pd.DataFrame) -> list[Robustness]:
    """Per analysis of dependence.csv: its models side by side and whether rho matters.

    Parameters
    ----------
    dependence : pandas.DataFrame
        ``sensitivity/dependence.csv``.
    rho_table : pandas.DataFrame
        ``sensitivity/rho.csv`` (columns analysis_id, rho, ci_low, ci_high, ...).

    Returns
    -------
    list of Robustness, sorted by analysis_id.
    """
    found = []
    for analysis_id, models in dependence.groupby("analysis_id", sort=True):
        by_rho = rho_table[rho_table["analysis_id"] == analysis_id].sort_values("rho")
        flags = {row.model: excludes_null(row.ci_low, row.ci_high) for row in models.itertuples()}
        rho_flags = {
            f"rho={row.rho:g}": excludes_null(row.ci_low, row.ci_high) for row in by_rho.itertuples()
        }
        model_values = {flag for flag in flags.values() if flag is not None}
        rho_values = {flag for flag in rho_flags.values() if flag is not None}
        found.append(
            Robustness(
                analysis_id=str(analysis_id),
                models=models.reset_index(drop=True),
                by_rho=by_rho.reset_index(drop=True),
                excludes_null={**flags, **rho_flags},
                depends_on_rho=len(rho_values) > 1,
                depends_on_model=len(model_values) > 1,
            )
        )
    return found
