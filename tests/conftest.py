"""Shared test fixtures and paths."""

from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
# metafor's reference datasets, vendored (tests/data/reference/README.md gives their sources).
REFERENCE_DATA = ROOT / "tests" / "data" / "reference"

# Property tests are derandomised so that CI runs are repeatable.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=100)
settings.load_profile("ci")


@pytest.fixture
def reference_data() -> Path:
    if not REFERENCE_DATA.is_dir():
        pytest.skip(f"metafor reference datasets not found at {REFERENCE_DATA}")
    return REFERENCE_DATA
