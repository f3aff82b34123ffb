"""The one tolerance helper of the reference tests: every comparison names its tolerance and why.

A reference value printed to d decimals stands for every number that rounds to
it, so the natural tolerance is half a unit in the d-th decimal (plus 1e-12 for
the binary representation of the printed value). Where a reference value
depends on where metafor's optimiser stopped, the tolerance adds that and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Slack for the printed decimal itself not being exact in binary floating point.
REPRESENTATION = 1e-12


@dataclass(frozen=True)
class Tolerance:
    """|actual - expected| <= absolute + relative * |expected|, for the stated reason."""

    absolute: float
    reason: str
    relative: float = 0.0

    def allows(self, actual: float, expected: float) -> bool:
        return abs(actual - expected) <= self.absolute + self.relative * abs(expected)

    def plus(self, absolute: float, reason: str) -> Tolerance:
        """This tolerance widened by ``absolute``, with the extra reason."""
        return Tolerance(self.absolute + absolute, f"{self.reason}; {reason}", self.relative)

    def plus_relative(self, rtol: float, reason: str) -> Tolerance:
        """This tolerance widened by ``rtol`` relative, with the extra reason."""
        return Tolerance(self.absolute, f"{self.reason}; {reason}", self.relative + rtol)


def printed(decimals: int) -> Tolerance:
    """Half a unit in the last printed decimal."""
    return Tolerance(0.5 * 10.0**-decimals + REPRESENTATION, f"printed to {decimals} decimals")


def as_printed(text: str) -> tuple[float, Tolerance]:
    """A reference value as printed ("0.218194", "4.89e-06") and half a unit in its last digit."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2]) - (int(exponent) if exponent else 0)
    return float(text), Tolerance(0.5 * 10.0**-decimals + REPRESENTATION, f"printed as {text}")


def relative(rtol: float, reason: str) -> Tolerance:
    return Tolerance(0.0, reason, rtol)


DEC2, DEC3, DEC4, DEC6 = printed(2), printed(3), printed(4), printed(6)
# The README's rule for iterated variance components: "ML/REML tau² to 1e-4 relative".
TAU2_REL = relative(1e-4, "ML/REML variance components: 1e-4 relative (reference README)")


def check(actual: float, expected: float, tol: Tolerance) -> None:
    """Assert that ``actual`` matches the reference ``expected`` within ``tol``."""
    assert not math.isnan(actual), f"got NaN where the reference has {expected}"
    assert tol.allows(actual, expected), (
        f"{actual!r} differs from the reference {expected!r} by {abs(actual - expected):.3g} "
        f"(allowed: {tol.absolute:.3g} + {tol.relative:.3g} relative; {tol.reason})"
    )
