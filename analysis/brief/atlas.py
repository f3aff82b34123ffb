"""The Atlas reanalysis, apart from the literature: one US dataset (the Social Capital Atlas)
split into states is one study, not a set of studies.

Per measure: first the nationwide county-level correlation (results/atlas/
county_correlations.csv, with its commuting-zone-clustered standard error), then how the
within-state correlations spread (their pooled value, prediction interval and I²), and in
words where the national and within-state figures differ in sign or in whether they
exclude zero. The county table exists only when the public data are present; without it
the section says so and shows the within-state figures alone.
"""

from __future__ import annotations

import functools
import math
import re

from analysis.brief.common import ATLAS_STUDY, analysis_label, rows, text
from analysis.brief.results import Analysis
from analysis.codebook.formats import NBSP, fmt, fmt_i2, fmt_int, fmt_interval, is_number
from analysis.codebook.vocabulary import THEME_SHORT, construct_words
from analysis.rating import certainty as grade

# The Atlas column an effect was computed from, as its exposure text names it.
_COLUMN = re.compile(r"Social Capital Atlas ([a-z_]+)\)")


@functools.cache
def _z(level: float) -> float:
    # scipy.special.ndtri is what scipy.stats.norm.ppf computes (the same floats), without
    # importing scipy.stats (~1 s). Called only for a nationwide row: without the public
    # Atlas data the brief never imports scipy (~0.4 s of write_brief_source).
    from scipy import special

    return float(special.ndtri(1 - (1 - level / 100) / 2))


def atlas_columns(effects) -> dict[str, str]:
    """analysis construct -> the Atlas column its state correlations were computed from."""
    out: dict[str, str] = {}
    for e in rows(effects):
        if text(e.get("study")) != ATLAS_STUDY:
            continue
        found = _COLUMN.search(text(e.get("exposure")))
        if found:
            out.setdefault(text(e.get("construct")), found.group(1))
    return out


def _consistency(a: Analysis) -> str:
    """How consistently the association holds from state to state, in words."""
    i2, pi = a.row.get("i2"), (a.row.get("pi_low"), a.row.get("pi_high"))
    share = f" (I² {fmt_i2(i2)})" if is_number(i2) else ""
    if all(is_number(v) for v in pi) and grade.crosses_null(float(pi[0]), float(pi[1])):
        return f"Not consistently: in some states it could be absent or reversed{share}."
    if is_number(i2) and float(i2) > grade.I2_SERIOUS:
        return f"In direction, not in strength: it varies in size from state to state{share}."
    return f"Consistently: similar in every state{share}."


def _excludes(low: float, high: float) -> bool:
    return not (low <= 0.0 <= high)


def _sign(shown: str) -> int:
    """The sign of a value as shown (two decimals): 0 when it rounds to zero."""
    value = float(shown.replace("\u2212", "-"))
    return 0 if value == 0 else (1 if value > 0 else -1)


_SIGN_WORD = {1: "positive", -1: "negative", 0: "about zero"}


def _differences(national: dict | None, a: Analysis) -> str:
    """Words wherever the national and within-state figures disagree (in sign as shown, or
    in whether their CI excludes no association)."""
    if national is None:
        return ""
    r, low, high = national["r"], national["low"], national["high"]
    within = math.tanh(float(a.row["estimate"]))
    w_low, w_high = (math.tanh(float(a.row[c])) for c in ("ci_low", "ci_high"))
    words = []
    nat_sign, within_sign = _sign(fmt(r)), _sign(fmt(within))
    if nat_sign != within_sign:
        words.append(
            f"Across all US counties the correlation is {_SIGN_WORD[nat_sign]} (r {fmt(r)}), but within "
            f"states it is on average {_SIGN_WORD[within_sign]} (r {fmt(within)}): the two answer "
            "different questions (differences between counties of the whole country, against "
            "differences between counties of one state)."
        )
    if _excludes(low, high) != _excludes(w_low, w_high):
        if _excludes(low, high):
            words.append("The nationwide CI excludes no association; the within-state CI includes it.")
        else:
            words.append("The nationwide CI includes no association; the within-state CI excludes it.")
    return " ".join(words)


def atlas_rows(analyses: list[Analysis], county, effects, level: float) -> list[dict]:
    """One row per Atlas measure: the nationwide and the within-state figures."""
    columns = atlas_columns(effects)
    by_measure = {text(r.get("measure")): r for r in rows(county)}
    out = []
    for a in analyses:
        if not (a.atlas and a.pooled):
            continue
        construct = text(a.row.get("construct"))
        column = columns.get(construct, "")
        found = by_measure.get(column.replace("_county", "") + "_county") if column else None
        national = None
        if found is not None and is_number(found.get("r")) and is_number(found.get("se")):
            r, se, z = float(found["r"]), float(found["se"]), _z(level)
            national = {
                "r": r,
                "low": r - z * se,
                "high": r + z * se,
                "counties": fmt_int(found.get("n_counties")),
                "zones": fmt_int(found.get("n_cz")),
            }
        out.append(
            {
                "analysis_id": a.id,
                "label": f"{THEME_SHORT.get(text(a.row.get('theme')), '')}: {analysis_label(a.row)}",
                "column": column,
                "words": construct_words(construct).lower() if construct else "the measure",
                "national": fmt(national["r"]) if national else "",
                "national_ci": f"{fmt(national['low'])}{NBSP}to{NBSP}{fmt(national['high'])}"
                if national
                else "",
                "counties": national["counties"] if national else "",
                "zones": national["zones"] if national else "",
                "states": str(int(a.row.get("k") or 0)),
                "within": fmt(math.tanh(float(a.row["estimate"]))),
                "within_ci": fmt_interval("ZCOR", a.row.get("ci_low"), a.row.get("ci_high")),
                "within_pi": fmt_interval("ZCOR", a.row.get("pi_low"), a.row.get("pi_high")),
                "i2": fmt_i2(a.row.get("i2")),
                "consistency": _consistency(a),
                "differs": _differences(national, a),
            }
        )
    return out


def atlas_section(analyses: list[Analysis], county, effects, level: float) -> dict:
    found = atlas_rows(analyses, county, effects, level)
    return {
        "rows": found,
        "available": county is not None,
        "any": bool(found),
        "differ": [r for r in found if r["differs"]],
    }
