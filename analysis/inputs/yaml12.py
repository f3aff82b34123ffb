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


def load(text: str) -> Any:
    """Parse YAML strictly (raises yaml.YAMLError or RecursionError).

    Plain files (no anchors, aliases, tabs or deep brackets) take libyaml's fast
    parser; anything else, and anything the fast parser rejects, goes through
    the pure-Python strict loader, so that messages are always the same.
    """
    if not any(mark in text for mark in ("*", "&", "\t", "[[", "{{")):
        try:
            return yaml.load(text, Loader=FastStrictLoader)  # noqa: S506 - a SafeLoader subclass
        except (yaml.YAMLError, RecursionError):
            pass
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
