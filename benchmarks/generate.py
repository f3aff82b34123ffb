"""Synthetic but valid corpora for the benchmarks (``benchmarks/run.py``).

THE DATA WRITTEN HERE ARE SYNTHETIC. Every study is invented: keys are
``syn00001``, ``syn00002``, ...; every file says ``notes: synthetic benchmark
data``; every BibTeX entry has ``note = {synthetic benchmark data}``. Never
point ``out_dir`` at the repository's ``extracted/`` (refused below).

A corpus has what a real living review has, at any size: 1-5 effects per
study across the five themes and seven outcomes, every input form of the
contract (yi/vi, yi/se, OR or RR with a CI, 2x2 counts for OR/RR/RD, r, a
regression t, two groups' means for SMD/MD, Cohen's d), reversed effects,
sensitivity-only effects, constructs, narrative and context records, and
studies with several independent samples. Study ``i`` depends only on
``(seed, i)``, so the 1,000-study corpus is the first 1,000 studies of the
10,000-study one, and "add one study" writes exactly a study that a larger
corpus holds.

The number of analyses (theme x outcome x measure x construct) grows with N
and levels off near 220, the size of a large real review; each outcome has a
few typical metrics, as in practice (odds ratios for health, correlations for
mobility, ...).

The ``single`` shape is the corpus of issue 14's outside run: every study is
coded and reports one correlation (r with n) of bridging capital and upward
mobility, so the corpus is one analysis holding every study; "add one study"
changes that analysis.

Usage::

    python benchmarks/generate.py N OUT_DIR [--seed S] [--shape mixed|single]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import re
from pathlib import Path

import yaml

try:  # libyaml's emitter: 5x faster for the 10,000-study corpus
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper

ROOT = Path(__file__).resolve().parent.parent
MARK = "synthetic benchmark data"
# z(0.975), as analysis/inputs/effects.py: CIs are estimate +- 1.96 SE.
Z_975 = 1.959963984540054

THEMES = {"bonding": 0.30, "bridging": 0.25, "linking": 0.15, "education": 0.18, "workplace": 0.12}
OUTCOMES = {
    "health": 0.25,
    "education": 0.20,
    "income": 0.15,
    "mobility": 0.15,
    "employment": 0.12,
    "crime": 0.06,
    "other": 0.07,
}
# The metrics studies of each outcome report, and how often.
OUTCOME_MEASURES = {
    "health": {"OR": 0.50, "RR": 0.15, "RD": 0.05, "ZCOR": 0.15, "SMD": 0.15},
    "education": {"SMD": 0.40, "ZCOR": 0.20, "ZPCOR": 0.20, "OR": 0.20},
    "income": {"ZCOR": 0.30, "ZPCOR": 0.30, "MD": 0.20, "GEN": 0.20},
    "mobility": {"ZCOR": 0.50, "ZPCOR": 0.30, "GEN": 0.20},
    "employment": {"OR": 0.50, "RR": 0.30, "RD": 0.20},
    "crime": {"RR": 0.40, "OR": 0.30, "ZCOR": 0.30},
    "other": {"GEN": 0.30, "SMD": 0.30, "ZCOR": 0.40},
}
# The input forms that give each metric, and how often.
MEASURE_FORMS = {
    "OR": {"or_ci": 0.6, "counts": 0.2, "yi_vi": 0.1, "yi_se": 0.1},
    "RR": {"rr_ci": 0.6, "counts": 0.3, "yi_se": 0.1},
    "RD": {"counts": 0.8, "yi_vi": 0.2},
    "ZCOR": {"r_n": 0.85, "yi_se": 0.15},
    "ZPCOR": {"t_n": 0.9, "yi_vi": 0.1},
    "SMD": {"groups": 0.4, "d_n": 0.45, "yi_se": 0.15},
    "MD": {"groups": 0.85, "yi_vi": 0.15},
    "GEN": {"yi_vi": 0.5, "yi_se": 0.5},
}
# Every (form, measure) pair of the contract; study i < len(ALL_FORMS) codes
# its first effect in form i, so that even a 30-study corpus has each form.
ALL_FORMS = [
    ("yi_vi", "GEN"),
    ("yi_se", "SMD"),
    ("or_ci", "OR"),
    ("rr_ci", "RR"),
    ("counts", "OR"),
    ("counts", "RR"),
    ("counts", "RD"),
    ("r_n", "ZCOR"),
    ("t_n", "ZPCOR"),
    ("groups", "SMD"),
    ("groups", "MD"),
    ("d_n", "SMD"),
]
# Constructs split an analysis; only the network themes use them.
CONSTRUCTS = {"": 0.85, "trust": 0.10, "network-size": 0.05}
CONSTRUCT_THEMES = ("bonding", "bridging")
DESIGNS = {
    "cohort": 0.35,
    "cross-sectional": 0.35,
    "rct": 0.08,
    "quasi-experimental": 0.10,
    "ecological": 0.12,
}
NARRATIVE_DESIGNS = ("qualitative", "review", "theory", "other")
COUNTRIES = ["GB", "US", "DE", "NL", "SE", "NO", "FR", "CA", "AU", "DK", "FI", "XX"]
N_EFFECTS = {1: 0.35, 2: 0.25, 3: 0.20, 4: 0.12, 5: 0.08}
P_NARRATIVE = 0.08  # share of records without a poolable effect
P_CONTEXT = 0.02  # reports and policy documents (kind: context)
# How each synthetic work was found (the codebook's identified_by), by index: no random draw,
# so the rest of the corpus is the same as before the field existed.
IDENTIFIED_BY = ("report-references", "report-text", "packet-more", "packet-2")
P_MULTI_SAMPLE = 0.10  # studies with two independent samples (e.g. boys and girls)
P_SAME_CELL = 0.5  # a further effect stays in the study's first cell (aggregated by rho)
P_REVERSE = 0.10
P_SENSITIVITY = 0.05
# The analysis-scale spread of true effects between studies of one cell (tau),
# and the typical size of effects, per metric (RD and MD have their own units).
SCALE = {"RD": 0.15, "MD": 3.0}

# Studies whose index forces a feature, so that every corpus of >= 30 studies has it.
FORCED_NARRATIVE = {12, 25}
FORCED_CONTEXT = {13}
FORCED_MULTI_SAMPLE = {14, 27}


def _pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _cell_mean(theme: str, outcome: str, measure: str, construct: str) -> float:
    """The true mean effect of a cell, fixed by its name (the same for every seed)."""
    digest = hashlib.sha256(f"{theme}-{outcome}-{measure}-{construct}".encode()).digest()
    unit = int.from_bytes(digest[:4], "big") / 2**32
    return (-0.1 + 0.5 * unit) * SCALE.get(measure, 1.0)


def study_key(index: int) -> str:
    return f"syn{index:05d}"


def _round_ratio(estimate: float, low: float, high: float) -> tuple[float, list[float]]:
    """A ratio and its CI as a paper prints them (3 decimals), still ordered and > 0."""
    est = max(round(estimate, 3), 0.002)
    lo = min(max(round(low, 3), 0.001), est - 0.001)
    hi = max(round(high, 3), est + 0.001)
    return est, [round(lo, 3), round(hi, 3)]


def _input_form(rng: random.Random, form: str, measure: str, yi: float, n: int) -> tuple[dict, str]:
    """The effect's numbers in one input form, and the sentence that prints them."""
    se = math.sqrt(4.0 / n) * SCALE.get(measure, 1.0)
    if form in ("yi_vi", "yi_se"):
        y = round(yi, 4)
        if form == "yi_vi":
            vi = round(max(se * se, 1e-6), 6)
            return {"yi": y, "vi": vi, "measure": measure}, f"estimate {y} (variance {vi})"
        s = round(max(se, 1e-3), 4)
        return {"yi": y, "se": s, "measure": measure}, f"estimate {y} (SE {s})"
    if form in ("or_ci", "rr_ci"):
        key = form[:2]
        est, ci = _round_ratio(math.exp(yi), math.exp(yi - Z_975 * se), math.exp(yi + Z_975 * se))
        label = key.upper()
        return {key: est, "ci": ci, "n": n}, f"{label} = {est} (95% CI {ci[0]}-{ci[1]}), n = {n}"
    if form == "counts":
        n1 = max(n // 2, 10)
        n2 = max(n - n1, 10)
        p2 = rng.uniform(0.1, 0.5)
        if measure == "OR":
            odds = p2 / (1 - p2) * math.exp(yi)
            p1 = odds / (1 + odds)
        elif measure == "RR":
            p1 = min(0.95, p2 * math.exp(yi))
        else:
            p1 = min(0.95, max(0.0, p2 + yi))
        ai = int(round(p1 * n1))
        ci = int(round(p2 * n2))
        if rng.random() < 0.03:
            ai = 0  # a zero cell: escalc adds 1/2 to every cell
        counts = {"ai": ai, "bi": n1 - ai, "ci": ci, "di": n2 - ci}
        text = f"{ai} of {n1} with more social capital versus {ci} of {n2} without"
        return {"counts": counts, "measure": measure}, text
    if form == "r_n":
        r = round(max(min(math.tanh(yi), 0.95), -0.95), 3)
        return {"r": r, "n": n}, f"r = {r} (n = {n})"
    if form == "t_n":
        p = rng.randint(2, 8)
        n = max(n, p + 20)
        r = max(min(math.tanh(yi), 0.95), -0.95)
        t = round(r * math.sqrt((n - p - 1) / (1 - r * r)), 2)
        return {"t": t, "n": n, "predictors": p}, f"t = {t} (n = {n}, {p} predictors)"
    if form == "groups":
        n1, n2 = max(n // 2, 5), max(n - n // 2, 5)
        if measure == "MD":
            sd1, sd2 = round(rng.uniform(5, 15), 2), round(rng.uniform(5, 15), 2)
            m2 = round(rng.uniform(20, 60), 2)
            m1 = round(m2 + yi, 2)
        else:
            sd1, sd2 = round(rng.uniform(0.8, 1.2), 3), round(rng.uniform(0.8, 1.2), 3)
            m2 = round(rng.uniform(2, 5), 3)
            m1 = round(m2 + yi * (sd1 + sd2) / 2, 3)
        groups = {"m1": m1, "sd1": sd1, "n1": n1, "m2": m2, "sd2": sd2, "n2": n2}
        text = f"M = {m1} (SD {sd1}, n = {n1}) versus M = {m2} (SD {sd2}, n = {n2})"
        return {"groups": groups, "measure": measure}, text
    if form == "d_n":
        n1, n2 = max(n // 2, 5), max(n - n // 2, 5)
        d = round(yi, 3)
        return {"d": d, "n1": n1, "n2": n2}, f"d = {d} (n = {n1} and {n2})"
    raise ValueError(f"unknown form {form}")


SHAPES = ("mixed", "single")


def make_study(index: int, seed: int, shape: str = "mixed") -> tuple[dict, str]:
    """Study ``index`` of the corpus of ``seed`` and ``shape``: its extraction document and BibTeX entry."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; use one of {', '.join(SHAPES)}")
    rng = random.Random(f"{seed}:{index}" if shape == "mixed" else f"{shape}:{seed}:{index}")
    key = study_key(index)
    year = 1990 + rng.randrange(36)
    authors = " and ".join(
        f"Author{rng.randrange(1, 500)}, {chr(65 + rng.randrange(26))}." for _ in range(rng.randint(1, 4))
    )
    bib = (
        f"@article{{{key},\n  author = {{{authors}}},\n"
        f"  title = {{Synthetic benchmark study {index}}},\n"
        f"  journal = {{Synthetic Journal of Benchmarks}}, year = {{{year}}},\n"
        f"  note = {{{MARK}}}\n}}\n"
    )
    countries = sorted(set(rng.choices(COUNTRIES, k=rng.randint(1, 2))))
    notes = f"{MARK} (benchmarks/generate.py, seed {seed}); not a real study"
    if shape == "single":
        return _single_correlation(rng, key, index, countries, notes), bib
    narrative = index in FORCED_NARRATIVE or (index >= 30 and rng.random() < P_NARRATIVE)
    context = index in FORCED_CONTEXT or (index >= 30 and rng.random() < P_CONTEXT)
    if narrative or context:
        doc = {
            "study": key,
            "design": "review" if context else rng.choice(NARRATIVE_DESIGNS),
            "country": countries,
            "status": "narrative",
            "identified_by": IDENTIFIED_BY[index % len(IDENTIFIED_BY)],
            "kind": "context" if context else "study",
            "findings": f"Synthetic finding {index}: more social capital went with better outcomes "
            "in interviews; no poolable number is reported.",
            "not_poolable": "synthetic narrative record (no effect size reported)",
            "themes": sorted(set(rng.choices(list(THEMES), k=2))),
            "outcomes": sorted(set(rng.choices(list(OUTCOMES), k=2))),
            "notes": notes,
            "coder": "benchmarks/generate.py",
        }
        return doc, bib
    n_effects = _pick(rng, N_EFFECTS)
    multi = index in FORCED_MULTI_SAMPLE or (index >= 30 and rng.random() < P_MULTI_SAMPLE)
    if multi:
        n_effects = max(n_effects, 2)
    n_study = int(math.exp(rng.uniform(math.log(40), math.log(5000))))
    first_cell = None
    effects = []
    for j in range(n_effects):
        if index < len(ALL_FORMS) and j == 0:
            form, measure = ALL_FORMS[index]
            theme, outcome = _pick(rng, THEMES), _pick(rng, OUTCOMES)
            construct = ""
        elif first_cell and rng.random() < P_SAME_CELL:
            theme, outcome, measure, construct = first_cell
            form = _pick(rng, MEASURE_FORMS[measure])
        else:
            theme, outcome = _pick(rng, THEMES), _pick(rng, OUTCOMES)
            measure = _pick(rng, OUTCOME_MEASURES[outcome])
            construct = _pick(rng, CONSTRUCTS) if theme in CONSTRUCT_THEMES else ""
            form = _pick(rng, MEASURE_FORMS[measure])
        if first_cell is None:
            first_cell = (theme, outcome, measure, construct)
        scale = SCALE.get(measure, 1.0)
        yi = _cell_mean(theme, outcome, measure, construct) + rng.gauss(0, 0.15 * scale)
        yi += rng.gauss(0, math.sqrt(4.0 / n_study) * scale)  # sampling error
        reverse = rng.random() < P_REVERSE
        numbers, text = _input_form(rng, form, measure, -yi if reverse else yi, n_study)
        effect = {"id": f"effect-{j + 1}"}
        if multi:
            effect["sample"] = f"sample-{j % 2 + 1}"
        effect.update(
            theme=theme,
            outcome=outcome,
            outcome_label=f"Synthetic {outcome} outcome {j + 1}",
            exposure=f"Synthetic {theme} social capital measure",
        )
        if construct:
            effect["construct"] = construct
        if reverse:
            effect["reverse"] = True
            effect["reverse_reason"] = "synthetic: the source compares low with high social capital"
        if rng.random() < P_SENSITIVITY and j > 0:
            effect["role"] = "sensitivity"
        effect.update(numbers)
        effect["locator"] = f"Synthetic table {j + 1}"
        effect["quote"] = f"Synthetic benchmark data: {text}."
        effects.append(effect)
    return _coded(rng, key, index, countries, notes, effects), bib


def _coded(rng: random.Random, key: str, index: int, countries: list, notes: str, effects: list) -> dict:
    """The extraction document of a coded study (its design drawn from ``rng`` here)."""
    return {
        "study": key,
        "design": _pick(rng, DESIGNS),
        "country": countries,
        "status": "coded",
        "identified_by": IDENTIFIED_BY[index % len(IDENTIFIED_BY)],
        "notes": notes,
        "coder": "benchmarks/generate.py",
        "effects": effects,
    }


def _single_correlation(rng: random.Random, key: str, index: int, countries: list, notes: str) -> dict:
    """A coded study with one correlation of bridging capital and upward mobility."""
    n_study = int(math.exp(rng.uniform(math.log(40), math.log(5000))))
    yi = _cell_mean("bridging", "mobility", "ZCOR", "") + rng.gauss(0, 0.15)
    yi += rng.gauss(0, math.sqrt(1.0 / n_study))  # sampling error of Fisher's z
    numbers, text = _input_form(rng, "r_n", "ZCOR", yi, n_study)
    effect = {
        "id": "effect-1",
        "theme": "bridging",
        "outcome": "mobility",
        "outcome_label": f"Synthetic mobility outcome of study {index}",
        "exposure": "Synthetic bridging social capital measure",
        **numbers,
        "locator": "Synthetic table 1",
        "quote": f"Synthetic benchmark data: {text}.",
    }
    return _coded(rng, key, index, countries, notes, [effect])


def _dump(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _refuse_repository(out_dir: Path) -> None:
    out = out_dir.resolve()
    for protected in (ROOT / "extracted", ROOT / "references"):
        if out == protected or protected in out.parents or out in protected.parents:
            raise ValueError(
                f"{out_dir} would put synthetic data in {protected}; "
                "write the corpus elsewhere (e.g. under /tmp)"
            )


def write_study(index: int, seed: int, extracted_dir: Path, bib_path: Path, shape: str = "mixed") -> Path:
    """Write study ``index`` into an existing corpus: its file, and its entry appended to the .bib."""
    doc, bib = make_study(index, seed, shape)
    path = Path(extracted_dir) / f"{doc['study']}.yaml"
    path.write_text(_dump(doc), encoding="utf-8")
    with open(bib_path, "a", encoding="utf-8") as handle:
        handle.write(bib)
    return path


def generate(n_studies: int, seed: int, out_dir: str | Path, shape: str = "mixed") -> tuple[Path, Path]:
    """Write a synthetic corpus of ``n_studies`` studies; return (extracted_dir, bib_path).

    ``out_dir/extracted/syn00001.yaml ...`` and ``out_dir/references.bib``. An
    existing ``out_dir/extracted`` is emptied first. The bytes depend only on
    ``(n_studies, seed, shape)``.
    """
    out_dir = Path(out_dir)
    _refuse_repository(out_dir)
    extracted = out_dir / "extracted"
    extracted.mkdir(parents=True, exist_ok=True)
    for old in extracted.glob("*.yaml"):
        old.unlink()
    entries = [
        f"% {MARK.capitalize()}: {n_studies} invented studies "
        f"(benchmarks/generate.py, seed {seed}{'' if shape == 'mixed' else ', shape ' + shape}). "
        "Not real references.\n"
    ]
    for index in range(1, n_studies + 1):
        doc, bib = make_study(index, seed, shape)
        (extracted / f"{doc['study']}.yaml").write_text(_dump(doc), encoding="utf-8")
        entries.append(bib)
    bib_path = out_dir / "references.bib"
    bib_path.write_text("".join(entries), encoding="utf-8")
    return extracted, bib_path


def add_study(extracted_dir: str | Path, bib_path: str | Path, seed: int, shape: str = "mixed") -> Path:
    """Add the next coded study (one that larger corpora of this seed hold) to a corpus.

    Narrative records are passed over, so that the new study always brings
    effects: the benchmark's "add one study" then re-runs the pooling.
    """
    extracted_dir = Path(extracted_dir)
    _refuse_repository(extracted_dir.parent)
    indices = [
        int(m.group(1)) for p in extracted_dir.glob("syn*.yaml") if (m := re.fullmatch(r"syn(\d+)", p.stem))
    ]
    index = max(indices, default=0) + 1
    while make_study(index, seed, shape)[0]["status"] != "coded":
        index += 1
    return write_study(index, seed, extracted_dir, Path(bib_path), shape)


def _nudge(effect: dict) -> None:
    """Change one number of an effect, keeping it valid (as a reviewer's correction would)."""
    if "yi" in effect:
        effect["yi"] = round(effect["yi"] + 0.05, 4)
    elif "or" in effect or "rr" in effect:
        key = "or" if "or" in effect else "rr"
        low, high = effect["ci"]
        effect[key], effect["ci"] = _round_ratio(effect[key] * 1.1, low * 1.1, high * 1.1)
    elif "counts" in effect:
        effect["counts"]["ai"] += 1
    elif "r" in effect:
        effect["r"] = round(max(min(effect["r"] + 0.05, 0.95), -0.95), 3)
    elif "t" in effect:
        effect["t"] = round(effect["t"] + 0.5, 2)
    elif "groups" in effect:
        effect["groups"]["m1"] = round(effect["groups"]["m1"] + 0.1, 3)
    elif "d" in effect:
        effect["d"] = round(effect["d"] + 0.05, 3)
    effect["quote"] = f"{effect['quote']} (corrected)"


def edit_effect(extracted_dir: str | Path, index: int = 1) -> Path:
    """Edit the first effect of the first coded study from ``index`` on; return its file."""
    extracted_dir = Path(extracted_dir)
    _refuse_repository(extracted_dir.parent)
    for path in sorted(extracted_dir.glob("syn*.yaml"))[index - 1 :]:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if doc.get("effects"):
            _nudge(doc["effects"][0])
            path.write_text(_dump(doc), encoding="utf-8")
            return path
    raise ValueError(f"no coded study in {extracted_dir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n_studies", type=int)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shape", choices=SHAPES, default="mixed")
    args = parser.parse_args()
    extracted, bib = generate(args.n_studies, args.seed, args.out_dir, args.shape)
    print(f"{args.n_studies} synthetic studies in {extracted}, bibliography {bib}")


if __name__ == "__main__":
    main()
