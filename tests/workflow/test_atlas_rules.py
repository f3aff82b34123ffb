"""The Atlas rules, run by Snakemake, reproduce the committed extracted/sca2022.yaml byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.workflow.conftest import read_csv, run_workflow


def atlas_dir() -> Path:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    folder = (ROOT / config["atlas"]["dir"]).resolve()
    if not folder.is_dir():
        pytest.skip(f"public Atlas data not found at {folder} (config atlas: dir)")
    return folder


def test_rules_reproduce_committed_effects_and_county_table(tmp_path):
    atlas_dir()
    run_workflow(
        ROOT / "extracted",
        ROOT / "references",
        tmp_path,
        f"{tmp_path}/atlas/sca2022.yaml",
        f"{tmp_path}/atlas/county_correlations.csv",
    )
    assert (tmp_path / "atlas" / "sca2022.yaml").read_bytes() == (
        ROOT / "extracted" / "sca2022.yaml"
    ).read_bytes()
    rows = {r["measure"]: r for r in read_csv(tmp_path / "atlas" / "county_correlations.csv")}
    assert round(float(rows["ec_county"]["r"]), 3) == 0.65
