"""One spreadsheet cell as a typed value: numbers, whole numbers, true/false, codes, text.

Spreadsheet habits that change a number's meaning (``1,234``, ``0,5``,
``12%``, ``#DIV/0!``, a typographic minus) are refused with the reason and the
fix, never converted silently; so are numbers no source prints (thousands of
digits, or beyond what a float holds).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from analysis.codebook.columns import Column
from analysis.inputs.extraction import extraction_schema

# Values spreadsheets write for "no number"; never a number to code.
MISSING_MARKERS = {
    "nan",
    "na",
    "n/a",
    "none",
    "null",
    "-",
    "--",
    "inf",
    "-inf",
    "+inf",
    "infinity",
    "-infinity",
    ".nan",
    ".inf",
    "-.inf",
}
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
TRUE_WORDS, FALSE_WORDS = {"true", "yes"}, {"false", "no"}
# A key names a file; file systems refuse names over 255 bytes, and no BibTeX
# key is anywhere near this long.
MAX_KEY_LENGTH = 120

# No number a study prints is longer than this (a 40-character number is already
# absurd); longer text is refused before Python converts it (a 5,000-digit integer
# would raise an error of its own, and a float conversion would silently lose it).
MAX_NUMBER_LENGTH = 40


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a study key (it becomes a file name), or None."""
    pattern = extraction_schema()["properties"]["study"]["pattern"]
    if not isinstance(key, str) or not re.fullmatch(pattern, key):
        return (
            f"{shown(str(key))} cannot be a study key: a key is also a file name, so it may "
            "hold only letters, digits, '_', ':' and '-', and must start with a letter or digit"
        )
    if len(key) > MAX_KEY_LENGTH:
        return f"the key is {len(key)} characters long; a study key has at most {MAX_KEY_LENGTH}"
    return None


class CellError(ValueError):
    """A cell that cannot be typed: the message and the fix."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message, self.fix = message, fix


def shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _control_characters(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t"]


def parse_number(text: str, integer: bool = False) -> int | float:
    """A plain number as a reviewer types it; raise CellError for anything ambiguous."""
    wanted = "a whole number" if integer else "a number"
    if len(text) > MAX_NUMBER_LENGTH and _NUMBER.fullmatch(text):
        raise CellError(
            f"{shown(text)} has {len(text):,} characters; no source prints a number that long",
            "type the number exactly as the source prints it (e.g. 0.57, 1234 or 1.2e-5)",
        )
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        if integer:
            raise CellError(
                f"{shown(text)} is not a whole number",
                "write the count without decimals (e.g. 120), as printed in the source",
            )
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise CellError(
                f"{shown(text)} is too large to be a number", "check the number against the source"
            )
        if value == 0 and re.search(r"[1-9]", text.lower().split("e")[0]):
            raise CellError(
                f"{shown(text)} is too small to be a number (it would be stored as 0)",
                "check the number against the source",
            )
        return value
    if "," in text:
        raise CellError(
            f"{shown(text)} is not {wanted}: a comma is either a thousands separator (1,234) or a "
            "decimal comma (0,5), and the two cannot be told apart",
            "write the number with a dot for decimals and no separators (1234, or 0.5), "
            "exactly as meant in the source",
        )
    if text.endswith("%"):
        raise CellError(
            f"{shown(text)} is not {wanted}: it has a percent sign",
            "write the statistic as the source reports it, without '%' "
            "(a proportion as 0.12, a percentage point difference as 12)",
        )
    if text.startswith("#"):
        raise CellError(
            f"{shown(text)} is a spreadsheet error, not {wanted}",
            "fix the formula in the spreadsheet, or type the number from the source",
        )
    if text.lower() in MISSING_MARKERS:
        raise CellError(
            f"{shown(text)} is not {wanted}",
            "leave the cell empty when the source gives no number; never type NaN or infinity",
        )
    if any(c in text for c in "\u2212\u2013\u2014"):
        raise CellError(
            f"{shown(text)} uses a typographic minus or dash",
            "type the number with a plain hyphen-minus (-0.5)",
        )
    if any(c.isspace() for c in text):
        raise CellError(
            f"{shown(text)} is not {wanted}: it contains a space",
            "write the number without spaces or thousands separators (1234)",
        )
    raise CellError(
        f"{shown(text)} is not {wanted}", f"write {wanted} (e.g. {'1234' if integer else '0.57'})"
    )


def parse_cell(column: Column, text: str) -> Any:
    """The typed value of one non-empty cell."""
    if column.kind in ("number", "integer"):
        return parse_number(text, integer=column.kind == "integer")
    if column.kind == "boolean":
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise CellError(f"{shown(text)} is not true or false", "write true or false (or leave it empty)")
    bad = _control_characters(text)
    if bad:
        raise CellError(
            f"contains the control character #x{ord(bad[0]):04x}",
            "delete it (it often comes from copying out of a PDF or a terminal)",
        )
    if column.kind == "list":
        return [part.strip() for part in re.split(r"[;,]", text) if part.strip()]
    if column.kind == "mapping":
        from analysis.inputs.moderators import parse_moderators

        try:
            return parse_moderators(text)
        except ValueError as error:
            raise CellError(*error.args) from None
    return text
