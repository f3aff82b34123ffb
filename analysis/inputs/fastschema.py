"""A fast yes-or-don't-know check of a document against the extraction schema (issue 14).

jsonschema walks a document keyword by keyword, building a validator object for
each step and resolving each ``$ref`` again: about half of a cold check's time
per file. :func:`compile_schema` turns the schema once into plain closures that
answer one question, "is this document valid?", about 20x faster. It is only a
fast path: a document it does not call valid goes through jsonschema as before,
so every message comes from jsonschema's errors exactly as without it.

Its rules are jsonschema's (Draft 2020-12 with our whole-text ``pattern``,
:func:`analysis.inputs.schema.schema_validator`) keyword by keyword: the same type
tests (``isinstance``, bool is no number), the same comparisons, ``re.fullmatch``
with the same pattern text, enums compared as jsonschema's ``equal``. A schema with
any keyword not implemented here, or a ``$ref`` other than a local pointer, is
refused (:class:`Unsupported`) and every document then goes through jsonschema.
An exception inside a check (a value no comparison takes) means "don't know".
``tests/unit/test_inputs_speed_schema.py`` checks that both agree on every
fixture, every bad-input case and generated documents.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never make a document invalid.
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "$defs", "title", "description", "default", "examples"}
)


class Unsupported(ValueError):
    """The schema uses something this module does not implement (jsonschema is used alone)."""


def _number(x: Any) -> bool:
    return type(x) in (int, float) or (not isinstance(x, bool) and isinstance(x, numbers.Number))


def _integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


# jsonschema's Draft 2020-12 type checker (jsonschema._types), one test per name.
TYPE_TESTS: dict[str, Check] = {
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "integer": _integer,
    "null": lambda x: x is None,
    "number": _number,
    "object": lambda x: isinstance(x, dict),
    "string": lambda x: isinstance(x, str),
}


def _type(types: Any, schema: dict, build) -> Check:
    names = [types] if isinstance(types, str) else list(types)
    if not names or any(not isinstance(n, str) or n not in TYPE_TESTS for n in names):
        raise Unsupported(f"type {types!r}")
    if len(names) == 1:
        return TYPE_TESTS[names[0]]
    tests = [TYPE_TESTS[n] for n in names]
    return lambda x: any(t(x) for t in tests)


def _enum(members: Any, schema: dict, build) -> Check:
    from jsonschema._utils import equal

    members = list(members)
    texts = {m for m in members if type(m) is str}
    if len(texts) == len(members):  # an exact str equals a str member exactly when it is in the set
        return lambda x: x in texts if type(x) is str else any(equal(m, x) for m in members)
    return lambda x: any(equal(m, x) for m in members)


def _pattern(text: str, schema: dict, build) -> Check:
    match = re.compile(text).fullmatch  # what schema._whole_text_pattern applies
    return lambda x: not isinstance(x, str) or match(x) is not None


def _bound(compare: Callable[[Any, Any], bool]) -> Callable[..., Check]:
    def make(limit: Any, schema: dict, build) -> Check:
        return lambda x: not _number(x) or not compare(x, limit)

    return make


def _length(kind: Callable[[Any], bool], too_short: bool) -> Callable[..., Check]:
    def make(limit: int, schema: dict, build) -> Check:
        if too_short:
            return lambda x: not kind(x) or len(x) >= limit
        return lambda x: not kind(x) or len(x) <= limit

    return make


def _is_list(x: Any) -> bool:
    return isinstance(x, list)


def _is_text(x: Any) -> bool:
    return isinstance(x, str)


def _items(items: Any, schema: dict, build) -> Check:
    if items is False:
        return lambda x: not isinstance(x, list) or not x
    each = build(items)
    return lambda x: not isinstance(x, list) or all(each(v) for v in x)


def _properties(props: dict, schema: dict, build) -> Check:
    checks = {name: build(sub) for name, sub in props.items()}

    def check(x: Any) -> bool:  # the instance's keys, not the schema's: fewer, same answer
        if not isinstance(x, dict):
            return True
        for key, value in x.items():
            test = checks.get(key)
            if test is not None and not test(value):
                return False
        return True

    return check


def _additional(extra: Any, schema: dict, build) -> Check:
    known = set(schema.get("properties", {}))
    if isinstance(extra, dict):
        each = build(extra)
        return lambda x: not isinstance(x, dict) or all(each(v) for k, v in x.items() if k not in known)
    if extra:
        return lambda x: True
    return lambda x: not isinstance(x, dict) or known.issuperset(x)


def _required(names: list, schema: dict, build) -> Check:
    names = list(names)
    return lambda x: not isinstance(x, dict) or all(n in x for n in names)


def _property_names(sub: Any, schema: dict, build) -> Check:
    each = build(sub)
    return lambda x: not isinstance(x, dict) or all(each(k) for k in x)


def _any_of(subs: list, schema: dict, build) -> Check:
    checks = [build(s) for s in subs]
    return lambda x: any(c(x) for c in checks)


MAKERS: dict[str, Callable[..., Check]] = {
    "type": _type,
    "enum": _enum,
    "pattern": _pattern,
    "minimum": _bound(lambda x, m: x < m),
    "maximum": _bound(lambda x, m: x > m),
    "exclusiveMinimum": _bound(lambda x, m: x <= m),
    "exclusiveMaximum": _bound(lambda x, m: x >= m),
    "minLength": _length(_is_text, True),
    "maxLength": _length(_is_text, False),
    "minItems": _length(_is_list, True),
    "maxItems": _length(_is_list, False),
    "items": _items,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "propertyNames": _property_names,
    "anyOf": _any_of,
}


def _pointer(root: dict, ref: str) -> Any:
    """The subschema a local ``$ref`` (#/a/b) names; Unsupported for anything else."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise Unsupported(f"$ref {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise Unsupported(f"$ref {ref!r}")
        node = node[part]
    return node


def compile_schema(root: dict) -> Check:
    """``check(document)``: True only when jsonschema would find no error in it."""
    built: dict[int, Check] = {}

    def build(schema: Any) -> Check:
        if schema is True:
            return lambda x: True
        if schema is False:
            return lambda x: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        if id(schema) in built:
            return built[id(schema)]
        later: list[Check] = []
        built[id(schema)] = lambda x: later[0](x)  # a $ref back to a schema being built
        if "$id" in schema and schema is not root:
            raise Unsupported("a nested $id")
        checks = []
        for keyword, value in schema.items():
            if keyword == "$ref":
                checks.append(build(_pointer(root, value)))
            elif keyword not in ANNOTATIONS:
                if keyword not in MAKERS:
                    raise Unsupported(f"keyword {keyword!r}")
                checks.append(MAKERS[keyword](value, schema, build))
        check = _all(checks)
        later.append(check)
        built[id(schema)] = check
        return check

    return build(root)


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def check(x: Any) -> bool:
        for test in checks:
            if not test(x):
                return False
        return True

    return check


def known_valid(check: Check | None, document: Any) -> bool:
    """True when ``check`` says valid; False when it says invalid, cannot tell or raises."""
    if check is None:
        return False
    try:
        return check(document) is True
    except Exception:  # noqa: BLE001 - any doubt: jsonschema decides (and raises as before)
        return False
