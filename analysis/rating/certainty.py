"""A GRADE-like certainty rating for each analysis, with every reason shown.

GRADE (Guyatt et al. 2008; the GRADE handbook) rates the certainty of a body
of evidence: it starts from the study design and goes down one level for
each serious concern. This module writes its rules down as small pure
functions, so that the brief can print the rules and every rating can be
traced to them. The rules are deliberately mechanical: they never rate up
(large effects, dose-response), and each domain costs at most one level.

All effects are on the analysis scale, where "no effect" is 0 (log OR, log
RR, Fisher z, g, mean or risk difference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Levels, highest first; the index is the number of levels lost from "high".
LEVELS: tuple[str, ...] = ("high", "moderate", "low", "very low")

# Designs where GRADE starts at "high". Everything else (quasi-experimental,
# cohort, cross-sectional, ecological, ...) is observational and starts "low".
RANDOMISED = frozenset({"rct"})

# Inconsistency: I² above this (percent) is "substantial" heterogeneity in the
# Cochrane Handbook's rough guide (50-90%: may represent substantial).
I2_SERIOUS = 50.0

# Imprecision: GRADE's optimal information size for a continuous outcome is
# about 400 participants (Guyatt et al. 2011, GRADE guidelines 6). Imprecision is judged on
# the CI and this size, never on the number of studies: one large study with a narrow CI
# is precise (GRADE handbook 5.2.6).
MIN_PARTICIPANTS = 400

# Imprecision: a 95% CI this wide (on the scale a reader sees) spans effects
# from trivial to large, whatever its centre. Ratios: upper/lower >= 4 (e.g.
# 0.7 to 2.8); correlations: 0.4 (a "small" r of 0.1 to a "large" 0.5);
# standardised mean differences: 0.8 (Cohen's "large" d). Mean differences,
# risk differences and generic effects have no scale-free benchmark.
WIDE_LOG_RATIO = math.log(4.0)
WIDE_R = 0.4
WIDE_SMD = 0.8

# Small-study effects: Egger's test has little power below 10 studies
# (Cochrane Handbook 13.3.5.4); p < 0.10 is its usual threshold. It counts studies, not
# samples: publication bias acts on studies, not on the states of one dataset.
EGGER_MIN_K = 10
EGGER_P = 0.10

# Indirectness: the question is about the UK. An analysis is rated down when more than this
# share of its samples, or of its weight, comes from outside the UK (most of the evidence
# answers the question for another country); below it, a mix of UK and other samples is
# said, not rated down (GRADE handbook 5.2.5: judge how much of the evidence is indirect).
NON_UK_SERIOUS = 0.5

# The UK's ISO 3166-1 code (the codebook codes England, Scotland, ... as GB).
UK = "GB"


@dataclass(frozen=True)
class Evidence:
    """What the rating needs to know about one analysis.

    ``ci``/``pi`` are (low, high) on the analysis scale; ``pi`` and
    ``egger_p`` may be NaN (one study, or not computed). ``participants`` is
    None when some sample's size is unknown.
    """

    measure: str
    k: int
    designs: tuple[str, ...]
    countries: tuple[str, ...]
    ci: tuple[float, float]
    pi: tuple[float, float] = (math.nan, math.nan)
    i2: float = math.nan
    participants: int | None = None
    egger_p: float = math.nan
    # Studies behind the samples (0: as many as k) and the share (0-1) of the model's
    # weight that comes from samples outside the UK (NaN: judge on ``countries``).
    n_studies: int = 0
    non_uk_share: float = math.nan
    non_uk_samples: int = -1  # samples with no UK country (-1: unknown)

    @property
    def studies(self) -> int:
        return self.n_studies or self.k


@dataclass(frozen=True)
class Rating:
    """A certainty level and the reasons behind it (one per downgrade)."""

    start: str
    level: str
    downgrades: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def reasons(self) -> str:
        """The downgrades as one phrase ('' when none)."""
        return "; ".join(self.downgrades)


def _finite(*values: float) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def crosses_null(low: float, high: float) -> bool:
    """True when the interval [low, high] includes no effect (0 on the analysis scale)."""
    return _finite(low, high) and low <= 0.0 <= high


def is_very_wide(measure: str, low: float, high: float) -> bool:
    """True when a 95% CI is too wide to tell a trivial effect from a large one."""
    if not _finite(low, high):
        return False
    measure = measure.upper()
    if measure in ("OR", "RR"):
        return high - low >= WIDE_LOG_RATIO
    if measure in ("ZCOR", "ZPCOR"):
        return math.tanh(high) - math.tanh(low) >= WIDE_R
    if measure == "SMD":
        return high - low >= WIDE_SMD
    return False


def starting_level(designs: tuple[str, ...] | list[str]) -> str:
    """'high' when every study is randomised, else 'low' (observational evidence)."""
    if designs and all(d in RANDOMISED for d in designs):
        return "high"
    return "low"


def inconsistency(ev: Evidence) -> str | None:
    """The reason to rate down for inconsistency, or None."""
    if ev.k < 2:
        return None  # GRADE does not judge consistency of a single study (see imprecision)
    reasons = []
    if _finite(ev.i2) and ev.i2 > I2_SERIOUS:
        reasons.append(f"I² above {I2_SERIOUS:.0f}%")
    if crosses_null(*ev.pi):
        reasons.append("the prediction interval includes no effect")
    return "inconsistency: " + " and ".join(reasons) if reasons else None


def imprecision(ev: Evidence) -> str | None:
    """The reason to rate down for imprecision, or None."""
    reasons = []
    if crosses_null(*ev.ci):
        reasons.append("the CI includes no effect")
    if is_very_wide(ev.measure, *ev.ci):
        reasons.append("the CI is very wide")
    if ev.participants is not None and ev.participants < MIN_PARTICIPANTS:
        reasons.append(f"fewer than {MIN_PARTICIPANTS} participants")
    return "imprecision: " + " and ".join(reasons) if reasons else None


def _share(value: float) -> str:
    return f"{100 * value:.0f}%"


def indirectness(ev: Evidence) -> str | None:
    """The reason to rate down for indirectness (most of the weight from outside the UK), or None."""
    share = ev.non_uk_share
    if not _finite(share):
        share = 0.0 if any(UK in c.split(";") for c in ev.countries) else 1.0
    samples = ev.non_uk_samples / ev.k if ev.non_uk_samples >= 0 and ev.k else share
    if share >= 1.0 and samples >= 1.0:
        return "indirectness: no UK sample"
    if max(share, samples) > NON_UK_SERIOUS:
        return f"indirectness: {_outside(ev, share)}"
    return None


def _outside(ev: Evidence, share: float) -> str:
    if ev.non_uk_samples >= 0:
        return f"{ev.non_uk_samples} of {ev.k} samples ({_share(share)} of the weight) from outside the UK"
    return f"{_share(share)} of the weight from samples outside the UK"


def indirectness_note(ev: Evidence) -> str | None:
    """Words for a mix of UK and other samples that is not rated down."""
    share = ev.non_uk_share
    if not _finite(share) or indirectness(ev) or share <= 0.0:
        return None
    return f"mixed evidence: {_outside(ev, share)}"


def small_study_effects(ev: Evidence) -> str | None:
    """The reason to rate down for small-study effects, or None."""
    if ev.studies >= EGGER_MIN_K and _finite(ev.egger_p) and ev.egger_p < EGGER_P:
        return f"small-study effects: Egger's test p < {EGGER_P:.2f}"
    return None


def rate(ev: Evidence) -> Rating:
    """Apply every rule; each domain rated down costs one level, never below 'very low'."""
    start = starting_level(ev.designs)
    downgrades = tuple(
        reason
        for reason in (inconsistency(ev), imprecision(ev), indirectness(ev), small_study_effects(ev))
        if reason
    )
    notes = []
    if ev.k < 2:
        notes.append("inconsistency not judged (one sample)")
    mixed = indirectness_note(ev)
    if mixed:
        notes.append(mixed)
    if ev.studies < EGGER_MIN_K:
        notes.append(f"small-study effects not assessed (fewer than {EGGER_MIN_K} studies)")
    index = min(LEVELS.index(start) + len(downgrades), len(LEVELS) - 1)
    return Rating(start=start, level=LEVELS[index], downgrades=downgrades, notes=tuple(notes))


def small_study_assessed(ev: Evidence) -> bool:
    """Whether small-study effects were judged (Egger's test is shown only then)."""
    return ev.studies >= EGGER_MIN_K and _finite(ev.egger_p)


# The rules as the brief prints them: one line per rule, in the order applied.
RULES: tuple[str, ...] = (
    "Start: high if every study in the analysis is randomised; otherwise (cohort, "
    "cross-sectional, quasi-experimental, ecological) low. We never rate up.",
    f"Inconsistency (down one level): I² above {I2_SERIOUS:.0f}%, or the prediction "
    "interval includes no effect (not judged for a single sample).",
    "Imprecision (down one level): the confidence interval includes no effect, or it is "
    "very wide (odds or risk ratio: upper limit at least 4 times the lower; correlation: "
    f"wider than {WIDE_R}; Hedges' g: wider than {WIDE_SMD}), or fewer than "
    f"{MIN_PARTICIPANTS} participants (GRADE's optimal information size) where sample sizes "
    "are known. A single study is not imprecise for being single: a large study with a "
    "narrow CI is precise.",
    f"Indirectness (down one level): more than {100 * NON_UK_SERIOUS:.0f}% of the analysis' "
    "samples, or of its weight, come from outside the UK; a smaller share is said (mixed "
    "evidence), not rated down.",
    f"Small-study effects (down one level): Egger's test p < {EGGER_P:.2f}, judged only with "
    f"{EGGER_MIN_K} or more independent studies (not samples of one study); below that it "
    "is not assessed and Egger's test is left out.",
    "Each domain costs at most one level; the floor is very low.",
)
