"""The ``moderators:`` field of extraction files: schema, unit agreement, one spelling and kind."""

from __future__ import annotations

import pytest

from analysis.inputs import moderators
from analysis.inputs.effects import moderators_cell
from analysis.inputs.extraction import load_corpus, read_extraction, validate_document

BIB = {"rothon2012", "other2020"}


def coded(moderators: str = "", first: str = "", second: str = "", study: str = "rothon2012") -> str:
    """An extraction file with two effects of one sample and the given moderator lines
    (``first`` and ``second`` are lines of the two effects, ``\n`` between several)."""

    def effect(effect_id: str, ratio: str, ci: str, quote: str, extra: str) -> str:
        lines = [f"  - id: {effect_id}", "    theme: education", "    outcome: education", f"    or: {ratio}",
                 f"    ci: {ci}", "    locator: Abstract", f'    quote: "{quote}"']  # fmt: skip
        lines += [f"    {line}" for line in extra.split("\n") if line]
        return "\n".join(lines)

    head = [f"study: {study}", "design: cohort", "country: [GB]", "status: coded", moderators, "effects:"]
    return "\n".join(
        [*head, effect("a", "2.57", "[2.11, 3.13]", "(OR = 2.57, 95% CI 2.11-3.13)", first),
         effect("b", "1.5", "[1.1, 2.0]", "(OR = 1.5, 95% CI 1.1-2.0)", second), ""]
    )  # fmt: skip


def problems_of(tmp_path, text, name="rothon2012.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    data, problems = read_extraction(path)
    return [str(p) for p in (validate_document(data, path, BIB) if data is not None else problems)]


def test_study_and_effect_moderators_are_accepted(tmp_path):
    text = coded("moderators: {uk_sample: true, year_of_data: 2008, measure_type: trust}")
    assert problems_of(tmp_path, text) == []


@pytest.mark.parametrize(
    "line, expected",
    [
        ("moderators: {UK_sample: true}", "moderator name 'UK_sample' is not allowed"),
        ("moderators: {uk-sample: true}", "moderator name 'uk-sample' is not allowed"),
        ("moderators: {uk_sample: [1, 2]}", "[1, 2] is not a moderator value"),
        ("moderators: {uk_sample: }", "an empty value is not a moderator value"),
        ("moderators: {uk_sample: {a: 1}}", "{'a': 1} is not a moderator value"),
        ('moderators: {label: "a;b"}', "'a;b' is not a moderator value"),
    ],
)
def test_bad_moderators_give_one_line(tmp_path, line, expected):
    found = problems_of(tmp_path, coded(line))
    assert len(found) == 1 and "\n" not in found[0]
    assert expected in found[0] and "Fix:" in found[0] and "rothon2012.yaml" in found[0]


def test_effects_of_one_sample_must_agree(tmp_path):
    text = coded("moderators: {uk_sample: true}", "moderators: {year: 2008}", "moderators: {year: 2010}")
    [problem] = problems_of(tmp_path, text)
    assert "effect b, field 'moderators.year': is 2010 but 2008 for effect a" in problem


def test_effect_overrides_the_study(tmp_path):
    text = coded(
        "moderators: {uk_sample: true}", "moderators: {uk_sample: false}", "moderators: {uk_sample: false}"
    )
    assert problems_of(tmp_path, text) == []
    assert moderators_cell(
        {"moderators": {"uk_sample": True, "x": 1}}, {"moderators": {"uk_sample": False}}
    ) == ('{"uk_sample":false,"x":1}')


def test_a_moderator_given_for_one_effect_only_disagrees(tmp_path):
    [problem] = problems_of(tmp_path, coded("", "moderators: {year: 2008}", ""))
    assert "effect b, field 'moderators.year': is not given but 2008 for effect a" in problem


def test_samples_may_differ(tmp_path):
    text = coded("", "sample: boys\nmoderators: {year: 2008}", "sample: girls\nmoderators: {year: 2010}")
    assert problems_of(tmp_path, text) == []


def corpus(tmp_path, first: str, second: str):
    (tmp_path / "rothon2012.yaml").write_text(coded(first), encoding="utf-8")
    (tmp_path / "other2020.yaml").write_text(coded(second, study="other2020"), encoding="utf-8")
    return [str(p) for p in load_corpus(tmp_path, BIB)[1]]


def test_names_differing_only_by_punctuation(tmp_path):
    [problem] = corpus(tmp_path, "moderators: {uksample: true}", "moderators: {uk_sample: true}")
    assert problem.startswith(str(tmp_path / "rothon2012.yaml"))
    assert "differs from the moderator 'uk_sample' of" in problem and "spell it uk_sample" in problem


def test_one_kind_per_moderator(tmp_path):
    [problem] = corpus(tmp_path, "moderators: {uk_sample: yes_uk}", "moderators: {uk_sample: true}")
    assert "is a text label here but true/false in" in problem


def test_same_moderator_in_two_files_is_fine(tmp_path):
    assert corpus(tmp_path, "moderators: {uk_sample: false}", "moderators: {uk_sample: true}") == []


def test_one_cell_round_trip():
    """A release's extractions.csv and `review import` hold moderators as name=value; name=value."""
    found = {"uk_sample": True, "year_of_data": 2008, "share": 0.25, "measure_type": "trust"}
    text = moderators.moderators_text(found)
    assert text == "uk_sample=true; year_of_data=2008; share=0.25; measure_type=trust"
    assert moderators.parse_moderators(text) == found
    with pytest.raises(ValueError, match="is not name=value"):
        moderators.parse_moderators("uk_sample true")
