"""Reference datasets of metafor's documentation, with yi and vi computed as escalc does.

The datasets come from R's ``metadat`` package (Viechtbauer; data-raw files,
GPL-2+), vendored in ``tests/data/reference/`` (its README gives the sources);
the formulas are those of metafor's ``escalc`` as stated in
``tests/data/reference/metafor-results.md``. They are computed here, inline, so that these
tests check the statistics engine alone.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATASETS = Path(__file__).parents[1] / "data" / "reference"


def read(name: str) -> pd.DataFrame:
    """One reference dataset, or a skip saying where it was looked for."""
    path = DATASETS / f"{name}.csv"
    if not path.is_file():
        pytest.fail(f"metafor reference dataset missing: {path} (vendored in the repository)")
    return pd.read_csv(path)


@pytest.fixture(scope="session")
def bcg() -> pd.DataFrame:
    """BCG trials (Colditz et al. 1994) with log risk ratios (escalc measure="RR")."""
    data = read("bcg")
    t, c = data["tpos"] + data["tneg"], data["cpos"] + data["cneg"]
    data["yi"] = np.log((data["tpos"] / t) / (data["cpos"] / c))
    data["vi"] = 1 / data["tpos"] - 1 / t + 1 / data["cpos"] - 1 / c
    return data


@pytest.fixture(scope="session")
def molloy() -> pd.DataFrame:
    """Molloy et al. (2014) correlations as Fisher z (escalc measure="ZCOR")."""
    data = read("molloy2014")
    data["yi"], data["vi"] = np.arctanh(data["ri"]), 1 / (data["ni"] - 3)
    return data


def _hedges_j(m: float) -> float:
    """Exact bias correction of Hedges (1981): Γ(m/2) / (sqrt(m/2) Γ((m-1)/2))."""
    return math.exp(math.lgamma(m / 2) - 0.5 * math.log(m / 2) - math.lgamma((m - 1) / 2))


@pytest.fixture(scope="session")
def normand() -> pd.DataFrame:
    """Normand (1999): Hedges' g (yi_smd, vi_smd) and mean difference (yi_md, vi_md)."""
    data = read("normand1999")
    n1, n2 = data["n1i"], data["n2i"]
    sd = np.sqrt(((n1 - 1) * data["sd1i"] ** 2 + (n2 - 1) * data["sd2i"] ** 2) / (n1 + n2 - 2))
    j = np.array([_hedges_j(m) for m in n1 + n2 - 2])
    data["yi_smd"] = j * (data["m1i"] - data["m2i"]) / sd
    data["vi_smd"] = 1 / n1 + 1 / n2 + data["yi_smd"] ** 2 / (2 * (n1 + n2))
    data["yi_md"] = data["m1i"] - data["m2i"]
    data["vi_md"] = data["sd1i"] ** 2 / n1 + data["sd2i"] ** 2 / n2
    return data


@pytest.fixture(scope="session")
def aloe() -> pd.DataFrame:
    """Aloe & Thompson (2013): partial correlations (PCOR) and their Fisher z (ZPCOR),
    with metafor >= 4.4 variances."""
    data = read("aloe2013")
    n, preds, t = data["n"], data["preds"], data["tval"]
    r = t / np.sqrt(t**2 + n - preds - 1)
    data["yi_pcor"], data["vi_pcor"] = r, (1 - r**2) ** 2 / (n - preds)
    data["yi_zpcor"], data["vi_zpcor"] = np.arctanh(r), 1 / (n - preds - 2)
    return data


@pytest.fixture(scope="session")
def konstantopoulos() -> pd.DataFrame:
    """Konstantopoulos (2011): 56 schools (effect) in 11 districts (unit); yi, vi as given (SMD)."""
    return read("konstantopoulos2011")


@pytest.fixture(scope="session")
def tannersmith() -> pd.DataFrame:
    """Tanner-Smith et al. (2016): 113 Fisher z in 17 studies (unit); ``esid`` = position in the study."""
    data = read("tannersmith2016")
    data["esid"] = data.groupby("studyid").cumcount() + 1
    return data
