"""Validation of extraction files: every problem, one line each, with a fix."""

import textwrap

import pytest

from analysis.inputs.extraction import load_corpus, read_extraction, validate_document

BIB = {"rothon2012", "other2020"}

GOOD = """\
study: rothon2012
design: cohort
country: [GB]
status: coded
identified_by: report-references
effects:
  - id: gcse-extracurricular
    theme: education
    outcome: education
    outcome_label: Reached the GCSE benchmark
    exposure: High involvement in extra-curricular activities
    or: 2.57
    ci: [2.11, 3.13]
    locator: Abstract
    quote: "(OR = 2.57, 95% CI 2.11-3.13)"
"""


def problems_of(tmp_path, text, name="rothon2012.yaml", keys=BIB):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    data, problems = read_extraction(path)
    if data is not None:
        problems = validate_document(data, path, keys)
    return [str(p) for p in problems]


def test_good_file_has_no_problem(tmp_path):
    assert problems_of(tmp_path, GOOD) == []


def edit(old, new):
    assert old in GOOD
    return GOOD.replace(old, new)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            edit("study: rothon2012", "study: nobody1999"),
            "rothon2012.yaml: study nobody1999, field 'study': the file is named rothon2012.yaml but holds study 'nobody1999'",
        ),
        (
            edit("study: rothon2012", "study: nobody1999"),
            "field 'study': 'nobody1999' is not a key in the bibliography. Fix: add the study's entry",
        ),
        (
            edit("ci: [2.11, 3.13]", "ci: [2.11, 2.50]"),
            "effect gcse-extracurricular, field 'ci': [2.11, 2.5] does not contain the estimate 2.57",
        ),
        (
            edit("ci: [2.11, 3.13]", "ci: [3.13, 2.11]"),
            "field 'ci': lower bound 3.13 is not below upper bound 2.11",
        ),
        (
            edit("design: cohort", "design: survey"),
            "field 'design': 'survey' is not an allowed value. Fix: use one of: rct, quasi-experimental",
        ),
        (
            edit("theme: education", "theme: family"),
            "effect gcse-extracurricular, field 'theme': 'family' is not an allowed value",
        ),
        (
            edit("    locator: Abstract\n", ""),
            "effect gcse-extracurricular, field 'locator': is missing. Fix: add `locator:`",
        ),
        (
            edit('    quote: "(OR = 2.57, 95% CI 2.11-3.13)"\n', ""),
            "effect gcse-extracurricular, field 'quote': is missing",
        ),
        (
            edit("    or: 2.57\n", "    or: 2.57\n    r: 0.3\n    n: 100\n"),
            "has 2 input forms (or, r). Fix: keep exactly one input form",
        ),
        (edit("    or: 2.57\n    ci: [2.11, 3.13]\n", ""), "has no input form. Fix: give exactly one of"),
        (edit("    ci: [2.11, 3.13]\n", ""), "field 'ci': is needed with 'or'"),
        (
            edit("    or: 2.57\n    ci: [2.11, 3.13]\n", "    r: 1.2\n    n: 50\n"),
            "field 'r': 1.2 is out of range",
        ),
        (
            edit("    or: 2.57\n    ci: [2.11, 3.13]\n", "    r: 0.2\n    n: 3\n"),
            "field 'n': n = 3 is too small for a correlation",
        ),
        (
            edit("    or: 2.57\n    ci: [2.11, 3.13]\n", "    t: 2.0\n    n: 6\n    predictors: 4\n"),
            "n = 6 is too small for 4 predictors",
        ),
        (
            edit("    or: 2.57\n    ci: [2.11, 3.13]\n", "    yi: 0.2\n    vi: 0\n    measure: SMD\n"),
            "field 'vi': 0 is out of range",
        ),
        (
            edit("    or: 2.57\n    ci: [2.11, 3.13]\n", "    yi: 0.2\n    se: -0.1\n    measure: SMD\n"),
            "field 'se': -0.1 is out of range",
        ),
        (
            edit(
                "    or: 2.57\n    ci: [2.11, 3.13]\n",
                "    counts: {ai: 1.5, bi: 3, ci: 2, di: 4}\n    measure: OR\n",
            ),
            "field 'counts.ai': 1.5 is not a whole number",
        ),
        (
            edit(
                "    or: 2.57\n    ci: [2.11, 3.13]\n",
                "    counts: {ai: -1, bi: 3, ci: 2, di: 4}\n    measure: OR\n",
            ),
            "field 'counts.ai': -1 is out of range",
        ),
        (
            edit(
                "    or: 2.57\n    ci: [2.11, 3.13]\n",
                "    counts: {ai: 1, bi: 3, ci: 2, di: 4}\n    measure: SMD\n",
            ),
            "field 'measure': 'SMD' cannot be computed from 'counts'. Fix: use one of: OR, RR, RD",
        ),
        (
            edit("    or: 2.57\n", "    or: '2,57'\n"),
            "field 'or': '2,57' is not a number. Fix: write a number without quotes, thousands separators",
        ),
        (
            edit("country: [GB]", "country: [false]"),
            "field 'country.0': False is not text. Fix: put the value in quotes",
        ),
        (
            edit("country: [GB]", "country: [uk]"),
            "field 'country.0': 'uk' has a form that is not allowed. Fix: use two-letter ISO 3166-1 codes",
        ),
        (
            edit("country: [GB]", "country: [UK]"),
            "field 'country': 'UK' is not an ISO 3166-1 code. Fix: use GB for the United Kingdom",
        ),
        (
            edit("country: [GB]", "country: []"),
            "field 'country': [] has the wrong number of items. Fix: list at least one two-letter country code",
        ),
        (edit("status: coded", "status: narrative"), "field 'findings': is required for a narrative record"),
        (
            edit("    locator: Abstract\n", "    locator: Abstract\n    pages: 3\n"),
            "field 'pages': unknown field(s) pages. Fix: remove or rename it",
        ),
        (
            GOOD + "  - id: gcse-extracurricular\n    theme: education\n    outcome: education\n"
            "    or: 2.0\n    ci: [1.5, 2.5]\n    locator: p. 3\n    quote: OR 2.0 (1.5-2.5)\n",
            "effect gcse-extracurricular, field 'id': is used by another effect of this study",
        ),
    ],
)
def test_each_problem_is_one_clear_line(tmp_path, text, expected):
    problems = problems_of(tmp_path, text)
    assert any(expected in p for p in problems), problems
    assert all(". Fix: " in p for p in problems)


def test_every_problem_reported_in_one_run(tmp_path):
    text = edit("design: cohort", "design: survey").replace("theme: education", "theme: family")
    text = text.replace("ci: [2.11, 3.13]", "ci: [2.11, 2.50]")
    assert len(problems_of(tmp_path, text)) == 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"study: a\n  bad: [\n", "is not valid YAML: line"),
        (b"study: a\nstudy: b\n", "duplicate key 'study'"),
        (b"a: &x [1]\nb: *x\n", "YAML aliases (*name) are not allowed"),
        (b"\x00\x01\x02binary", "is not a text file"),
        (b"study: caf\xe9\n", "is not UTF-8 text"),
        (b"- just\n- a list\n", "does not hold a mapping of fields"),
        (b"study:\tx\ndesign:\n\t- cohort\n", "is not valid YAML"),
    ],
)
def test_unreadable_files(tmp_path, raw, expected):
    path = tmp_path / "a.yaml"
    path.write_bytes(raw)
    data, problems = read_extraction(path)
    assert data is None
    assert expected in str(problems[0]) and ". Fix: " in str(problems[0])


def test_bom_and_crlf_are_fine(tmp_path):
    path = tmp_path / "rothon2012.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    data, problems = read_extraction(path)
    assert problems == [] and validate_document(data, path, BIB) == []


def test_empty_and_missing_folders(tmp_path):
    assert "holds no extraction files" in str(load_corpus(tmp_path, BIB)[1][0])
    assert "is not a folder" in str(load_corpus(tmp_path / "nope", BIB)[1][0])


def test_narrative_record(tmp_path):
    text = """\
    study: other2020
    design: qualitative
    country: [GB]
    status: narrative
    identified_by: packet-more
    findings: Interviewees found jobs through <b>friends</b>.
    """
    assert problems_of(tmp_path, text, name="other2020.yaml") == []


# ---------------------------------------------------------------- issue 16


def test_yaml_1_2_core_semantics():
    from analysis.inputs.yaml12 import load

    assert load("n: 01000\nm: 0o17\nh: 0x1F\nt: 16:40\nb: yes\nc: NO\nd: 2012-01-01\ne: 1e-3") == {
        "n": 1000,
        "m": 15,
        "h": 31,
        "t": "16:40",
        "b": "yes",
        "c": "NO",
        "d": "2012-01-01",
        "e": 0.001,
    }


def test_norway_is_a_country_again(tmp_path):
    assert problems_of(tmp_path, GOOD.replace("country: [GB]", "country: [NO]")) == []


def test_an_unreadable_file_is_one_line(tmp_path, monkeypatch):
    from pathlib import Path

    path = tmp_path / "rothon2012.yaml"
    path.write_text(GOOD, encoding="utf-8")

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    data, problems = read_extraction(path)
    assert data is None and len(problems) == 1
    assert str(problems[0]).endswith(
        "cannot be read (Permission denied). Fix: check that the file exists and that you may read it "
        "(its permissions)"
    )


def test_every_schema_pattern_is_anchored_and_matches_whole_texts():
    import re

    from analysis.inputs.schema import extraction_schema, validator

    def patterns(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                yield node["pattern"]
            for value in node.values():
                yield from patterns(value)
        elif isinstance(node, list):
            for value in node:
                yield from patterns(value)

    found = list(patterns(extraction_schema()))
    assert len(found) >= 4
    assert all(p.startswith("^") and p.endswith("$") for p in found)
    assert re.search(found[0], "rothon2012\n"), "Python's $ matches before a final newline"
    errors = list(validator().iter_errors({"study": "rothon2012\n"}))
    assert any(e.validator == "pattern" for e in errors)


@pytest.mark.parametrize(
    "form,field",
    [
        ("    groups: {m1: 1.0, sd1: 1.0, n1: 1, m2: 0.5, sd2: 1.0, n2: 1}\n    measure: SMD\n", "groups"),
        ("    d: 0.4\n    n1: 1\n    n2: 1\n", "n1"),
    ],
)
def test_a_standardised_difference_needs_more_than_two_people(tmp_path, form, field):
    text = GOOD.replace("    or: 2.57\n    ci: [2.11, 3.13]\n", form)
    problems = problems_of(tmp_path, text)
    assert any(f"field '{field}': n1 + n2 must exceed 2" in p for p in problems), problems
    bigger = problems_of(tmp_path, text.replace("n1: 1", "n1: 20").replace("n2: 1", "n2: 20"))
    assert not any("must exceed 2" in p for p in bigger), bigger
