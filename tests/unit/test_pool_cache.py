"""The per-analysis cache of pooling and sensitivity (analysis/pooling/cache.py).

A warm run recomputes exactly the analyses whose effects, settings or code changed,
and writes the bytes a cold run of the same inputs writes; a damaged pack is a miss.
Which analyses were computed is counted by wrapping the per-analysis functions.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from analysis.inputs import bibliography, effects, extraction
from analysis.io import csv_text, read_table, write_frame
from analysis.pooling import analyses as pooling
from analysis.pooling import cache, sensitivity_rows
from benchmarks import generate as gen

SETTINGS = {"estimator": "REML", "ci_method": "knha", "rho": 0.6, "alpha": 0.05}
SEED = 3


def _effects(extracted, bib) -> pd.DataFrame:
    """effects.csv of a corpus, read back as the rule reads it."""
    keys = {r.key for r in bibliography.read_bibliography(bib)}
    documents, problems = extraction.load_corpus(extracted, keys)
    assert not problems
    path = extracted.parent / "effects.csv"
    path.write_text(csv_text(effects.effect_rows(documents), effects.COLUMNS), encoding="utf-8")
    return read_table(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(effects of 30 studies, effects after adding the next coded study, the new study's key)."""
    out = tmp_path_factory.mktemp("pool-cache")
    extracted, bib = gen.generate(30, seed=SEED, out_dir=out)
    before = _effects(extracted, bib)
    added = gen.add_study(extracted, bib, SEED).stem
    return before, _effects(extracted, bib), added


@pytest.fixture
def code(tmp_path):
    """Stand-in code files of the rule (their bytes are part of every key)."""
    files = [tmp_path / "code" / name for name in ("a.py", "b.py")]
    for path in files:
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"# {path.name}\n", encoding="utf-8")
    return files


def _counting(monkeypatch, module, name: str) -> list[str]:
    """Wrap ``module.name(analysis, ...)``; returns the list of analysis ids it is called for."""
    calls: list[str] = []
    original = getattr(module, name)

    def counted(analysis, *args, **kwargs):
        calls.append(analysis.analysis_id)
        return original(analysis, *args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def _pool_bytes(table, pack) -> tuple[bytes, bytes]:
    pooled, units = pooling.pool_effects(table, **SETTINGS, pack=pack)
    return csv_text(pooled.to_dict("records"), list(pooled.columns)).encode(), csv_text(
        units.to_dict("records"), list(units.columns)
    ).encode()


def _sensitivity_bytes(table, pack) -> dict[str, bytes]:
    tables = pooling.sensitivity_tables(table, **SETTINGS, pack=pack)
    return {name: csv_text(t.to_dict("records"), list(t.columns)).encode() for name, t in tables.items()}


def _ids(table: pd.DataFrame, rows) -> set[str]:
    rows = table[rows & (table["role"] == pooling.POOLED_ROLE)]
    return {pooling.analysis_id(*cell) for cell in zip(*(rows[c].fillna("") for c in pooling.KEY))}


def _all_ids(table: pd.DataFrame) -> set[str]:
    return _ids(table, pd.Series(True, index=table.index))


def test_adding_a_study_refits_only_its_analyses(corpus, code, tmp_path, monkeypatch):
    before, after, added = corpus
    path = tmp_path / "pool.pack"
    pack = cache.open_pack(path, code, SETTINGS)
    cold_before = _pool_bytes(before, pack)
    assert not path.exists()  # written by save() alone
    pack.save()
    fitted = _counting(monkeypatch, pooling, "_pooled_row")
    pack = cache.open_pack(path, code, SETTINGS)
    warm = _pool_bytes(after, pack)
    pack.save()
    touched = _ids(after, after["study"] == added)
    assert touched and sorted(fitted) == sorted(touched)
    assert (pack.misses, pack.hits) == (len(touched), len(_all_ids(after)) - len(touched))
    monkeypatch.undo()
    assert (
        warm
        == _pool_bytes(after, None)
        == _pool_bytes(after, cache.open_pack(tmp_path / "new", code, SETTINGS))
    )
    assert warm != cold_before


def test_changing_one_effect_refits_that_analysis_alone(corpus, code, tmp_path, monkeypatch):
    _, table, _ = corpus
    primary = table.index[table["role"] == pooling.POOLED_ROLE]
    changed = table.copy()
    changed.loc[primary[5], "yi"] = changed.loc[primary[5], "yi"] + 0.1
    target = _ids(changed, changed.index == primary[5])
    assert len(target) == 1
    pack = cache.open_pack(tmp_path / "s.pack", code, SETTINGS)
    _sensitivity_bytes(table, pack)
    pack.save()
    computed = _counting(monkeypatch, sensitivity_rows, "analysis_rows")
    fitted = _counting(monkeypatch, pooling, "_pooled_row")
    warm = _sensitivity_bytes(changed, cache.open_pack(tmp_path / "s.pack", code, SETTINGS))
    assert computed == sorted(target) and not fitted
    monkeypatch.undo()
    assert warm == _sensitivity_bytes(changed, None)


def test_the_pack_keeps_only_the_entries_of_this_run(corpus, code, tmp_path):
    before, after, added = corpus
    path = tmp_path / "pool.pack"
    for table in (after, before):  # the second run no longer has the added study's analyses' old keys
        pack = cache.open_pack(path, code, SETTINGS)
        _pool_bytes(table, pack)
        pack.save()
    lines = path.read_bytes().split(b"\n")
    assert lines[0] + b"\n" == cache.HEADER and lines[-1] == b""
    assert len(lines) - 2 == len(_all_ids(before))
    pack = cache.open_pack(path, code, SETTINGS)
    _pool_bytes(before, pack)
    assert (pack.hits, pack.misses) == (len(_all_ids(before)), 0)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "empty", "folder"])
def test_a_damaged_pack_is_a_miss(corpus, code, tmp_path, damage):
    table = corpus[0]
    path = tmp_path / "pool.pack"
    pack = cache.open_pack(path, code, SETTINGS)
    cold = _pool_bytes(table, pack)
    pack.save()
    data = path.read_bytes()
    n = len(_all_ids(table))
    if damage == "garbage":
        path.write_bytes(b"\x00\xff not a pack \n" + data[:100])
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":  # one digit of one value changed: that entry's checksum fails
        line = data.split(b"\n")[1]
        at = line.index(b":0.") + 3
        path.write_bytes(data.replace(line, line[:at] + bytes([48 + (line[at] - 47) % 10]) + line[at + 1 :]))
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
        path.mkdir()
    pack = cache.open_pack(path, code, SETTINGS)
    assert _pool_bytes(table, pack) == cold
    if damage == "truncated":
        assert 0 < pack.misses < n
    else:
        assert pack.misses == (1 if damage == "flipped" else n)
    assert pack.hits == n - pack.misses
    pack.save()  # a pack that cannot be written is only logged
    if damage == "folder":
        shutil.rmtree(path)
        pack.save()
    pack = cache.open_pack(path, code, SETTINGS)
    assert _pool_bytes(table, pack) == cold and (pack.hits, pack.misses) == (n, 0)


@pytest.mark.parametrize("change", ["alpha", "rho", "estimator", "ci_method", "code"])
def test_a_setting_or_code_change_misses(corpus, code, tmp_path, change):
    table = corpus[0]
    path = tmp_path / "pool.pack"
    pack = cache.open_pack(path, code, SETTINGS)
    _pool_bytes(table, pack)
    pack.save()
    settings = dict(SETTINGS)
    if change == "code":
        code[1].write_text("# b.py, changed\n", encoding="utf-8")
    else:
        settings[change] = {"alpha": 0.1, "rho": 0.5, "estimator": "DL", "ci_method": "wald"}[change]
    pack = cache.open_pack(path, code, settings)
    pooled, units = pooling.pool_effects(table, **settings, pack=pack)
    assert pack.hits == 0 and pack.misses == len(_all_ids(table))
    fresh = pooling.pool_effects(table, **settings)
    assert pooled.equals(fresh[0]) and units.equals(fresh[1])


def test_pooling_and_sensitivity_never_share_an_entry(corpus, code, tmp_path):
    """The two rules' scripts import the same code and read the same settings: the kind of
    value keeps their entries apart even in one pack."""
    table = corpus[0]
    pack = cache.open_pack(tmp_path / "one.pack", code, SETTINGS)
    _pool_bytes(table, pack)
    pack.save()
    pack = cache.open_pack(tmp_path / "one.pack", code, SETTINGS)
    assert _sensitivity_bytes(table, pack) == _sensitivity_bytes(table, None)
    assert pack.hits == 0 and pack.misses == len(_all_ids(table))


def test_output_order_comes_from_the_inputs_not_the_pack(corpus, code, tmp_path):
    table = corpus[1]
    path = tmp_path / "s.pack"
    pack = cache.open_pack(path, code, SETTINGS)
    cold = _sensitivity_bytes(table, pack)
    pack.save()
    shuffled = table.sample(frac=1, random_state=1).reset_index(drop=True)
    assert _sensitivity_bytes(shuffled, cache.open_pack(path, code, SETTINGS)) == cold


def test_values_survive_the_round_trip_exactly(tmp_path):
    pack = cache.Pack(tmp_path / "x.pack", salt="s")
    value = {"a": [0.1 + 0.2, float("nan"), float("inf"), -0.0, 1e-300, 3, True, 'é\n"x"']}
    back = pack.put(pack.key("d", "k"), value)
    pack.save()
    again = cache.Pack(tmp_path / "x.pack", salt="s").get(pack.key("d", "k"))
    assert cache.Pack(tmp_path / "x.pack", salt="s").get(pack.key("d", "other")) is None
    for found in (back, again):
        assert (
            found["a"][0] == 0.1 + 0.2 and found["a"][1] != found["a"][1] and found["a"][2:] == value["a"][2:]
        )


def test_group_digests_follow_each_groups_rows_in_order():
    rows = [["a", "1"], ["b", "2"], ["a", "3"]]
    digests = cache.group_digests(rows, ["x", "y", "x"])
    assert list(digests) == ["x", "y"]
    assert digests["y"] == cache.group_digests([["b", "2"]], ["y"])["y"]
    assert digests["x"] != cache.group_digests([rows[2], rows[0]], ["x", "x"])["x"]
    assert cache.group_digests([["a", "1"]], ["x"]) != cache.group_digests([["a1", ""]], ["x"])


def test_a_cold_cached_run_writes_the_bytes_of_an_uncached_one(corpus, tmp_path):
    """write_frame (the rule's writer) gives the same file with and without a pack."""
    table = corpus[1]
    for name, pack in (
        ("cold", cache.open_pack(tmp_path / ".cache" / "p.pack", [], SETTINGS)),
        ("plain", None),
    ):
        pooled, _ = pooling.pool_effects(table, **SETTINGS, pack=pack)
        write_frame(pooled, tmp_path / f"{name}.csv")
        if pack:
            pack.save()
    assert (tmp_path / "cold.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    assert (tmp_path / ".cache" / "p.pack").read_bytes().startswith(cache.HEADER)
