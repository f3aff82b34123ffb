"""Warnings of the corpus check and of `review check`: allowed, but usually a slip."""

from analysis.inputs.check import near_duplicates
from analysis.review.check import document_warnings


def test_a_construct_close_to_another_study_s_is_flagged():
    used = {"high-vs-low": {"a.yaml", "b.yaml"}, "high-versus-low": {"c.yaml"}}
    assert near_duplicates(used) == [("high-versus-low", ["high-vs-low"])]


def test_close_constructs_of_one_study_are_deliberate():
    used = {"low-items-1-vs-0": {"a.yaml"}, "low-items-4-5-vs-0": {"a.yaml"}}
    assert near_duplicates(used) == []


def test_a_study_without_identified_by_is_accepted_with_a_warning():
    doc = {"study": "x2020", "design": "cohort", "country": ["GB"], "status": "narrative"}
    (warning,) = document_warnings(doc)
    assert "identified_by" in warning and "not recorded" in warning
    assert document_warnings({**doc, "identified_by": "packet-2"}) == []
    assert document_warnings(doc, first_coder=False) == []
    assert document_warnings({**doc, "kind": "context"}) == []
