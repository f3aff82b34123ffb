"""The rows one analysis gives each sensitivity table (``sensitivity/*.csv``).

:func:`analysis_rows` computes them from the analysis' own units and effects
alone, so a run can reuse the rows of every analysis whose inputs did not change
(``analysis.pooling.cache``); ``analysis.pooling.analyses.sensitivity_tables``
joins and sorts them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from analysis.pooling import bias, dependence, meta, moderators, sensitivity

if TYPE_CHECKING:
    from analysis.pooling.analyses import Analysis

# Columns of each sensitivity table after its identifying columns.
FIT_COLUMNS = ["k", "estimate", "se", "ci_low", "ci_high", "p", "tau2", "i2", "note"]
SUBGROUP_MODERATORS = ("design", "country")


def _fit_fields(result: meta.MetaFit) -> dict:
    """The columns of ``FIT_COLUMNS`` for one model."""
    return {name: getattr(result, name) for name in FIT_COLUMNS}


# Identifying columns of each sensitivity table (its sort order), then its own.
SENSITIVITY_KEYS = {
    "leave_one_out": ["analysis_id", "study", "sample"],
    "estimators": ["analysis_id"],
    "rho": ["analysis_id", "rho"],
    "trimfill": ["analysis_id"],
    "subgroups": ["analysis_id", "moderator", "subgroup"],
    "dependence": ["analysis_id"],
    "metaregression": ["analysis_id", "moderator"],
}
SENSITIVITY_COLUMNS = {
    "leave_one_out": [*SENSITIVITY_KEYS["leave_one_out"], *FIT_COLUMNS],
    "estimators": ["analysis_id", "estimator", "estimator_used", *FIT_COLUMNS],
    "rho": [*SENSITIVITY_KEYS["rho"], *FIT_COLUMNS],
    "trimfill": ["analysis_id", "side", "k0", *FIT_COLUMNS, "q", "q_df"],
    "subgroups": [*SENSITIVITY_KEYS["subgroups"], *FIT_COLUMNS, "test", "test_stat", "test_df1",
                  "test_df2", "test_p"],
    "dependence": dependence.COLUMNS,
    "metaregression": moderators.METAREGRESSION_COLUMNS,
}  # fmt: skip


def _leave_one_out_rows(analysis: Analysis, settings: dict) -> list[dict]:
    units, y, v = analysis.units, analysis.units["yi"], analysis.units["vi"]
    if len(units) < bias.MIN_UNITS:
        return []
    fits = sensitivity.leave_one_out(y, v, **settings)
    left_out = zip(units["study"], units["sample"], fits, strict=True)
    return [{"analysis_id": analysis.analysis_id, "study": study, "sample": sample,
             **_fit_fields(result)} for study, sample, result in left_out]  # fmt: skip


def _estimator_rows(analysis: Analysis, settings: dict) -> list[dict]:
    fits = sensitivity.by_estimator(
        analysis.units["yi"],
        analysis.units["vi"],
        ci_method=settings["ci_method"],
        alpha=settings["alpha"],
    )
    return [{"analysis_id": analysis.analysis_id, "estimator": name,
             "estimator_used": result.estimator, **_fit_fields(result)}
            for name, result in fits.items()]  # fmt: skip


def _rho_rows(analysis: Analysis, settings: dict, rhos: tuple[float, ...]) -> list[dict]:
    rows = analysis.effects
    fits = sensitivity.by_rho(rows["yi"], rows["vi"], rows["unit"], rhos=rhos, **settings)
    return [{"analysis_id": analysis.analysis_id, "rho": rho, **_fit_fields(result)}
            for rho, result in fits.items()]  # fmt: skip


def _trimfill_rows(analysis: Analysis, settings: dict) -> list[dict]:
    if not bias.compares_studies(analysis.units["study"]):
        return []
    found = bias.trim_and_fill(analysis.units["yi"], analysis.units["vi"], **settings, side=None)
    if found is None:
        return []
    return [{"analysis_id": analysis.analysis_id, "side": found.side, "k0": found.k0,
             **_fit_fields(found.fit), "q": found.fit.q, "q_df": found.fit.q_df}]  # fmt: skip


def _subgroup_rows(analysis: Analysis, settings: dict) -> list[dict]:
    rows = []
    for moderator in SUBGROUP_MODERATORS:
        groups = analysis.units[moderator].to_numpy(dtype=str)
        found = moderators.subgroup_analysis(analysis.units["yi"], analysis.units["vi"], groups, **settings)
        test = {"test": "", "test_stat": math.nan, "test_df1": math.nan, "test_df2": math.nan,
                "test_p": math.nan}  # fmt: skip
        if found.test is not None:
            df2 = found.test.qm_df2  # inf for a chi² test: no second df
            test = {"test": found.test.test, "test_stat": found.test.qm,
                    "test_df1": found.test.qm_df1, "test_df2": df2 if df2 < math.inf else math.nan,
                    "test_p": found.test.qm_p}  # fmt: skip
        for level, result in zip(found.levels, found.fits, strict=True):
            fields = {**_fit_fields(result), **test}
            fields["note"] = "; ".join(filter(None, [result.note, found.note]))
            rows.append({"analysis_id": analysis.analysis_id, "moderator": moderator,
                         "subgroup": level, **fields})  # fmt: skip
    return rows


def _dependence_rows(analysis: Analysis, settings: dict, rho: float) -> list[dict]:
    """dependence.csv rows when some unit gives two or more effects (contract)."""
    if analysis.units["n_effects"].max() < 2:
        return []
    effects = analysis.effects
    aggregated = meta.fit(analysis.units["yi"], analysis.units["vi"], **settings)
    return dependence.dependence_rows(analysis.analysis_id, effects["yi"].to_numpy(), effects["vi"].to_numpy(),
                                      effects["unit"].to_numpy(), aggregated, rho=rho,
                                      alpha=settings["alpha"])  # fmt: skip


def _metaregression_rows(analysis: Analysis, settings: dict) -> list[dict]:
    """metaregression.csv rows: every moderator known for all units, in name order."""
    units = analysis.units
    names = sorted(set().union(*units["moderators"]))
    rows = []
    for name in names:
        values = [found.get(name) for found in units["moderators"]]
        rows += moderators.metaregression_rows(analysis.analysis_id, units["yi"].to_numpy(),
                                               units["vi"].to_numpy(), name, values, **settings)  # fmt: skip
    return rows


def analysis_rows(
    analysis: Analysis, settings: dict, rho: float, rhos: tuple[float, ...]
) -> dict[str, list[dict]]:
    """The rows of every sensitivity table for one analysis (none when k < 2).

    Parameters
    ----------
    analysis : Analysis
    settings : dict with estimator, ci_method, alpha.
    rho : float, the assumed correlation of the main analysis.
    rhos : the correlations of the rho table (``sensitivity.RHO_GRID`` and ``rho``).
    """
    if len(analysis.units) < 2:
        return {}
    return {
        "leave_one_out": _leave_one_out_rows(analysis, settings),
        "estimators": _estimator_rows(analysis, settings),
        "rho": _rho_rows(analysis, settings, rhos),
        "trimfill": _trimfill_rows(analysis, settings),
        "subgroups": _subgroup_rows(analysis, settings),
        "dependence": _dependence_rows(analysis, settings, rho),
        "metaregression": _metaregression_rows(analysis, settings),
    }
