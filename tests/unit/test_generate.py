"""The benchmark corpus generator (benchmarks/generate.py) writes valid, synthetic, repeatable corpora."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from analysis.inputs import bibliography, effects, extraction
from benchmarks import generate as gen
from tests.conftest import ROOT

N = 50


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _load(extracted: Path, bib: Path):
    keys = {r.key for r in bibliography.read_bibliography(bib)}
    documents, problems = extraction.load_corpus(extracted, keys)
    return keys, documents, problems


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    extracted, bib = gen.generate(N, seed=7, out_dir=out)
    return out, extracted, bib


def test_every_file_validates_and_matches_the_bibliography(corpus):
    _, extracted, bib = corpus
    keys, documents, problems = _load(extracted, bib)
    assert problems == []
    assert len(documents) == N == len(list(extracted.glob("*.yaml")))
    assert keys == {doc["study"] for _, doc in documents}
    rows = effects.effect_rows(documents)  # every effect converts
    assert all(r["vi"] > 0 for r in rows)


def test_corpus_has_every_input_form_and_record_kind(corpus):
    _, extracted, bib = corpus
    _, documents, _ = _load(extracted, bib)
    rows = effects.effect_rows(documents)
    forms = Counter(r["input_form"] for r in rows)
    assert set(forms) == set(effects.FORMULAS), forms
    sizes = Counter(len(doc.get("effects") or []) for _, doc in documents)
    assert set(sizes) - {0} <= {1, 2, 3, 4, 5} and len(set(sizes) - {0}) >= 3
    assert any(doc["status"] == "narrative" for _, doc in documents)
    assert any(doc.get("kind") == "context" for _, doc in documents)
    assert any(len({e.get("sample") for e in doc.get("effects") or []}) > 1 for _, doc in documents)
    assert any(r["reverse"] for r in rows) and any(r["construct"] for r in rows)
    assert len({r["theme"] for r in rows}) == 5 and len({r["outcome"] for r in rows}) >= 5
    # several studies share each large analysis
    cells = Counter((r["theme"], r["outcome"], r["measure"], r["construct"]) for r in rows)
    assert max(cells.values()) >= 3


def test_data_say_they_are_synthetic(corpus):
    _, extracted, bib = corpus
    for path in extracted.glob("*.yaml"):
        assert f"notes: {gen.MARK}" in path.read_text(encoding="utf-8"), path
    text = bib.read_text(encoding="utf-8")
    assert text.count(f"note = {{{gen.MARK}}}") == N


def test_same_seed_same_bytes_other_seed_other_bytes(corpus, tmp_path):
    out, _, _ = corpus
    gen.generate(N, seed=7, out_dir=tmp_path / "again")
    gen.generate(N, seed=8, out_dir=tmp_path / "other")
    assert _digest(tmp_path / "again") == _digest(out)
    assert _digest(tmp_path / "other") != _digest(out)


def test_smaller_corpus_is_a_prefix_and_add_study_gives_a_later_coded_one(tmp_path):
    small, small_bib = gen.generate(30, seed=3, out_dir=tmp_path / "small")
    big, _ = gen.generate(40, seed=3, out_dir=tmp_path / "big")
    assert all((big / p.name).read_bytes() == p.read_bytes() for p in small.glob("*.yaml"))
    added = gen.add_study(small, small_bib, seed=3)
    assert added.name > "syn00030.yaml"
    assert added.read_bytes() == (big / added.name).read_bytes()
    keys, documents, problems = _load(small, small_bib)
    assert problems == [] and len(documents) == 31 and added.stem in keys
    assert dict(documents)[added]["status"] == "coded"


def test_edit_effect_changes_one_number_and_stays_valid(tmp_path):
    extracted, bib = gen.generate(30, seed=5, out_dir=tmp_path)
    before = {p.name: p.read_bytes() for p in extracted.glob("*.yaml")}
    _, docs_before, _ = _load(extracted, bib)
    edited = gen.edit_effect(extracted)
    after = {p.name: p.read_bytes() for p in extracted.glob("*.yaml")}
    assert [name for name in before if before[name] != after[name]] == [edited.name]
    _, docs_after, problems = _load(extracted, bib)
    assert problems == []
    old = {(r["study"], r["effect_id"]): r["yi"] for r in effects.effect_rows(docs_before)}
    new = {(r["study"], r["effect_id"]): r["yi"] for r in effects.effect_rows(docs_after)}
    assert [k for k in old if old[k] != new[k]] == [(edited.stem, "effect-1")]


def test_refuses_to_write_into_the_repository_inputs():
    with pytest.raises(ValueError, match="synthetic"):
        gen.generate(2, seed=1, out_dir=ROOT / "extracted" / "bench")
    with pytest.raises(ValueError, match="synthetic"):
        gen.generate(2, seed=1, out_dir=ROOT)


def test_the_single_shape_is_one_analysis_of_one_correlation_per_study(tmp_path):
    extracted, bib = gen.generate(N, seed=7, out_dir=tmp_path / "single", shape="single")
    keys, documents, problems = _load(extracted, bib)
    assert problems == [] and len(documents) == N
    assert all(doc["status"] == "coded" and len(doc["effects"]) == 1 for _, doc in documents)
    rows = effects.effect_rows(documents)
    assert {(r["theme"], r["outcome"], r["measure"], r["input_form"]) for r in rows} == {
        ("bridging", "mobility", "ZCOR", "r_n")
    }
    assert len({r["yi"] for r in rows}) > N // 2  # the studies differ
    added = gen.add_study(extracted, bib, seed=7, shape="single")
    assert added.name == f"{gen.study_key(N + 1)}.yaml"
    with pytest.raises(ValueError, match="shape"):
        gen.make_study(1, 7, shape="round")
