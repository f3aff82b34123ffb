"""How the brief writes numbers: fixed decimals, a typographic minus, p-values,
intervals on the natural scale; and how it escapes text for Markdown."""

from __future__ import annotations

import datetime as _dt
import math
import string
from typing import Any

from analysis.codebook.measures import natural

_PUNCTUATION = frozenset(string.punctuation)
MINUS = "\u2212"


def escape_md(text: Any) -> str:
    """Text shown literally by pandoc: newlines collapsed, every ASCII punctuation escaped.

    Works inside pipe-table cells too (``|`` is punctuation). None and NaN give ''.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    flat = " ".join(str(text).split())
    return "".join("\\" + c if c in _PUNCTUATION else c for c in flat)


def yaml_string(text: Any) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    import json

    return json.dumps(str(text), ensure_ascii=False)


def is_number(value: Any) -> bool:
    try:
        return value is not None and value != "" and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def fmt(value: float, decimals: int = 2) -> str:
    """A number with fixed decimals and a typographic minus; '' when missing."""
    if not is_number(value):
        return ""
    text = f"{float(value):.{decimals}f}"
    if text.startswith("-"):
        text = text[1:] if float(text) == 0 else MINUS + text[1:]
    return text


def fmt_int(value: float) -> str:
    """A whole number with thousands separators."""
    return f"{int(round(float(value))):,}" if is_number(value) else ""


def fmt_i2(value: float) -> str:
    """I² in whole percent."""
    return f"{float(value):.0f}%" if is_number(value) else ""


def fmt_tau(tau2: float) -> str:
    """tau (the square root of tau²) on the analysis scale, 2 decimals; '< 0.01' when tiny."""
    if not is_number(tau2):
        return ""
    tau = math.sqrt(max(float(tau2), 0.0))
    if 0 < tau < 0.005:
        return "< 0.01"
    return fmt(tau, 2)


def fmt_p(p: float) -> str:
    if not is_number(p):
        return ""
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


# Between the limits of an interval: no line break inside "0.12 to 0.34".
NBSP = "\u00a0"


def fmt_interval(measure: str, low: float, high: float) -> str:
    """'0.12 to 0.34' on the natural scale, unbreakable ('' when missing)."""
    if not (is_number(low) and is_number(high)):
        return ""
    return f"{fmt(natural(measure, low))}{NBSP}to{NBSP}{fmt(natural(measure, high))}"


def commit_date(epoch: int) -> str:
    """The commit's date (UTC) as YYYY-MM-DD; '' for an unknown commit."""
    if not epoch:
        return ""
    return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC).strftime("%Y-%m-%d")
