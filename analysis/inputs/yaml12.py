"""Strict YAML for hand-written files: YAML 1.2 core semantics, text keys only.

PyYAML implements YAML 1.1, which reads ``n: 01000`` as the octal 512,
``n: 16:40`` as the sexagesimal 1000, ``yes``/``no``/``on``/``off`` as true and
false and ``2012-01-01`` as a date. Reviewers mean none of that. These loaders
resolve plain scalars with the YAML 1.2 core schema only (null, true/false,
decimal, 0o octal and 0x hex integers, floats), so ``01000`` is 1000 and
``16:40`` is text, and they refuse, with line and column:

- duplicate keys (the second value would silently win);
- keys that are not text (``2012: x``, ``~: x``, ``? [a, b]``);
- aliases (``*name``: no "billion laughs").

Both loaders (libyaml's fast parser and the pure-Python one) share the resolver
and the constructor, so they give the same values and the same messages.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
CORE_RESOLVERS: tuple[tuple[str, str, str], ...] = (
    ("tag:yaml.org,2002:null", r"\A(?:~|null|Null|NULL|)\Z", "~nN"),
    ("tag:yaml.org,2002:bool", r"\A(?:true|True|TRUE|false|False|FALSE)\Z", "tTfF"),
    ("tag:yaml.org,2002:int", r"\A(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"\A(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z",
        "-+.0123456789",
    ),
)


def _core_resolvers() -> dict:
    table: dict = {None: [], "": [("tag:yaml.org,2002:null", re.compile(r"\A\Z"))]}
    for tag, pattern, first in CORE_RESOLVERS:
        regexp = re.compile(pattern)
        for char in first:
            table.setdefault(char, []).append((tag, regexp))
    return table


def _construct_int(loader, node) -> int:
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # also 01000: decimal in YAML 1.2


# What a plain scalar that is not text is read as, in a reviewer's words.
_KIND = {int: "a number", float: "a number", bool: "true or false", type(None): "empty"}


def _check_mapping(loader, node, deep=False) -> dict:
    """A mapping whose keys are text, each once."""
    seen: set[str] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str):
            what = (
                f"the key {str(key_node.value)[:40]!r} is read as {_KIND.get(type(key), 'a value')}, not text"
                if isinstance(key_node, yaml.ScalarNode)
                else f"a {'list' if key_node.id == 'sequence' else 'mapping'} is used as a key"
            )
            raise yaml.constructor.ConstructorError(None, None, what, key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key[:60]}'", key_node.start_mark
            )
        seen.add(key)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


class _Core:
    """Mixin: the YAML 1.2 core resolver and a constructor without 1.1 surprises."""

    yaml_implicit_resolvers = _core_resolvers()
    construct_mapping = _check_mapping

    def resolve(self, kind, value, implicit):
        """BaseResolver.resolve for scalars without path resolvers (what ours are), with
        fewer steps: called once per scalar of every file."""
        if kind is not yaml.ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)  # type: ignore[misc]
        if implicit[0]:
            table = self.yaml_implicit_resolvers
            for tag, regexp in (*table.get(value[:1], ()), *table.get(None, ())):
                if regexp.match(value):
                    return tag
        return self.DEFAULT_SCALAR_TAG


class StrictLoader(_Core, yaml.SafeLoader):
    """Pure-Python strict loader: also refuses aliases."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "YAML aliases (*name) are not allowed in extraction files",
                event.start_mark,
            )
        return super().compose_node(parent, index)


class FastStrictLoader(_Core, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser (about 4x faster) with the same resolver and constructor."""


for _loader in (StrictLoader, FastStrictLoader):
    # Copies: the SafeConstructor's table is shared with every other PyYAML user.
    _loader.yaml_constructors = dict(_loader.yaml_constructors)
    _loader.yaml_constructors["tag:yaml.org,2002:int"] = _construct_int
    for _tag in ("timestamp", "set", "omap", "pairs", "binary"):
        _loader.yaml_constructors.pop(f"tag:yaml.org,2002:{_tag}", None)


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
# Deeper documents are built by PyYAML's own constructor (its recursion limit decides).
FAST_DEPTH = 32


class _Unusual(Exception):
    """A node the direct build leaves to PyYAML's constructor (which gives its value or error)."""


def _build(loader, node, depth: int = 0) -> Any:
    """The value of a composed node as PyYAML's constructor (with :func:`_check_mapping`)
    gives it, for text keys each used once, standard tags and shallow documents; anything
    else raises _Unusual. No alias can occur (load sends texts with ``*`` elsewhere)."""
    if depth > FAST_DEPTH:
        raise _Unusual
    kind, tag = type(node), node.tag
    if kind is yaml.ScalarNode:
        if tag == _STR:
            return node.value
        make = loader.yaml_constructors.get(tag) if tag != _MAP and tag != _SEQ else None
        if make is None:
            raise _Unusual
        return make(loader, node)  # int, float, bool, null: the loader's own constructors
    if kind is yaml.MappingNode and tag == _MAP:
        out: dict = {}
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode or key_node.tag != _STR or key_node.value in out:
                raise _Unusual  # not text, or a duplicate: the constructor's error
            out[key_node.value] = _build(loader, value_node, depth + 1)
        return out
    if kind is yaml.SequenceNode and tag == _SEQ:
        return [_build(loader, child, depth + 1) for child in node.value]
    raise _Unusual


def _fast_load(text: str) -> Any:
    """libyaml's parser and composer, then the value built directly from the nodes (about
    twice as fast as PyYAML's generic constructor); an unusual node: PyYAML's constructor
    builds the whole document instead, so values and errors are the constructor's."""
    loader = FastStrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            return _build(loader, node)
        except _Unusual:
            return loader.construct_document(node)
    finally:
        loader.dispose()


def load(text: str) -> Any:
    """Parse YAML strictly (raises yaml.YAMLError or RecursionError).

    Plain files (no anchors, aliases, tabs or deep brackets) take libyaml's fast
    parser; anything else, and anything the fast parser rejects, goes through
    the pure-Python strict loader, so that messages are always the same.
    """
    if not any(mark in text for mark in ("*", "&", "\t", "[[", "{{")):
        try:
            return _fast_load(text)
        except (yaml.YAMLError, RecursionError):
            pass
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
