"""What the brief's robustness section shows, read from the sensitivity tables.

- ``robustness``: per analysis with dependent effects, the aggregated, multilevel,
  CHE and CHE-RVE estimates side by side (``dependence.csv``), the aggregated model
  at each assumed correlation (``rho.csv``), and whether the conclusion, "the 95% CI
  excludes no association", changes with the model or with rho.
- ``moderator_tests``: per analysis and coded moderator, the omnibus test and the
  terms of ``metaregression.csv``, with the caveats the brief must print.

On the analysis scale (log ratios, Fisher z, g, MD, RD) "no association" is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# No association on the analysis scale of every measure (log OR, log RR, z, g, MD, RD).
NULL = 0.0
# Fewer units than this: a moderator test has little power and its slope or
# subgroup difference is imprecise (the Cochrane Handbook, 10.11.5.1, asks for at
# least 10 studies per characteristic in a meta-regression).
FEW_UNITS = 10
# Said with every moderator test.
BETWEEN_STUDIES = (
    "a comparison between studies (observational even when the studies are trials): "
    "an association, not an effect of the moderator"
)


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
    # rho.csv split once (not one boolean mask per analysis): ~0.3 s of the brief at 1,000 studies.
    rho_parts = dict(tuple(rho_table.groupby("analysis_id", sort=False)))
    for analysis_id, models in dependence.groupby("analysis_id", sort=True):
        by_rho = rho_parts.get(analysis_id, rho_table.iloc[0:0]).sort_values("rho")
        flags = {m: excludes_null(lo, hi) for m, lo, hi in zip(models.model, models.ci_low, models.ci_high)}
        rho_flags = {
            f"rho={r:g}": excludes_null(lo, hi)
            for r, lo, hi in zip(by_rho.rho, by_rho.ci_low, by_rho.ci_high)
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


@dataclass(frozen=True)
class ModeratorTest:
    """One moderator of one analysis, as the brief's table shows it.

    Attributes
    ----------
    analysis_id, moderator, kind : str
        ``kind`` is "numeric" (a slope) or "categorical" (subgroups).
    k : int
        Units.
    test, stat, df1, df2, p : str, float
        "F" (Knapp-Hartung, df1 and df2) or "QM" (chi², df1; df2 NaN) and its p-value.
    r2, tau2 : float
        R² in percent (NaN when tau²₀ = 0) and the residual tau².
    terms : pandas.DataFrame
        The rows other than the intercept: term, estimate, se, ci_low, ci_high, p.
    caveats : tuple of str
        What the brief says with it: always that the studies are observational and
        the comparison is between studies (an association, not an effect of the
        moderator); "few units" when k < ``FEW_UNITS``.
    """

    analysis_id: str
    moderator: str
    kind: str
    k: int
    test: str
    stat: float
    df1: float
    df2: float
    p: float
    r2: float
    tau2: float
    terms: pd.DataFrame
    caveats: tuple[str, ...]


def moderator_tests(metaregression: pd.DataFrame) -> list[ModeratorTest]:
    """Per analysis and moderator of metaregression.csv, sorted by analysis_id and moderator."""
    found = []
    for (analysis_id, moderator), rows in metaregression.groupby(["analysis_id", "moderator"], sort=True):
        first = rows.iloc[0]
        k = int(first["k"])
        caveats = [BETWEEN_STUDIES]
        if k < FEW_UNITS:
            caveats.append(f"few units ({k}): low power, imprecise")
        terms = rows[rows["term"] != "intrcpt"][["term", "estimate", "se", "ci_low", "ci_high", "p"]]
        found.append(
            ModeratorTest(
                analysis_id=str(analysis_id), moderator=str(moderator), kind=str(first["kind"]), k=k,
                test="QM" if pd.isna(first["qm_df2"]) else "F", stat=float(first["qm"]),
                df1=float(first["qm_df"]), df2=float(first["qm_df2"]), p=float(first["qm_p"]),
                r2=float(first["r2"]), tau2=float(first["tau2"]),
                terms=terms.reset_index(drop=True), caveats=tuple(caveats),
            )
        )  # fmt: skip
    return found
