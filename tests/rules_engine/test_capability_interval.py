"""Capability intervals: Montgomery's worked examples and coverage on simulated normal data.

Coverage is counted over N simulated samples (fixed seed) and must lie within 4 binomial
standard errors, 4·√(0.95·0.05/N), of the nominal 95 %.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from shocktwin.errors import RuleError
from shocktwin.rules_engine.capability import cp
from shocktwin.rules_engine.capability_interval import (
    capability_intervals,
    cp_interval,
    cpk_interval,
)


def test_cp_interval_reproduces_montgomery_worked_example() -> None:
    # Montgomery, Introduction to SQC, §8.3.5, worked example: USL 62, LSL 38, n = 20,
    # s = 1.75; Ĉp = 2.29 and the 95 % interval 1.57 ≤ Cp ≤ 3.01 (χ²₀.₀₂₅,₁₉ = 8.91,
    # χ²₀.₉₇₅,₁₉ = 32.85).
    cp_hat = cp(1.75, lsl=38.0, usl=62.0)
    assert cp_hat == pytest.approx(2.29, abs=5e-3)
    interval = cp_interval(2.29, 20)
    assert interval.lower == pytest.approx(1.57, abs=5e-3)
    assert interval.upper == pytest.approx(3.01, abs=5e-3)


def test_cpk_interval_reproduces_montgomery_worked_example() -> None:
    # Montgomery, §8.3.5, worked example: n = 20, Ĉpk = 1.33; Bissell's (1990, Applied
    # Statistics 39(3)) 95 % interval 1.33 ∓ 1.96·√(1/(9·20) + 1.33²/(2·19)) = 0.88, 1.78.
    interval = cpk_interval(1.33, 20)
    assert interval.lower == pytest.approx(0.88, abs=5e-3)
    assert interval.upper == pytest.approx(1.78, abs=5e-3)
    assert interval.confidence == 0.95


def test_intervals_narrow_as_the_sample_grows() -> None:
    small, large = cpk_interval(1.33, 20), cpk_interval(1.33, 200)
    assert large.upper - large.lower < small.upper - small.lower
    assert cp_interval(1.33, 200).lower > cp_interval(1.33, 20).lower


def _coverage_band(runs: int) -> float:
    return 4.0 * math.sqrt(0.95 * 0.05 / runs)


def test_cp_interval_covers_at_its_nominal_rate() -> None:
    # Spec ±4σ around the mean: Cp = 8/6. The chi-square interval is exact.
    runs, n = 4000, 25
    rng = np.random.default_rng(31)
    s = rng.standard_normal((runs, n)).std(axis=1, ddof=1)
    true_cp = 8.0 / 6.0
    covered = 0
    for cp_hat in true_cp / s:
        interval = cp_interval(float(cp_hat), n)
        covered += interval.lower <= true_cp <= interval.upper
    assert abs(covered / runs - 0.95) < _coverage_band(runs)


def test_ppk_interval_covers_at_its_nominal_rate_on_normal_data() -> None:
    # μ = 0, σ = 1, LSL −4, USL 3: Ppk = 1.0, Pp = 7/6; n = 50 values per sample.
    runs, n = 3000, 50
    rng = np.random.default_rng(32)
    covered_ppk = covered_pp = 0
    for sample in rng.standard_normal((runs, n)):
        result = capability_intervals(sample, lsl=-4.0, usl=3.0)
        assert result.pp is not None
        covered_ppk += result.ppk.lower <= 1.0 <= result.ppk.upper
        covered_pp += result.pp.lower <= 7.0 / 6.0 <= result.pp.upper
    assert abs(covered_ppk / runs - 0.95) < _coverage_band(runs)
    assert abs(covered_pp / runs - 0.95) < _coverage_band(runs)


def test_bissell_cpk_interval_covers_at_its_nominal_rate_when_both_limits_bind() -> None:
    # A centred process, LSL −2, USL 2: Cpk = 2/3 and Ĉpk = min(2 − x̄, x̄ + 2)/(3s) switches
    # sides from sample to sample, the case Bissell's delta-method variance approximates.
    runs, n, true_cpk = 3000, 30, 2.0 / 3.0
    rng = np.random.default_rng(33)
    x = rng.standard_normal((runs, n))
    mean, s = x.mean(axis=1), x.std(axis=1, ddof=1)
    cpk_hats = np.minimum(2.0 - mean, mean + 2.0) / (3.0 * s)
    covered = 0
    for cpk_hat in cpk_hats:
        interval = cpk_interval(float(cpk_hat), n)
        covered += interval.lower <= true_cpk <= interval.upper
    assert abs(covered / runs - 0.95) < _coverage_band(runs)


def test_one_sided_specification_has_no_pp() -> None:
    result = capability_intervals([9.0, 10.0, 11.0, 10.0], usl=14.0)
    assert result.pp is None
    # mean 10, s = √(2/3): Ppk = 4 / (3s).
    assert result.ppk.estimate == pytest.approx(4.0 / (3.0 * math.sqrt(2.0 / 3.0)))


def test_bad_input_lists_every_problem() -> None:
    with pytest.raises(RuleError) as caught:
        cp_interval(-1.0, 1, confidence=1.5)
    assert len(caught.value.problems) == 3
    with pytest.raises(RuleError, match="no spread"):
        capability_intervals([5.0, 5.0], lsl=1.0, usl=9.0)
    with pytest.raises(RuleError, match="LSL"):
        capability_intervals([4.0, 5.0], lsl=9.0, usl=1.0)
