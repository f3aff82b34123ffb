"""The evidence gap map's counts: studies per theme x outcome, coded and narrative.

One function for the gap map figure, the brief's gap table and the review tools.
"""

from __future__ import annotations

import math
from typing import Any

from analysis.codebook.vocabulary import OUTCOMES, THEMES


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _rows(frame: Any) -> list[dict]:
    # A frame, or its rows already as dicts (the brief converts each table once).
    return [] if frame is None else frame if isinstance(frame, list) else frame.to_dict("records")


def gap_counts(effects: Any, studies: Any) -> list[dict]:
    """Studies per theme x outcome: coded (from their effects) and narrative (from their
    themes and outcomes). Context records are not studies and are left out.

    Parameters
    ----------
    effects : DataFrame (effects.csv: ``study``, ``theme``, ``outcome``), or None
    studies : DataFrame (studies.csv: ``study``, ``kind``, ``status``, ``themes``, ``outcomes``)

    Returns
    -------
    list of dicts ``theme``, ``outcome``, ``coded``, ``narrative`` in codebook order
    (themes and outcomes outside the codebook last, in the order first met).
    """
    counts: dict[tuple[str, str], dict[str, set]] = {}

    def add(theme: str, outcome: str, kind: str, study: str) -> None:
        counts.setdefault((theme, outcome), {"coded": set(), "narrative": set()})[kind].add(study)

    kinds = {_text(s["study"]): _text(s.get("kind")) or "study" for s in _rows(studies)}
    for e in _rows(effects):
        study = _text(e["study"])
        if kinds.get(study, _text(e.get("kind")) or "study") == "context":
            continue
        add(_text(e["theme"]), _text(e["outcome"]), "coded", study)
    for s in _rows(studies):
        if (_text(s.get("kind")) or "study") == "context" or _text(s.get("status")) != "narrative":
            continue
        for theme in filter(None, _text(s.get("themes")).split(";")):
            for outcome in filter(None, _text(s.get("outcomes")).split(";")):
                add(theme, outcome, "narrative", _text(s["study"]))
    rows = [
        {"theme": t, "outcome": o, "coded": len(v["coded"]), "narrative": len(v["narrative"])}
        for (t, o), v in counts.items()
    ]

    def order(row: dict) -> tuple[int, int]:
        theme, outcome = row["theme"], row["outcome"]
        return (
            THEMES.index(theme) if theme in THEMES else len(THEMES),
            OUTCOMES.index(outcome) if outcome in OUTCOMES else len(OUTCOMES),
        )

    return sorted(rows, key=order)  # stable: unknown codes keep the order first met
