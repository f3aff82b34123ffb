"""Time the statistics engine and print a markdown table.

Cases: one REML + Knapp-Hartung fit (``meta.fit``: estimate, CI, PI, Q-profile
CI of tau², I², H², Q) for k = 100 to 100,000 simulated studies, and the whole
``pooling.pool_effects`` (aggregation, fit, Egger, trim-and-fill) for 10,000
studies in one analysis and for 200 analyses of 50 studies; and the dependent-effects
models (``multilevel.fit_multilevel`` REML, CHE with ``vcalc``'s V, then
``robust.cr2``) on 100,000 effects in units of 1-9 effects.

Run: ``.venv/bin/python benchmarks/engine.py`` (from the repository root).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.pooling import analyses as pooling  # noqa: E402 (after the path set-up)
from analysis.pooling import meta, multilevel, robust  # noqa: E402

# Fixed seed: the same simulated data every run.
SEED = 20240601
# Best of this many runs: the minimum is the least disturbed by other load.
REPEATS = 5
# Study sizes of the single-fit cases (the issue asks for these four).
FIT_SIZES = (100, 1_000, 10_000, 100_000)
# True between-study variance of the simulated effects (moderate heterogeneity).
TAU2 = 0.05
# Dependent effects: this many effects (the 100,000), units of 1 to 9 effects
# (the seed corpus has 1-13), true sigma² between units and between effects of one
# unit, and the sampling correlation of two effects of one unit (the default rho).
DEPENDENT_EFFECTS = 100_000
UNIT_SIZES = (1, 9)
SIGMA2 = (0.05, 0.03)
RHO = 0.6


def simulate(k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """k effects (shape (k,)) with variances 0.01-0.5 and true tau² = ``TAU2``."""
    v = rng.uniform(0.01, 0.5, k)
    return rng.normal(0.2, np.sqrt(v + TAU2)), v


def effects_table(cells: int, k: int, rng: np.random.Generator) -> pd.DataFrame:
    """An effects table of ``cells`` analyses with ``k`` single-effect studies each."""
    frames = []
    for cell in range(cells):
        y, v = simulate(k, rng)
        frames.append(
            pd.DataFrame(
                {
                    "study": [f"s{i:06d}" for i in range(k)],
                    "effect_id": "e1",
                    "sample": "",
                    "theme": "bonding",
                    "outcome": f"o{cell:03d}",
                    "measure": "SMD",
                    "construct": "",
                    "yi": y,
                    "vi": v,
                    "role": "primary",
                    "n": 100,
                    "design": "cohort",
                    "country": "GB",
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def simulate_dependent(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``DEPENDENT_EFFECTS`` effects from the CHE model: y, v, unit, each of shape (n,)."""
    sizes = rng.integers(UNIT_SIZES[0], UNIT_SIZES[1] + 1, size=DEPENDENT_EFFECTS)
    unit = np.repeat(np.arange(sizes.size), sizes)[:DEPENDENT_EFFECTS]
    k, n = unit[-1] + 1, unit.size
    v = rng.uniform(0.01, 0.5, n)
    shared, own = rng.normal(size=k)[unit], rng.normal(size=n)
    error = np.sqrt(v) * (np.sqrt(RHO) * shared + np.sqrt(1 - RHO) * own)  # vcalc's correlation
    y = 0.2 + rng.normal(0, np.sqrt(SIGMA2[0]), k)[unit] + rng.normal(0, np.sqrt(SIGMA2[1]), n) + error
    return y, v, unit


def che_rve(y: np.ndarray, v: np.ndarray, unit: np.ndarray) -> None:
    fit = multilevel.fit_multilevel(y, v, unit, rho=RHO)
    if not fit.converged:
        raise RuntimeError(fit.note)
    robust.cr2(fit)


def best_time(function) -> float:
    """Best wall time (seconds) of ``REPEATS`` calls."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    meta.fit(*simulate(10, rng), estimator="REML", ci_method="knha", alpha=0.05)
    first = time.perf_counter() - start  # includes the lazy PyMARE import
    rows = [("first fit in a fresh process (imports PyMARE)", "10", first)]
    for k in FIT_SIZES:
        y, v = simulate(k, rng)
        seconds = best_time(lambda y=y, v=v: meta.fit(y, v, estimator="REML", ci_method="knha", alpha=0.05))
        rows.append(("`meta.fit` REML + KH", f"{k:,}", seconds))
    for cells, k in ((1, 10_000), (200, 50)):
        table = effects_table(cells, k, rng)
        seconds = best_time(
            lambda table=table: pooling.pool_effects(
                table, estimator="REML", ci_method="knha", rho=0.6, alpha=0.05
            )
        )
        rows.append(
            (
                f"`pool_effects`, {cells} analys{'is' if cells == 1 else 'es'}",
                f"{cells} x {k:,}",
                seconds,
            )
        )
    y, v, unit = simulate_dependent(rng)
    size = f"{unit[-1] + 1:,} units, {unit.size:,} effects"
    seconds = best_time(lambda: multilevel.fit_multilevel(y, v, unit, rho=0.0))
    rows.append(("`fit_multilevel` three-level REML (z)", size, seconds))
    rows.append(
        ("CHE REML (`vcalc` V, rho 0.6) + CR2 (`robust.cr2`)", size, best_time(lambda: che_rve(y, v, unit)))
    )
    print("| case | studies | seconds |\n|---|---:|---:|")
    for case, k, seconds in rows:
        print(f"| {case} | {k} | {seconds:.4f} |")


if __name__ == "__main__":
    main()
