"""The one Student-t interval, checked against a published result."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shocktwin.interval import t_band, t_interval

# Student's sleep data (Cushny & Peebles 1905), the paired differences group 1 - group 2 of R's
# `sleep` data set; R's documented `t.test(extra ~ group, data = sleep, paired = TRUE)` gives
# mean -1.58 and the 95 % interval [-2.4598858, -0.7001142] (t = -4.0621, df = 9).
SLEEP_DIFF = [-1.2, -2.4, -1.3, -1.3, 0.0, -1.0, -1.8, -0.8, -4.6, -1.4]


def test_the_interval_of_students_sleep_data() -> None:
    i = t_interval(SLEEP_DIFF)
    assert i.n == 10
    assert i.mean == pytest.approx(-1.58)
    assert i.low == pytest.approx(-2.4598858, abs=1e-7)
    assert i.high == pytest.approx(-0.7001142, abs=1e-7)
    assert i.mean / (i.sd / math.sqrt(i.n)) == pytest.approx(-4.0621, abs=1e-4)


def test_missing_values_are_left_out_and_one_value_is_no_interval() -> None:
    assert t_interval([*SLEEP_DIFF, math.nan]).low == pytest.approx(-2.4598858, abs=1e-7)
    one = t_interval([3.0, math.nan])
    assert (one.mean, one.n) == (3.0, 1) and math.isnan(one.low) and math.isnan(one.high)
    none = t_interval([])
    assert none.n == 0 and math.isnan(none.mean)


def test_the_band_is_the_interval_of_each_column() -> None:
    matrix = np.column_stack([SLEEP_DIFF, [*SLEEP_DIFF[:9], math.nan], [1.0] + [math.nan] * 9])
    mean, low, high = t_band(matrix)
    for col in range(2):
        i = t_interval(matrix[:, col])
        assert (mean[col], low[col], high[col]) == pytest.approx((i.mean, i.low, i.high))
    assert mean[2] == 1.0 and math.isnan(low[2]) and math.isnan(high[2])
