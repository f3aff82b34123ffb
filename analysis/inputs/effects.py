"""Convert each coded effect to its analysis metric, with metafor's ``escalc`` conventions.

Every input form of the contract maps to one metric (``measure``) and a
sampling variance. The formulas are those of metafor's ``escalc`` (defaults:
``vtype = "LS"``, ``add = 1/2`` to every cell of a 2x2 table that has a zero,
exact bias correction for Hedges' g). ``FORMULAS`` names each one; the brief's
methods section prints the ones used.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

# z(0.975): a printed 95% CI spans 2 * 1.959964 standard errors.
Z_975 = 1.959963984540054
# escalc's default correction for 2x2 tables with a zero cell.
ZERO_CELL_ADD = 0.5
# The largest |log| of a ratio the workflow takes: ratios from 1e-6 to 1e6, the
# bounds of the schema's printed ratios (no study reports an odds ratio of a million).
MAX_LOG_RATIO = math.log(1e6)

FORMULAS: dict[str, str] = {
    "yi_vi": "yi and vi as given",
    "yi_se": "yi as given; vi = se²",
    "or_ci": "yi = log(OR); vi = ((log(upper) − log(lower)) / (2 × 1.959964))²",
    "rr_ci": "yi = log(RR); vi = ((log(upper) − log(lower)) / (2 × 1.959964))²",
    "counts_OR": "yi = log((ai·di)/(bi·ci)); vi = 1/ai + 1/bi + 1/ci + 1/di (1/2 added to every cell of a table with a zero)",
    "counts_RR": "yi = log((ai/(ai+bi))/(ci/(ci+di))); vi = 1/ai − 1/(ai+bi) + 1/ci − 1/(ci+di) (1/2 added to every cell of a table with a zero)",
    "counts_RD": "yi = ai/(ai+bi) − ci/(ci+di); vi = p1(1−p1)/(ai+bi) + p2(1−p2)/(ci+di) (1/2 added to every cell of a table with a zero)",
    "r_n": "yi = atanh(r) (Fisher z); vi = 1/(n − 3)",
    "t_n": "r = t/√(t² + n − p − 1) (partial correlation, p predictors); yi = atanh(r); vi = 1/(n − p − 2)",
    "groups_SMD": "g = J·(m1 − m2)/s_pooled, J = Γ(m/2)/(√(m/2)·Γ((m−1)/2)), m = n1 + n2 − 2; vi = 1/n1 + 1/n2 + g²/(2(n1 + n2))",
    "groups_MD": "yi = m1 − m2; vi = sd1²/n1 + sd2²/n2",
    "d_n": "g = J·d (J as for groups); vi = 1/n1 + 1/n2 + g²/(2(n1 + n2))",
}

# Columns of effects.csv, in order.
COLUMNS = [
    "study",
    "effect_id",
    "sample",
    "theme",
    "outcome",
    "outcome_label",
    "exposure",
    "construct",
    "role",
    "measure",
    "input_form",
    "formula",
    "printed",
    "reverse",
    "yi_printed",
    "yi",
    "vi",
    "se",
    "ci_low",
    "ci_high",
    "n",
    "design",
    "country",
    "kind",
    "locator",
    "quote",
    "computed_by",
    "moderators",
]


@dataclass(frozen=True)
class Converted:
    """An effect on its analysis scale (before any reversal)."""

    measure: str
    yi: float
    vi: float
    form: str
    printed: str
    n: int | None


def hedges_j(m: float) -> float:
    """Exact small-sample correction of Hedges (1981), as escalc (m = n1 + n2 - 2)."""
    return math.exp(math.lgamma(m / 2) - math.log(math.sqrt(m / 2)) - math.lgamma((m - 1) / 2))


def _ratio_from_ci(estimate: float, ci: list[float]) -> tuple[float, float]:
    low, high = ci
    se = (math.log(high) - math.log(low)) / (2 * Z_975)
    return math.log(estimate), se * se


def _counts(counts: dict, measure: str) -> tuple[float, float]:
    ai, bi, ci, di = (float(counts[c]) for c in ("ai", "bi", "ci", "di"))
    if min(ai, bi, ci, di) == 0:
        ai, bi, ci, di = (x + ZERO_CELL_ADD for x in (ai, bi, ci, di))
    n1, n2 = ai + bi, ci + di
    if measure == "OR":
        return math.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di
    if measure == "RR":
        return math.log((ai / n1) / (ci / n2)), 1 / ai - 1 / n1 + 1 / ci - 1 / n2
    p1, p2 = ai / n1, ci / n2
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


def _smd(diff_over_sd: float, n1: int, n2: int) -> tuple[float, float]:
    g = hedges_j(n1 + n2 - 2) * diff_over_sd
    return g, 1 / n1 + 1 / n2 + g * g / (2 * (n1 + n2))


def convert(effect: dict) -> Converted:
    """Convert one validated effect to (measure, yi, vi)."""
    n = effect.get("n")
    if "yi" in effect:
        vi = effect["vi"] if "vi" in effect else effect["se"] ** 2
        form = "yi_vi" if "vi" in effect else "yi_se"
        spread = f"vi {effect['vi']}" if "vi" in effect else f"SE {effect['se']}"
        return Converted(
            effect["measure"], float(effect["yi"]), float(vi), form, f"{effect['yi']} ({spread})", n
        )
    for ratio in ("or", "rr"):
        if ratio in effect:
            yi, vi = _ratio_from_ci(effect[ratio], effect["ci"])
            low, high = effect["ci"]
            return Converted(
                ratio.upper(), yi, vi, f"{ratio}_ci", f"{ratio.upper()} {effect[ratio]} [{low}, {high}]", n
            )
    if "counts" in effect:
        c, measure = effect["counts"], effect["measure"]
        yi, vi = _counts(c, measure)
        total = sum(int(c[k]) for k in ("ai", "bi", "ci", "di"))
        return Converted(
            measure,
            yi,
            vi,
            f"counts_{measure}",
            f"{c['ai']}/{c['ai'] + c['bi']} vs {c['ci']}/{c['ci'] + c['di']}",
            n or total,
        )
    if "r" in effect:
        return Converted("ZCOR", math.atanh(effect["r"]), 1 / (n - 3), "r_n", f"r {effect['r']} (n {n})", n)
    if "t" in effect:
        t, p = effect["t"], effect["predictors"]
        r = t / math.sqrt(t * t + n - p - 1)
        return Converted("ZPCOR", math.atanh(r), 1 / (n - p - 2), "t_n", f"t {t} (n {n}, {p} predictors)", n)
    if "groups" in effect:
        g, measure = effect["groups"], effect["measure"]
        if measure == "MD":
            yi = g["m1"] - g["m2"]
            vi = g["sd1"] ** 2 / g["n1"] + g["sd2"] ** 2 / g["n2"]
        else:
            m = g["n1"] + g["n2"] - 2
            pooled_sd = math.sqrt(((g["n1"] - 1) * g["sd1"] ** 2 + (g["n2"] - 1) * g["sd2"] ** 2) / m)
            yi, vi = _smd((g["m1"] - g["m2"]) / pooled_sd, g["n1"], g["n2"])
        return Converted(
            measure,
            float(yi),
            float(vi),
            f"groups_{measure}",
            f"{g['m1']} (SD {g['sd1']}, n {g['n1']}) vs {g['m2']} (SD {g['sd2']}, n {g['n2']})",
            n or g["n1"] + g["n2"],
        )
    if "d" in effect:
        yi, vi = _smd(effect["d"], effect["n1"], effect["n2"])
        return Converted(
            "SMD",
            yi,
            vi,
            "d_n",
            f"d {effect['d']} (n {effect['n1']} + {effect['n2']})",
            n or effect["n1"] + effect["n2"],
        )
    raise ValueError("effect has no input form")  # validation prevents this


def moderators_cell(doc: dict, effect: dict) -> str:
    """The effect's moderators (its own over the study's) as a JSON object, "" when none."""
    found = {**(doc.get("moderators") or {}), **(effect.get("moderators") or {})}
    return json.dumps(found, sort_keys=True, separators=(",", ":")) if found else ""


def effect_rows(documents: list[tuple[Path, dict]]) -> list[dict]:
    """One row per coded effect, harmonised so that positive = more capital, better outcome."""
    rows = []
    for _, doc in documents:
        for effect in doc.get("effects") or []:
            c = convert(effect)
            sign = -1.0 if effect.get("reverse") else 1.0
            yi = sign * c.yi
            se = math.sqrt(c.vi)
            computed = effect.get("computed") or {}
            rows.append(
                {
                    "study": doc["study"],
                    "effect_id": effect["id"],
                    "sample": effect.get("sample", ""),
                    "theme": effect["theme"],
                    "outcome": effect["outcome"],
                    "outcome_label": effect.get("outcome_label", ""),
                    "exposure": effect.get("exposure", ""),
                    "construct": effect.get("construct", ""),
                    "role": effect.get("role", "primary"),
                    "measure": c.measure,
                    "input_form": c.form,
                    "formula": FORMULAS[c.form],
                    "printed": c.printed,
                    "reverse": bool(effect.get("reverse", False)),
                    "yi_printed": c.yi,
                    "yi": yi,
                    "vi": c.vi,
                    "se": se,
                    "ci_low": yi - Z_975 * se,
                    "ci_high": yi + Z_975 * se,
                    "n": c.n,
                    "design": doc["design"],
                    "country": ";".join(doc["country"]),
                    "kind": doc.get("kind", "study"),
                    "locator": effect.get("locator", ""),
                    "quote": " ".join(str(effect.get("quote", "")).split()),
                    "computed_by": computed.get("by", ""),
                    "moderators": moderators_cell(doc, effect),
                }
            )
    rows.sort(key=lambda r: (r["study"], r["effect_id"]))
    return rows


STUDY_COLUMNS = [
    "study",
    "kind",
    "design",
    "country",
    "status",
    "themes",
    "outcomes",
    "n_effects",
    "findings",
    "not_poolable",
    "file",
]


def study_rows(documents: list[tuple[Path, dict]]) -> list[dict]:
    """One row per extraction file: what the brief's table of studies shows."""
    rows = []
    for path, doc in documents:
        effects = doc.get("effects") or []
        rows.append(
            {
                "study": doc["study"],
                "kind": doc.get("kind", "study"),
                "design": doc["design"],
                "country": ";".join(doc["country"]),
                "status": doc["status"],
                "themes": ";".join(sorted({e["theme"] for e in effects} | set(doc.get("themes", [])))),
                "outcomes": ";".join(sorted({e["outcome"] for e in effects} | set(doc.get("outcomes", [])))),
                "n_effects": len(effects),
                "findings": " ".join(str(doc.get("findings", "")).split()),
                "not_poolable": " ".join(str(doc.get("not_poolable", "")).split()),
                "file": path.name,
            }
        )
    rows.sort(key=lambda r: r["study"])
    return rows


def csv_body(rows: list[dict], columns: list[str]) -> str:
    """``rows`` as :func:`analysis.io.csv_text` writes them, without the header line: a
    table's rows are the concatenation of the bodies of its parts, in order."""
    from analysis.io import csv_text

    text = csv_text(rows, columns)
    header = ",".join(columns) + "\n"
    if not text.startswith(header):  # column names are plain words: never quoted
        raise ValueError(f"unexpected CSV header {text.splitlines()[0]!r}")
    return text[len(header) :]


def write_effects(
    extracted_dir: str | Path,
    references_csv: str | Path,
    effects_csv: str | Path,
    studies_csv: str | Path,
    cache: str | Path | None = None,
) -> tuple[int, int]:
    """Rule convert_effects: the tables from each file's entry in the per-file cache ``cache``
    (the pack check_inputs wrote; a file changed since is read and checked again here), in
    study order, so that the bytes are those of a cold build.

    Each entry holds its rows as CSV text (its effects sorted by effect id); study keys are
    unique (a second file for a study is a problem), so the entries' texts in study order
    are the rows sorted by (study, effect_id). One entry is in memory at a time."""
    import csv

    from analysis.inputs.studycache import StudyCache, valid_studies
    from analysis.io import atomic_output, unneutralise

    with open(references_csv, encoding="utf-8") as handle:
        keys = {unneutralise(row["key"]) for row in csv.DictReader(handle)}
    n_studies = n_effects = 0
    with StudyCache(cache) as entries:
        studies = sorted(valid_studies(extracted_dir, entries, keys))
        with atomic_output(effects_csv) as rows, atomic_output(studies_csv) as table:
            rows.write((",".join(COLUMNS) + "\n").encode())
            table.write((",".join(STUDY_COLUMNS) + "\n").encode())
            for _, name in studies:
                value = entries.value(name)
                rows.write(value["effects"].encode())
                table.write(value["study_row"].encode())
                n_studies += 1
                n_effects += _rows(value["effects"])
    return n_studies, n_effects


def _rows(text: str) -> int:
    """The number of CSV records in ``text`` (a quoted cell may hold a line break)."""
    import csv
    import io

    return sum(1 for _ in csv.reader(io.StringIO(text)))
