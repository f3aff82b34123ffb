"""From the effects table to pooled analyses: ``pooled.csv``, the units and the sensitivity tables.

An analysis is every primary effect sharing theme, outcome, measure and
construct (absent = ""). Within it, the effects of one (study, sample) are one
unit: they are combined first with an assumed correlation ``rho``
(``aggregate.aggregate_units``), so k counts independent samples. Each analysis
is then pooled (``meta.fit``), tested for small-study effects (``bias``), and, on
request, put through the sensitivity analyses.

Rows are sorted before anything is computed, so the same effects in any row
order give identical output. Missing numbers are NaN, written as empty cells;
counts that can be missing (n_participants, q_df, egger_df, trimfill_k0, n) are
therefore floats.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.pooling import bias, dependence, meta, moderators, sensitivity
from analysis.pooling.aggregate import aggregate_units

KEY = ["theme", "outcome", "measure", "construct"]
UNIT = ["study", "sample"]
TEXT_COLUMNS = [
    "study",
    "effect_id",
    "sample",
    "theme",
    "outcome",
    "measure",
    "construct",
    "role",
    "design",
    "country",
]
# "moderators": the effect's moderators as a JSON object (effects.csv); optional.
INPUT_COLUMNS = [*TEXT_COLUMNS, "yi", "vi", "n", "moderators"]
# Only these effects are pooled; "sensitivity" effects are coded but kept out.
POOLED_ROLE = "primary"
POOLED_COLUMNS = [
    "analysis_id",
    "theme",
    "outcome",
    "measure",
    "construct",
    "k",
    "n_studies",
    "n_effects",
    "n_participants",
    "estimator",
    "ci_method",
    "pooled",
    "estimate",
    "se",
    "stat",
    "p",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "tau",
    "i2",
    "i2_ci_low",
    "i2_ci_high",
    "h2",
    "h2_ci_low",
    "h2_ci_high",
    "q",
    "q_df",
    "q_p",
    "egger_stat",
    "egger_p",
    "egger_df",
    "trimfill_k0",
    "trimfill_side",
    "trimfill_estimate",
    "note",
]
UNIT_COLUMNS = [
    "analysis_id",
    "study",
    "sample",
    "n_effects",
    "yi",
    "vi",
    "se",
    "ci_low",
    "ci_high",
    "weight",
    "n",
    "design",
    "country",
]
# pooled.csv columns that are ``meta.MetaFit`` fields of the same name.
MODEL_COLUMNS = POOLED_COLUMNS[POOLED_COLUMNS.index("estimate") : POOLED_COLUMNS.index("q_p") + 1]
# Counts that may be missing: floats with NaN (not pandas' Int64, whose NA the
# CSV writer ``analysis.io`` would print as "<NA>"); it prints 12.0 as "12".
MISSING_COUNTS = ["n_participants", "q_df", "egger_df", "trimfill_k0", "n"]
# Columns of each sensitivity table after its identifying columns.
FIT_COLUMNS = ["k", "estimate", "se", "ci_low", "ci_high", "p", "tau2", "i2", "note"]
SUBGROUP_MODERATORS = ("design", "country")
# Columns of ``Analysis.units`` after study and sample.
UNIT_FIELDS = ["n_effects", "yi", "vi", "n", "design", "country", "moderators"]


@dataclass(frozen=True, eq=False)
class Analysis:
    """The effects and units of one analysis.

    Attributes
    ----------
    analysis_id : str
    key : dict
        theme, outcome, measure, construct.
    effects : pandas.DataFrame
        Its usable primary effects, sorted, with an integer ``unit`` column.
    units : pandas.DataFrame
        One row per (study, sample), sorted: study, sample, n_effects, yi, vi
        (combined), n (the largest n among its effects: they share participants),
        design, country (the first country code), moderators (dict: the values
        all its effects agree on).
    dropped : int
        Effects left out for lack of a finite yi and a finite positive vi.
    """

    analysis_id: str
    key: dict
    effects: pd.DataFrame
    units: pd.DataFrame
    dropped: int


def analysis_id(theme: str, outcome: str, measure: str, construct: str) -> str:
    """``<theme>-<outcome>-<measure>[-<construct>]`` in lower case."""
    base = f"{theme}-{outcome}-{measure}"
    return (f"{base}-{construct}" if construct else base).lower()


def _prepare(effects: pd.DataFrame) -> pd.DataFrame:
    """Primary effects with clean types, in a canonical row order."""
    missing = [column for column in INPUT_COLUMNS[:-1] if column not in effects.columns]
    if missing:
        raise ValueError(f"The effects table lacks the column(s) {', '.join(missing)}.")
    table = effects.reindex(columns=INPUT_COLUMNS).copy()
    for column in [*TEXT_COLUMNS, "moderators"]:
        table[column] = table[column].astype(object).fillna("").astype(str)
    for column in ("yi", "vi", "n"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
    table = table[table["role"] == POOLED_ROLE]
    order = [*KEY, *UNIT, "effect_id", "yi", "vi", "n", "design", "country"]
    return table.sort_values(order, kind="stable").reset_index(drop=True)


def _agreed_moderators(cells: pd.Series) -> dict:
    """The moderators (JSON cells of one unit's effects) on whose value every effect agrees."""
    found = [json.loads(cell) if cell else {} for cell in cells]
    names = set().union(*found)
    return {
        name: found[0][name]
        for name in sorted(names)
        if all(name in item and item[name] == found[0][name] and type(item[name]) is type(found[0][name])
               for item in found)
    }  # fmt: skip


def analyses(effects: pd.DataFrame, *, rho: float) -> list[Analysis]:
    """Split the effects table into analyses and combine each unit's effects.

    Parameters
    ----------
    effects : pandas.DataFrame
        The effects table (see ``pool_effects``).
    rho : float
        Assumed correlation between effects of one sample.

    Returns
    -------
    list of Analysis, sorted by analysis_id.
    """
    table = _prepare(effects)
    usable = np.isfinite(table["yi"]) & np.isfinite(table["vi"]) & (table["vi"] > 0)
    dropped = (~usable).groupby([table[column] for column in KEY]).sum()
    table = table[usable].copy()
    table["unit"] = table.groupby(KEY + UNIT, sort=True).ngroup()
    _, yi, vi = aggregate_units(table["yi"], table["vi"], table["unit"], rho=rho)
    all_units = (
        table.groupby(KEY + UNIT, sort=True)
        .agg(
            n_effects=("yi", "size"),
            n=("n", "max"),
            design=("design", "first"),
            country=("country", "first"),
            moderators=("moderators", _agreed_moderators),
        )
        .reset_index()
    )
    all_units["yi"], all_units["vi"] = yi, vi
    all_units["country"] = all_units["country"].str.split(";").str[0].str.strip()
    effects_by_key = dict(list(table.groupby(KEY, sort=True)))
    units_by_key = dict(list(all_units.groupby(KEY, sort=True)))
    found = []
    for key, count in dropped.items():
        rows = effects_by_key.get(key, table.iloc[:0])
        units = units_by_key.get(key, all_units.iloc[:0])[[*UNIT, *UNIT_FIELDS]]
        key = dict(zip(KEY, key, strict=True))
        found.append(Analysis(analysis_id(**key), key, rows, units.reset_index(drop=True), int(count)))
    return sorted(found, key=lambda analysis: analysis.analysis_id)


def _pooled_row(analysis: Analysis, *, estimator: str, ci_method: str, alpha: float) -> dict:
    """One row of pooled.csv."""
    units, notes = analysis.units, []
    if analysis.dropped:
        notes.append(f"{analysis.dropped} effect(s) without a finite yi and positive vi left out")
    known_n = units["n"].dropna()
    row = {
        "analysis_id": analysis.analysis_id,
        **analysis.key,
        "k": len(units),
        "n_studies": units["study"].nunique(),
        "n_effects": int(units["n_effects"].sum()),
        "n_participants": known_n.sum() if len(known_n) else math.nan,
        "estimator": estimator,
        "ci_method": ci_method,
        "pooled": False,
    }
    if len(units) == 0:
        row["note"] = "; ".join([*notes, "no usable effects"])
        return row
    y, v = units["yi"].to_numpy(), units["vi"].to_numpy()
    settings = dict(estimator=estimator, ci_method=ci_method, alpha=alpha)
    result = meta.fit(y, v, **settings)
    row.update(estimator=result.estimator, pooled=result.pooled)
    row.update({name: getattr(result, name) for name in MODEL_COLUMNS})
    notes += [result.note] if result.note else []
    # Small-study tests compare studies: none when the samples come from fewer than 3 studies.
    egger = bias.egger_test(y, v, **settings) if bias.compares_studies(units["study"]) else None
    trimfill = (
        None if egger is None else bias.trim_and_fill(y, v, **settings, side=bias.missing_side(egger.slope))
    )
    if egger is not None:
        row.update(egger_stat=egger.stat, egger_p=egger.p, egger_df=egger.df)
    if trimfill is not None:
        row.update(
            trimfill_k0=trimfill.k0,
            trimfill_side=trimfill.side,
            trimfill_estimate=trimfill.fit.estimate,
        )
    if len(units) >= bias.MIN_UNITS and not bias.compares_studies(units["study"]):
        notes.append("Egger's test and trim-and-fill not run: the samples come from fewer than 3 studies")
    elif len(units) > 1 and (egger is None or trimfill is None):
        notes.append(
            "Egger's test and trim-and-fill need at least 3 units with differing effects and standard errors"
        )
    row["note"] = "; ".join(notes)
    return row


def _unit_rows(analysis: Analysis, tau2: float, *, alpha: float) -> pd.DataFrame:
    """The units of one analysis with their Wald CIs and model weights (percent)."""
    units = analysis.units
    yi, vi = units["yi"].to_numpy(), units["vi"].to_numpy()
    se, crit = np.sqrt(vi), float(stats.norm.ppf(1 - alpha / 2))
    weights = 1.0 / (vi + (tau2 if np.isfinite(tau2) else 0.0))
    columns = {
        "analysis_id": analysis.analysis_id,
        **{name: units[name].to_numpy() for name in ["study", "sample", "n_effects", "yi", "vi"]},
        "se": se,
        "ci_low": yi - crit * se,
        "ci_high": yi + crit * se,
        "weight": 100 * weights / weights.sum(),
        **{name: units[name].to_numpy() for name in ["n", "design", "country"]},
    }
    return pd.DataFrame(columns, columns=UNIT_COLUMNS)


def _typed(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Columns in order; counts that may be missing as floats; text without NaN."""
    table = table.reindex(columns=columns)
    for column in MISSING_COUNTS:
        if column in table:
            table[column] = pd.to_numeric(table[column]).astype(float)
    for column in ("trimfill_side", "note"):
        if column in table:
            table[column] = table[column].astype(object).fillna("")
    return table.reset_index(drop=True)


def pool_effects(
    effects: pd.DataFrame, *, estimator: str, ci_method: str, rho: float, alpha: float = 0.05
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pool every analysis of the effects table.

    Parameters
    ----------
    effects : pandas.DataFrame
        One row per effect with columns study, effect_id, sample ("" when
        absent), theme, outcome, measure, construct ("" when absent), yi, vi,
        role ("primary" rows are pooled), n (may be empty), design, country
        (";"-joined ISO codes). Other columns are ignored.
    estimator : {"REML", "ML", "DL", "HE", "EE"}
    ci_method : {"knha", "wald"}
    rho : float
        Assumed correlation between effects of one sample (0 <= rho < 1).
    alpha : float
        1 - confidence level of every interval.

    Returns
    -------
    pooled : pandas.DataFrame
        ``POOLED_COLUMNS``, one row per analysis, sorted by analysis_id. ``estimator``
        is the one used (DL when REML did not converge, see ``note``).
    units : pandas.DataFrame
        ``UNIT_COLUMNS``, one row per unit, sorted by analysis_id, study, sample;
        ``weight`` is the unit's share (percent) of 1 / (vi + tau²).
    """
    pooled, units = [], []
    for analysis in analyses(effects, rho=rho):
        row = _pooled_row(analysis, estimator=estimator, ci_method=ci_method, alpha=alpha)
        pooled.append(row)
        units.append(_unit_rows(analysis, row.get("tau2", math.nan), alpha=alpha))
    unit_table = pd.concat(units) if units else pd.DataFrame(columns=UNIT_COLUMNS)
    return _typed(pd.DataFrame(pooled), POOLED_COLUMNS), _typed(unit_table, UNIT_COLUMNS)


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


def sensitivity_tables(
    effects: pd.DataFrame, *, estimator: str, ci_method: str, rho: float, alpha: float
) -> dict[str, pd.DataFrame]:
    """Sensitivity analyses of every pooled analysis (k >= 2).

    Returns
    -------
    dict of pandas.DataFrame
        Columns ``SENSITIVITY_COLUMNS``, sorted by ``SENSITIVITY_KEYS``:
        ``leave_one_out`` (k >= 3: the model without each unit: study, sample),
        ``estimators`` (every estimator, with the estimator actually used),
        ``rho`` (units re-aggregated with ``sensitivity.RHO_GRID`` and ``rho``),
        ``trimfill`` (k >= 3: side, k0, the filled model, its Q),
        ``subgroups`` (by design and by first country: each subgroup's model
        and, repeated on its rows, the test for subgroup differences: "QM"
        (chi²) or "F" with its df and p, empty where there is no test),
        ``dependence`` (where a unit gives >= 2 effects: ``dependence.MODELS``)
        and ``metaregression`` (per coded moderator, ``moderators.metaregression_rows``).
    """
    settings = {"estimator": estimator, "ci_method": ci_method, "alpha": alpha}
    rhos = tuple(sorted({*sensitivity.RHO_GRID, rho}))
    tables: dict[str, list[dict]] = {name: [] for name in SENSITIVITY_COLUMNS}
    for analysis in analyses(effects, rho=rho):
        if len(analysis.units) < 2:
            continue
        tables["leave_one_out"] += _leave_one_out_rows(analysis, settings)
        tables["estimators"] += _estimator_rows(analysis, settings)
        tables["rho"] += _rho_rows(analysis, settings, rhos)
        tables["trimfill"] += _trimfill_rows(analysis, settings)
        tables["subgroups"] += _subgroup_rows(analysis, settings)
        tables["dependence"] += _dependence_rows(analysis, settings, rho)
        tables["metaregression"] += _metaregression_rows(analysis, settings)
    return {
        name: _typed(
            pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS[name]).sort_values(
                SENSITIVITY_KEYS[name], kind="stable"
            ),
            SENSITIVITY_COLUMNS[name],
        )
        for name, rows in tables.items()
    }
