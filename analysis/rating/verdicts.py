"""The reading and the verdict of one analysis: what its numbers say in words, and how far
they bear out the seed report's claim for its theme.

The claims and the directions they expect are protocol content, read from
``report/themes.yaml`` (:func:`load_claims`), not written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from analysis.codebook.formats import fmt_i2, is_number
from analysis.codebook.vocabulary import CONSTRUCT_EXPOSURE, OUTCOME_DIRECTION, THEME_EXPOSURE
from analysis.rating import certainty as grade

CLAIMS_FILE = Path(__file__).resolve().parents[2] / "report" / "themes.yaml"


@dataclass(frozen=True)
class ThemeClaim:
    claim: str
    where: str
    expected: Mapping[str, int]
    default: int = 1


@dataclass(frozen=True)
class Claims:
    """Every theme's claim, and the construct words that reverse the expected direction."""

    themes: Mapping[str, ThemeClaim]
    opposite_constructs: tuple[str, ...]


def load_claims(path: str | Path = CLAIMS_FILE) -> Claims:
    """The protocol's theme claims (report/themes.yaml)."""
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    themes = {
        str(name): ThemeClaim(
            claim=" ".join(str(c["claim"]).split()),
            where=str(c["where"]),
            expected={str(k): int(v) for k, v in (c.get("expected") or {}).items()},
            default=int(c.get("default", 1)),
        )
        for name, c in (data.get("themes") or {}).items()
    }
    return Claims(themes, tuple(str(w) for w in data.get("opposite_constructs") or ()))


_DEFAULT: Claims | None = None


def default_claims() -> Claims:
    global _DEFAULT  # noqa: PLW0603 - read once per process, the file is protocol
    if _DEFAULT is None:
        _DEFAULT = load_claims()
    return _DEFAULT


def crosses(low: float, high: float) -> bool:
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
    if crosses(*ci):
        direction = "No clear association (the CI includes no effect)"
    else:
        towards = better if float(estimate) > 0 else worse
        direction = f"{exposure.capitalize()} went with {towards} (the CI excludes no effect)"
    share = f" (I² {fmt_i2(i2)})" if is_number(i2) else ""
    if k < 2:
        consistency = "one study, so consistency is unknown"
    elif is_number(pi[0]) and crosses(*pi):
        consistency = (
            "results varied so much between samples that in a new setting the "
            f"association could be absent or reversed{share}"
        )
    elif is_number(i2) and float(i2) > grade.I2_SERIOUS:
        consistency = f"results varied in size between samples{share}, though not in direction"
    else:
        consistency = "results were consistent across samples"
    return f"{direction}; {consistency}."


def expected_direction(theme: str, outcome: str, construct: str, claims: Claims | None = None) -> int:
    """The direction the seed report expects: +1, -1, or 0 (either way)."""
    claims = claims or default_claims()
    claim = claims.themes.get(theme)
    direction = claim.expected.get(outcome, claim.default) if claim else 1
    if any(word in str(construct or "") for word in claims.opposite_constructs):
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
    if crosses(*ci):
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
    if certainty in ("high", "moderate") and (k < 2 or not crosses(*pi)):
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
