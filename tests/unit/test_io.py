"""Deterministic CSV cells: fixed float format, empty for missing, R-readable infinities."""

import math

import numpy as np

from analysis.io import csv_text, format_value


def test_cells():
    assert format_value(math.nan) == ""
    assert format_value(None) == ""
    assert format_value(math.inf) == "Inf" and format_value(-math.inf) == "-Inf"
    assert format_value(np.float64(1 / 3)) == "0.333333333333333"
    assert format_value(-0.0) == "0"
    assert format_value(True) == "true" and format_value(np.int64(3)) == "3"


def test_csv_text_fixed_columns_and_line_ends():
    text = csv_text([{"a": 1.5, "b": "x,y"}], ["a", "b"])
    assert text == 'a,b\n1.5,"x,y"\n'
