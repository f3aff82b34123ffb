"""The guards' one-pass pre-check (analysis.inputs.guards._may_have_problems) never hides a
problem: value_problems gives what the full walk gives, on every file and bad-input case
of the repository and on documents given a bad value somewhere (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.inputs import guards
from tests.unit.test_inputs_speed_schema import DOCUMENTS, VALID, changed, places


def full_walk(data: dict) -> list[str]:
    saved = guards._may_have_problems
    guards._may_have_problems = lambda data: True
    try:
        return [str(p) for p in guards.value_problems(data, "x.yaml", "x")]
    finally:
        guards._may_have_problems = saved


def with_precheck(data: dict) -> list[str]:
    return [str(p) for p in guards.value_problems(data, "x.yaml", "x")]


DICTS = [(n, d) for n, d in DOCUMENTS if isinstance(d, dict)]


@pytest.mark.parametrize("name,document", DICTS, ids=[n for n, _ in DICTS])
def test_the_precheck_gives_the_full_walks_problems(name, document):
    assert with_precheck(document) == full_walk(document)


BAD_VALUES = [
    math.nan, math.inf, -math.inf, "a\x00b", "tab\tok", "bell\x07", "\u202eevil", "\ud800", "\x85",
    "x" * (guards.MAX_TEXT_CHARS + 1), "x" * guards.MAX_TEXT_CHARS, "line\nbreak", 1.5, 7, None, True,
    {"k\x01": 1}, [math.nan], {"ok": ["\u200b"]},
]  # fmt: skip


@given(st.data())
def test_a_bad_value_anywhere_is_found_as_by_the_full_walk(data):
    document = data.draw(st.sampled_from(VALID))
    path = data.draw(st.sampled_from(list(places(document))[1:]))
    mutant = changed(document, path, "set", data.draw(st.sampled_from(BAD_VALUES)))
    assert with_precheck(mutant) == full_walk(mutant)


def test_the_precheck_passes_clean_files_and_flags_bad_ones():
    clean = [d for _, d in DICTS if not full_walk(d)]
    assert clean and not any(guards._may_have_problems(d) for d in clean)
    assert guards._may_have_problems({"a": "x\x00"}) and guards._may_have_problems({"a": [math.inf]})
    assert guards._may_have_problems({1: "x"})
