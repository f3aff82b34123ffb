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


def test_splitting_imports_neither_pandas_nor_scipy():
    """The checkpoint runs at every change of the effects: it reads and writes CSV text, so
    its imports stay light (pandas and scipy cost it 1.6 s of a 1.8 s job)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from analysis.pooling.columns import INPUT_COLUMNS\n"
        "from analysis.pooling.shards import split_effects\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'scipy', 'numpy'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_split_script_imports_only_light_modules():
    """The script's own imports (the ones that name analysis modules) are the light ones."""
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "analysis" / "scripts" / "split_effects.py"
    imports = [
        line for line in script.read_text(encoding="utf-8").splitlines() if line.startswith("from analysis")
    ]
    assert imports and all(
        line.startswith(("from analysis.pooling.columns ", "from analysis.pooling.shards "))
        for line in imports
    )
