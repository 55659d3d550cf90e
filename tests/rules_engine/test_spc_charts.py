"""Control charts against textbook examples (Montgomery, Introduction to SQC) and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from shocktwin.errors import RuleError
from shocktwin.rules_engine.spc import (
    ChartKind,
    chart_constants,
    individuals_chart,
    p_chart,
    xbar_r_chart,
    xbar_r_limits,
)

# Montgomery, Example 6.5: viscosity of aircraft primer paint, 15 batches.
VISCOSITY = [
    33.75, 33.05, 34, 33.81, 33.46, 34.02, 33.68, 33.27,
    33.49, 33.20, 33.62, 33.00, 33.54, 33.12, 33.84,
]  # fmt: skip


def test_viscosity_individuals_chart_matches_montgomery() -> None:
    chart = individuals_chart(VISCOSITY)
    assert chart.individuals.kind is ChartKind.INDIVIDUALS
    assert chart.individuals.centre == pytest.approx(33.5233, abs=5e-5)
    assert chart.sigma_within == pytest.approx(0.42617, abs=5e-6)
    assert chart.individuals.lcl[0] == pytest.approx(32.2448, abs=5e-5)
    assert chart.individuals.ucl[0] == pytest.approx(34.8018, abs=5e-5)
    # Moving-range chart: MR̄ = 0.48, UCL = D4·MR̄ = 1.57, LCL = 0.
    assert chart.moving_range.centre == pytest.approx(0.48, abs=5e-3)
    assert chart.moving_range.ucl[0] == pytest.approx(1.57, abs=5e-3)
    assert chart.moving_range.lcl[0] == 0.0
    assert chart.individuals.out_of_limits() == ()
    assert chart.moving_range.points.size == len(VISCOSITY) - 1


def test_piston_ring_xbar_r_limits_match_montgomery() -> None:
    # Montgomery, Example 6.1 (piston-ring inside diameter): 25 subgroups of 5,
    # grand mean 74.001, R̄ = 0.023; published X̄ limits 73.988 / 74.014, R limits 0 / 0.049.
    (x_lcl, x_ucl), (r_lcl, r_ucl) = xbar_r_limits(74.001, 0.023, 5)
    assert x_lcl == pytest.approx(73.988, abs=5e-4)
    assert x_ucl == pytest.approx(74.014, abs=5e-4)
    assert r_lcl == 0.0
    assert r_ucl == pytest.approx(0.049, abs=5e-4)


def test_xbar_r_chart_from_raw_subgroups_by_hand() -> None:
    # Subgroups of 3: means 2, 3, 4 (centre 3); ranges 2, 2, 2 (R̄ 2);
    # A2 = 1.023 → 3 ± 2.046; D4 = 2.574 → R UCL 5.148; σ̂ = 2 / 1.693.
    chart = xbar_r_chart([[1, 2, 3], [2, 3, 4], [3, 4, 5]])
    assert chart.subgroup_size == 3
    np.testing.assert_allclose(chart.xbar.points, [2, 3, 4])
    assert chart.xbar.centre == pytest.approx(3.0)
    assert chart.xbar.lcl[0] == pytest.approx(0.954)
    assert chart.xbar.ucl[0] == pytest.approx(5.046)
    assert chart.xbar.sigma[0] == pytest.approx(2.046 / 3)
    assert chart.range.centre == pytest.approx(2.0)
    assert chart.range.ucl[0] == pytest.approx(5.148)
    assert chart.sigma_within == pytest.approx(2 / 1.693)


def test_range_chart_lower_limit_is_positive_from_seven_items() -> None:
    d3_six, d3_seven = chart_constants(6).D3, chart_constants(7).D3
    assert d3_six == 0.0
    assert d3_seven == pytest.approx(0.076)
    chart = xbar_r_chart([[0, 1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6, 7]])
    assert chart.range.lcl[0] == pytest.approx(0.076 * 6)


def test_constants_agree_with_their_definition() -> None:
    # A2 = 3 / (d2 √n) to the three decimals the table prints.
    for n in range(2, 11):
        c = chart_constants(n)
        a2 = c.A2
        assert a2 == pytest.approx(3 / (c.d2 * np.sqrt(n)), abs=1.5e-3), n


def test_p_chart_limits_match_montgomery_orange_juice_cans() -> None:
    # Montgomery, Example 7.1: 30 samples of n = 50 cans, p̄ = 0.2313;
    # published limits 0.0524 and 0.4102. Computed from the summary statistic.
    chart = p_chart([0] * 30, 50, p_standard=0.2313)
    assert chart.kind is ChartKind.P
    assert chart.centre == pytest.approx(0.2313)
    assert chart.lcl[0] == pytest.approx(0.0524, abs=5e-5)
    assert chart.ucl[0] == pytest.approx(0.4102, abs=5e-5)


def test_p_chart_limits_vary_with_the_sample_size() -> None:
    # p̄ = (10 + 20 + 30) / (100 + 400 + 100) = 0.1; σᵢ = √(0.09 / nᵢ) = 0.03, 0.015, 0.03.
    chart = p_chart([10, 20, 30], [100, 400, 100])
    assert chart.centre == pytest.approx(0.1)
    np.testing.assert_allclose(chart.points, [0.1, 0.05, 0.3])
    np.testing.assert_allclose(chart.sigma, [0.03, 0.015, 0.03])
    np.testing.assert_allclose(chart.lcl, [0.01, 0.055, 0.01])
    np.testing.assert_allclose(chart.ucl, [0.19, 0.145, 0.19])
    assert chart.out_of_limits() == (1, 2)


def test_p_chart_lower_limit_is_clipped_at_zero() -> None:
    chart = p_chart([1, 0, 2], 20)
    assert np.all(chart.lcl == 0.0)


def test_chart_arrays_are_read_only() -> None:
    chart = individuals_chart(VISCOSITY)
    with pytest.raises(ValueError):
        chart.individuals.points[0] = 0.0


def test_bad_p_chart_input_lists_every_problem() -> None:
    with pytest.raises(RuleError) as caught:
        p_chart([-1, 5, 2.5], [4, 4, 0], p_standard=1.5)
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 4
    assert any("whole numbers ≥ 0" in m and "[0, 2]" in m for m in messages)
    assert any("whole numbers ≥ 1" in m and "[2]" in m for m in messages)
    assert any("exceed their sample size" in m and "[1, 2]" in m for m in messages)
    assert any("p_standard" in m for m in messages)


@pytest.mark.parametrize(
    ("subgroups", "fragment"),
    [
        ([[1.0], [2.0]], "subgroup size must be 2..10"),
        ([[1, 2, 3], [1, 2]], "equal-sized subgroups"),
        ([1, 2, 3], "2-D array"),
        ([[1, 2], [np.nan, 2]], "non-finite"),
    ],
)
def test_bad_subgroups_are_refused(subgroups: object, fragment: str) -> None:
    with pytest.raises(RuleError, match=fragment):
        xbar_r_chart(subgroups)  # type: ignore[arg-type]


def test_individuals_chart_needs_two_finite_values() -> None:
    with pytest.raises(RuleError, match="at least 2"):
        individuals_chart([1.0])
    with pytest.raises(RuleError, match="not finite"):
        individuals_chart([1.0, float("inf"), 2.0])
