"""The YAML loader's direct build of values (analysis.inputs.yaml12._build) gives what
PyYAML's constructor gives, value for value and error for error: on every YAML file of
the repository, every bad-input case and unusual documents made for this test."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from analysis.inputs import yaml12
from tests.conftest import ROOT

BAD = ROOT / "tests" / "data" / "bad"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))["cases"]


def constructor_load(text: str):
    """The load of before the direct build: PyYAML's constructor on libyaml's nodes."""
    return yaml.load(text, Loader=yaml12.FastStrictLoader)  # noqa: S506 - a SafeLoader subclass


def typed(value):
    """A value with its types spelled out (1, 1.0 and True differ; NaN equals NaN)."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, repr(value))


def outcome(load, text: str):
    try:
        return ("value", typed(load(text)))
    except Exception as err:  # noqa: BLE001 - the error is the outcome compared
        return ("error", type(err).__name__, str(err))


def texts() -> list[tuple[str, str]]:
    found = []
    for path in sorted({*ROOT.glob("extracted/**/*.y*ml"), *ROOT.glob("tests/**/*.y*ml")}):
        found.append((str(path.relative_to(ROOT)), path.read_bytes().decode("utf-8-sig", "replace")))
    for name, case in CASES.items():
        if case.get("file") and not case.get("fill"):
            found.append((f"case {name}", (BAD / case["file"]).read_bytes().decode("utf-8-sig", "replace")))
    return found


def nested(depth: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}leaf: 1\n"


UNUSUAL = {
    "explicit str": "a: !!str 12\nb: !!str true\n",
    "explicit int": "a: !!int '0x1f'\nb: !!int '0o17'\nc: !!int 010\n",
    "explicit bad int": "a: !!int abc\n",
    "explicit float": "a: !!float '1_000.5'\nb: !!float '.inf'\nc: !!float '-.INF'\nd: !!float 1:30\n",
    "explicit null and bool": "a: !!null ''\nb: !!bool 'True'\n",
    "core scalars": "a: 01000\nb: 16:40\nc: yes\nd: 0o17\ne: 0x1F\nf: .nan\ng: -.inf\nh: 1e3\ni: ~\nj: 2012-01-01\n",
    "binary": "a: !!binary aGVsbG8=\n",
    "timestamp": "a: !!timestamp 2012-01-01\n",
    "set": "a: !!set {x, y}\n",
    "python object": "a: !!python/object:os.system x\n",
    "local tag": "a: !mine x\n",
    "merge tag": "base: {x: 1}\nb:\n  !!merge <<: {y: 2}\n",
    "merge key as text": "<<: {y: 2}\nz: 1\n",
    "explicit map on a list": "a: !!map [1, 2]\n",
    "explicit str on a map": "a: !!str {x: 1}\n",
    "explicit seq on a scalar": "a: !!seq x\n",
    "number key": "2012: x\n",
    "null key": "~: x\n",
    "bool key": "true: x\n",
    "quoted number key": "'2012': x\n",
    "explicit str key": "!!str 2012: x\n",
    "list key": "? [a, b]\n: x\n",
    "map key": "? {a: 1}\n: x\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "duplicate nested key": "a:\n  b: 1\n  b: 2\n",
    "empty": "",
    "comment only": "# nothing\n",
    "null document": "~\n",
    "scalar document": "just text\n",
    "list document": "- a\n- 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "explicit document": "---\na: 1\n...\n",
    "unicode": "a: 'é ü 中'\nb: \"\\u00e9\\x41\"\n",
    "long text": "a: '" + "x" * 5000 + "'\n",
    "folded": "a: >\n  one\n  two\nb: |\n  three\n",
    "flow": "a: {b: [1, 2.5, {c: d}], e: []}\n",
    "deep at the fast limit": nested(yaml12.FAST_DEPTH),
    "deeper than the fast limit": nested(yaml12.FAST_DEPTH + 5),
    "very deep": nested(120),
    "bad syntax": "a: [1, 2\n",
}


# load() gives libyaml only texts without these (aliases, tabs, deep brackets): the rest never
# reach the direct build.
SLOW_MARKS = ("*", "&", "\t", "[[", "{{")
CORPUS = [(n, t) for n, t in texts() + sorted(UNUSUAL.items()) if not any(m in t for m in SLOW_MARKS)]


@pytest.mark.parametrize("name,text", CORPUS, ids=[n for n, _ in CORPUS])
def test_the_direct_build_gives_the_constructors_value_or_error(name, text):
    assert outcome(yaml12._fast_load, text) == outcome(constructor_load, text)


def test_the_corpus_reaches_both_ways(monkeypatch):
    """Most files are built directly and the unusual ones by the constructor (both are tested)."""
    calls = []
    original = yaml12.FastStrictLoader.construct_document
    monkeypatch.setattr(
        yaml12.FastStrictLoader,
        "construct_document",
        lambda self, node: calls.append(1) or original(self, node),
    )
    fell_back = 0
    for _, text in CORPUS:
        before = len(calls)
        try:
            yaml12._fast_load(text)
        except Exception:  # noqa: BLE001, S110 - only the path taken is counted
            pass
        fell_back += len(calls) > before
    assert len(CORPUS) - fell_back >= 80 and fell_back >= 15


def test_texts_with_aliases_never_reach_the_direct_build(monkeypatch):
    monkeypatch.setattr(yaml12, "_fast_load", lambda text: pytest.fail("direct build used"))
    with pytest.raises(yaml.YAMLError, match="aliases"):
        yaml12.load("a: &x [1]\nb: *x\n")


def test_load_still_refuses_what_it_refused():
    with pytest.raises(yaml.YAMLError, match="duplicate key 'a'"):
        yaml12.load("a: 1\na: 2\n")
    with pytest.raises(yaml.YAMLError, match="read as a number, not text"):
        yaml12.load("2012: x\n")
    assert yaml12.load("n: 01000\nt: 16:40\n") == {"n": 1000, "t": "16:40"}


SCALARS = ["", "~", "null", "Null", "NULL", "true", "False", "yes", "0", "-1", "+7", "01000", "0o17", "0x1F", "1.5",
           ".5", "1e3", "-.inf", ".NaN", "16:40", "2012-01-01", "a", " ", "é", "1_000", "0b1", "-", "."]  # fmt: skip


@given(st.one_of(st.sampled_from(SCALARS), st.text(max_size=12)), st.booleans(), st.booleans())
def test_the_quicker_resolver_resolves_as_pyyamls(value, plain, quoted):
    loader = yaml12.FastStrictLoader("")
    try:
        for kind in (yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode):
            want = yaml.resolver.BaseResolver.resolve(loader, kind, value, (plain, quoted))
            assert loader.resolve(kind, value, (plain, quoted)) == want
    finally:
        loader.dispose()
