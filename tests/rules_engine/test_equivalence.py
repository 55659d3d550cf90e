"""TOST equivalence: hand-derived statistics, size at the margin and power against the exact
formula, by simulation with fixed seeds.

Simulated rates must lie within 4 binomial standard errors of their target.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import nct
from scipy.stats import t as student

from shocktwin.errors import RuleError
from shocktwin.rules_engine.equivalence import EquivalenceDesign, tost, tost_power


def test_pooled_tost_by_hand() -> None:
    # x̄ − ȳ = 2 − 1 = 1; s_p² = 1; SE = √(2/3); df = 4. Margin ±2:
    # t₁ = 3/SE, t₂ = −1/SE; p = max(P(T > t₁), P(T < t₂)); 90 % CI 1 ± t_{0.95,4}·SE.
    result = tost([1, 2, 3], [0, 1, 2], margin=2.0, design=EquivalenceDesign.POOLED)
    se = math.sqrt(2 / 3)
    assert result.difference == pytest.approx(1.0)
    assert result.standard_error == pytest.approx(se)
    assert result.df == 4
    assert result.p_lower == pytest.approx(student.sf(3 / se, 4))
    assert result.p_upper == pytest.approx(student.cdf(-1 / se, 4))
    assert result.p_value == result.p_upper
    q = student.ppf(0.95, 4)
    assert (result.ci_lower, result.ci_upper) == pytest.approx((1 - q * se, 1 + q * se))
    assert result.ci_upper > 2.0 and not result.equivalent


def test_welch_df_by_hand() -> None:
    # sx² = 1 (n 3), sy² = 4 (n 5): w = 1/3, 4/5; df = (w₁ + w₂)² / (w₁²/2 + w₂²/4).
    y = [0.0, 0.0, 2.0, 4.0, 4.0]  # mean 2, s² = (4 + 4 + 0 + 4 + 4) / 4 = 4
    assert np.var(y, ddof=1) == pytest.approx(4.0)
    result = tost([1, 2, 3], y, margin=(-3.0, 3.0))
    w1, w2 = 1 / 3, 4 / 5
    assert result.df == pytest.approx((w1 + w2) ** 2 / (w1**2 / 2 + w2**2 / 4))
    assert result.standard_error == pytest.approx(math.sqrt(w1 + w2))


def test_paired_tost_is_a_one_sample_test_of_the_differences() -> None:
    x = [10.1, 9.8, 10.4, 10.0, 9.9]
    y = [10.0, 9.9, 10.2, 10.1, 9.7]
    d = np.subtract(x, y)
    result = tost(x, y, margin=0.3, design=EquivalenceDesign.PAIRED)
    assert result.df == 4
    assert result.standard_error == pytest.approx(d.std(ddof=1) / math.sqrt(5))
    assert result.equivalent


def test_equivalence_is_the_interval_inside_the_margins() -> None:
    rng = np.random.default_rng(40)
    for _ in range(200):
        result = tost(rng.normal(0, 1, 12), rng.normal(0.2, 1, 15), margin=0.8)
        inside = result.lower_margin < result.ci_lower and result.ci_upper < result.upper_margin
        assert result.equivalent == inside


def _band(rate: float, runs: int) -> float:
    return 4.0 * math.sqrt(rate * (1 - rate) / runs)


@pytest.mark.parametrize(
    ("design", "n_x", "n_y", "sigma_y", "margin"),
    [
        (EquivalenceDesign.POOLED, 10, 10, 1.0, 1.5),
        (EquivalenceDesign.WELCH, 8, 20, 3.0, 2.5),
        (EquivalenceDesign.PAIRED, 12, 12, 1.0, 1.0),
    ],
)
def test_size_at_the_margin_is_at_most_alpha(
    design: EquivalenceDesign, n_x: int, n_y: int, sigma_y: float, margin: float
) -> None:
    # True difference exactly on the upper margin: equivalence must be found at most α of
    # the time. TOST is level α, and close to α when the SE is small against the margin
    # (here SE ≈ 0.3 of the margin), so the rate is also checked from below.
    runs, alpha = 4000, 0.05
    rng = np.random.default_rng(41)
    found = 0
    for _ in range(runs):
        y = rng.normal(0.0, sigma_y, n_y)
        x = (y if design is EquivalenceDesign.PAIRED else 0.0) + rng.normal(margin, 1.0, n_x)
        found += tost(x, y, margin=margin, alpha=alpha, design=design).equivalent
    assert found / runs <= alpha + _band(alpha, runs)
    # …and not far below it: a test that never concludes equivalence would pass the line above.
    assert found / runs >= alpha - _band(alpha, runs)


def test_exact_power_at_the_margin_is_at_most_alpha() -> None:
    assert tost_power(0.5, sigma=1.0, n_x=10, n_y=10, margin=0.5) <= 0.05
    assert tost_power(0.5, sigma=1.0, n_x=200, n_y=200, margin=0.5) == pytest.approx(0.05, abs=1e-3)


@pytest.mark.parametrize(("difference", "n"), [(0.0, 30), (0.2, 40), (0.0, 12)])
def test_simulated_power_matches_the_exact_formula(difference: float, n: int) -> None:
    runs, margin = 4000, 0.5
    expected = tost_power(difference, sigma=1.0, n_x=n, n_y=n, margin=margin)
    rng = np.random.default_rng(42)
    found = 0
    for _ in range(runs):
        result = tost(
            rng.normal(difference, 1.0, n),
            rng.normal(0.0, 1.0, n),
            margin=margin,
            design=EquivalenceDesign.POOLED,
        )
        found += result.equivalent
    assert abs(found / runs - expected) < _band(max(expected, 0.01), runs)


def test_exact_power_agrees_with_the_noncentral_t_form_when_power_is_high() -> None:
    # P(T₁ > t) + P(T₂ < −t) − 1 with T ~ noncentral t: a lower bound, tight when the two
    # one-sided tests cannot both fail.
    n, sigma, margin, delta = 60, 1.0, 0.6, 0.1
    se, df = sigma * math.sqrt(2 / n), 2 * n - 2
    t_crit = student.ppf(0.95, df)
    bound = (
        nct.sf(t_crit, df, (delta + margin) / se) + nct.cdf(-t_crit, df, (delta - margin) / se) - 1
    )
    exact = tost_power(delta, sigma=sigma, n_x=n, n_y=n, margin=margin)
    assert exact >= bound - 1e-6
    assert exact == pytest.approx(bound, abs=2e-3)
    assert 0.8 < exact < 0.99


def test_simulated_paired_power_matches_the_exact_formula() -> None:
    runs, n, margin, difference = 4000, 15, 0.6, 0.1
    expected = tost_power(difference, sigma=1.0, n_x=n, margin=margin)
    rng = np.random.default_rng(43)
    found = 0
    for _ in range(runs):
        y = rng.normal(5.0, 2.0, n)  # unit-to-unit spread cancels in the differences
        x = y + rng.normal(difference, 1.0, n)
        found += tost(x, y, margin=margin, design=EquivalenceDesign.PAIRED).equivalent
    assert abs(found / runs - expected) < _band(expected, runs)


def test_bad_input_lists_every_problem() -> None:
    with pytest.raises(RuleError) as caught:
        tost([1.0], [1.0, float("nan")], margin=(1.0, -1.0), alpha=0.7)
    assert len(caught.value.problems) == 4
    with pytest.raises(RuleError, match="differ in length"):
        tost([1, 2, 3], [1, 2], margin=1.0, design=EquivalenceDesign.PAIRED)
    with pytest.raises(RuleError, match="no spread"):
        tost([1, 1], [2, 2], margin=1.0)
