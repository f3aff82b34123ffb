"""A units table as the figures read it (analysis/pooling units.csv columns), for the figure tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def units_frame(yi, vi, tau2: float, *, study: list[str], sample: list[str], n_effects: list[int], n: int):
    """Units with Wald 95% CIs and random-effects weights (percent) at ``tau2``."""
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    w = 1 / (vi + tau2)
    return pd.DataFrame(
        {
            "study": study,
            "sample": sample,
            "n_effects": n_effects,
            "yi": yi,
            "vi": vi,
            "se": np.sqrt(vi),
            "ci_low": yi - 1.96 * np.sqrt(vi),
            "ci_high": yi + 1.96 * np.sqrt(vi),
            "weight": 100 * w / w.sum(),
            "n": [n] * len(yi),
        }
    )
