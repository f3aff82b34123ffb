"""Effect-size conversions against metafor's escalc (values from tests/data/reference/metafor-results.md).

Datasets from R's metadat package (Viechtbauer): bcg (Colditz et al. 1994),
molloy2014 (Molloy et al. 2014), normand1999 (Normand 1999), aloe2013 (Aloe &
Thompson 2013). Tolerance 5e-5: the README prints 4 decimals.
"""

import csv
import math

import pytest

from analysis.inputs.effects import convert, effect_rows, hedges_j

TOL = 5e-5  # values printed to 4 decimals


def rows(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_rr_from_counts_matches_bcg_row_1(reference_data):
    r = rows(reference_data / "bcg.csv")[0]
    c = convert(
        {
            "counts": {
                "ai": int(r["tpos"]),
                "bi": int(r["tneg"]),
                "ci": int(r["cpos"]),
                "di": int(r["cneg"]),
            },
            "measure": "RR",
        }
    )
    assert c.measure == "RR"
    assert c.yi == pytest.approx(-0.8893, abs=TOL)
    assert c.vi == pytest.approx(0.3256, abs=TOL)


def test_fisher_z_matches_molloy_row_1(reference_data):
    r = rows(reference_data / "molloy2014.csv")[0]
    c = convert({"r": float(r["ri"]), "n": int(r["ni"])})
    assert (c.measure, round(c.yi, 4), round(c.vi, 4)) == ("ZCOR", 0.1892, 0.0094)


def test_zpcor_from_t_matches_aloe_row_1(reference_data):
    """metafor >= 4.4 conventions: r = t/sqrt(t^2 + n - p - 1), vi = 1/(n - p - 2)."""
    r = rows(reference_data / "aloe2013.csv")[0]
    c = convert({"t": float(r["tval"]), "n": int(r["n"]), "predictors": int(r["preds"])})
    assert c.measure == "ZPCOR"
    assert math.tanh(c.yi) == pytest.approx(0.3012, abs=TOL)
    assert c.yi == pytest.approx(0.3108, abs=TOL)
    assert c.vi == pytest.approx(0.0047, abs=TOL)


def test_or_from_ci_matches_escalc_manual():
    c = convert({"or": 1.18, "ci": [0.90, 1.54]})
    assert (c.measure, round(c.yi, 4), round(c.vi, 4)) == ("OR", 0.1655, 0.0188)


def test_zero_cell_adds_half_to_every_cell():
    c = convert({"counts": {"ai": 0, "bi": 10, "ci": 3, "di": 7}, "measure": "OR"})
    assert c.yi == pytest.approx(math.log(0.5 * 7.5 / (10.5 * 3.5)))
    assert c.vi == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5)


def test_no_correction_without_zero_cell():
    c = convert({"counts": {"ai": 2, "bi": 10, "ci": 3, "di": 7}, "measure": "OR"})
    assert c.yi == pytest.approx(math.log(2 * 7 / (10 * 3)))


def test_risk_difference_from_counts():
    c = convert({"counts": {"ai": 5, "bi": 15, "ci": 10, "di": 10}, "measure": "RD"})
    assert c.yi == pytest.approx(0.25 - 0.5)
    assert c.vi == pytest.approx(0.25 * 0.75 / 20 + 0.5 * 0.5 / 20)


def test_hedges_g_from_groups_normand_row_1(reference_data):
    """Hedges' g with exact J; vi = 1/n1 + 1/n2 + g^2/(2(n1+n2)) (escalc vtype LS)."""
    r = rows(reference_data / "normand1999.csv")[0]
    g = {
        k: float(r[k + "i"]) if k.startswith(("m", "sd")) else int(r[k + "i"])
        for k in ("n1", "m1", "sd1", "n2", "m2", "sd2")
    }
    c = convert({"groups": g, "measure": "SMD"})
    m = g["n1"] + g["n2"] - 2
    sp = math.sqrt(((g["n1"] - 1) * g["sd1"] ** 2 + (g["n2"] - 1) * g["sd2"] ** 2) / m)
    expected = hedges_j(m) * (g["m1"] - g["m2"]) / sp
    assert c.yi == pytest.approx(expected)
    assert c.vi == pytest.approx(1 / g["n1"] + 1 / g["n2"] + expected**2 / (2 * (g["n1"] + g["n2"])))
    md = convert({"groups": g, "measure": "MD"})
    assert md.yi == -20 and md.vi == pytest.approx(47**2 / 155 + 64**2 / 156)


def test_hedges_j_exact_value():
    # J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)); J(10) = 0.9227 (Hedges 1981, table 2)
    assert hedges_j(10) == pytest.approx(0.9227, abs=TOL)
    assert hedges_j(1000) == pytest.approx(1 - 3 / (4 * 1000 - 1), abs=1e-6)


def test_d_form_equals_groups_form():
    g = {"m1": 10.0, "sd1": 2.0, "n1": 20, "m2": 9.0, "sd2": 2.0, "n2": 25}
    a = convert({"groups": g, "measure": "SMD"})
    b = convert({"d": 0.5, "n1": 20, "n2": 25})
    assert a.yi == pytest.approx(b.yi) and a.vi == pytest.approx(b.vi)


def test_yi_se_and_yi_vi_forms():
    assert convert({"yi": 0.649, "se": 0.058, "measure": "GEN"}).vi == pytest.approx(0.058**2)
    c = convert({"yi": 0.2, "vi": 0.01, "measure": "SMD"})
    assert (c.measure, c.yi, c.vi, c.form) == ("SMD", 0.2, 0.01, "yi_vi")


def test_reverse_flips_sign_and_keeps_printed_value():
    doc = {
        "study": "s",
        "design": "cohort",
        "country": ["GB"],
        "status": "coded",
        "effects": [
            {
                "id": "a",
                "theme": "bonding",
                "outcome": "health",
                "or": 0.37,
                "ci": [0.27, 0.51],
                "reverse": True,
                "locator": "x",
                "quote": "q",
            }
        ],
    }
    (row,) = effect_rows([(None, doc)])
    assert row["yi_printed"] == pytest.approx(math.log(0.37))
    assert row["yi"] == pytest.approx(-math.log(0.37))
    assert row["ci_low"] < row["yi"] < row["ci_high"]
    assert row["printed"] == "OR 0.37 [0.27, 0.51]"
