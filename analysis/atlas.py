"""Reanalysis of the public Social Capital Atlas against the Opportunity Atlas.

Chetty et al. (2022, Nature, Extended Data Table 2) correlate county social
capital measures with upward income mobility: both variables standardised,
a regression of mobility on the measure weighted by the number of children
with below-median-income parents (``num_below_p50``), standard errors
clustered by commuting zone. :func:`weighted_correlation` repeats that method;
:func:`county_correlations` gives the national table and
:func:`state_correlations` the same correlation within each state, which
:func:`state_effects_document` turns into the extraction file ``sca2022``
(one independent sample per state).

Inputs are two public files (see ``shared/data/social-capital-atlas/SOURCE.md``):
``social_capital_county.csv`` (``county`` is the 5-digit FIPS code) and
``county_outcomes_simple.csv`` (``state`` and ``county`` FIPS parts, ``cz``,
``kfr_pooled_pooled_p25``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis.io import write_text_atomic

SCA_FILE = "social_capital_county.csv"
OUTCOMES_FILE = "county_outcomes_simple.csv"

# Upward mobility: mean adult household income rank of children whose parents
# were at the 25th percentile (Opportunity Atlas), the outcome of ED Table 2.
MOBILITY = "kfr_pooled_pooled_p25"
# Chetty et al.'s county weight: children with below-median-income parents.
WEIGHT = "num_below_p50"
# Commuting zone: Chetty et al.'s cluster for standard errors.
CLUSTER = "cz"

# The eight county measures of ED Table 2 that the public county file carries.
COUNTY_MEASURES: tuple[str, ...] = (
    "ec_county",
    "child_ec_county",
    "exposure_grp_mem_county",
    "bias_grp_mem_county",
    "clustering_county",
    "support_ratio_county",
    "volunteering_rate_county",
    "civic_organizations_county",
)

# Within-state correlations need enough counties to mean anything; 20 is the
# project's choice (config atlas.min_counties), not Chetty et al.'s.
DEFAULT_MIN_COUNTIES = 20

# r is written with 6 decimals: far below its sampling error (SE of Fisher z
# is >= 0.04 at n <= 600 counties), and short, stable text in the YAML file.
R_DECIMALS = 6

STUDY = "sca2022"
COMPUTED_BY = "rules/atlas.smk: derive_atlas_effects (analysis.atlas.state_correlations)"


@dataclass(frozen=True)
class AtlasMeasure:
    """A county measure coded as effects in ``sca2022``."""

    column: str  # column in social_capital_county.csv
    construct: str  # construct slug: each measure pools on its own
    theme: str  # bonding | bridging | linking
    label: str  # the measure in the reviewer's words


# Only these five measures become effects; the county table has all eight.
EFFECT_MEASURES: tuple[AtlasMeasure, ...] = (
    AtlasMeasure(
        "ec_county",
        "economic-connectedness",
        "bridging",
        "Economic connectedness: two times the share of high-SES friends among low-SES people "
        "(SES: socioeconomic status)",
    ),
    AtlasMeasure(
        "clustering_county",
        "clustering",
        "bonding",
        "Clustering: average share of a person's friend pairs who are also friends with each other",
    ),
    AtlasMeasure(
        "support_ratio_county",
        "support-ratio",
        "bonding",
        "Support ratio: share of within-county friendships whose pair shares a third friend in the county",
    ),
    AtlasMeasure(
        "volunteering_rate_county",
        "volunteering-rate",
        "linking",
        "Volunteering rate: percentage of Facebook users in a volunteering or activism group",
    ),
    AtlasMeasure(
        "civic_organizations_county",
        "civic-organizations",
        "linking",
        "Civic organisations: Facebook 'Public Good' pages per 1,000 users",
    ),
)

OUTCOME_LABEL = (
    "Upward income mobility: mean household income rank in adulthood of children "
    "whose parents were at the 25th income percentile (Opportunity Atlas, kfr_pooled_pooled_p25)"
)

# State FIPS code -> USPS postal code (50 states, DC and Puerto Rico).
STATE_POSTAL: dict[int, str] = {
    1: "AL", 2: "AK", 4: "AZ", 5: "AR", 6: "CA", 8: "CO", 9: "CT", 10: "DE",
    11: "DC", 12: "FL", 13: "GA", 15: "HI", 16: "ID", 17: "IL", 18: "IN",
    19: "IA", 20: "KS", 21: "KY", 22: "LA", 23: "ME", 24: "MD", 25: "MA",
    26: "MI", 27: "MN", 28: "MS", 29: "MO", 30: "MT", 31: "NE", 32: "NV",
    33: "NH", 34: "NJ", 35: "NM", 36: "NY", 37: "NC", 38: "ND", 39: "OH",
    40: "OK", 41: "OR", 42: "PA", 44: "RI", 45: "SC", 46: "SD", 47: "TN",
    48: "TX", 49: "UT", 50: "VT", 51: "VA", 53: "WA", 54: "WV", 55: "WI",
    56: "WY", 72: "PR",
}  # fmt: skip

COUNTY_COLUMNS = ["measure", "n_counties", "n_cz", "r", "se"]
STATE_COLUMNS = ["measure", "state_fips", "state", "n_counties", "n_cz", "r", "se"]


class ChecksumError(ValueError):
    """A data file is not the one the workflow was written for."""


def verify_sha256(path: str | Path, expected: str) -> None:
    """Raise :class:`ChecksumError` unless the file's sha256 is ``expected``."""
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    found = digest.hexdigest()
    if found != expected.strip().lower():
        raise ChecksumError(
            f"The data file {path} is not the expected version: its sha256 is {found}, "
            f"but the workflow expects {expected}. Download the file again from its "
            "source (see SOURCE.md beside it); if a newer release is intended, put its "
            "sha256 under atlas: sha256: in config/config.yaml and regenerate "
            "extracted/sca2022.yaml with `make atlas`."
        )


def _require(frame: pd.DataFrame, columns: list[str], path: str | Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns[:8]))}, ... "
            "Check that it is the right file."
        )


def load_merged(sca_path: str | Path, outcomes_path: str | Path) -> pd.DataFrame:
    """The Social Capital Atlas county file joined to the Opportunity Atlas outcomes.

    The join key is the 5-digit county FIPS code: ``county`` in the atlas,
    ``state * 1000 + county`` in the outcomes file. Only counties in both files
    are kept. The outcomes file may start with a UTF-8 byte-order mark, which
    is dropped (``utf-8-sig``).

    Returns
    -------
    DataFrame, one row per county: every atlas column (``county`` is the FIPS
    code) plus every outcomes column except its ``county`` part (so ``state``,
    ``cz``, ``kfr_pooled_pooled_p25``, ...). Sorted by FIPS.
    """
    sca = pd.read_csv(sca_path, encoding="utf-8-sig")
    outcomes = pd.read_csv(outcomes_path, encoding="utf-8-sig")
    _require(sca, ["county", WEIGHT], sca_path)
    _require(outcomes, ["state", "county", CLUSTER, MOBILITY], outcomes_path)
    outcomes = outcomes.assign(county=outcomes["state"] * 1000 + outcomes["county"])
    merged = sca.merge(outcomes, on="county", how="inner", validate="one_to_one")
    return merged.sort_values("county", kind="stable").reset_index(drop=True)


def _complete(df: pd.DataFrame, x: str, y: str, weight: str, cluster: str) -> pd.DataFrame:
    """Rows with x, y, weight and cluster all present (as Stata's regress drops)."""
    return df.dropna(subset=[x, y, weight, cluster])


def weighted_correlation(
    df: pd.DataFrame,
    x: str,
    y: str = MOBILITY,
    weight: str = WEIGHT,
    cluster: str = CLUSTER,
) -> tuple[float, float, int, int]:
    """Weighted correlation of ``x`` and ``y`` with a cluster-robust standard error.

    Chetty et al.'s ED Table 2 method: drop rows missing x, y, weight or
    cluster; standardise x and y with weighted means and SDs; regress y on x
    by weighted least squares. The slope is the weighted Pearson correlation.
    Its SE is the cluster-robust sandwich with Stata's small-sample factor
    (CR1): G/(G-1) * (N-1)/(N-K), K = 2 (intercept and slope).

    Parameters
    ----------
    df : DataFrame with columns x, y, weight and cluster (N rows after dropping).

    Returns
    -------
    (r, se, n, n_clusters); se is NaN when there is only one cluster.
    """
    data = _complete(df, x, y, weight, cluster)
    n = len(data)
    if n < 3:
        raise ValueError(f"weighted correlation of {x} needs at least 3 complete rows, got {n}")
    w = data[weight].to_numpy(dtype=float)
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights {weight} must be non-negative with a positive sum")

    def standardise(v: np.ndarray) -> np.ndarray:
        mean = np.average(v, weights=w)
        sd = np.sqrt(np.average((v - mean) ** 2, weights=w))
        if sd == 0:
            raise ValueError(f"no weighted variation in {x} or {y}: the correlation is undefined")
        return (v - mean) / sd

    xs = standardise(data[x].to_numpy(dtype=float))
    ys = standardise(data[y].to_numpy(dtype=float))

    design = np.column_stack([np.ones(n), xs])  # shape (N, 2)
    bread = np.linalg.inv(design.T @ (design * w[:, None]))  # (X'WX)^-1, shape (2, 2)
    beta = bread @ (design.T @ (w * ys))
    resid = ys - design @ beta

    # Score of each cluster: sum over its rows of w_i * e_i * x_i, shape (G, 2).
    _, group = np.unique(data[cluster].to_numpy(), return_inverse=True)
    n_clusters = int(group.max()) + 1
    scores = np.zeros((n_clusters, 2))
    np.add.at(scores, group, design * (w * resid)[:, None])
    vcov = bread @ (scores.T @ scores) @ bread
    k = design.shape[1]
    if n_clusters < 2:
        se = float("nan")
    else:
        factor = n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
        se = float(np.sqrt(vcov[1, 1] * factor))
    return float(beta[1]), se, n, n_clusters


def county_correlations(df: pd.DataFrame, measures: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """National county-level correlation of each measure with upward mobility.

    Returns
    -------
    DataFrame with columns measure, n_counties, n_cz, r, se; one row per
    measure, in the given order.
    """
    rows = []
    for measure in measures:
        r, se, n, g = weighted_correlation(df, measure)
        rows.append({"measure": measure, "n_counties": n, "n_cz": g, "r": r, "se": se})
    return pd.DataFrame(rows, columns=COUNTY_COLUMNS)


def state_correlations(
    df: pd.DataFrame,
    measures: list[str] | tuple[str, ...],
    min_counties: int = DEFAULT_MIN_COUNTIES,
) -> pd.DataFrame:
    """The weighted correlation within each state with enough counties.

    A state counts for a measure when at least ``min_counties`` of its
    counties have the measure, mobility, weight and commuting zone. States are
    the outcomes file's ``state`` FIPS code.

    Returns
    -------
    DataFrame with columns measure, state_fips, state (postal code),
    n_counties, n_cz, r, se; sorted by measure (given order) then state FIPS.
    """
    rows = []
    for measure in measures:
        data = _complete(df, measure, MOBILITY, WEIGHT, CLUSTER)
        for fips, part in data.groupby("state", sort=True):
            if len(part) < min_counties:
                continue
            fips = int(fips)
            if fips not in STATE_POSTAL:
                raise ValueError(f"state FIPS code {fips} is not in analysis.atlas.STATE_POSTAL; add it")
            r, se, n, g = weighted_correlation(part, measure)
            rows.append(
                {
                    "measure": measure,
                    "state_fips": fips,
                    "state": STATE_POSTAL[fips],
                    "n_counties": n,
                    "n_cz": g,
                    "r": r,
                    "se": se,
                }
            )
    return pd.DataFrame(rows, columns=STATE_COLUMNS)


def _number(value: float, decimals: int = 3) -> str:
    """A number for prose: fixed decimals, never "-0.000"."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _findings(state_table: pd.DataFrame, county_table: pd.DataFrame | None, min_counties: int) -> str:
    parts = []
    if county_table is not None:
        national = county_table.set_index("measure")
        listed = [
            f"{m.construct.replace('-', ' ')} r = {_number(national.loc[m.column, 'r'])} "
            f"(SE {_number(national.loc[m.column, 'se'])}, {int(national.loc[m.column, 'n_counties']):,} counties)"
            for m in EFFECT_MEASURES
            if m.column in national.index
        ]
        parts.append(
            "Across US counties, the correlation of upward income mobility (children of "
            "low-income parents) with each social capital measure, weighted by the number "
            "of such children and with standard errors clustered by commuting zone, is: "
            + "; ".join(listed)
            + "."
        )
    listed = []
    for m in EFFECT_MEASURES:
        rows = state_table[state_table["measure"] == m.column]
        if rows.empty:
            continue
        positive = int((rows["r"] > 0).sum())
        listed.append(
            f"{positive} of {len(rows)} states for {m.construct.replace('-', ' ')} "
            f"(median r = {_number(rows['r'].median())})"
        )
    parts.append(
        f"Within each state with at least {min_counties} counties, the same correlation is "
        "positive in " + ", ".join(listed) + "."
    )
    parts.append(
        "These are ecological correlations between places, not effects on individuals, "
        "and not causal estimates."
    )
    return " ".join(parts)


NOTES = (
    "Generated from public data by the workflow; not coded from a publication. "
    "Each effect is one state: r is the correlation between the county measure and "
    "upward mobility (kfr_pooled_pooled_p25) across that state's counties, weighted by "
    "num_below_p50 (children with below-median-income parents) as in Chetty et al. "
    "(2022) Extended Data Table 2, and n is the number of counties. r is rounded to "
    f"{R_DECIMALS} decimals. The workflow's Fisher-z variance 1/(n-3) treats the "
    "counties as an unweighted simple random sample: it ignores the num_below_p50 "
    "weighting (and the clustering of counties in commuting zones), so the within-state "
    "variances are approximate; the commuting-zone-clustered SEs of the weighted "
    "correlations are in <results_dir>/atlas/state_correlations.csv. States are independent "
    "samples (no county is in two states); the five measures are separate constructs and "
    "are never pooled together."
)


def state_effects_document(
    state_table: pd.DataFrame,
    sha256s: dict[str, str],
    county_table: pd.DataFrame | None = None,
    min_counties: int = DEFAULT_MIN_COUNTIES,
) -> dict:
    """The extraction file content for ``sca2022``: one effect per (measure, state).

    Parameters
    ----------
    state_table : output of :func:`state_correlations`.
    sha256s : file name -> sha256 of the two input files (``SCA_FILE``,
        ``OUTCOMES_FILE``), recorded in each effect's ``computed.from``.
    county_table : output of :func:`county_correlations`; when given, the
        national correlations are quoted in ``findings``.
    min_counties : the threshold used for ``state_table`` (for ``findings``).
    """
    by_column = {m.column: m for m in EFFECT_MEASURES}
    sources = [f"{name} sha256:{sha256s[name]}" for name in (SCA_FILE, OUTCOMES_FILE)]
    effects = []
    for row in state_table.itertuples(index=False):
        measure = by_column.get(row.measure)
        if measure is None:
            continue  # county-only measure (child EC, exposure, bias)
        state = str(row.state)
        effects.append(
            {
                "id": f"{measure.construct}-{state.lower()}",
                "sample": state,
                "theme": measure.theme,
                "outcome": "mobility",
                "outcome_label": OUTCOME_LABEL,
                "exposure": f"{measure.label} (county, Social Capital Atlas {measure.column})",
                "construct": measure.construct,
                "r": round(float(row.r), R_DECIMALS),
                "n": int(row.n_counties),
                "locator": f"Computed: state {state}, {int(row.n_counties)} counties",
                "computed": {"by": COMPUTED_BY, "from": list(sources)},
            }
        )
    return {
        "study": STUDY,
        "design": "ecological",
        "country": ["US"],
        "status": "coded",
        "identified_by": "report-references",  # the public data of Chetty et al. (2022)
        "moderators": {"uk_sample": False},  # US counties and states
        "kind": "study",
        "findings": _findings(state_table, county_table, min_counties),
        "notes": NOTES,
        "coder": "generated by snakemake derive_atlas_effects",
        "effects": effects,
    }


def derive_state_effects(
    df: pd.DataFrame, sha256s: dict[str, str], min_counties: int = DEFAULT_MIN_COUNTIES
) -> tuple[dict, pd.DataFrame]:
    """State correlations of the five effect measures and the ``sca2022`` document."""
    columns = [m.column for m in EFFECT_MEASURES]
    states = state_correlations(df, columns, min_counties=min_counties)
    national = county_correlations(df, columns)
    return state_effects_document(states, sha256s, national, min_counties), states


_TOP_KEYS = (
    "study",
    "design",
    "country",
    "status",
    "identified_by",
    "moderators",
    "kind",
    "findings",
    "notes",
    "coder",
    "effects",
)
_EFFECT_KEYS = (
    "id", "sample", "theme", "outcome", "outcome_label", "exposure", "construct",
    "r", "n", "locator", "computed",
)  # fmt: skip

HEADER = (
    "# GENERATED FILE: do not edit by hand.\n"
    "# Made by `snakemake derive_atlas_effects` (rules/atlas.smk, analysis/atlas.py) from the\n"
    "# public Social Capital Atlas and Opportunity Atlas county files, and copied here\n"
    "# by `make atlas`. To change it, change the code or config and run `make atlas`.\n"
)


def dump_yaml(doc: dict) -> str:
    """The document as YAML text: fixed key order, effects sorted by measure then state."""
    order = {m.construct: i for i, m in enumerate(EFFECT_MEASURES)}
    effects = sorted(
        doc.get("effects", []),
        key=lambda e: (order.get(e["construct"], len(order)), e["construct"], e["sample"]),
    )
    ordered = {k: doc[k] for k in _TOP_KEYS if k in doc}
    ordered.update({k: v for k, v in doc.items() if k not in ordered})
    ordered["effects"] = [
        {
            **{k: e[k] for k in _EFFECT_KEYS if k in e},
            **{k: v for k, v in e.items() if k not in _EFFECT_KEYS},
        }
        for e in effects
    ]
    body = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=88, default_flow_style=False)
    return HEADER + body


def write_yaml(doc: dict, path: str | Path) -> None:
    """Write :func:`dump_yaml` text atomically (temporary file, then os.replace)."""
    write_text_atomic(path, dump_yaml(doc))
