"""The evidence brief: from the results tables to the Quarto source ``brief.qmd``.

``report/brief.qmd`` is a Jinja2 template of a Quarto document without code
cells. :func:`build_context` turns the results tables into plain values
(every number already formatted the way the brief shows it), and
:func:`render_source` fills the template. Nothing numeric is typed in the
template; the words that interpret numbers (readings, verdicts, certainty)
come from small rules in this module and in :mod:`analysis.rating.certainty`, which the
brief prints.

Safety: the template is rendered with autoescape off (the output is
Markdown, not HTML), so every text that comes from an extraction file or the
bibliography goes through :func:`escape_md` (the ``md`` filter), which
backslash-escapes every ASCII punctuation character: ``<script>`` or
``**bold**`` in a quote reaches the reader literally.

Heavy libraries (pandas, jinja2, matplotlib) are imported inside functions:
the workflow imports :func:`software_versions` while it is parsed.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.codebook.citations import author_year
from analysis.codebook.formats import (
    commit_date,
    escape_md,
    fmt,
    fmt_i2,
    fmt_int,
    fmt_interval,
    fmt_p,
    fmt_tau,
    is_number,
    yaml_string,
)
from analysis.codebook.measures import MEASURE_NAME, MEASURE_SYMBOL, natural
from analysis.codebook.vocabulary import (
    CI_METHOD_NAME,
    CONSTRUCT_EXPOSURE,
    DESIGN_NAME,
    ESTIMATOR_NAME,
    OUTCOME_DIRECTION,
    OUTCOME_NAME,
    OUTCOMES,
    THEME_EXPOSURE,
    THEME_SHORT,
    THEME_TITLE,
    THEMES,
    construct_words,
    country_words,
    list_words,
)
from analysis.inputs.gaps import gap_counts
from analysis.rating import certainty as grade

# Citation keys that can be written as [@key] without escaping.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_:-]*$")

# --- words ---------------------------------------------------------------------


# The seed report's claim for each theme, in our words, where the report makes
# it, and the direction it expects for each outcome on the harmonised scale
# (+1: more capital, better outcome; 0: the report says it can go either way).
# A construct whose slug contains one of OPPOSITE_CONSTRUCTS is one the report
# expects to go the other way (unstructured "hanging out" and GCSEs).
@dataclass(frozen=True)
class ThemeClaim:
    claim: str
    where: str
    expected: Mapping[str, int]
    default: int = 1


THEME_CLAIMS: dict[str, ThemeClaim] = {
    "bridging": ThemeClaim(
        "Ties that cross class lines, rather than close ties, are what most drives upward mobility.",
        "Lesson one",
        {},
    ),
    "bonding": ThemeClaim(
        "Close ties to family, friends and place cut both ways: they can hold young people "
        "back from opportunities elsewhere, yet they protect health and help keep crime down.",
        "Lesson two and Conclusion",
        {"mobility": 0, "income": 0, "employment": 0, "education": 0},
    ),
    "linking": ThemeClaim(
        "Ties to institutions and civic life (volunteering, civic groups, local government) help "
        "communities act together, and so support mobility.",
        "Some definitions and Suggestions for future policy",
        {},
    ),
    "education": ThemeClaim(
        "Schooling alone does not drive mobility: support at home and an active community go "
        "with better results at school, over and above family income; frequent unstructured "
        "socialising goes with worse ones.",
        "Lesson three and Lesson two",
        {},
    ),
    "workplace": ThemeClaim(
        "Networks made at university and at work help people find jobs and progress, and "
        "people from working-class backgrounds have weaker ones.",
        "Lesson four",
        {},
    ),
}
OPPOSITE_CONSTRUCTS = ("non-directed", "unstructured", "hanging-out")

# The study key of our own reanalysis of the public Social Capital Atlas.
ATLAS_STUDY = "sca2022"

# Words of the seed report's title, to find its entry in the bibliography.
SEED_TITLE = "bridging the divide"
# Used only when the bibliography has no entry for the seed report: its
# metadata as printed on its own cover and colophon (CSL YAML for citeproc).
SEED_ID = "couttsxia2025"
SEED_CSL = {
    "id": SEED_ID,
    "type": "report",
    "author": [{"family": "Coutts", "given": "Adam"}, {"family": "Xia", "given": "Shuting"}],
    "title": "Bridging the divide: the hidden power of social capital to drive social mobility",
    "publisher": "Local Trust",
    "publisher-place": "London",
    "issued": {"date-parts": [[2025, 10]]},
}

# --- escaping and formatting ---------------------------------------------------


# --- the reading and the verdict -------------------------------------------------


def _crosses(low: float, high: float) -> bool:
    return grade.crosses_null(float(low), float(high)) if is_number(low) and is_number(high) else True


def reading(
    theme: str,
    outcome: str,
    estimate: float,
    ci: tuple[float, float],
    pi: tuple[float, float],
    i2: float,
    k: int,
    construct: str = "",
) -> str:
    """One plain-language sentence: direction, whether the CI excludes no effect, consistency."""
    exposure = CONSTRUCT_EXPOSURE.get(construct) or THEME_EXPOSURE.get(theme, f"more {theme} capital")
    better, worse = OUTCOME_DIRECTION.get(outcome, OUTCOME_DIRECTION["other"])
    if _crosses(*ci):
        direction = "No clear association (the CI includes no effect)"
    else:
        towards = better if float(estimate) > 0 else worse
        direction = f"{exposure.capitalize()} went with {towards} (the CI excludes no effect)"
    share = f" (I² {fmt_i2(i2)})" if is_number(i2) else ""
    if k < 2:
        consistency = "one study, so consistency is unknown"
    elif is_number(pi[0]) and _crosses(*pi):
        consistency = (
            "results varied so much between samples that in a new setting the "
            f"association could be absent or reversed{share}"
        )
    elif is_number(i2) and float(i2) > grade.I2_SERIOUS:
        consistency = f"results varied in size between samples{share}, though not in direction"
    else:
        consistency = "results were consistent across samples"
    return f"{direction}; {consistency}."


def expected_direction(theme: str, outcome: str, construct: str) -> int:
    """The direction the seed report expects: +1, -1, or 0 (either way)."""
    claim = THEME_CLAIMS.get(theme)
    direction = claim.expected.get(outcome, claim.default) if claim else 1
    if any(word in str(construct or "") for word in OPPOSITE_CONSTRUCTS):
        direction = -direction if direction else -1
    return direction


@dataclass(frozen=True)
class Verdict:
    label: str  # supports | qualifies | contradicts | inconclusive
    text: str


def verdict(
    expected: int, estimate: float, ci: tuple[float, float], pi: tuple[float, float], certainty: str, k: int
) -> Verdict:
    """How far one analysis supports the seed report's claim (rules printed in the brief).

    - contradicts: the CI excludes no effect, on the other side from the claim;
    - inconclusive: the CI includes no effect;
    - supports: the CI excludes no effect on the claimed side, certainty is moderate or
      high, and (with two or more samples) the prediction interval stays on that side;
    - qualifies: everything else (the claimed side, but low certainty or inconsistent
      results; or a claim that the report says can go either way).
    """
    sign = 1 if float(estimate) > 0 else -1
    if _crosses(*ci):
        return Verdict(
            "inconclusive", "the CI includes no effect, so these data neither confirm nor rule out the claim"
        )
    if expected == 0:
        way = "positive" if sign > 0 else "negative"
        return Verdict(
            "qualifies",
            f"the report says this can go either way; here the "
            f"association is {way}, at {certainty} certainty",
        )
    if sign != expected:
        return Verdict(
            "contradicts", f"the association goes the other way from the claim, at {certainty} certainty"
        )
    if certainty in ("high", "moderate") and (k < 2 or not _crosses(*pi)):
        return Verdict("supports", f"the association goes the way the claim says, at {certainty} certainty")
    if certainty in ("high", "moderate"):
        return Verdict(
            "qualifies",
            "on average the association goes the way the claim says, "
            "but not in every setting (the prediction interval includes no effect)",
        )
    return Verdict(
        "qualifies",
        f"the association goes the way the claim says, but certainty is "
        f"{certainty}: an association, not proof that the claim holds",
    )


VERDICT_RULES: tuple[str, ...] = (
    "Contradicts: the CI excludes no effect, on the other side from the claim.",
    "Inconclusive: the CI includes no effect.",
    "Supports: the CI excludes no effect on the side the claim expects, certainty is "
    "moderate or high, and the prediction interval stays on that side.",
    "Qualifies: the side the claim expects, but low or very low certainty or results that "
    "differ between settings; or a claim that the report says can go either way.",
)


# --- reading the results --------------------------------------------------------


def _rows(frame) -> list[dict]:
    return [] if frame is None else frame.to_dict("records")


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def study_labels(references) -> dict[str, str]:
    """Study key -> 'Author (year)' for every reference."""
    return {_text(r["key"]): author_year(r) for r in _rows(references)}


def analysis_label(row: Mapping[str, Any]) -> str:
    """'Health: high versus low social capital' (outcome, then construct in words)."""
    outcome = OUTCOME_NAME.get(_text(row.get("outcome")), _text(row.get("outcome")).capitalize())
    construct = _text(row.get("construct"))
    return f"{outcome}: {construct_words(construct)}" if construct else outcome


def _participants(units: list[dict], designs: set[str]) -> tuple[str, int | None]:
    """(display, total) of the units' sample sizes; 'areas' for ecological analyses."""
    sizes = [u.get("n") for u in units]
    known = [float(s) for s in sizes if is_number(s)]
    what = " areas" if designs and designs <= {"ecological"} else ""
    if not known:
        return "not reported", None
    total = int(round(sum(known)))
    if len(known) < len(sizes):
        return f"≥ {total:,}{what}", None
    return f"{total:,}{what}", total


@dataclass
class Analysis:
    """One row of pooled.csv with everything the brief says about it."""

    row: dict
    units: list[dict]
    studies: list[str]
    designs: tuple[str, ...]
    countries: tuple[str, ...]
    participants: str
    rating: grade.Rating
    text: str
    verdict: Verdict
    figures: list[dict]

    @property
    def id(self) -> str:
        return _text(self.row["analysis_id"])

    @property
    def pooled(self) -> bool:
        return (
            _truthy(self.row.get("pooled", int(self.row.get("k") or 0) >= 2))
            and is_number(self.row.get("estimate"))
            and int(self.row.get("k") or 0) >= 2
        )


def _sort_key(row: Mapping[str, Any]) -> tuple:
    theme, outcome = _text(row.get("theme")), _text(row.get("outcome"))
    return (
        THEMES.index(theme) if theme in THEMES else len(THEMES),
        OUTCOMES.index(outcome) if outcome in OUTCOMES else len(OUTCOMES),
        -int(row.get("k") or 0),
        _text(row.get("analysis_id")),
    )


def analyses(pooled, units, studies, figures=None) -> list[Analysis]:
    """Every analysis of pooled.csv, graded and read, in theme and outcome order."""
    study_rows = {_text(s["study"]): s for s in _rows(studies)}
    by_analysis: dict[str, list[dict]] = {}
    for unit in _rows(units):
        by_analysis.setdefault(_text(unit.get("analysis_id")), []).append(unit)
    figs: dict[str, list[dict]] = {}
    for fig in _rows(figures):
        figs.setdefault(_text(fig.get("analysis_id")), []).append(fig)
    out = []
    for row in sorted(_rows(pooled), key=_sort_key):
        aid = _text(row["analysis_id"])
        its_units = by_analysis.get(aid, [])
        keys = sorted({_text(u.get("study")) for u in its_units})
        designs = tuple(sorted({_text(study_rows[s]["design"]) for s in keys if s in study_rows}))
        countries = tuple(sorted({_text(study_rows[s]["country"]) for s in keys if s in study_rows}))
        shown, total = _participants(its_units, set(designs))
        k = int(row.get("k") or len(its_units) or 0)
        measure = _text(row.get("measure"))
        ci = (row.get("ci_low"), row.get("ci_high"))
        pi = (row.get("pi_low"), row.get("pi_high"))
        pi = pi if k >= 2 and all(is_number(v) for v in pi) else (math.nan, math.nan)
        evidence = grade.Evidence(
            measure=measure,
            k=k,
            designs=designs,
            countries=countries,
            ci=tuple(float(v) if is_number(v) else math.nan for v in ci),
            pi=tuple(float(v) for v in pi),
            i2=float(row["i2"]) if k >= 2 and is_number(row.get("i2")) else math.nan,
            participants=total,
            egger_p=float(row["egger_p"]) if is_number(row.get("egger_p")) else math.nan,
        )
        rating = grade.rate(evidence)
        estimate = float(row["estimate"]) if is_number(row.get("estimate")) else math.nan
        theme, outcome = _text(row.get("theme")), _text(row.get("outcome"))
        if is_number(estimate):
            text = reading(
                theme,
                outcome,
                estimate,
                evidence.ci,
                evidence.pi,
                evidence.i2,
                k,
                _text(row.get("construct")),
            )
            judged = verdict(
                expected_direction(theme, outcome, _text(row.get("construct"))),
                estimate,
                evidence.ci,
                evidence.pi,
                rating.level,
                k,
            )
        else:
            text = "No estimate could be computed."
            judged = Verdict("inconclusive", "no estimate could be computed")
        out.append(
            Analysis(
                row=row,
                units=its_units,
                studies=keys,
                designs=designs,
                countries=countries,
                participants=shown,
                rating=rating,
                text=text,
                verdict=judged,
                figures=figs.get(aid, []),
            )
        )
    # Within a theme, published studies first and our Atlas reanalysis after them.
    return sorted(out, key=lambda a: (_sort_key(a.row)[0], ATLAS_STUDY in a.studies, *_sort_key(a.row)[1:]))


# --- keeping the brief short ---------------------------------------------------------

# Most rows of any list in the brief (studies, coded numbers, analyses, ...). A longer
# table is scanned, not read, and it is what made the brief heavy: at 10,000 studies the
# uncapped brief had 33,558 table rows (84 MB of HTML, a 91 MB PDF, 11 GB for typst).
# 100 rows are about three A4 pages, and keep the PDF's typst under 550 MB at 10,000
# studies (150 rows: 630 MB); the seed corpus' longest list has 48. The results files
# (effects.csv, studies.csv, pooled.csv, units.csv) hold every row, and each capped
# table says so.
TABLE_ROWS = 100
# Most rows of a table inside a theme section (the theme's other analyses, its studies with
# findings only): those sections are read from start to end, five of them, and 40 rows are
# about one page. The lists at the end of the brief keep TABLE_ROWS.
THEME_TABLE_ROWS = 40
# Per theme, the analyses shown in full (text, forest and funnel plot): the ones that rest
# on the most studies. The seed corpus has at most four per theme, so all are shown; at
# 10,000 studies a theme has up to 76 and 452 embedded figures made the brief 84 MB. The
# other analyses of the theme are listed in one compact table; every figure is still
# drawn, in the figures folder of the results.
FIGURE_ANALYSES = 8
# Most studies cited by name for one analysis: those with the largest weight. An analysis
# of 10,000 studies would otherwise cite them all in one sentence (units.csv lists them).
CITED_STUDIES = 10


def capped(rows: list, limit: int | None = None, rank=None) -> tuple[list, int]:
    """(rows shown, number left out): every row when they fit; otherwise the ``limit``
    (default TABLE_ROWS) first by ``rank`` (a sort key; ties keep their order), shown in
    their original order."""
    limit = TABLE_ROWS if limit is None else limit
    if len(rows) <= limit:
        return list(rows), 0
    order = sorted(range(len(rows)), key=lambda i: (rank(rows[i]), i) if rank else i)
    keep = sorted(order[:limit])
    return [rows[i] for i in keep], len(rows) - limit


def left_out_note(
    left: int, shown: int, noun: tuple[str, str], which: str, file: str, extra: str = ""
) -> str:
    """'124 more pooled analyses are not shown: the table below keeps the 100 with the most
    independent samples. All 224 are in the results file `pooled.csv`.' ('' when none).

    ``noun`` is (singular, plural); ``which`` says which rows are kept, with ``{n}`` for
    their number."""
    if not left:
        return ""
    noun = f"{noun[0]} is" if left == 1 else f"{noun[1]} are"
    return (
        f"{left:,} more {noun} not shown: the table below "
        f"keeps {which.format(n=f'{shown:,}')}. All {left + shown:,} are in the results "
        f"file `{file}`{extra}."
    )


def _others_note(full: int, shown: int, left: int) -> str:
    """The words above a theme's table of the analyses shown without figures."""
    figures = (
        "their forest and funnel plots are in the folder `figures` of the results "
        "(`forest-` or `funnel-` and the identifier, as SVG and PNG)"
    )
    text = (
        f"The {full} analyses above rest on the most studies in this theme and are shown with their figures. "
    )
    if not left:
        return text + (
            f"The other {shown:,} are listed here; {figures}, their numbers in the results file `pooled.csv`."
        )
    return text + (
        f"Of the other {shown + left:,}, the table lists the {shown:,} that rest on "
        f"the most studies; {left:,} more are not shown. All are in the results "
        f"file `pooled.csv`; {figures}."
    )


def _study_weights(units) -> dict[str, float]:
    """Study key -> its largest weight (percent, summed over its samples) in any analysis."""
    per: dict[tuple[str, str], float] = {}
    for u in _rows(units):
        w = float(u["weight"]) if is_number(u.get("weight")) else 0.0
        key = (_text(u.get("analysis_id")), _text(u.get("study")))
        per[key] = per.get(key, 0.0) + w
    out: dict[str, float] = {}
    for (_, study), w in per.items():
        out[study] = max(out.get(study, 0.0), w)
    return out


def _year(value: Any) -> int:
    match = re.search(r"\d{4}", _text(value))
    return int(match.group()) if match else 0


# --- the context ----------------------------------------------------------------

# Short names of the GRADE domains, for the headline table.
_DOMAIN_SHORT = ("inconsistency", "imprecision", "indirectness", "small-study effects")


def _certainty_cell(rating: grade.Rating) -> str:
    domains = [d for d in _DOMAIN_SHORT if any(r.startswith(d) for r in rating.downgrades)]
    level = rating.level.capitalize()
    return f"{level} (down for {', '.join(domains)})" if domains else level


def headline_row(a: Analysis, labels: Mapping[str, str]) -> dict:
    """The numbers of one analysis as the headline table shows them."""
    r = a.row
    measure = _text(r.get("measure"))
    k = int(r.get("k") or 0)
    cited = list(a.studies)
    if len(cited) > CITED_STUDIES:
        weight: dict[str, float] = {}
        for u in a.units:
            w = float(u["weight"]) if is_number(u.get("weight")) else 0.0
            weight[_text(u.get("study"))] = weight.get(_text(u.get("study")), 0.0) + w
        cited, _ = capped(cited, CITED_STUDIES, rank=lambda s: -weight.get(s, 0.0))
    row = {
        "analysis_id": a.id,
        "theme": THEME_SHORT.get(_text(r.get("theme")), _text(r.get("theme"))),
        "outcome": analysis_label(r) + (" (Atlas)" if ATLAS_STUDY in a.studies else ""),
        "k": str(k),
        "n_studies": str(int(r.get("n_studies") or len(a.studies) or 0)),
        "samples": f"{k} ({int(r.get('n_studies') or len(a.studies) or 0)})",
        "participants": a.participants,
        "measure": MEASURE_SYMBOL.get(measure, measure),
        "effect": fmt(natural(measure, r.get("estimate"))),
        "ci": fmt_interval(measure, r.get("ci_low"), r.get("ci_high")),
        "pi": fmt_interval(measure, r.get("pi_low"), r.get("pi_high")) if a.pooled else "",
        "i2": fmt_i2(r.get("i2")) if a.pooled else "",
        "tau": fmt_tau(r.get("tau2")) if a.pooled else "",
        "certainty": a.rating.level,
        "certainty_cell": _certainty_cell(a.rating),
        "reasons": list(a.rating.downgrades),
        "notes": list(a.rating.notes),
        "reading": a.text,
        "study": ", ".join(labels.get(s, s) for s in a.studies),
        "study_keys": list(a.studies),
        "cited_keys": cited,
        "uncited": (
            f" and {len(a.studies) - len(cited):,} more (those cited weigh most; "
            f"`units.csv` lists every study)"
        )
        if len(cited) < len(a.studies)
        else "",
        "atlas": ATLAS_STUDY in a.studies,
        "verdict": a.verdict.label,
        "verdict_text": a.verdict.text,
        "egger_p": fmt_p(r.get("egger_p")),
        "pooled": a.pooled,
        # Identical effects give a zero standard error: a degenerate pool, never "firmest".
        "degenerate": not (is_number(r.get("se")) and 0 < float(r["se"]) < math.inf),
        "n_known": sum(float(u["n"]) for u in a.units if is_number(u.get("n"))),
    }
    return row


def _relative(path: str | Path, start: str | Path) -> str:
    """``path`` relative to ``start`` (the .qmd's folder: pandoc and Quarto resolve from it)."""
    return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()


def _figure_entries(a: Analysis, figures_dir: Path, qmd_dir: Path) -> list[dict]:
    order = {"forest": 0, "funnel": 1}
    out = []
    for fig in sorted(a.figures, key=lambda f: order.get(_text(f.get("kind")), 9)):
        svg = _text(fig.get("svg"))
        if not svg:
            continue
        out.append(
            {
                "kind": _text(fig.get("kind")),
                "path": _relative(figures_dir / svg, qmd_dir),
                "alt": _text(fig.get("alt")),
                "id": f"fig-{_text(fig.get('kind'))}-{a.id}",
            }
        )
    return out


def _gap_table(counts: list[dict]) -> dict:
    themes = list(THEMES) + sorted({c["theme"] for c in counts} - set(THEMES))
    outcomes = list(OUTCOMES) + sorted({c["outcome"] for c in counts} - set(OUTCOMES))
    cell = {(c["theme"], c["outcome"]): c for c in counts}
    rows = []
    for t in themes:
        cells = []
        for o in outcomes:
            c = cell.get((t, o))
            cells.append(f"{c['coded']} / {c['narrative']}" if c else "·")
        rows.append({"theme": THEME_SHORT.get(t, t), "cells": cells})
    empty = sum(1 for t in THEMES for o in OUTCOMES if (t, o) not in cell)
    return {
        "outcomes": [OUTCOME_NAME.get(o, o) for o in outcomes],
        "rows": rows,
        "empty": empty,
        "cells": len(THEMES) * len(OUTCOMES),
    }


def _interval_range(values: list[float], measure: str) -> str:
    finite = [v for v in values if is_number(v)]
    if not finite:
        return ""
    return f"{fmt(natural(measure, min(finite)))} to {fmt(natural(measure, max(finite)))}"


def _sensitivity_rows(headline: list[Analysis], tables: Mapping[str, Any]) -> list[dict]:
    """Per pooled analysis: estimates under every variation, and a robustness verdict."""
    out = []
    grouped = {}
    for name, frame in tables.items():
        if frame is None or "analysis_id" not in frame.columns:
            grouped[name] = {}
            continue
        grouped[name] = {aid: part.to_dict("records") for aid, part in frame.groupby("analysis_id")}
    for a in headline:
        if not a.pooled:
            continue
        measure = _text(a.row.get("measure"))
        main_sig = not _crosses(a.row["ci_low"], a.row["ci_high"])
        main_sign = 1 if float(a.row["estimate"]) > 0 else -1
        changes: list[str] = []

        def check(rows: list[dict], what: str) -> None:
            for r in rows:
                if not is_number(r.get("estimate")):
                    continue
                sign = 1 if float(r["estimate"]) > 0 else -1
                sig = not _crosses(r.get("ci_low"), r.get("ci_high"))
                if sign != main_sign and sig:
                    changes.append(f"{what} reverses the direction")
                elif sig != main_sig:
                    changes.append(f"{what} changes whether the CI includes no effect")

        loo = grouped.get("leave_one_out", {}).get(a.id, [])
        est = grouped.get("estimators", {}).get(a.id, [])
        rho = grouped.get("rho", {}).get(a.id, [])
        tf = grouped.get("trimfill", {}).get(a.id, [])
        check(loo, "leaving out one sample")
        check(est, "another estimator")
        check(rho, "another rho")
        check(tf, "trim-and-fill")

        def shown(r: Mapping[str, Any]) -> str:
            return fmt(natural(measure, r.get("estimate")))

        by_estimator = "; ".join(
            f"{_text(r.get('estimator'))} {shown(r)}" for r in est if is_number(r.get("estimate"))
        )
        by_rho = "; ".join(
            f"{fmt(float(r['rho']), 1)}: {shown(r)}"
            for r in sorted(rho, key=lambda r: float(r.get("rho") or 0))
            if is_number(r.get("estimate")) and is_number(r.get("rho"))
        )
        trim = ""
        if tf:
            t = tf[0]
            k0 = t.get("k0")
            filled = int(float(k0)) if is_number(k0) else 0
            if filled and is_number(t.get("estimate")):
                side = _text(t.get("side"))
                trim = (
                    f"{filled} filled{' on the ' + side if side else ''}: "
                    f"{fmt(natural(measure, t.get('estimate')))}"
                )
            elif is_number(k0):
                trim = "none filled"
        unique = sorted(set(changes), key=changes.index)
        if not (loo or est or rho or tf):
            words = "Not run."
        elif unique:
            words = "Sensitive: " + "; ".join(unique) + "."
        else:
            words = "Robust: no variation changes the direction or whether the CI includes no effect."
        out.append(
            {
                "analysis_id": a.id,
                "label": f"{THEME_SHORT.get(_text(a.row.get('theme')), '')}: {analysis_label(a.row)}",
                "measure": MEASURE_SYMBOL.get(measure, measure),
                "main": fmt(natural(measure, a.row.get("estimate"))),
                "loo": _interval_range([r.get("estimate") for r in loo], measure),
                "estimators": by_estimator,
                "rho": by_rho,
                "trimfill": trim,
                "robust": not unique,
                "words": words,
            }
        )
    return out


def _claims(claims: Iterable[Mapping[str, Any]], keys: set[str]) -> list[dict]:
    out = []
    for c in claims or []:
        key = _text(c.get("attributed_to"))
        out.append(
            {
                "id": _text(c.get("id")),
                "claim": _text(c.get("claim")),
                "attributed_to": key,
                "cite": key if key in keys and _KEY.match(key) else "",
                "where": _text(c.get("where")),
                "found_instead": _text(c.get("found_instead")),
            }
        )
    return out


def coded_effects(effects, labels: Mapping[str, str]) -> tuple[list[dict], list[dict]]:
    """(quoted, computed): every coded effect with its source quote, and per study the
    count of effects computed by the workflow from public data (no quote)."""
    quoted, computed = [], {}
    for e in _rows(effects):
        study = _text(e.get("study"))
        if _text(e.get("computed_by")) and not _text(e.get("quote")):
            computed[study] = computed.get(study, 0) + 1
            continue
        theme, outcome = _text(e.get("theme")), _text(e.get("outcome"))
        quoted.append(
            {
                "study": study,
                "what": (f"{THEME_SHORT.get(theme, theme)}, {OUTCOME_NAME.get(outcome, outcome).lower()}"),
                "exposure": _text(e.get("exposure")),
                "outcome_label": _text(e.get("outcome_label")),
                "printed": _text(e.get("printed")),
                "reversed": _truthy(e.get("reverse")),
                "sensitivity": _text(e.get("role")) == "sensitivity",
                "locator": _text(e.get("locator")),
                "quote": _text(e.get("quote")),
            }
        )
    counts = [{"study": s, "n": str(n)} for s, n in sorted(computed.items())]
    return quoted, counts


def _formulas(effects) -> list[dict]:
    out: dict[str, dict] = {}
    for e in _rows(effects):
        form = _text(e.get("input_form"))
        entry = out.setdefault(
            form,
            {
                "form": form,
                "formula": _text(e.get("formula")),
                "measure": _text(e.get("measure")),
                "effects": 0,
            },
        )
        entry["effects"] += 1
    return [dict(v, effects=str(v["effects"])) for _, v in sorted(out.items())]


FORM_NAME = {
    "yi_vi": "Effect and variance as given",
    "yi_se": "Effect and standard error as given",
    "or_ci": "Odds ratio with 95% CI",
    "rr_ci": "Risk ratio with 95% CI",
    "counts_OR": "2×2 table, odds ratio",
    "counts_RR": "2×2 table, risk ratio",
    "counts_RD": "2×2 table, risk difference",
    "r_n": "Correlation with sample size",
    "t_n": "Regression t statistic with sample size",
    "groups_SMD": "Group means and SDs, g",
    "groups_MD": "Group means and SDs, mean difference",
    "d_n": "Cohen's d with group sizes",
}


_VERDICT_ORDER = ("supports", "qualifies", "contradicts", "inconclusive")


def certainty_summary(ratings: list[grade.Rating]) -> str:
    """How sure the brief can be, in words, from the ratings (for 'In brief')."""
    if not ratings:
        return "There is nothing to rate yet."
    n = len(ratings)
    good = sum(1 for r in ratings if r.level in ("high", "moderate"))
    if good:
        text = f"{good} of {n} analyses reach moderate or high certainty; the rest are low or very low."
    else:
        text = f"None of the {n} analyses reaches moderate or high certainty."
    observational = sum(1 for r in ratings if r.start == "low")
    reasons = []
    if observational == n:
        reasons.append("every analysis rests on observational studies")
    elif observational:
        verb = "rests" if observational == 1 else "rest"
        reasons.append(f"{observational} {verb} on observational studies")
    for domain, one, many in (
        ("indirectness", "has no UK sample", "have no UK sample"),
        ("inconsistency", "is inconsistent or rests on one sample", "are inconsistent or rest on one sample"),
        ("imprecision", "is imprecise", "are imprecise"),
        ("small-study effects", "shows small-study effects", "show small-study effects"),
    ):
        count = sum(1 for r in ratings if any(d.startswith(domain) for d in r.downgrades))
        if count:
            reasons.append(f"{count} {one if count == 1 else many}")
    if reasons:
        text += " Why: " + "; ".join(reasons) + "."
    if observational == n:
        text += " The numbers describe associations, not the effect of building social capital."
    return text


_VERBS = {  # (one analysis, several analyses)
    "supports": ("supports it", "support it"),
    "qualifies": ("qualifies it", "qualify it"),
    "contradicts": ("contradicts it", "contradict it"),
    "inconclusive": ("is inconclusive", "are inconclusive"),
}


def theme_summary(verdicts: list[str], narrative: int) -> str:
    """'Against the report's claim: 2 analyses qualify it; 1 is inconclusive.'"""
    if not verdicts:
        studies = "study" if narrative == 1 else "studies"
        return f"No coded numbers; the evidence is narrative only ({narrative} {studies})."
    parts = []
    for label in _VERDICT_ORDER:
        n = verdicts.count(label)
        if n:
            one, many = _VERBS[label]
            parts.append(f"{n} {'analysis' if n == 1 else 'analyses'} {one if n == 1 else many}")
    return "Against the report's claim: " + "; ".join(parts) + "."


def seed_reference(references) -> tuple[str, dict | None]:
    """(key, CSL entry or None): the seed report's key, from the bibliography when it is there."""
    for r in _rows(references):
        if SEED_TITLE in _text(r.get("title")).lower():
            return _text(r["key"]), None
    return SEED_ID, SEED_CSL


def build_context(
    *,
    pooled,
    units,
    effects,
    studies,
    references,
    figures,
    sensitivity,
    claims,
    build: Mapping[str, Any],
    settings: Mapping[str, Any],
    software: Mapping[str, str],
    citation: Mapping[str, Any],
    qmd_dir: str | Path,
    figures_dir: str | Path,
    bib: str | Path,
    css: str | Path,
) -> dict:
    """Everything the template shows, as formatted strings and lists (see the template)."""
    qmd_dir, figures_dir = Path(qmd_dir), Path(figures_dir)
    labels = study_labels(references)
    keys = set(labels)
    all_analyses = analyses(pooled, units, studies, figures)
    headline = [headline_row(a, labels) for a in all_analyses]
    for a, row in zip(all_analyses, headline):
        row["figures"] = _figure_entries(a, figures_dir, qmd_dir)
    study_rows = _rows(studies)
    coded_studies = [s for s in study_rows if (_text(s.get("kind")) or "study") != "context"]
    context_rows = [s for s in study_rows if (_text(s.get("kind")) or "study") == "context"]
    weights = _study_weights(units)
    years = {_text(r["key"]): _year(r.get("year")) for r in _rows(references)}

    def study_entry(s: Mapping[str, Any]) -> dict:
        key = _text(s["study"])
        return {
            "key": key,
            "cite": key if key in keys and _KEY.match(key) else "",
            "label": labels.get(key, key),
            "design": DESIGN_NAME.get(_text(s.get("design")), _text(s.get("design"))),
            "country": country_words(s.get("country")),
            "status": "coded" if _text(s.get("status")) == "coded" else "narrative only",
            "themes": list_words(s.get("themes"), THEME_SHORT),
            "effects": str(int(s.get("n_effects") or 0)),
            "finding": _text(s.get("findings")),
            "not_poolable": _text(s.get("not_poolable")),
            "atlas": key == ATLAS_STUDY,
            "theme_keys": [x for x in _text(s.get("themes")).split(";") if x],
            "weight": weights.get(key, 0.0),
            "uk": "GB" in _text(s.get("country")).split(";"),
            "year": years.get(key, 0),
        }

    studies_list = [study_entry(s) for s in coded_studies]
    context_list = [study_entry(s) for s in context_rows]
    notes: dict[str, str] = {}

    def uk_then_recent(s: Mapping[str, Any]) -> tuple:
        return (not s["uk"], -s["year"])

    def most_samples(r: Mapping[str, Any]) -> tuple:
        return (-int(r["k"]),)

    def most_studies(r: Mapping[str, Any]) -> tuple:
        return (-int(r["n_studies"]), -int(r["k"]))

    theme_of = {a.id: _text(a.row.get("theme")) for a in all_analyses}
    themes = []
    for theme in THEMES:
        rows = [r for r in headline if theme_of[r["analysis_id"]] == theme]
        narrative = [s for s in studies_list if s["status"] != "coded" and theme in s["theme_keys"]]
        claim = THEME_CLAIMS[theme]
        full, _ = capped(rows, FIGURE_ANALYSES, rank=most_studies)
        shown_ids = {r["analysis_id"] for r in full}
        others, others_left = capped(
            [r for r in rows if r["analysis_id"] not in shown_ids], THEME_TABLE_ROWS, rank=most_studies
        )
        narrative_shown, narrative_left = capped(narrative, THEME_TABLE_ROWS, rank=uk_then_recent)
        themes.append(
            {
                "key": theme,
                "title": THEME_TITLE[theme],
                "claim": claim.claim,
                "where": claim.where,
                "analyses": full,
                "others": others,
                "others_note": _others_note(len(full), len(others), others_left) if others else "",
                "narrative": narrative_shown,
                "narrative_note": left_out_note(
                    narrative_left,
                    len(narrative_shown),
                    ("study with findings only", "studies with findings only"),
                    "{n}: those about the UK first, then the most recent",
                    "studies.csv",
                    ", with their findings",
                ),
                "summary": theme_summary([r["verdict"] for r in rows], len(narrative)),
                "has_atlas": any(r["atlas"] for r in rows),
            }
        )

    counts = gap_counts(effects, studies)
    gap_figure = next((f for f in _rows(figures) if _text(f.get("kind")) == "gapmap"), None)
    gap = _gap_table(counts)
    gap["figure"] = None
    if gap_figure is not None and _text(gap_figure.get("svg")):
        gap["figure"] = {
            "path": _relative(figures_dir / _text(gap_figure["svg"]), qmd_dir),
            "alt": _text(gap_figure.get("alt")),
            "id": "fig-gapmap",
        }
    unplaced = [
        s
        for s in coded_studies
        if _text(s.get("status")) == "narrative" and not (_text(s.get("themes")) and _text(s.get("outcomes")))
    ]
    gap["unplaced"] = str(len(unplaced))

    seed_key, seed_csl = seed_reference(references)
    pooled_rows = [r for r in headline if r["pooled"]]
    single_rows = [r for r in headline if not r["pooled"]]
    pooled_shown, left = capped(pooled_rows, rank=most_samples)
    notes["headline"] = left_out_note(
        left,
        len(pooled_shown),
        ("pooled analysis", "pooled analyses"),
        "the {n} with the most independent samples",
        "pooled.csv",
    )
    single_shown, left = capped(single_rows, rank=lambda r: (r["atlas"], -r["n_known"]))
    notes["single"] = left_out_note(
        left,
        len(single_shown),
        ("single-study analysis", "single-study analyses"),
        "the {n} with the most participants",
        "pooled.csv",
    )
    # Studies: the ones that weigh most in some analysis first (narrative ones weigh 0),
    # published ones before our own Atlas reanalysis.
    study_rank = {
        s["key"]: i for i, s in enumerate(sorted(studies_list, key=lambda s: (s["atlas"], -s["weight"])))
    }
    studies_shown, left = capped(studies_list, rank=lambda s: study_rank[s["key"]])
    notes["studies"] = left_out_note(
        left,
        len(studies_shown),
        ("study", "studies"),
        "the {n} that weigh most in the pooled analyses (the largest weight in any of them)",
        "studies.csv",
    )
    studies_caption = f"{len(studies_shown):,} of {len(studies_list):,}" if left else str(len(studies_list))
    context_shown, left = capped(context_list, rank=uk_then_recent)
    notes["context"] = left_out_note(
        left,
        len(context_shown),
        ("report or policy document", "reports and policy documents"),
        "{n}: those about the UK first, then the most recent",
        "studies.csv",
    )
    context_caption = f"{len(context_shown):,} of {len(context_list):,}" if left else str(len(context_list))
    levels = {lvl: sum(1 for r in headline if r["certainty"] == lvl) for lvl in grade.LEVELS}
    n_coded = sum(1 for s in coded_studies if _text(s.get("status")) == "coded")
    uk = sum(1 for s in coded_studies if "GB" in _text(s.get("country")).split(";"))
    version = _text(build.get("version"))
    commit = _text(build.get("commit"))
    date = commit_date(int(build.get("epoch") or 0))
    authors = ", ".join(
        _text(a.get("name") or " ".join(filter(None, [a.get("given-names"), a.get("family-names")])))
        for a in citation.get("authors", []) or []
    )
    title = _text(citation.get("title")) or "Social capital and social mobility: an evidence brief"
    year = date[:4] if date else ""
    cite_text = (
        f"{authors} ({year or 'n.d.'}). {title}. Version {version}"
        f"{', commit ' + commit[:12] if commit and commit != 'unknown' else ''}."
    )
    example = next((r for r in headline if r["pooled"]), headline[0] if headline else None)
    cite_example = (
        f"{authors} ({year or 'n.d.'}). {title}. Version {version}, estimate {example['analysis_id']}."
        if example
        else ""
    )
    quoted, computed = coded_effects(effects, labels)
    quoted_shown, left = capped(
        quoted, rank=lambda e: (study_rank.get(e["study"], len(study_rank)), e["sensitivity"])
    )
    notes["effects"] = left_out_note(
        left,
        len(quoted_shown),
        ("coded number", "coded numbers"),
        "the {n} from the studies that weigh most in the pooled analyses",
        "effects.csv",
        ", each with its locator and quote",
    )
    # The result we are surest of: best certainty, then pooled, published, most samples.
    ranked = sorted(
        (r for r in headline if not r["degenerate"]),
        key=lambda r: (grade.LEVELS.index(r["certainty"]), not r["pooled"], r["atlas"], -int(r["k"])),
    )
    best = ranked[0] if ranked else None
    shown_pooled = {r["analysis_id"] for r in pooled_shown}
    left = sum(1 for a in all_analyses if a.pooled and a.id not in shown_pooled)
    notes["sensitivity"] = (
        (
            f"{left:,} more pooled {'analysis is' if left == 1 else 'analyses are'} not shown: "
            f"the table below keeps the {len(shown_pooled):,} of the table of pooled analyses, "
            "those with the most independent samples. The results of every variation "
            "for every analysis are in the results files `sensitivity/leave_one_out.csv`, "
            "`sensitivity/estimators.csv`, `sensitivity/rho.csv` and "
            "`sensitivity/trimfill.csv`."
        )
        if left
        else ""
    )
    estimates, left = capped(headline, rank=lambda r: (not r["pooled"], -int(r["k"])))
    notes["estimates"] = left_out_note(
        left,
        len(estimates),
        ("identifier", "identifiers"),
        "the {n} of the analyses with the most independent samples",
        "pooled.csv",
        " (column analysis_id)",
    )
    return {
        "best": best,
        "coded_effects": quoted_shown,
        "computed_effects": computed,
        "bib_keys": sorted(keys | {seed_key}),
        # Confidence level of every interval, in percent (from alpha; 95 by default).
        "level": fmt_int(100 * (1 - float(settings.get("alpha", 0.05)))),
        "atlas_key": ATLAS_STUDY,
        "meta": {
            "title": title,
            "subtitle": "What the studies behind Local Trust's Bridging the divide (2025) show",
            "date": date or "undated build",
            "version": version,
            "commit": commit,
            "commit_short": commit[:12],
            "fingerprint": _text(build.get("fingerprint")),
            "bibliography": _relative(bib, qmd_dir),
            "css": _relative(css, qmd_dir),
            "seed_csl": seed_csl,
        },
        "seed": {"key": seed_key},
        "summary": {
            # Thousands separated: "9,778 studies".
            "studies": fmt_int(len(coded_studies)),
            "coded": fmt_int(n_coded),
            "narrative": fmt_int(len(coded_studies) - n_coded),
            "context": fmt_int(len(context_rows)),
            "uk": fmt_int(uk),
            "analyses": fmt_int(len(headline)),
            "pooled": fmt_int(len(pooled_rows)),
            "single": fmt_int(len(single_rows)),
            "levels": [{"level": lvl, "n": str(levels[lvl])} for lvl in grade.LEVELS],
            "moderate_or_better": str(levels["high"] + levels["moderate"]),
            "certainty": certainty_summary([a.rating for a in all_analyses]),
            "claims": str(len(claims or [])),
            "effects": fmt_int(len(_rows(effects))),
        },
        "headline": pooled_shown,
        "single": single_shown,
        "notes": notes,
        "grade_rules": list(grade.RULES),
        "verdict_rules": list(VERDICT_RULES),
        "themes": themes,
        "gap": gap,
        "sensitivity": [
            s for s in _sensitivity_rows(all_analyses, sensitivity) if s["analysis_id"] in shown_pooled
        ],
        "claims": _claims(claims, keys),
        "methods": {
            "model": (
                "Equal-effects meta-analysis (between-study variance fixed at 0)"
                if _text(settings.get("estimator")) == "EE"
                else "Random-effects meta-analysis; between-study variance by "
                + ESTIMATOR_NAME.get(_text(settings.get("estimator")), _text(settings.get("estimator")))
            ),
            "estimator": ESTIMATOR_NAME.get(
                _text(settings.get("estimator")), _text(settings.get("estimator"))
            ),
            "ci_method": CI_METHOD_NAME.get(
                _text(settings.get("ci_method")), _text(settings.get("ci_method"))
            ),
            "rho": fmt(float(settings.get("rho")), 1) if is_number(settings.get("rho")) else "",
            "level": fmt_int(100 * (1 - float(settings.get("alpha", 0.05)))),
            "formulas": [
                dict(
                    f,
                    name=FORM_NAME.get(f["form"], f["form"]),
                    measure=MEASURE_NAME.get(f["measure"], f["measure"]),
                )
                for f in _formulas(effects)
            ],
            "software": [{"name": k, "version": v} for k, v in software.items()],
            "references": str(len(labels)),
        },
        "studies": studies_shown,
        "studies_caption": studies_caption,
        "context_records": context_shown,
        "context_caption": context_caption,
        "cite": {
            "text": cite_text,
            "version": version,
            "example": cite_example,
            "message": _text(citation.get("message")),
        },
        "estimates": [
            {
                "analysis_id": r["analysis_id"],
                "label": f"{r['theme']}: {r['outcome']}",
                "effect": f"{r['measure']} {r['effect']}" if r["effect"] else "",
            }
            for r in estimates
        ],
    }


# --- rendering -------------------------------------------------------------------


def _citable(key: str, keys: Iterable[str] | None) -> bool:
    return bool(key) and bool(_KEY.match(key)) and (keys is None or key in keys)


def code_span(text: Any) -> str:
    """`text` for identifiers made of safe characters; escaped text otherwise."""
    text = _text(text)
    return f"`{text}`" if re.fullmatch(r"[A-Za-z0-9_.:-]+", text) else escape_md(text)


def environment(template_dir: str | Path):
    """Jinja environment: strict, no autoescape, comments as {## ... ##} (pandoc uses {#...})."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        comment_start_string="{##",
        comment_end_string="##}",
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = escape_md
    env.filters["yamlstr"] = yaml_string
    env.filters["code"] = code_span
    env.filters["cite"] = lambda key: f"[@{key}]" if _citable(key, None) else escape_md(key)
    env.filters["at"] = lambda key: f"@{key}" if _citable(key, None) else escape_md(key)
    env.filters["cap"] = lambda s: str(s)[:1].upper() + str(s)[1:]
    return env


def render_source(template: str | Path, context: Mapping[str, Any]) -> str:
    """Fill the template with the context."""
    import yaml

    template = Path(template)
    context = {"agreement": {"second_coder": False}, **context}  # no double coding given
    env = environment(template.parent)
    env.filters["csl"] = lambda entry: yaml.safe_dump(
        [entry], allow_unicode=True, sort_keys=True, width=1000
    ).rstrip()
    # Citations only for keys of the bibliography; anything else shows as text.
    keys = set(context.get("bib_keys", []))
    env.filters["cite"] = lambda key: f"[@{key}]" if _citable(key, keys) else escape_md(key)
    env.filters["at"] = lambda key: f"@{key}" if _citable(key, keys) else escape_md(key)

    def cites(many: Iterable[str]) -> str:
        """[@a; @b] for the citable keys, the others as escaped text after them."""
        many = list(many)
        good = [k for k in many if _citable(k, keys)]
        rest = [escape_md(k) for k in many if not _citable(k, keys)]
        parts = ([f"[{'; '.join('@' + k for k in good)}]"] if good else []) + rest
        return " ".join(parts)

    env.filters["cites"] = cites
    return env.get_template(template.name).render(**context)


def software_versions() -> dict[str, str]:
    """Versions of the software that makes the numbers and the brief (no imports; fast)."""
    import platform
    import shutil
    import subprocess
    from importlib import metadata

    versions = {"Python": platform.python_version()}
    for name, dist in (
        ("pymare", "pymare"),
        ("numpy", "numpy"),
        ("scipy", "scipy"),
        ("pandas", "pandas"),
        ("matplotlib", "matplotlib"),
        ("Snakemake", "snakemake"),
        ("Jinja2", "jinja2"),
        ("pandoc (pypandoc-binary)", "pypandoc-binary"),
        ("typst", "typst"),
    ):
        try:
            versions[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        import pypandoc

        versions["pandoc"] = pypandoc.get_pandoc_version()
        versions.pop("pandoc (pypandoc-binary)", None)
    except Exception:  # noqa: BLE001 - the version is information, not a requirement
        pass
    if shutil.which("quarto"):
        done = subprocess.run(["quarto", "--version"], capture_output=True, text=True)
        versions["Quarto"] = done.stdout.strip() or "unknown"
    return versions


def write_brief_source(
    *,
    template,
    claims_yaml,
    pooled,
    units,
    effects,
    studies,
    references,
    figures_index,
    sensitivity: Mapping[str, str],
    output,
    bib,
    css,
    build,
    settings,
    software,
    agreement: Mapping[str, Any] | None = None,
    renderer: Mapping[str, str] | None = None,
) -> int:
    """Rule write_brief_source: read the results, write results_dir/brief/brief.qmd.

    ``agreement`` is analysis.inputs.agreement.agreement_summary() of the double coding (None: none).
    ``renderer`` is analysis.brief.render.resolve_renderer() (its "label" goes in the methods).
    """
    import yaml

    from analysis.io import read_table, write_text_atomic
    from analysis.provenance import citation

    claims = yaml.safe_load(Path(claims_yaml).read_text(encoding="utf-8")) or []
    figures = read_table(figures_index)
    context = build_context(
        pooled=read_table(pooled),
        units=read_table(units),
        effects=read_table(effects),
        studies=read_table(studies),
        references=read_table(references),
        figures=figures,
        sensitivity={name: read_table(path) for name, path in sensitivity.items()},
        claims=claims,
        build=build,
        settings=settings,
        software=software,
        citation=citation(),
        qmd_dir=Path(output).parent,
        figures_dir=Path(figures_index).parent,
        bib=bib,
        css=css,
    )
    context["agreement"] = dict(agreement or {"second_coder": False})
    context["renderer"] = dict(renderer or {})
    text = render_source(template, context)
    write_text_atomic(output, text)
    return len(context["headline"]) + len(context["single"])
