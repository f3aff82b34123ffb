"""analysis.io.format_value's early answers for text and whole numbers (issue 14) are what
its general branches give: the cells of every table stay the same bytes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import io


def general(value: object) -> str:
    """format_value without the early answers (its branches as before issue 14)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "Inf" if value > 0 else "-Inf"
        if value == 0:
            return "0"
        return io.FLOAT_FORMAT % value
    if isinstance(value, np.bool_):
        return "true" if bool(value) else "false"
    if isinstance(value, np.floating):
        return general(float(value))
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return io.neutralise(str(value))


VALUES = [
    "", "text", "=1+1", "+x", "-3", "@a", "\tx", "\rx", "'=x", "é", 0, 1, -7, 10**30, True, False, None, 0.0,
    -0.0, 1.5, math.nan, math.inf, -math.inf, np.int64(3), np.float64(2.5), np.bool_(True), np.str_("=np"),
]  # fmt: skip


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_every_kind_of_cell_is_written_as_before(value):
    assert io.format_value(value) == general(value)
