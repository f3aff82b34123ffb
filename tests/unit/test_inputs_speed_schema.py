"""The schema's fast path (analysis.inputs.fastschema) says "valid" exactly when jsonschema
finds no error: on every extraction file and bad-input case of the repository, and on
documents made by changing one value of a valid file (hypothesis, derandomised)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from analysis.inputs import extraction, fastschema, schema
from analysis.inputs.check import check_corpus
from tests.conftest import ROOT

BAD = ROOT / "tests" / "data" / "bad"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))["cases"]


def jsonschema_valid(document) -> bool:
    return not list(schema.validator().iter_errors(document))


def fast_valid(document) -> bool:
    return fastschema.known_valid(schema.fast_check(), document)


def case_bytes(case: dict) -> bytes:
    raw = (BAD / case["file"]).read_bytes()
    if "fill" in case:
        raw = raw.replace(b"@@FILL@@", case["fill"]["text"].encode() * case["fill"]["times"])
    return raw


def documents() -> list[tuple[str, object]]:
    """(name, parsed content) of every YAML file under extracted/ and tests/, and of every
    bad-input case that parses."""
    found = []
    paths = sorted({*ROOT.glob("extracted/**/*.y*ml"), *ROOT.glob("tests/**/*.y*ml")})
    raws = [(str(p.relative_to(ROOT)), p.read_bytes()) for p in paths]
    raws += [(f"case {name}", case_bytes(c)) for name, c in CASES.items() if c.get("file")]
    for name, raw in raws:
        data, _ = extraction.parse_extraction(raw, Path("x.yaml"))
        if data is not None:
            found.append((name, data))
    return found


DOCUMENTS = documents()
VALID = [d for _, d in DOCUMENTS if jsonschema_valid(d)]


def test_the_schema_compiles_so_the_fast_path_is_used():
    assert schema.fast_check() is not None


def test_the_corpus_has_valid_and_invalid_documents():
    assert len(VALID) >= 50 and len(DOCUMENTS) - len(VALID) >= 10


@pytest.mark.parametrize("name,document", DOCUMENTS, ids=[n for n, _ in DOCUMENTS])
def test_fast_path_and_jsonschema_agree_on_every_file_and_case(name, document):
    assert fast_valid(document) == jsonschema_valid(document)


ODD_VALUES = [
    None, True, False, 0, 1, -1, 3, 1.0, 2.5, -0.0, 1e-30, 1e-13, 1e30, 10**10, 10**10 + 1, 2**70, -(2**70),
    math.nan, math.inf, -math.inf, "", " ", "x", "GB", "gb", "G", "GBR", "GB\n", "high-vs-low\n", "a" * 64,
    "a" * 65, "a" * 121, "a-", "-a", "a b", "é", "rct", "coded", "SMD", [], [1], ["GB"], ["GB", "US"],
    [0.5, 2.0], [2.0, 0.5, 1.0], {}, {"a": 1}, {"uk_sample": True}, {"Bad": 1}, {"x" * 41: 1},
]  # fmt: skip
values = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=70),
    st.lists(st.sampled_from(ODD_VALUES[:20]), max_size=3),
)


def places(node, path=()):
    """Every (path to a value) of a document."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from places(value, (*path, index))


def changed(document, path, action: str, value):
    out = copy.deepcopy(document)
    if not path:
        return value if action == "set" else out
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if action == "set":
        parent[path[-1]] = value
    elif action == "delete":
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent[value if isinstance(value, str) else "extra_field"] = 1
    return out


@given(st.data())
def test_fast_path_and_jsonschema_agree_on_changed_documents(data):
    document = data.draw(st.sampled_from(VALID))
    path = data.draw(st.sampled_from(list(places(document))))
    action = data.draw(st.sampled_from(["set", "set", "delete", "add"]))
    mutant = changed(document, path, action, data.draw(values))
    assert fast_valid(mutant) == jsonschema_valid(mutant)


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_the_type_tests_are_jsonschemas(value):
    checker = schema.validator().TYPE_CHECKER
    for name, test in fastschema.TYPE_TESTS.items():
        assert test(value) == checker.is_type(value, name), name


def test_a_keyword_the_fast_path_lacks_sends_every_document_to_jsonschema():
    with pytest.raises(fastschema.Unsupported, match="uniqueItems"):
        fastschema.compile_schema({"type": "array", "uniqueItems": True})
    with pytest.raises(fastschema.Unsupported, match="ref"):
        fastschema.compile_schema({"$ref": "other.yaml#/x"})
    assert not fastschema.known_valid(None, {"study": "x"})


def test_a_check_that_raises_means_dont_know():
    check = fastschema.compile_schema({"type": "number", "minimum": 0})
    assert check(1) and not check(-1)
    assert not fastschema.known_valid(check, 1j)  # complex is a Number; 1j < 0 raises


def test_messages_are_jsonschemas_when_the_fast_path_is_off(tmp_path, monkeypatch):
    """The same problems with and without the fast path, on every bad-input extraction case."""
    cases = [c for c in CASES.values() if c["kind"] == "extraction" and c.get("file")]
    for index, case in enumerate(cases):
        (tmp_path / f"case{index:03d}.yaml").write_bytes(case_bytes(case))
    with_fast = [str(p) for p in check_corpus(tmp_path, second_coder=False).problems]
    monkeypatch.setattr(schema, "fast_check", lambda: None)
    without = [str(p) for p in check_corpus(tmp_path, second_coder=False).problems]
    assert with_fast == without and len(with_fast) >= len(cases) // 2
