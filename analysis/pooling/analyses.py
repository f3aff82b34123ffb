"""From the effects table to pooled analyses: ``pooled.csv``, the units and the sensitivity tables.

An analysis is every primary effect sharing theme, outcome, measure and
construct (absent = ""). Within it, the effects of one (study, sample) are one
unit: they are combined first with an assumed correlation ``rho``
(``aggregate.aggregate_units``), so k counts independent samples. Each analysis
is then pooled (``meta.fit``), tested for small-study effects (``bias``), and, on
request, put through the sensitivity analyses.

Rows are sorted before anything is computed, so the same effects in any row
order give identical output. Each analysis is computed from its own effects
alone, so ``pool_effects`` and ``sensitivity_tables`` can take a cache pack
(``analysis.pooling.cache``) and recompute only the analyses whose effects,
settings or code changed (:func:`by_analysis`).

Missing numbers are NaN, written as empty cells; counts that can be missing
(n_participants, q_df, egger_df, trimfill_k0, n) are therefore floats.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.pooling import bias, cache, meta, sensitivity, sensitivity_rows
from analysis.pooling.aggregate import aggregate_units
from analysis.pooling.columns import INPUT_COLUMNS, TEXT_COLUMNS
from analysis.pooling.sensitivity_rows import SENSITIVITY_COLUMNS, SENSITIVITY_KEYS

KEY = ["theme", "outcome", "measure", "construct"]
UNIT = ["study", "sample"]
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


def _clean(effects: pd.DataFrame) -> pd.DataFrame:
    """Primary effects with clean types, in the order of the effects table."""
    missing = [column for column in INPUT_COLUMNS[:-1] if column not in effects.columns]
    if missing:
        raise ValueError(f"The effects table lacks the column(s) {', '.join(missing)}.")
    table = effects.reindex(columns=INPUT_COLUMNS).copy()
    for column in [*TEXT_COLUMNS, "moderators"]:
        table[column] = table[column].astype(object).fillna("").astype(str)
    for column in ("yi", "vi", "n"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
    return table[table["role"] == POOLED_ROLE]


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    """Clean effects in a canonical row order."""
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
    return _split(_sorted(_clean(effects)), rho=rho)


def _split(table: pd.DataFrame, *, rho: float) -> list[Analysis]:
    """:func:`analyses` of clean effects in canonical order."""
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


def by_analysis(
    effects: pd.DataFrame,
    *,
    rho: float,
    pack: cache.Pack | None,
    compute: Callable[[Analysis], dict],
    kind: str,
) -> list[dict]:
    """``compute(analysis)`` of every analysis, in analysis_id order, reusing ``pack``'s entries.

    ``kind`` names what ``compute`` gives ("pooled", "sensitivity"): it is part of the key.

    An analysis' key is the sha256 of its primary effect rows (``INPUT_COLUMNS`` as
    text, in the order of the effects table) and of the pack's salt (code, settings);
    only the analyses whose key is not in the pack are built and computed. Without a
    pack every analysis is computed. Either way each value makes the pack's JSON
    round trip, so the tables are the same bytes whatever was reused.
    """
    pack = cache.Pack(None, salt="") if pack is None else pack
    clean = _clean(effects)
    cells = list(zip(*(clean[column] for column in KEY), strict=True))
    text = clean.astype({"yi": object, "vi": object, "n": object})
    for column in ("yi", "vi", "n"):
        text[column] = clean[column].map(repr)
    digests = cache.group_digests(text.to_numpy(dtype=str).tolist(), cells)
    # The order of analyses(): cells sorted, then by analysis_id (stable).
    order = sorted(sorted(digests), key=lambda cell: analysis_id(*cell))

    def missing(wanted: list[tuple]) -> dict[tuple, dict]:
        table = _sorted(clean[pd.Series(cells, index=clean.index, dtype=object).isin(set(wanted))])
        return {tuple(found.key.values()): compute(found) for found in _split(table, rho=rho)}

    return cache.reuse_or_compute(order, digests, pack, missing, kind)


def pool_effects(
    effects: pd.DataFrame,
    *,
    estimator: str,
    ci_method: str,
    rho: float,
    alpha: float = 0.05,
    pack: cache.Pack | None = None,
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
    pack : analysis.pooling.cache.Pack, optional
        Reuse the rows of every analysis whose key is in the pack (see
        :func:`by_analysis`); without one, every analysis is computed.

    Returns
    -------
    pooled : pandas.DataFrame
        ``POOLED_COLUMNS``, one row per analysis, sorted by analysis_id. ``estimator``
        is the one used (DL when REML did not converge, see ``note``).
    units : pandas.DataFrame
        ``UNIT_COLUMNS``, one row per unit, sorted by analysis_id, study, sample;
        ``weight`` is the unit's share (percent) of 1 / (vi + tau²).
    """

    def pool(analysis: Analysis) -> dict:
        row = _pooled_row(analysis, estimator=estimator, ci_method=ci_method, alpha=alpha)
        units = _unit_rows(analysis, row.get("tau2", math.nan), alpha=alpha)
        return {"pooled": row, "units": units.to_dict("records")}

    values = by_analysis(effects, rho=rho, pack=pack, compute=pool, kind="pooled")
    pooled = pd.DataFrame([value["pooled"] for value in values])
    units = pd.DataFrame([unit for value in values for unit in value["units"]], columns=UNIT_COLUMNS)
    return _typed(pooled, POOLED_COLUMNS), _typed(units, UNIT_COLUMNS)


def sensitivity_tables(
    effects: pd.DataFrame,
    *,
    estimator: str,
    ci_method: str,
    rho: float,
    alpha: float,
    pack: cache.Pack | None = None,
) -> dict[str, pd.DataFrame]:
    """Sensitivity analyses of every pooled analysis (k >= 2).

    Parameters as :func:`pool_effects`.

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

    def rows(analysis: Analysis) -> dict:
        return sensitivity_rows.analysis_rows(analysis, settings, rho, rhos)

    values = by_analysis(effects, rho=rho, pack=pack, compute=rows, kind="sensitivity")
    return {
        name: _typed(
            pd.DataFrame(
                [row for value in values for row in value.get(name, [])], columns=columns
            ).sort_values(SENSITIVITY_KEYS[name], kind="stable"),
            columns,
        )
        for name, columns in SENSITIVITY_COLUMNS.items()
    }
