"""How a work is cited in a label: 'Rothon et al. (2012)' from a references.csv row."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def author_year(ref: Mapping[str, Any]) -> str:
    """'Rothon et al. (2012)' from a references.csv row."""
    authors = [a.strip() for a in _text(ref.get("author")).split(" and ") if a.strip()]
    # "Family, Given" gives the family name; without a comma the bibliography holds a
    # bare surname ("Croll", "van der Erve") or an organisation ("Opportunity Insights").
    names = [a.split(",")[0].strip() if "," in a else a for a in authors]
    if not names:
        who = _text(ref.get("key"))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2 and names[1] != "others":
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    year = _text(ref.get("year"))
    return f"{who} ({year})" if year else who


def study_labels(references: Any) -> dict[str, str]:
    """Study key -> 'Author (year)' for every row of references.csv (a DataFrame or None)."""
    rows = [] if references is None else references.to_dict("records")
    return {_text(r["key"]): author_year(r) for r in rows}


def short_title(ref: Mapping[str, Any]) -> str:
    """The title up to its first colon: 'Social Capital Atlas' from 'Social Capital Atlas:
    county-level data'; '' when there is no title."""
    return _text(ref.get("title")).split(":")[0].strip()


def study_sources(references: Any) -> dict[str, str]:
    """Study key -> 'Opportunity Insights (2022), Social Capital Atlas': how a figure names
    the one study that all its samples come from."""
    rows = [] if references is None else references.to_dict("records")
    out = {}
    for r in rows:
        label, title = author_year(r), short_title(r)
        out[_text(r["key"])] = f"{label}, {title}" if title else label
    return out
