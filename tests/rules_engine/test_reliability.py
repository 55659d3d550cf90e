"""Reliability demonstration: success-run plans, acceleration factors, Clopper–Pearson and
chi-square bounds, each checked against an independent computation or a hand derivation,
and the chi-square bound's coverage and a zero-failure test's pass rate by seeded simulation.

Simulated rates must lie within 4 binomial standard errors of their target.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta, chi2

from shocktwin.errors import RuleError
from shocktwin.rules_engine.reliability import (
    BOLTZMANN_EV_PER_K,
    Arrhenius,
    Censoring,
    Criterion,
    DemonstrationMethod,
    InversePowerLaw,
    LognormalLife,
    WeibullLife,
    binomial_sample_size,
    demonstrate,
    reliability_lower_bound,
    success_run_pass_probability,
    success_run_sample_size,
    success_run_test_h,
    weibull_scale_lower_bound,
)


def _band(rate: float, runs: int) -> float:
    return 4.0 * math.sqrt(rate * (1 - rate) / runs)


def _least_all_pass_n(reliability: float, confidence: float) -> int:
    # The defining property, by counting up rather than by logarithms: the least n such that
    # n units all surviving is no more likely than 1 − C when the reliability is only R.
    n = 1
    while reliability**n > 1.0 - confidence:
        n += 1
    return n


# --- life distributions ----------------------------------------------------------------------


def test_weibull_b10_and_mean_of_known_parameters() -> None:
    # β = 2, η = 1000 h: B10 = 1000·(−ln 0.9)^(1/2) = 1000·√0.1053605 = 324.59 h;
    # mean = 1000·Γ(1.5) = 1000·√π/2 = 886.23 h; R(η) = e^−1 for every shape.
    life = WeibullLife(2.0, 1000.0)
    assert life.b_life(0.10) == pytest.approx(324.59, abs=5e-3)
    assert life.mean_h == pytest.approx(1000.0 * math.sqrt(math.pi) / 2.0)
    assert life.reliability(1000.0) == pytest.approx(math.exp(-1.0))
    assert life.reliability(life.b_life(0.10)) == pytest.approx(0.90)
    # β = 1 is the exponential: B10 = θ·ln(1/0.9), mean θ.
    exponential = WeibullLife(1.0, 500.0)
    assert exponential.b_life(0.10) == pytest.approx(500.0 * math.log(1 / 0.9))
    assert exponential.mean_h == pytest.approx(500.0)
    assert np.allclose(life.reliability([0.0, 500.0]), [1.0, math.exp(-0.25)])


def test_lognormal_b_life_and_mean() -> None:
    # μ = ln 1000, σ = 0.5: the median B50 is 1000 h; B10 = exp(μ − 1.2815516·σ) = 527.0 h
    # (z₀.₁₀ = −1.2815516); mean = exp(μ + σ²/2) = 1000·e^0.125 = 1133.1 h.
    life = LognormalLife(math.log(1000.0), 0.5)
    assert life.b_life(0.5) == pytest.approx(1000.0)
    assert life.b_life(0.10) == pytest.approx(1000.0 * math.exp(-1.2815516 * 0.5), rel=1e-7)
    assert life.mean_h == pytest.approx(1000.0 * math.exp(0.125))
    assert life.reliability(life.b_life(0.10)) == pytest.approx(0.90)
    assert life.reliability(0.0) == 1.0


@pytest.mark.parametrize("life", [WeibullLife(1.7, 800.0), LognormalLife(6.5, 0.8)])
def test_sampled_failure_times_follow_the_distribution(
    life: WeibullLife | LognormalLife,
) -> None:
    runs = 40_000
    times = life.sample(np.random.default_rng(50), runs)
    failed_by_b10 = float((times <= life.b_life(0.10)).mean())
    assert abs(failed_by_b10 - 0.10) < _band(0.10, runs)
    assert float(times.mean()) == pytest.approx(life.mean_h, rel=0.03)


# --- acceleration ------------------------------------------------------------------------------


def test_inverse_power_law_factor() -> None:
    # Twice the use voltage with exponent 3: AF = 2³ = 8; 100 test hours are 800 use hours.
    model = InversePowerLaw(stress_use=12.0, stress_test=24.0, exponent=3.0)
    assert model.factor == pytest.approx(8.0)
    assert model.use_hours(100.0) == pytest.approx(800.0)


def test_arrhenius_factor_derived_by_hand() -> None:
    # Ea = 0.7 eV, use 55 °C = 328.15 K, test 125 °C = 398.15 K, k = 8.617333262e-5 eV/K.
    #   1/328.15 = 0.00304739 K⁻¹, 1/398.15 = 0.00251162 K⁻¹, difference 0.00053577 K⁻¹
    #   Ea/k = 0.7 / 8.617333262e-5 = 8123.16 K
    #   exponent 8123.16 × 0.00053577 = 4.35215, AF = e^4.35215 ≈ 77.65
    model = Arrhenius(activation_energy_ev=0.7, t_use_k=328.15, t_test_k=398.15)
    assert model.factor == pytest.approx(77.65, abs=0.01)
    assert BOLTZMANN_EV_PER_K == 8.617333262e-5
    # 1000 h at 125 °C stand for about 77 650 h (8.9 years) at 55 °C.
    assert model.use_hours(1000.0) == pytest.approx(77_650.0, abs=10.0)
    # Equal temperatures do not accelerate.
    assert Arrhenius(0.7, 330.0, 330.0).factor == 1.0


def test_acceleration_carries_a_test_life_to_use_conditions() -> None:
    # Common Weibull shape: η_use = AF·η_test, so every B-life scales by AF; a lognormal's
    # σ stays and its median scales by AF.
    model = InversePowerLaw(1.0, 1.5, 4.0)  # AF = 1.5⁴ = 5.0625
    weibull = WeibullLife(2.5, 400.0)
    assert weibull.at_use(model) == WeibullLife(2.5, 400.0 * 5.0625)
    assert weibull.at_use(model).b_life(0.1) == pytest.approx(5.0625 * weibull.b_life(0.1))
    lognormal = LognormalLife(6.0, 0.7)
    use = lognormal.at_use(model)
    assert use.sigma == 0.7
    assert use.b_life(0.1) == pytest.approx(5.0625 * lognormal.b_life(0.1))


# --- zero-failure plans ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reliability", "confidence", "expected"),
    [(0.90, 0.90, 22), (0.95, 0.90, 45), (0.99, 0.95, 299), (0.90, 0.95, 29), (0.5, 0.75, 2)],
)
def test_success_run_sample_size(reliability: float, confidence: float, expected: int) -> None:
    # n = ⌈ln(1 − C)/ln R⌉ (Kececioglu, Reliability & Life Testing Handbook vol. 2): e.g.
    # ln 0.10/ln 0.90 = 21.85 → 22, ln 0.10/ln 0.95 = 44.89 → 45, ln 0.05/ln 0.99 = 298.07
    # → 299. R = 0.5, C = 0.75 is an exact quotient, 2, where a bare ceiling can round up.
    assert _least_all_pass_n(reliability, confidence) == expected
    assert success_run_sample_size(reliability, confidence) == expected


def test_extended_success_run_trades_units_for_test_time() -> None:
    # Lipson & Sheth: each unit run to k required lives counts as k^β of them. R = C = 0.90,
    # β = 2, units run 1.5 required lives: n = ⌈21.85/2.25⌉ = ⌈9.71⌉ = 10.
    n = success_run_sample_size(0.90, 0.90, test_h=1500.0, required_h=1000.0, shape=2.0)
    assert n == 10
    assert 0.90 ** (10 * 2.25) <= 0.10 < 0.90 ** (9 * 2.25)
    # Running to the required life is the plain success run, whatever the shape.
    assert success_run_sample_size(0.9, 0.9, test_h=7.0, required_h=7.0, shape=3.0) == 22
    # The other side of the trade-off: 10 units need t = t_req·(21.85/10)^(1/2) = 1.478 t_req.
    t = success_run_test_h(0.90, 0.90, 10, required_h=1000.0, shape=2.0)
    assert t == pytest.approx(1000.0 * math.sqrt(math.log(0.1) / (10 * math.log(0.9))))
    assert success_run_sample_size(0.9, 0.9, test_h=t, required_h=1000.0, shape=2.0) == 10


def test_zero_failure_weibull_bound_agrees_with_the_extended_success_run() -> None:
    # With r = 0, χ²(C; 2) = −2 ln(1 − C), so R_L(t_req) = (1 − C)^(1/(n·k^β)): the Weibayes
    # bound passes exactly when n ≥ ln(1 − C)/(ln R·k^β) (Abernethy, New Weibull Handbook).
    assert chi2.ppf(0.9, 2) == pytest.approx(-2 * math.log(0.1))
    n = success_run_sample_size(0.90, 0.90, test_h=1500.0, required_h=1000.0, shape=2.0)
    for units, passes in ((n, True), (n - 1, False)):
        result = demonstrate(
            [1500.0] * units, [False] * units, required_h=1000.0, shape=2.0,
            criterion=Criterion.B_LIFE,
        )
        assert result.method is DemonstrationMethod.WEIBULL
        assert result.passed is passes
        assert result.reliability_lower == pytest.approx(0.1 ** (1 / (units * 2.25)))


def test_pass_probability_of_a_zero_failure_test_matches_simulation() -> None:
    # True life Weibull β = 2, η = 2000 h; requirement at 500 h, R_true = e^−(1/16) = 0.9394.
    # 10 units run 750 h: P(pass) = R_true^(10·1.5²) = e^(−22.5/16) = 0.2451.
    life = WeibullLife(2.0, 2000.0)
    r_true = life.reliability(500.0)
    p = success_run_pass_probability(r_true, 10, test_h=750.0, required_h=500.0, shape=2.0)
    assert p == pytest.approx(math.exp(-22.5 / 16.0))
    runs = 20_000
    times = life.sample(np.random.default_rng(51), (runs, 10))
    passed = float((times > 750.0).all(axis=1).mean())
    assert abs(passed - p) < _band(p, runs)
    # A test sized for R = 0.90 at C = 0.90 passes a product exactly at 0.90 10 % of the time.
    assert success_run_pass_probability(0.9, 22) == pytest.approx(0.9**22)
    assert success_run_pass_probability(0.9, 22) <= 0.10


# --- bounds from test results --------------------------------------------------------------------


@pytest.mark.parametrize(("failures", "units"), [(0, 22), (1, 38), (3, 50), (7, 20), (19, 20)])
def test_clopper_pearson_lower_bound(failures: int, units: int) -> None:
    bound = reliability_lower_bound(failures, units, 0.90)
    # The upper bound of the failure share is the C-quantile of Beta(x + 1, n − x)...
    assert bound == pytest.approx(1.0 - beta.ppf(0.90, failures + 1, units - failures))
    # ...which is where P(X ≤ x) falls to 1 − C by the binomial sum.
    tail = sum(
        math.comb(units, k) * (1 - bound) ** k * bound ** (units - k) for k in range(failures + 1)
    )
    assert tail == pytest.approx(0.10, abs=1e-9)


def test_clopper_pearson_edges() -> None:
    # No failure: R_L = (1 − C)^(1/n); 22 successes demonstrate 0.9006 at 90 %.
    assert reliability_lower_bound(0, 22, 0.90) == pytest.approx(0.1 ** (1 / 22))
    assert reliability_lower_bound(0, 22, 0.90) >= 0.90 > reliability_lower_bound(0, 21, 0.90)
    assert reliability_lower_bound(5, 5, 0.90) == 0.0


@pytest.mark.parametrize(("failures", "expected"), [(0, 22), (1, 38), (2, 52)])
def test_binomial_sample_size_with_allowed_failures(failures: int, expected: int) -> None:
    # R = C = 0.90: the least n with Σ_{k ≤ x} C(n, k)·0.1^k·0.9^(n−k) ≤ 0.10, by summation.
    def tail(n: int) -> float:
        return sum(math.comb(n, k) * 0.1**k * 0.9 ** (n - k) for k in range(failures + 1))

    assert tail(expected) <= 0.10 < tail(expected - 1)
    assert binomial_sample_size(0.90, 0.90, failures) == expected


def test_chi_square_scale_bound_by_direct_computation() -> None:
    # β = 2, four units to 1000 h, two failures at 400 h and 700 h, time-censored:
    # Σ t^β = 400² + 700² + 2·1000² = 2.65e6; ν = 2·2 + 2 = 6, χ²(0.90; 6) = 10.6446;
    # η_L = √(2·2.65e6/10.6446) = 705.6 h; B10_L = η_L·√(−ln 0.9) = 229.0 h.
    times = [400.0, 700.0, 1000.0, 1000.0]
    eta = weibull_scale_lower_bound(times, 2, shape=2.0, confidence=0.90)
    assert chi2.ppf(0.90, 6) == pytest.approx(10.6446, abs=1e-4)
    assert eta == pytest.approx(math.sqrt(2 * 2.65e6 / chi2.ppf(0.90, 6)))
    assert eta == pytest.approx(705.6, abs=0.05)
    assert WeibullLife(2.0, eta).b_life(0.10) == pytest.approx(229.0, abs=0.05)
    # Stopped at the second failure instead (ν = 2r = 4) the bound is higher.
    failure_censored = weibull_scale_lower_bound(
        [400.0, 700.0, 700.0, 700.0], 2, shape=2.0, confidence=0.90,
        censoring=Censoring.FAILURE,
    )
    assert failure_censored == pytest.approx(math.sqrt(2 * (400.0**2 + 3 * 700.0**2)
                                                       / chi2.ppf(0.90, 4)))
    result = demonstrate(
        times, [True, True, False, False], required_h=200.0, shape=2.0,
        criterion=Criterion.B_LIFE,
    )
    assert result.scale_lower_h == pytest.approx(eta)
    assert result.bound == pytest.approx(229.0, abs=0.05) and result.requirement == 200.0
    assert result.passed and result.failures == 2


def test_chi_square_bound_has_its_nominal_coverage_when_failure_censored() -> None:
    # Type II: 10 units, stopped at the 4th failure. 2·Σt^β/η^β is exactly χ² with 2r df, so
    # η_L ≤ η in a share C of tests.
    runs, n, r, shape, eta, confidence = 4000, 10, 4, 2.0, 1000.0, 0.90
    times = np.sort(WeibullLife(shape, eta).sample(np.random.default_rng(52), (runs, n)), axis=1)
    times[:, r:] = times[:, r - 1 : r]  # survivors removed at the r-th failure
    covered = sum(
        weibull_scale_lower_bound(
            row, r, shape=shape, confidence=confidence, censoring=Censoring.FAILURE
        ) <= eta
        for row in times
    )
    assert abs(covered / runs - confidence) < _band(confidence, runs)


def test_chi_square_bound_is_at_least_nominal_when_time_censored() -> None:
    # Type I: 20 units to 600 h (about 30 % fail); 2r + 2 df make the bound conservative.
    runs, n, end_h, shape, eta, confidence = 4000, 20, 600.0, 2.0, 1000.0, 0.90
    life = WeibullLife(shape, eta)
    times = life.sample(np.random.default_rng(53), (runs, n))
    failures = (times < end_h).sum(axis=1)
    times = np.minimum(times, end_h)
    covered = sum(
        weibull_scale_lower_bound(row, int(r), shape=shape, confidence=confidence) <= eta
        for row, r in zip(times, failures, strict=True)
    )
    assert covered / runs > confidence - _band(confidence, runs)
    assert covered / runs < 0.99  # conservative, not vacuous


def test_binomial_demonstration_with_acceleration() -> None:
    # 38 units at 24 V run 1000 h against a 12 V, 8000 h requirement (AF = 2³ = 8), so each
    # reaches the required life; one fails at 300 test h = 2400 use h. 38 units with one
    # failure are the least that demonstrate R = 0.90 at C = 0.90 (binomial sample size).
    model = InversePowerLaw(12.0, 24.0, 3.0)
    times = [1000.0] * 38
    times[0] = 300.0
    failed = [False] * 38
    failed[0] = True
    result = demonstrate(times, failed, required_h=8000.0, acceleration=model)
    assert result.method is DemonstrationMethod.BINOMIAL
    assert result.failures == 1
    assert result.bound == pytest.approx(reliability_lower_bound(1, 38, 0.90))
    assert result.passed
    # A second failure at 1000 test h = exactly 8000 use h is a failure: R(t) = P(T > t).
    failed[1] = True
    assert demonstrate(times, failed, required_h=8000.0, acceleration=model).failures == 2
    assert not demonstrate(times, failed, required_h=8000.0, acceleration=model).passed


def test_both_criteria_give_the_same_verdict() -> None:
    # B10_L ≥ t_req exactly when R_L(t_req) ≥ 0.90: one bound, two ways of reporting it.
    rng = np.random.default_rng(54)
    for _ in range(50):
        times = np.minimum(WeibullLife(1.5, 3000.0).sample(rng, 15), 1200.0)
        failed = times < 1200.0
        by_r = demonstrate(times, failed, required_h=400.0, shape=1.5)
        by_b = demonstrate(times, failed, required_h=400.0, shape=1.5, criterion=Criterion.B_LIFE)
        assert by_r.passed == by_b.passed
        assert by_r.reliability_lower == pytest.approx(by_b.reliability_lower)


# --- bad input ---------------------------------------------------------------------------------


def test_bad_input_lists_every_problem() -> None:
    with pytest.raises(RuleError) as caught:
        WeibullLife(0.0, -1.0)
    assert {p.path for p in caught.value.problems} == {"shape", "scale_h"}
    with pytest.raises(RuleError) as caught:
        LognormalLife(math.nan, 0.0)
    assert len(caught.value.problems) == 2
    with pytest.raises(RuleError) as caught:
        success_run_sample_size(1.0, 0.0, test_h=100.0, required_h=-5.0, shape=-1.0)
    assert {p.path for p in caught.value.problems} == {
        "reliability", "confidence", "shape", "required_h"}
    with pytest.raises(RuleError) as caught:
        weibull_scale_lower_bound([-1.0, 2.0], 1, shape=0.0, confidence=1.0)
    assert {p.path for p in caught.value.problems} == {"times_h", "shape", "confidence"}
    with pytest.raises(RuleError) as caught:
        Arrhenius(0.7, 0.0, -10.0)
    assert {p.path for p in caught.value.problems} == {"t_use_k", "t_test_k"}
    with pytest.raises(RuleError) as caught:
        demonstrate([100.0, -3.0], [True], required_h=0.0, reliability=1.5, confidence=0.0)
    assert {p.path for p in caught.value.problems} == {
        "times_h", "failed", "required_h", "reliability", "confidence"}
    with pytest.raises(RuleError, match="failures cannot exceed"):
        reliability_lower_bound(5, 3, 0.9)
    with pytest.raises(RuleError, match="go together"):
        success_run_pass_probability(0.9, 10, test_h=100.0)


def test_negative_hours_are_refused() -> None:
    with pytest.raises(RuleError):
        WeibullLife(2.0, 100.0).reliability(-1.0)
    with pytest.raises(RuleError):
        InversePowerLaw(1.0, 2.0, 3.0).use_hours(-5.0)
    with pytest.raises(RuleError, match="survivor"):
        demonstrate([100.0, 50.0], [False, False], required_h=80.0)
    with pytest.raises(RuleError, match="shape"):
        demonstrate([100.0], [False], required_h=80.0, criterion=Criterion.B_LIFE)
