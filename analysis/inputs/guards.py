"""Hostile-input guards: what the schema and the YAML parser let through or crash on.

Added for issues 7 and 16 (the bad-input corpus, tests/data/bad/):

- YAML reads ``.nan``, ``.inf`` and overflowing numbers (1.0e+400) as floats,
  and JSON Schema's bounds let NaN through;
- YAML escapes (``"\\0"``, ``"\\x1b"``, ``"\\u202e"``) put control and
  bidirectional characters into text that the YAML reader refuses raw; they
  would reach effects.csv and the brief (the PDF shows such text reversed);
- a text longer than a CSV field may be (131,072 characters) crashes a later
  rule;
- a number inside its schema bounds can still give an unusable effect once
  converted (a variance that underflows to 0 or overflows to infinity): each
  effect is converted here with the workflow's own function
  (:func:`analysis.inputs.effects.convert`) and refused unless the result is
  finite with a positive variance;
- PyYAML parses nesting recursively, and a control character gives a
  ReaderError whose text spans two lines and counts characters, not lines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import yaml

from analysis.inputs.problem import Problem

# Below the 131,072 characters a CSV field may hold when read back (the csv
# module's limit: a longer quote crashed split_effects), with room for the
# apostrophe of a neutralised cell. `review import` writes what this accepts.
MAX_TEXT_CHARS = 130_000

# Invisible characters that reorder or hide text (Unicode bidi controls, line and
# paragraph separators, the byte-order mark and non-characters).
HIDDEN_CHARACTERS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\ufeff\ufffe\uffff"
)

TOO_DEEP = (
    "is nested far too deeply to be an extraction file",
    "start from the template of `review new KEY`; an extraction file is a few levels deep",
)


def unacceptable_character(err: yaml.reader.ReaderError, text: str) -> tuple[str, str]:
    """One line for a character YAML refuses (control characters such as ESC)."""
    line = text.count("\n", 0, max(err.position, 0)) + 1
    char = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "?")
    return (
        f"is not valid YAML: line {line}: contains the control character #x{char:04x}, "
        "which is not allowed in text",
        "delete the character (it often comes from copying out of a PDF or a terminal)",
    )


# Control characters (Unicode category Cc) but tab and newline, lone surrogates
# (Cs, from a YAML escape such as "\\ud800") and the hidden characters above.
_BAD_CHARACTER = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff" + "".join(sorted(HIDDEN_CHARACTERS)) + "]"
)


def bad_character(text: str) -> tuple[int, str] | None:
    """(1-based position, U+XXXX) of the first control or hidden character, or None."""
    match = _BAD_CHARACTER.search(text)
    return (match.start() + 1, f"U+{ord(match.group()):04X}") if match else None


def text_problem(text: str) -> tuple[str, str] | None:
    """(message, fix) when a text holds a control character or is too long, else None."""
    found = bad_character(text)
    if found:
        position, code = found
        return (
            f"contains the invisible character {code} at character {position}",
            "delete it (control and text-direction characters often come from copying out of a "
            "PDF or a web page)",
        )
    if len(text) > MAX_TEXT_CHARS:
        return (
            f"is {len(text):,} characters long, more than the {MAX_TEXT_CHARS:,} a text field may hold",
            "shorten it to the sentence or table row that shows the numbers",
        )
    return None


def leaves(data: dict) -> Iterator[tuple[str, str, Any]]:
    """(effect id, field path, value) for every value and every key of one parsed file."""

    def walk(value: Any, effect_id: str, field: str) -> Iterator[tuple[str, str, Any]]:
        if isinstance(value, dict):
            for key, item in value.items():
                path = f"{field}.{key}" if field else str(key)
                yield effect_id, path, key
                yield from walk(item, effect_id, path)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, effect_id, f"{field}.{index}" if field else str(index))
        else:
            yield effect_id, field, value

    for key, value in data.items():
        yield "", str(key), key
        if key == "effects" and isinstance(value, list):
            for index, effect in enumerate(value):
                if isinstance(effect, dict):
                    effect_id = str(effect.get("id") or f"#{index + 1}")
                    yield from walk(effect, effect_id, "")
                else:
                    yield from walk(effect, f"#{index + 1}", "")
        else:
            yield from walk(value, "", str(key))


_PLAIN = (int, bool, type(None))


def _may_have_problems(data: dict) -> bool:
    """False only when no value or key of ``data`` is a NaN or infinite number or an
    unacceptable text (one pass, no field paths); True whenever in doubt."""
    texts: list[str] = []
    stack: list[Any] = [data]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    return True
                texts.append(key)
                stack.append(item)
        elif kind is list:
            stack.extend(value)
        elif kind is str:
            texts.append(value)
        elif kind is float:
            if not math.isfinite(value):
                return True
        elif kind not in _PLAIN:
            return True
    # One search over all texts: "\n" is allowed in text, so the search finds a character
    # exactly when one of the texts holds it.
    return any(len(t) > MAX_TEXT_CHARS for t in texts) or _BAD_CHARACTER.search("\n".join(texts)) is not None


def value_problems(data: dict, name: str, study: str) -> list[Problem]:
    """A problem for every NaN or infinite number and every unacceptable text of one file."""
    out: list[Problem] = []
    if not _may_have_problems(data):
        return out
    for effect_id, field, value in leaves(data):
        if isinstance(value, float) and not math.isfinite(value):
            written = ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
            out.append(
                Problem(
                    name,
                    study,
                    effect_id,
                    field,
                    f"{written} is not a finite number",
                    "write the number as printed in the source (a huge value such as 1.0e+400 is "
                    "read as infinity); if the source gives none, leave the field or effect out",
                )
            )
        elif isinstance(value, str):
            found = text_problem(value)
            if found:
                out.append(Problem(name, study, effect_id, field, *found))
    return out


def conversion_problem(effect: dict) -> tuple[str, str] | None:
    """(message, fix) when a valid effect gives no usable yi and vi on conversion, else None."""
    from analysis.codebook.measures import RATIO_MEASURES
    from analysis.inputs.effects import MAX_LOG_RATIO, convert

    try:
        converted = convert(effect)
    except (ArithmeticError, ValueError) as err:
        return (
            f"cannot be converted to an effect size ({err})",
            "check the numbers against the source; they are far outside what a study reports",
        )
    if not (math.isfinite(converted.yi) and math.isfinite(converted.vi) and converted.vi > 0):
        return (
            f"gives yi = {converted.yi:.6g} and vi = {converted.vi:.6g} once converted "
            "(a variance must be finite and above 0)",
            "check the numbers against the source; a tiny SE or a huge estimate is usually a typo",
        )
    if converted.measure in RATIO_MEASURES and abs(converted.yi) > MAX_LOG_RATIO:
        return (
            f"gives a {converted.measure} of exp({converted.yi:.6g}), outside 1e-6 to 1e6",
            "check the numbers against the source; yi of a ratio measure is its natural log",
        )
    return None
