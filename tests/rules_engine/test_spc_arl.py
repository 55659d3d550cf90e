"""Exact average run lengths against the published tables.

A table value printed to d decimals is met when ours is within half a unit of its last digit
plus 0.2 % (the Markov chains' discretisation and the tables' own): tight enough that the
neighbouring entry of any table column, or a chart one state coarser, fails.
"""

from __future__ import annotations

import pytest

from shocktwin.errors import RuleError
from shocktwin.rules_engine.arl import cusum_arl, ewma_arl, shewhart_arl

SHIFTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)

# Montgomery, Introduction to Statistical Quality Control, Table 9.3: ARL of the two-sided
# tabular CUSUM with k = 1/2, by shift in σ.
MONTGOMERY_CUSUM = {
    4.0: ("168", "74.2", "26.6", "13.3", "8.38", "4.75", "3.34", "2.62", "2.19", "1.71"),
    5.0: ("465", "139", "38.0", "17.0", "10.4", "5.75", "4.01", "3.11", "2.57", "2.01"),
}

# Lucas & Saccucci (1990), Technometrics 32(1), as reproduced in Montgomery, Introduction to
# SQC, Table 9.11: zero-state ARL of the EWMA with asymptotic limits, by shift in σ.
LUCAS_SACCUCCI_EWMA = {
    (0.40, 3.054): ("500", "224", "71.2", "28.4", "14.3", "5.9", "3.5", "2.5", "2.0", "1.4"),
    (0.25, 2.998): ("500", "170", "48.2", "20.1", "11.1", "5.5", "3.6", "2.7", "2.3", "1.7"),
    (0.20, 2.962): ("500", "150", "41.8", "18.2", "10.5", "5.5", "3.7", "2.9", "2.4", "1.9"),
    (0.10, 2.814): ("500", "106", "31.3", "15.9", "10.3", "6.1", "4.4", "3.4", "2.9", "2.2"),
    (0.05, 2.615): ("500", "84.1", "28.8", "16.4", "11.4", "7.1", "5.2", "4.2", "3.5", "2.7"),
}


def _tolerance(printed: str) -> float:
    decimals = len(printed.partition(".")[2])
    return 0.5 * 10.0**-decimals + 0.002 * float(printed)


def test_shewhart_xbar_in_control_arl_is_370() -> None:
    # Montgomery §6.2: 3σ limits, P(signal) = 0.0027, ARL₀ = 1/0.0027 = 370.4.
    assert shewhart_arl(0.0, subgroup_size=5) == pytest.approx(370.4, abs=0.05)


def test_shewhart_xbar_detects_a_one_sigma_shift_in_four_and_a_half_samples() -> None:
    # Montgomery §6.2: n = 5, 1σ shift, β = 0.7775, ARL₁ = 1/(1 − β) ≈ 4.5.
    arl = shewhart_arl(1.0, subgroup_size=5)
    assert arl == pytest.approx(1 / (1 - 0.7775), abs=0.01)
    assert arl == pytest.approx(4.5, abs=0.05)


@pytest.mark.parametrize("h", sorted(MONTGOMERY_CUSUM))
def test_cusum_arl_matches_montgomery_table(h: float) -> None:
    for shift, printed in zip(SHIFTS, MONTGOMERY_CUSUM[h], strict=True):
        ours = cusum_arl(shift, k=0.5, h=h)
        assert ours == pytest.approx(float(printed), abs=_tolerance(printed)), (shift, ours)


@pytest.mark.parametrize(("lam", "L"), sorted(LUCAS_SACCUCCI_EWMA))
def test_ewma_arl_matches_lucas_saccucci_table(lam: float, L: float) -> None:
    for shift, printed in zip(SHIFTS, LUCAS_SACCUCCI_EWMA[(lam, L)], strict=True):
        ours = ewma_arl(shift, lam=lam, L=L)
        assert ours == pytest.approx(float(printed), abs=_tolerance(printed)), (shift, ours)


def test_ewma_arl_matches_sas_crowder_value() -> None:
    # SAS/QC documentation, EWMAARL function (Crowder's integral-equation method):
    # EWMAARL(1.00, 0.25, 3.0) = 11.154267016.
    assert ewma_arl(1.0, lam=0.25, L=3.0) == pytest.approx(11.154267016, rel=1e-4)


def test_one_sided_cusum_is_twice_the_two_sided_in_control() -> None:
    # In control both sides are alike, so 1/ARL = 2/ARL⁺.
    one = cusum_arl(0.0, h=4.0, two_sided=False)
    assert cusum_arl(0.0, h=4.0) == pytest.approx(one / 2)


def test_markov_chains_have_converged_at_their_default_size() -> None:
    assert cusum_arl(0.0, h=5.0, states=100) == pytest.approx(cusum_arl(0.0, h=5.0), rel=1e-3)
    coarse = ewma_arl(0.0, lam=0.1, L=2.814, states=201)
    assert coarse == pytest.approx(ewma_arl(0.0, lam=0.1, L=2.814), rel=1e-3)


def test_ewma_with_lambda_one_is_a_shewhart_chart() -> None:
    assert ewma_arl(1.0, lam=1.0, L=3.0) == pytest.approx(shewhart_arl(1.0), rel=1e-3)


def test_bad_design_parameters_list_every_problem() -> None:
    with pytest.raises(RuleError) as caught:
        cusum_arl(float("nan"), k=-1.0, h=0.0, states=3)
    assert len(caught.value.problems) == 4
    with pytest.raises(RuleError) as caught:
        ewma_arl(0.0, lam=1.5, L=-1.0)
    assert len(caught.value.problems) == 2
    with pytest.raises(RuleError, match="subgroup_size"):
        shewhart_arl(0.0, subgroup_size=0)
