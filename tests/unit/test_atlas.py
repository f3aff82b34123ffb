"""Tests of analysis.atlas: the Social Capital Atlas reanalysis.

Unit tests run on the synthetic fixture in tests/data/atlas/ (see its README).
Tests marked "real data" use the public files named in config/config.yaml
(atlas: dir) and are skipped, with the reason, where that folder is absent.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml

from analysis import atlas

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "atlas"
SCHEMA = ROOT / "schemas" / "extraction.schema.yaml"
COMMITTED = ROOT / "extracted" / "sca2022.yaml"


def _atlas_config() -> dict:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    return config["atlas"]


ATLAS = _atlas_config()
DATA_DIR = (ROOT / ATLAS["dir"]).resolve()
real_data = pytest.mark.skipif(
    not (DATA_DIR / atlas.SCA_FILE).exists() or not (DATA_DIR / atlas.OUTCOMES_FILE).exists(),
    reason=f"public Atlas data not found at {DATA_DIR} (config atlas: dir)",
)

# Reference: /work/shared/evidence/atlas-county-correlations-computed.csv, the
# ED Table 2 method (Chetty et al. 2022) computed independently from the same
# public files. measure: (n_counties, n_cz, r, se), r and se rounded to 3 decimals.
REFERENCE = {
    "ec_county": (3016, 734, 0.65, 0.041),
    "child_ec_county": (2728, 700, 0.408, 0.041),
    "exposure_grp_mem_county": (3010, 734, 0.644, 0.045),
    "bias_grp_mem_county": (3010, 734, -0.132, 0.098),
    "clustering_county": (3087, 740, -0.004, 0.048),
    "support_ratio_county": (3087, 740, -0.225, 0.056),
    "volunteering_rate_county": (3087, 740, 0.18, 0.05),
    "civic_organizations_county": (3087, 740, 0.061, 0.052),
}
# The reference is printed to 3 decimals: agreement to half a unit in the last place.
REFERENCE_TOL = 0.0005 + 1e-12


@pytest.fixture(scope="module")
def fixture_df() -> pd.DataFrame:
    return atlas.load_merged(FIXTURE / atlas.SCA_FILE, FIXTURE / atlas.OUTCOMES_FILE)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- weighted r


def test_weighted_correlation_by_hand():
    # x = 0, 1, 2; y = 0, 2, 1; weights 1, 1, 2. Weighted means 1.25 and 1;
    # cov = 0.25, var x = 0.6875, var y = 0.5, so r = 0.25 / sqrt(0.34375).
    df = pd.DataFrame({"x": [0, 1, 2], "y": [0, 2, 1], "w": [1, 1, 2], "g": [1, 2, 3]})
    r, se, n, g = atlas.weighted_correlation(df, "x", y="y", weight="w", cluster="g")
    assert r == pytest.approx(0.25 / math.sqrt(0.34375), abs=1e-12)  # 0.4264014327
    assert (n, g) == (3, 3)
    assert se > 0


def test_integer_weights_equal_repeated_rows(fixture_df):
    data = fixture_df.dropna(subset=["ec_county", atlas.MOBILITY, atlas.WEIGHT, atlas.CLUSTER])
    reps = data[atlas.WEIGHT].astype(int).to_numpy()
    x = np.repeat(data["ec_county"].to_numpy(), reps)
    y = np.repeat(data[atlas.MOBILITY].to_numpy(), reps)
    r, _, n, g = atlas.weighted_correlation(fixture_df, "ec_county")
    assert r == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)  # floating point only
    # 22 CA + 20 OR + 3 complete WA counties; 6 + 5 + 2 commuting zones.
    assert (n, g) == (45, 13)


def test_weights_scale_free_and_drop_missing(fixture_df):
    scaled = fixture_df.assign(num_below_p50=fixture_df[atlas.WEIGHT] * 7.5)
    a = atlas.weighted_correlation(fixture_df, "clustering_county")
    b = atlas.weighted_correlation(scaled, "clustering_county")
    assert a[0] == pytest.approx(b[0], abs=1e-12)
    assert a[1] == pytest.approx(b[1], abs=1e-12)
    assert a[2] == 44  # 41015 lacks clustering_county


def _closed_form_cr1(x, y, w, groups):
    """Cluster-robust SE of the weighted correlation, written out without matrices.

    Raw-scale WLS slope b = Sxy / Sxx (weighted, centred); its CR1 variance is
    sum_g (sum_i in g w_i (x_i - xbar) e_i)^2 / Sxx^2 times G/(G-1) (N-1)/(N-2).
    Standardising multiplies slope and SE by sd_x / sd_y.
    """
    x, y, w = (np.asarray(v, dtype=float) for v in (x, y, w))
    xbar = (w * x).sum() / w.sum()
    ybar = (w * y).sum() / w.sum()
    sxx = (w * (x - xbar) ** 2).sum()
    syy = (w * (y - ybar) ** 2).sum()
    b = (w * (x - xbar) * (y - ybar)).sum() / sxx
    e = (y - ybar) - b * (x - xbar)
    meat = 0.0
    for label in set(groups):
        idx = [i for i, gl in enumerate(groups) if gl == label]
        meat += (w[idx] * (x[idx] - xbar) * e[idx]).sum() ** 2
    n, g = len(x), len(set(groups))
    var_b = meat / sxx**2 * g / (g - 1) * (n - 1) / (n - 2)
    scale = math.sqrt(sxx / syy)
    return b * scale, math.sqrt(var_b) * scale


@pytest.mark.parametrize("measure", ["ec_county", "clustering_county", "support_ratio_county"])
def test_cluster_se_matches_closed_form(fixture_df, measure):
    data = fixture_df.dropna(subset=[measure, atlas.MOBILITY, atlas.WEIGHT, atlas.CLUSTER])
    r_ref, se_ref = _closed_form_cr1(
        data[measure], data[atlas.MOBILITY], data[atlas.WEIGHT], list(data[atlas.CLUSTER])
    )
    r, se, _, _ = atlas.weighted_correlation(fixture_df, measure)
    # Two algebraically identical computations: agreement to rounding error.
    assert r == pytest.approx(r_ref, abs=1e-12)
    assert se == pytest.approx(se_ref, rel=1e-9)


def test_one_cluster_has_no_se():
    df = pd.DataFrame({"x": [1.0, 2, 3, 5], "y": [2.0, 1, 4, 3], "w": [1, 2, 1, 1], "g": [7] * 4})
    r, se, n, g = atlas.weighted_correlation(df, "x", y="y", weight="w", cluster="g")
    assert math.isnan(se) and g == 1 and n == 4 and -1 < r < 1


def test_too_few_rows_is_an_error():
    df = pd.DataFrame({"x": [1.0, 2], "y": [2.0, 1], "w": [1, 1], "g": [1, 2]})
    with pytest.raises(ValueError, match="at least 3"):
        atlas.weighted_correlation(df, "x", y="y", weight="w", cluster="g")


# ------------------------------------------------------------------ loading


def test_outcomes_fixture_has_bom_and_merge_reads_it(fixture_df):
    assert (FIXTURE / atlas.OUTCOMES_FILE).read_bytes()[:3] == b"\xef\xbb\xbf"
    assert {"state", "cz", atlas.MOBILITY} <= set(fixture_df.columns)
    # 48 atlas counties, of which 53099 has no outcomes row; 72001 has no atlas row.
    assert len(fixture_df) == 47
    assert 53099 not in set(fixture_df["county"]) and 72001 not in set(fixture_df["county"])
    row = fixture_df.set_index("county").loc[41003]
    assert row["state"] == 41  # FIPS = state * 1000 + county


def test_merge_same_without_bom(tmp_path, fixture_df):
    raw = (FIXTURE / atlas.OUTCOMES_FILE).read_bytes()
    plain = tmp_path / atlas.OUTCOMES_FILE
    plain.write_bytes(raw[3:])
    again = atlas.load_merged(FIXTURE / atlas.SCA_FILE, plain)
    pd.testing.assert_frame_equal(again, fixture_df)


def test_missing_column_is_explained(tmp_path):
    bad = tmp_path / atlas.OUTCOMES_FILE
    bad.write_text("state,county,czname\n6,1,X\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) cz, kfr_pooled_pooled_p25"):
        atlas.load_merged(FIXTURE / atlas.SCA_FILE, bad)


def test_sha256_ok_and_mismatch_message(tmp_path):
    path = FIXTURE / atlas.SCA_FILE
    atlas.verify_sha256(path, _sha(path))
    atlas.verify_sha256(path, _sha(path).upper())  # case does not matter
    wrong = "0" * 64
    with pytest.raises(atlas.ChecksumError) as err:
        atlas.verify_sha256(path, wrong)
    message = str(err.value)
    for part in (str(path), wrong, _sha(path), "Download the file again", "make atlas"):
        assert part in message


# ------------------------------------------------------------------- states


def test_state_minimum(fixture_df):
    table = atlas.state_correlations(fixture_df, ["ec_county", "clustering_county"], min_counties=20)
    got = [(m, s, n) for m, s, n in table[["measure", "state", "n_counties"]].itertuples(index=False)]
    assert got == [
        ("ec_county", "CA", 22),
        ("ec_county", "OR", 20),
        ("clustering_county", "CA", 22),
    ]
    assert list(table.columns) == atlas.STATE_COLUMNS
    # Each state's r is the same function on that state's rows.
    ca = fixture_df[fixture_df["state"] == 6]
    assert table.loc[0, "r"] == atlas.weighted_correlation(ca, "ec_county")[0]
    # A lower threshold brings Washington in with its 3 complete counties in 2 CZs.
    low = atlas.state_correlations(fixture_df, ["ec_county"], min_counties=3)
    assert low[["state", "n_counties", "n_cz"]].values.tolist()[-1] == ["WA", 3, 2]


def test_county_table(fixture_df):
    table = atlas.county_correlations(fixture_df, ["ec_county", "clustering_county"])
    assert list(table.columns) == atlas.COUNTY_COLUMNS
    assert table["n_counties"].tolist() == [45, 44]


def test_postal_table():
    assert len(atlas.STATE_POSTAL) == 52 and len(set(atlas.STATE_POSTAL.values())) == 52
    assert atlas.STATE_POSTAL[6] == "CA" and atlas.STATE_POSTAL[11] == "DC"


# ----------------------------------------------------------------- document

FIXTURE_SHAS = {atlas.SCA_FILE: "a" * 64, atlas.OUTCOMES_FILE: "b" * 64}


@pytest.fixture(scope="module")
def fixture_doc(fixture_df) -> dict:
    return atlas.derive_state_effects(fixture_df, FIXTURE_SHAS, min_counties=20)[0]


def test_document_content(fixture_doc):
    doc = fixture_doc
    assert (doc["study"], doc["design"], doc["country"], doc["status"], doc["kind"]) == (
        "sca2022",
        "ecological",
        ["US"],
        "coded",
        "study",
    )
    assert "1/(n-3)" in doc["notes"] and "num_below_p50" in doc["notes"]
    by_id = {e["id"]: e for e in doc["effects"]}
    ec = by_id["economic-connectedness-ca"]
    assert (ec["sample"], ec["theme"], ec["outcome"], ec["construct"], ec["n"]) == (
        "CA",
        "bridging",
        "mobility",
        "economic-connectedness",
        22,
    )
    assert ec["locator"] == "Computed: state CA, 22 counties"
    assert ec["computed"]["from"] == [
        f"social_capital_county.csv sha256:{'a' * 64}",
        f"county_outcomes_simple.csv sha256:{'b' * 64}",
    ]
    assert by_id["clustering-ca"]["theme"] == "bonding"
    assert by_id["support-ratio-or"]["theme"] == "bonding"
    assert by_id["volunteering-rate-or"]["theme"] == "linking"
    assert by_id["civic-organizations-ca"]["theme"] == "linking"
    assert "clustering-or" not in by_id  # 19 counties
    assert len(doc["effects"]) == 9  # 5 measures x 2 states, less clustering in OR


def test_document_rounds_r_to_six_decimals(fixture_df, fixture_doc):
    r = atlas.weighted_correlation(fixture_df[fixture_df["state"] == 41], "ec_county")[0]
    effect = next(e for e in fixture_doc["effects"] if e["id"] == "economic-connectedness-or")
    assert effect["r"] == round(r, 6) and abs(effect["r"] - r) <= 5e-7


def test_document_skips_county_only_measures(fixture_df):
    table = atlas.state_correlations(fixture_df, ["ec_county"], min_counties=20)
    extra = table.assign(measure="child_ec_county")
    doc = atlas.state_effects_document(pd.concat([table, extra]), FIXTURE_SHAS)
    assert {e["construct"] for e in doc["effects"]} == {"economic-connectedness"}


def test_document_valid_against_schema(fixture_doc):
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(fixture_doc)


def test_yaml_is_deterministic_and_atomic(tmp_path, fixture_doc):
    shuffled = dict(reversed(list(fixture_doc.items())))
    shuffled["effects"] = list(reversed(fixture_doc["effects"]))
    text = atlas.dump_yaml(fixture_doc)
    assert atlas.dump_yaml(shuffled) == text
    assert text.startswith("# GENERATED FILE: do not edit by hand.")
    assert "snakemake derive_atlas_effects" in text.splitlines()[1]
    ids = [e["id"] for e in yaml.safe_load(text)["effects"]]
    assert ids[:3] == ["economic-connectedness-ca", "economic-connectedness-or", "clustering-ca"]
    out = tmp_path / "sca2022.yaml"
    atlas.write_yaml(fixture_doc, out)
    assert out.read_text(encoding="utf-8") == text
    assert os.listdir(tmp_path) == ["sca2022.yaml"]  # no temporary file left


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_df() -> pd.DataFrame:
    for name in (atlas.SCA_FILE, atlas.OUTCOMES_FILE):
        atlas.verify_sha256(DATA_DIR / name, ATLAS["sha256"][name])
    return atlas.load_merged(DATA_DIR / atlas.SCA_FILE, DATA_DIR / atlas.OUTCOMES_FILE)


@real_data
def test_real_county_correlations_reproduce_reference(real_df):
    table = atlas.county_correlations(real_df, atlas.COUNTY_MEASURES).set_index("measure")
    assert list(table.index) == list(REFERENCE)
    for measure, (n, g, r, se) in REFERENCE.items():
        row = table.loc[measure]
        assert (row["n_counties"], row["n_cz"]) == (n, g), measure
        assert abs(row["r"] - r) <= REFERENCE_TOL, (measure, row["r"], r)
        assert abs(row["se"] - se) <= REFERENCE_TOL, (measure, row["se"], se)


@real_data
def test_real_document_reproduces_committed_file(real_df):
    if not COMMITTED.exists():
        pytest.fail(f"{COMMITTED} is missing: run `make atlas` and commit it")
    doc, _ = atlas.derive_state_effects(real_df, dict(ATLAS["sha256"]), ATLAS["min_counties"])
    assert atlas.dump_yaml(doc) == COMMITTED.read_text(encoding="utf-8"), (
        "extracted/sca2022.yaml differs from what the code gives: run `make atlas` and review the diff"
    )


def test_committed_file_valid_against_schema():
    if not COMMITTED.exists():
        pytest.fail(f"{COMMITTED} is missing: run `make atlas` and commit it")
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    doc = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["study"] == "sca2022" and doc["effects"]
