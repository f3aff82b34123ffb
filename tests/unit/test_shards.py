"""Sharded sensitivity analyses (analysis/pooling/shards.py) give the tables of one job, byte for byte."""

from __future__ import annotations

import pytest

from analysis.inputs import bibliography, effects, extraction
from analysis.io import csv_text, read_table, write_frame
from analysis.pooling import analyses as pooling
from analysis.pooling import shards
from benchmarks.generate import generate

SETTINGS = {"estimator": "REML", "ci_method": "knha", "rho": 0.6, "alpha": 0.05}


@pytest.fixture(scope="module")
def effects_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    extracted, bib = generate(60, seed=2, out_dir=out)
    keys = {r.key for r in bibliography.read_bibliography(bib)}
    documents, problems = extraction.load_corpus(extracted, keys)
    assert not problems
    path = out / "effects.csv"
    path.write_text(csv_text(effects.effect_rows(documents), effects.COLUMNS), encoding="utf-8")
    return path


def test_shard_of_is_stable_and_in_range():
    cell = ("bonding", "health", "OR", "")
    assert shards.shard_of(cell, 1) == 0
    assert shards.shard_of(cell, 7) == shards.shard_of(cell, 7)
    assert {shards.shard_of((t, "health", "OR", ""), 4) for t in "abcdefghij"} <= {0, 1, 2, 3}


@pytest.mark.parametrize("n_shards", [1, 3])
def test_combined_shards_equal_one_job(effects_csv, tmp_path, n_shards):
    whole = pooling.sensitivity_tables(read_table(effects_csv), **SETTINGS)
    parts = [tmp_path / f"effects-{i}.csv" for i in range(n_shards)]
    counts = shards.split_effects(effects_csv, parts, pooling.INPUT_COLUMNS)
    assert sum(counts) == len(read_table(effects_csv))
    for i, part in enumerate(parts):
        for name, table in pooling.sensitivity_tables(read_table(part), **SETTINGS).items():
            write_frame(table, tmp_path / f"{i}-{name}.csv")
    for name, table in whole.items():
        write_frame(table, tmp_path / f"whole-{name}.csv")
        shards.combine_tables(
            [tmp_path / f"{i}-{name}.csv" for i in range(n_shards)], tmp_path / f"combined-{name}.csv"
        )
        assert (tmp_path / f"combined-{name}.csv").read_bytes() == (
            tmp_path / f"whole-{name}.csv"
        ).read_bytes(), name


def test_an_analysis_in_two_shards_is_refused(tmp_path):
    for i in range(2):
        (tmp_path / f"{i}.csv").write_text("analysis_id,x\na,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="more than one shard"):
        shards.combine_tables([tmp_path / "0.csv", tmp_path / "1.csv"], tmp_path / "out.csv")
