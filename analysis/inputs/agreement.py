"""Double coding (PRISMA 2020 item 9): compare a second coder's files with the first's.

The second coder's files live in ``extracted/second-coder/`` and have exactly
the format of ``extracted/`` (the workflow reads only the top level of
``extracted/``, so they never enter the analysis). Studies are matched by key
and effects by ``id`` within a study, so both coders use the same effect ids.

Three comparisons:

- categorical fields, with percent agreement and Cohen's kappa: ``design`` and
  ``status`` over the studies both coded; ``theme``, ``outcome`` and
  ``reverse`` over the effects both coded;
- each effect's value on the analysis scale (``yi`` and ``vi`` after
  conversion by :func:`analysis.inputs.effects.convert` and after ``reverse``);
- a list of every disagreement to resolve, including studies and effects that
  only one coder coded.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.inputs.effects import convert
from analysis.inputs.extraction import Problem, load_corpus

SECOND_CODER_FOLDER = "second-coder"
STUDY_FIELDS = ("design", "status")
EFFECT_FIELDS = ("theme", "outcome", "reverse")
# Two coders who type the same numbers get bit-identical values; anything
# above floating-point noise is a real difference in what was coded.
VALUE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class FieldAgreement:
    """Agreement of the two coders on one categorical field."""

    field: str
    unit: str  # "study" or "effect": what was rated
    items: int
    agreed: int
    kappa: float | None  # None when undefined (no items, or every rating in one category)

    @property
    def percent(self) -> float | None:
        return 100.0 * self.agreed / self.items if self.items else None


@dataclass(frozen=True)
class Disagreement:
    """One thing the coders must resolve."""

    study: str
    effect_id: str
    field: str
    first: str
    second: str

    def __str__(self) -> str:
        where = self.study + (f", effect {self.effect_id}" if self.effect_id else "")
        if self.field == "coded by":
            return f"{where}: coded by the {self.first} coder only"
        return f"{where}, {self.field}: first coder {self.first}, second coder {self.second}"


@dataclass(frozen=True)
class EffectComparison:
    """One effect coded by both coders, on the analysis scale."""

    study: str
    effect_id: str
    measure_first: str
    measure_second: str
    yi_first: float
    yi_second: float
    vi_first: float
    vi_second: float
    printed_first: str
    printed_second: str

    @property
    def same_metric(self) -> bool:
        return self.measure_first == self.measure_second

    @property
    def yi_difference(self) -> float | None:
        return self.yi_second - self.yi_first if self.same_metric else None

    @property
    def agrees(self) -> bool:
        return (
            self.same_metric
            and abs(self.yi_second - self.yi_first) <= VALUE_TOLERANCE
            and abs(self.vi_second - self.vi_first) <= VALUE_TOLERANCE
        )


@dataclass(frozen=True)
class Agreement:
    """Everything ``review agreement`` shows."""

    studies_both: tuple[str, ...]
    first_only: tuple[str, ...]
    second_only: tuple[str, ...]
    fields: tuple[FieldAgreement, ...]
    effects: tuple[EffectComparison, ...]
    effects_unmatched: int
    disagreements: tuple[Disagreement, ...]
    problems: tuple[Problem, ...]  # files left out because they do not pass validation
    second_coder: bool  # False when there is no second coder's folder or file


def cohen_kappa(first: Sequence[Any], second: Sequence[Any]) -> float | None:
    """Cohen's (1960) kappa of two raters over the same items.

    kappa = (p_o - p_e) / (1 - p_e), with p_o the observed agreement and p_e
    the agreement expected by chance from each rater's category frequencies.
    Undefined (None) with no items, or when p_e = 1 (both raters put every
    item in one and the same category).
    """
    if len(first) != len(second):
        raise ValueError("both raters must rate the same items")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    count_a, count_b = Counter(first), Counter(second)
    expected = sum(count_a[c] * count_b[c] for c in count_a) / (n * n)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1 - expected)


def kappa_words(kappa: float | None) -> str:
    """Landis & Koch's (1977) labels, the ones reviews usually quote."""
    if kappa is None:
        return "not defined"
    if kappa < 0:
        return "poor"
    for bound, label in ((0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if kappa <= bound:
            return label
    return "almost perfect"


def _show(value: Any) -> str:
    if value is None:
        return "(not coded)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _analysis_scale(effect: dict) -> tuple[str, float, float, str]:
    converted = convert(effect)
    sign = -1.0 if effect.get("reverse") else 1.0
    return converted.measure, sign * converted.yi, converted.vi, converted.printed


def compare_coders(
    first: dict[str, dict],
    second: dict[str, dict],
    problems: Sequence[Problem] = (),
    second_coder: bool = True,
) -> Agreement:
    """Compare two coders' valid documents, each a mapping study key -> parsed file."""
    both = tuple(sorted(set(first) & set(second)))
    disagreements: list[Disagreement] = []
    ratings: dict[str, tuple[list, list]] = {f: ([], []) for f in STUDY_FIELDS + EFFECT_FIELDS}
    comparisons: list[EffectComparison] = []
    unmatched = 0
    for study in both:
        a, b = first[study], second[study]
        for name in STUDY_FIELDS:
            ratings[name][0].append(a.get(name))
            ratings[name][1].append(b.get(name))
            if a.get(name) != b.get(name):
                disagreements.append(Disagreement(study, "", name, _show(a.get(name)), _show(b.get(name))))
        effects_a = {e["id"]: e for e in a.get("effects") or []}
        effects_b = {e["id"]: e for e in b.get("effects") or []}
        for effect_id in sorted(set(effects_a) | set(effects_b)):
            if effect_id not in effects_b or effect_id not in effects_a:
                unmatched += 1
                who = "first" if effect_id in effects_a else "second"
                disagreements.append(Disagreement(study, effect_id, "coded by", who, ""))
                continue
            ea, eb = effects_a[effect_id], effects_b[effect_id]
            for name in EFFECT_FIELDS:
                va = bool(ea.get(name, False)) if name == "reverse" else ea.get(name)
                vb = bool(eb.get(name, False)) if name == "reverse" else eb.get(name)
                ratings[name][0].append(va)
                ratings[name][1].append(vb)
                if va != vb:
                    disagreements.append(Disagreement(study, effect_id, name, _show(va), _show(vb)))
            ma, ya, va_, pa = _analysis_scale(ea)
            mb, yb, vb_, pb = _analysis_scale(eb)
            comparison = EffectComparison(study, effect_id, ma, mb, ya, yb, va_, vb_, pa, pb)
            comparisons.append(comparison)
            if not comparison.same_metric:
                disagreements.append(Disagreement(study, effect_id, "metric", ma, mb))
            elif not comparison.agrees:
                disagreements.append(
                    Disagreement(
                        study,
                        effect_id,
                        "value",
                        f"{pa} (yi {ya:.4g}, vi {va_:.4g})",
                        f"{pb} (yi {yb:.4g}, vi {vb_:.4g})",
                    )
                )
    fields = tuple(
        FieldAgreement(
            name,
            "study" if name in STUDY_FIELDS else "effect",
            len(ratings[name][0]),
            sum(x == y for x, y in zip(*ratings[name], strict=True)),
            cohen_kappa(*ratings[name]),
        )
        for name in STUDY_FIELDS + EFFECT_FIELDS
    )
    for study in sorted(set(second) - set(first)):
        # The first coder codes every study, the second a sample: only the
        # second coder's extra studies need resolving.
        disagreements.append(Disagreement(study, "", "coded by", "second", ""))
    return Agreement(
        studies_both=both,
        first_only=tuple(sorted(set(first) - set(second))),
        second_only=tuple(sorted(set(second) - set(first))),
        fields=fields,
        effects=tuple(comparisons),
        effects_unmatched=unmatched,
        disagreements=tuple(disagreements),
        problems=tuple(problems),
        second_coder=second_coder,
    )


def _documents(folder: Path) -> tuple[dict[str, dict], list[Problem]]:
    documents, problems = load_corpus(folder, None)
    return {doc["study"]: doc for _, doc in documents}, problems


def compare_folders(
    extracted_dir: str | Path = "extracted", second_dir: str | Path | None = None
) -> Agreement:
    """Compare ``extracted_dir`` (first coder) with ``second_dir`` (default: its second-coder/)."""
    extracted_dir = Path(extracted_dir)
    second_dir = Path(second_dir) if second_dir is not None else extracted_dir / SECOND_CODER_FOLDER
    has_second = second_dir.is_dir() and any(
        p.is_file() and p.suffix in (".yaml", ".yml") for p in second_dir.iterdir()
    )
    if not has_second:
        return compare_coders({}, {}, (), second_coder=False)
    first, first_problems = _documents(extracted_dir)
    second, second_problems = _documents(second_dir)
    # The first coder's files with problems are `review check`'s business; here
    # only those the comparison leaves out matter.
    relevant = [p for p in first_problems if Path(p.file).stem in second] + second_problems
    return compare_coders(first, second, relevant)


def agreement_summary(extracted_dir: str | Path = "extracted", second_dir: str | Path | None = None) -> dict:
    """A small summary of double coding, for the brief's methods section.

    Returns
    -------
    dict
        ``second_coder`` is False when ``extracted/second-coder/`` holds no
        file (then every count is 0 and there is nothing to report).
        ``studies_double_coded`` counts the studies both coders coded (the
        share of the review that was double coded is this over the number of
        studies); ``studies_first_only`` and ``studies_second_only`` the
        others. ``effects_compared`` counts effects coded by both (matched by
        id), ``effects_unmatched`` those coded by one coder only within a
        double-coded study, ``effects_differing`` those whose metric, yi or vi
        differ, and ``max_abs_yi_difference`` the largest absolute yi
        difference on the analysis scale among effects of the same metric
        (None if none). ``fields`` maps each categorical field (design,
        status: rated per study; theme, outcome, reverse: rated per effect)
        to ``{"unit", "items", "percent_agreement", "kappa"}``, with Cohen's
        kappa None when undefined (no items, or every rating in one
        category). ``disagreements`` is the number of items to resolve, and
        ``files_left_out`` the second coder's files (or their first-coder
        counterparts) not compared because they do not pass validation.
    """
    result = compare_folders(extracted_dir, second_dir)
    differences = [abs(c.yi_difference) for c in result.effects if c.yi_difference is not None]
    return {
        "second_coder": result.second_coder,
        "studies_double_coded": len(result.studies_both),
        "studies_first_only": len(result.first_only) if result.second_coder else 0,
        "studies_second_only": len(result.second_only),
        "effects_compared": len(result.effects),
        "effects_unmatched": result.effects_unmatched,
        "effects_differing": sum(not c.agrees for c in result.effects),
        "max_abs_yi_difference": max(differences) if differences else None,
        "fields": {
            f.field: {
                "unit": f.unit,
                "items": f.items,
                "percent_agreement": f.percent,
                "kappa": f.kappa,
            }
            for f in result.fields
        },
        "disagreements": len(result.disagreements),
        "disagreements_answered": sum(_answered(Path(extracted_dir), d.study) for d in result.disagreements),
        "files_left_out": len({p.file for p in result.problems}),
    }


# A first coder's file answers the second coder when its study notes carry a paragraph
# starting with this (README: "Double coding"): the value kept, and why.
ANSWER_MARK = "Double coding"


def _answered(extracted_dir: Path, study: str) -> bool:
    """Whether the first coder's notes of ``study`` answer the double coding."""
    from analysis.inputs.extraction import read_extraction

    path = extracted_dir / f"{study}.yaml"
    if not path.is_file():
        return False
    data, _ = read_extraction(path)
    return isinstance(data, dict) and ANSWER_MARK in str(data.get("notes") or "")
