"""Double coding: Cohen's kappa, per-effect differences, the disagreements to resolve."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from analysis.inputs import agreement
from analysis.inputs.agreement import agreement_summary, cohen_kappa, compare_coders, compare_folders
from analysis.inputs.check import check_inputs
from analysis.inputs.extraction import extraction_files
from analysis.review import cli as review
from tests.conftest import ROOT

BAD = ROOT / "tests" / "data" / "bad"
GOOD_BIB = BAD / "_good" / "references.bib"


# ---------------------------------------------------------------- Cohen's kappa


def test_kappa_textbook_example():
    # Cohen's kappa article on Wikipedia: 50 proposals, both yes 20, A yes B no 5,
    # A no B yes 10, both no 15: p_o = 0.7, p_e = 0.5, kappa = 0.4.
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)


def test_kappa_three_categories():
    # By hand: 7 of 9 agree (p_o = 7/9); rater A x 4, y 3, z 2; rater B x 4, y 4, z 1;
    # p_e = (16 + 12 + 2) / 81 = 30/81; kappa = (63/81 - 30/81) / (51/81) = 33/51.
    a, b = list("xxxxyyyzz"), list("xxxyyyyxz")
    assert cohen_kappa(a, b) == pytest.approx(33 / 51, abs=1e-12)


def test_kappa_undefined_cases():
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["cohort"] * 4, ["cohort"] * 4) is None  # one category: chance agreement is 1
    with pytest.raises(ValueError):
        cohen_kappa([1, 2], [1])


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd")), min_size=1, max_size=60))
def test_kappa_properties(pairs):
    a, b = [p for p, _ in pairs], [q for _, q in pairs]
    kappa = cohen_kappa(a, b)
    if kappa is None:
        assert len(set(a)) == 1 and set(a) == set(b)
        return
    assert -1 - 1e-12 <= kappa <= 1 + 1e-12
    assert kappa == pytest.approx(cohen_kappa(b, a))  # symmetric in the raters
    if a == b:
        assert kappa == pytest.approx(1.0)


def test_kappa_words():
    assert agreement.kappa_words(0.85) == "almost perfect"
    assert agreement.kappa_words(0.5) == "moderate" and agreement.kappa_words(-0.1) == "poor"
    assert agreement.kappa_words(0.0) == "slight"  # Landis & Koch: 0.00-0.20
    assert agreement.kappa_words(None) == "not defined"


# ---------------------------------------------------------------- comparing coders


def study(key: str, design: str = "cohort", effects: list[dict] | None = None, **fields) -> dict:
    doc = {
        "study": key,
        "design": design,
        "country": ["GB"],
        "status": "coded",
        "identified_by": "report-references",
        **fields,
    }
    doc["effects"] = effects if effects is not None else [effect("a")]
    return doc


def effect(effect_id: str, theme: str = "education", **form) -> dict:
    return {
        "id": effect_id,
        "theme": theme,
        "outcome": "education",
        "locator": "p. 1",
        "quote": "as printed",
        **(form or {"or": 2.0, "ci": [1.5, 2.7]}),
    }


def test_identical_coding_agrees_fully():
    docs = {k: study(k) for k in ("s1", "s2")}
    docs["s2"]["design"] = "rct"
    result = compare_coders(docs, {k: yaml.safe_load(yaml.safe_dump(v)) for k, v in docs.items()})
    assert result.disagreements == ()
    by_field = {f.field: f for f in result.fields}
    assert by_field["design"].kappa == pytest.approx(1.0) and by_field["design"].percent == 100.0
    assert by_field["theme"].kappa is None and by_field["theme"].items == 2  # one category
    assert all(c.agrees for c in result.effects)


def test_disagreements_are_listed():
    first = {
        "s1": study("s1", effects=[effect("a"), effect("b"), effect("c")]),
        "s2": study("s2"),
        "s3": study("s3"),
    }
    second = {
        "s1": study(
            "s1",
            design="rct",
            effects=[
                effect("a", theme="bonding"),
                effect("b", **{"or": 2.2, "ci": [1.5, 2.7]}),
                effect("d", **{"r": 0.3, "n": 50}),
            ],
        ),
        "s2": study("s2", effects=[{**effect("a"), "reverse": True, "reverse_reason": "low vs high"}]),
        "s4": study("s4"),
    }
    result = compare_coders(first, second)
    assert result.studies_both == ("s1", "s2")
    assert result.first_only == ("s3",) and result.second_only == ("s4",)
    lines = [str(d) for d in result.disagreements]
    assert "s1, design: first coder 'cohort', second coder 'rct'" in lines
    assert "s1, effect a, theme: first coder 'education', second coder 'bonding'" in lines
    assert "s1, effect c: coded by the first coder only" in lines
    assert "s1, effect d: coded by the second coder only" in lines
    assert "s2, effect a, reverse: first coder false, second coder true" in lines
    assert "s4: coded by the second coder only" in lines
    value = next(line for line in lines if line.startswith("s1, effect b, value"))
    assert value.startswith("s1, effect b, value: first coder OR 2.0 [1.5, 2.7] (yi 0.6931")
    assert "second coder OR 2.2 [1.5, 2.7] (yi 0.7885" in value
    assert result.effects_unmatched == 2
    diffs = {(c.study, c.effect_id): c for c in result.effects}
    assert diffs[("s1", "b")].yi_difference == pytest.approx(math.log(2.2) - math.log(2.0))
    # reverse flips the sign on the analysis scale before comparing
    assert diffs[("s2", "a")].yi_difference == pytest.approx(-2 * math.log(2.0))
    design = next(f for f in result.fields if f.field == "design")
    assert (design.items, design.agreed) == (2, 1)


def test_different_metrics_are_a_disagreement_not_a_difference():
    first = {"s1": study("s1")}
    second = {"s1": study("s1", effects=[effect("a", **{"r": 0.2, "n": 100})])}
    result = compare_coders(first, second)
    assert result.effects[0].yi_difference is None
    assert "s1, effect a, metric: first coder OR, second coder ZCOR" in [str(d) for d in result.disagreements]


# ---------------------------------------------------------------- folders, summary, command


def write(folder: Path, doc: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{doc['study']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@pytest.fixture
def coders(tmp_path):
    extracted = tmp_path / "extracted"
    second = extracted / "second-coder"
    write(extracted, study("rothon2012", effects=[effect("a"), effect("b")]))
    write(extracted, study("other2020", design="rct"))
    write(
        second,
        study("rothon2012", effects=[effect("a"), effect("b", **{"or": 2.1, "ci": [1.5, 2.7]})]),
    )
    write(second, study("other2020", design="cohort"))
    return extracted


def test_the_workflow_does_not_read_the_second_coder(coders, tmp_path):
    assert [p.name for p in extraction_files(coders)] == ["other2020.yaml", "rothon2012.yaml"]
    files, _ = check_inputs(coders, GOOD_BIB, tmp_path / "results")
    assert all("second-coder" not in f for f in files) and len(files) == 2


def test_summary_for_the_brief(coders):
    summary = agreement_summary(coders)
    assert summary["second_coder"] is True
    assert summary["studies_double_coded"] == 2 and summary["studies_second_only"] == 0
    assert summary["effects_compared"] == 3 and summary["effects_differing"] == 1
    assert summary["max_abs_yi_difference"] == pytest.approx(math.log(2.1 / 2.0))
    assert summary["fields"]["design"] == {
        "unit": "study",
        "items": 2,
        "percent_agreement": 50.0,
        "kappa": 0.0,
    }
    assert summary["disagreements"] == 2 and summary["files_left_out"] == 0


def test_summary_without_a_second_coder(tmp_path):
    write(tmp_path / "extracted", study("rothon2012"))
    summary = agreement_summary(tmp_path / "extracted")
    assert summary["second_coder"] is False and summary["studies_double_coded"] == 0
    assert summary["disagreements"] == 0


def test_invalid_second_coder_files_are_left_out(coders):
    (coders / "second-coder" / "other2020.yaml").write_text("study: other2020\ndesign: [\n", encoding="utf-8")
    result = compare_folders(coders)
    assert result.studies_both == ("rothon2012",)
    assert agreement_summary(coders)["files_left_out"] == 1


def test_review_agreement(coders, capsys, monkeypatch):
    monkeypatch.chdir(coders.parent)
    code = review.main(["agreement", "--extracted", str(coders)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Double coding: 2 study(ies) coded by both coders")
    assert "  design       2 studies  agree   50%   kappa  0.00 (slight)" in out
    assert "3 effect(s) coded by both; 2 identical, 1 differ; largest yi difference 0.04879" in out
    assert "To resolve (2):" in out
    assert "  - other2020, design: first coder 'rct', second coder 'cohort'" in out


def test_review_agreement_without_second_coder(tmp_path, capsys):
    write(tmp_path / "extracted", study("rothon2012"))
    code = review.main(["agreement", "--extracted", str(tmp_path / "extracted")])
    assert code == 0 and "No second coder's files yet" in capsys.readouterr().out
    shutil.rmtree(tmp_path / "extracted")


def test_a_disagreement_is_answered_by_the_first_coder_s_notes(tmp_path):
    from analysis.inputs.agreement import _answered

    (tmp_path / "a2020.yaml").write_text(
        "study: a2020\ndesign: cohort\ncountry: [GB]\nstatus: narrative\n"
        "notes: 'Double coding (2026): kept cohort, the source follows one sample.'\n",
        encoding="utf-8",
    )
    (tmp_path / "b2020.yaml").write_text(
        "study: b2020\ndesign: cohort\ncountry: [GB]\nstatus: narrative\nnotes: none\n", encoding="utf-8"
    )
    assert _answered(tmp_path, "a2020") and not _answered(tmp_path, "b2020")
    assert not _answered(tmp_path, "c2020")
