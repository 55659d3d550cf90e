"""Exact average run lengths against the published tables, and against independent
derivations written out here.

A table value printed to d decimals is met when ours is within half a unit of its last digit
plus 0.2 % (the Markov chains' discretisation and the tables' own): tight enough that the
neighbouring entry of any table column, or a chart one state coarser, fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from shocktwin.errors import RuleError
from shocktwin.rules_engine.arl import cusum_arl, ewma_arl, shewhart_arl

SHIFTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)

# Montgomery, Introduction to Statistical Quality Control (6th ed.), §9.1.3, Table 9.3: ARL of
# the two-sided tabular CUSUM with k = 1/2, by shift in σ. The in-control and 1σ entries
# (168 / 8.38 for h = 4, 465 / 10.4 for h = 5) are the ones the issue quotes; every entry is
# also rederived below by the integral equation, so a misremembered cell cannot hide.
MONTGOMERY_CUSUM = {
    4.0: ("168", "74.2", "26.6", "13.3", "8.38", "4.75", "3.34", "2.62", "2.19", "1.71"),
    5.0: ("465", "139", "38.0", "17.0", "10.4", "5.75", "4.01", "3.11", "2.57", "2.01"),
}

# Lucas & Saccucci (1990), Technometrics 32(1), as reproduced in Montgomery, Introduction to
# SQC (6th ed.), §9.2, Table 9.11: zero-state ARL of the EWMA with asymptotic limits, by
# shift in σ. Each design has ARL₀ ≈ 500.
LUCAS_SACCUCCI_EWMA = {
    (0.40, 3.054): ("500", "224", "71.2", "28.4", "14.3", "5.9", "3.5", "2.5", "2.0", "1.4"),
    (0.25, 2.998): ("500", "170", "48.2", "20.1", "11.1", "5.5", "3.6", "2.7", "2.3", "1.7"),
    (0.20, 2.962): ("500", "150", "41.8", "18.2", "10.5", "5.5", "3.7", "2.9", "2.4", "1.9"),
    (0.10, 2.814): ("500", "106", "31.3", "15.9", "10.3", "6.1", "4.4", "3.4", "2.9", "2.2"),
    (0.05, 2.615): ("500", "84.1", "28.8", "16.4", "11.4", "7.1", "5.2", "4.2", "3.5", "2.7"),
}

# SAS/QC User's Guide, MACONTROL procedure, Example "Computing Average Run Lengths"
# (Output 9.5.1; sample program MACEW6): EWMAARL(shift, weight, 3.0), Crowder's (1987)
# integral-equation method, 3σ asymptotic limits. Rows by shift, columns by weight λ
# 0.25, 0.50, 0.75, 1.00 (λ = 1 is the Shewhart chart).
SAS_EWMAARL_WEIGHTS = (0.25, 0.50, 0.75, 1.00)
SAS_EWMAARL = {
    0.5: ("48.453", "75.354", "110.950", "155.224"),
    1.0: ("11.1543", "15.7378", "25.6391", "43.8947"),
    1.5: ("5.4697", "6.1111", "8.7201", "14.9677"),
    2.0: ("3.61677", "3.46850", "4.15346", "6.30296"),
}


def _tolerance(printed: str) -> float:
    decimals = len(printed.partition(".")[2])
    return 0.5 * 10.0**-decimals + 0.002 * float(printed)


def test_shewhart_xbar_in_control_arl_is_370() -> None:
    # Montgomery §6.2: 3σ limits, P(signal) = 2Φ(−3) = 0.0027, ARL₀ = 1/0.0027 = 370.4.
    assert 1 / (2 * norm.cdf(-3.0)) == pytest.approx(370.4, abs=0.05)
    assert shewhart_arl(0.0, subgroup_size=5) == pytest.approx(370.4, abs=0.05)
    assert shewhart_arl(0.0, subgroup_size=5) == pytest.approx(1 / (2 * norm.cdf(-3.0)))


def test_shewhart_xbar_detects_a_one_sigma_shift_in_four_and_a_half_samples() -> None:
    # Derived, as in Montgomery §6.2 (operating characteristic of the X̄ chart): with n = 5 a
    # 1σ shift of the process mean moves X̄ by √5 of its own σ, so the chance of missing it
    # on one sample is β = Φ(3 − √5) − Φ(−3 − √5) = 0.7775, and ARL₁ = 1/(1 − β) = 4.50.
    beta = norm.cdf(3 - math.sqrt(5)) - norm.cdf(-3 - math.sqrt(5))
    assert beta == pytest.approx(0.7775, abs=5e-5)
    arl = shewhart_arl(1.0, subgroup_size=5)
    assert arl == pytest.approx(1 / (1 - beta), rel=1e-9)
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


@pytest.mark.parametrize("shift", sorted(SAS_EWMAARL))
def test_ewma_arl_matches_the_sas_ewmaarl_table(shift: float) -> None:
    # Printed to five or six figures, so half a unit of the last digit plus 0.01 %.
    for lam, printed in zip(SAS_EWMAARL_WEIGHTS, SAS_EWMAARL[shift], strict=True):
        decimals = len(printed.partition(".")[2])
        tolerance = 0.5 * 10.0**-decimals + 1e-4 * float(printed)
        ours = ewma_arl(shift, lam=lam, L=3.0)
        assert ours == pytest.approx(float(printed), abs=tolerance), (lam, ours)


def _one_sided_cusum_arl_by_integral_equation(shift: float, k: float, h: float) -> float:
    """Page's integral equation for the upper CUSUM's ARL L(z) from C = z (Goel & Wu 1971):
    L(z) = 1 + Φ(k − z − δ)·L(0) + ∫₀ʰ φ(y − z + k − δ)·L(y) dy,
    solved by Nyström's method on 48 Gauss-Legendre nodes plus the atom at 0: a route
    independent of the Markov chain in the module."""
    nodes, weights = np.polynomial.legendre.leggauss(48)
    y = h / 2 * (nodes + 1)
    w = weights * h / 2
    z = np.concatenate(([0.0], y))
    kernel = np.empty((z.size, z.size))
    kernel[:, 0] = norm.cdf(k - z - shift)
    kernel[:, 1:] = w[None, :] * norm.pdf(y[None, :] - z[:, None] + k - shift)
    run_length = np.linalg.solve(np.eye(z.size) - kernel, np.ones(z.size))
    return float(run_length[0])


@pytest.mark.parametrize("h", sorted(MONTGOMERY_CUSUM))
def test_cusum_markov_chain_agrees_with_the_integral_equation(h: float) -> None:
    for shift in SHIFTS:
        upper = _one_sided_cusum_arl_by_integral_equation(shift, 0.5, h)
        lower = _one_sided_cusum_arl_by_integral_equation(-shift, 0.5, h)
        two_sided = 1 / (1 / upper + 1 / lower)
        assert cusum_arl(shift, k=0.5, h=h, two_sided=False) == pytest.approx(upper, rel=2e-4)
        assert cusum_arl(shift, k=0.5, h=h) == pytest.approx(two_sided, rel=2e-4), shift


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
