"""Time the statistics engine and print a markdown table.

Cases: one REML + Knapp-Hartung fit (``meta.fit``: estimate, CI, PI, Q-profile
CI of tau², I², H², Q) for k = 100 to 100,000 simulated studies, and the whole
``pooling.pool_effects`` (aggregation, fit, Egger, trim-and-fill) for 10,000
studies in one analysis and for 200 analyses of 50 studies.

Run: ``.venv/bin/python benchmarks/engine.py`` (from the repository root).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.pooling import analyses as pooling
from analysis.pooling import meta  # noqa: E402 (after the path set-up)

# Fixed seed: the same simulated data every run.
SEED = 20240601
# Best of this many runs: the minimum is the least disturbed by other load.
REPEATS = 5
# Study sizes of the single-fit cases (the issue asks for these four).
FIT_SIZES = (100, 1_000, 10_000, 100_000)
# True between-study variance of the simulated effects (moderate heterogeneity).
TAU2 = 0.05


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
    print("| case | studies | seconds |\n|---|---:|---:|")
    for case, k, seconds in rows:
        print(f"| {case} | {k} | {seconds:.4f} |")


if __name__ == "__main__":
    main()
