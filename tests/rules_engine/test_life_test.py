"""The twin's life test: zero-failure plans against the success-run tables, the pass rate of
seeded simulated tests against R^n, the chi-square B10 lower bound recomputed independently
from the same draws, and a hydraulic-valve qualification at an extreme pressure.

Simulated rates must lie within 4 binomial standard errors of their target.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2, norm

from shocktwin.errors import RuleError
from shocktwin.rules_engine.reliability import (
    Arrhenius,
    Criterion,
    DemonstrationMethod,
    InversePowerLaw,
    LognormalLife,
    WeibullLife,
    demonstrate,
    life_test_plan,
    run_life_test,
    success_run_pass_probability,
)

#: The valve case: 210 bar in the field, 350 bar on the test rig, fatigue exponent 5.
VALVE_RIG = InversePowerLaw(stress_use=210.0, stress_test=350.0, exponent=5.0)


def _band(rate: float, runs: int) -> float:
    return 4.0 * math.sqrt(rate * (1 - rate) / runs)


# --- plans ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reliability", "confidence", "expected"),
    [(0.90, 0.90, 22), (0.95, 0.90, 45), (0.90, 0.95, 29), (0.99, 0.90, 230),
     (0.95, 0.95, 59), (0.80, 0.90, 11), (0.99, 0.95, 299)],
)
def test_zero_failure_plan_is_the_success_run(
    reliability: float, confidence: float, expected: int
) -> None:
    # n = ⌈ln(1 − C)/ln R⌉ (Kececioglu, Reliability & Life Testing Handbook vol. 2, success-run
    # table): ln 0.10/ln 0.90 = 21.85 → 22, ln 0.10/ln 0.95 = 44.89 → 45, ln 0.05/ln 0.90 =
    # 28.43 → 29, ln 0.10/ln 0.99 = 229.1 → 230, ln 0.05/ln 0.95 = 58.40 → 59,
    # ln 0.10/ln 0.80 = 10.32 → 11, ln 0.05/ln 0.99 = 298.07 → 299.
    plan = life_test_plan(required_h=5000.0, reliability=reliability, confidence=confidence)
    assert plan.units == expected
    assert plan.test_h == plan.use_h == 5000.0 and plan.factor == 1.0 and plan.shape is None
    # On a rig that accelerates 8 times (24 V against 12 V, n = 3) each unit runs 5000/8 h.
    rig = life_test_plan(required_h=5000.0, reliability=reliability, confidence=confidence,
                         acceleration=InversePowerLaw(12.0, 24.0, 3.0))
    assert (rig.units, rig.test_h, rig.use_h) == (expected, 625.0, 5000.0)
    # A Weibull shape with every unit run to the required life changes nothing.
    assert life_test_plan(required_h=5000.0, reliability=reliability, confidence=confidence,
                          shape=2.5).units == expected


def test_plan_trades_units_for_test_hours_on_the_rig() -> None:
    # β = 2, B10 ≥ 8000 h at C = 0.90; AF = (350/210)^5 = (5/3)^5 = 3125/243 = 12.860.
    # 1000 test h = 12 860 use h = 1.6075 required lives, worth 1.6075² = 2.5841 units each:
    # n = ⌈21.854/2.5841⌉ = ⌈8.457⌉ = 9 (Lipson & Sheth's extended success run).
    plan = life_test_plan(required_h=8000.0, shape=2.0, acceleration=VALVE_RIG, test_h=1000.0)
    assert plan.factor == pytest.approx(3125.0 / 243.0)
    assert plan.use_h == pytest.approx(12_860.08, abs=0.01)
    assert plan.units == 9
    # The other way: 5 units need t_use = 8000·√(21.854/5) = 16 725 h, i.e. 1300.6 h on the rig.
    five = life_test_plan(required_h=8000.0, shape=2.0, acceleration=VALVE_RIG, units=5)
    assert five.use_h == pytest.approx(8000.0 * math.sqrt(math.log(0.1) / (5 * math.log(0.9))))
    assert five.test_h == pytest.approx(1300.56, abs=0.01)


@pytest.mark.parametrize("units", [3, 5, 9, 10, 12, 22, 40])
def test_a_planned_test_with_no_failure_passes_and_a_shorter_one_does_not(units: int) -> None:
    # The plan's test time is the boundary: with no failure the Weibayes bound equals the
    # requirement, so a plan must pass it despite rounding, and anything noticeably shorter
    # must not.
    plan = life_test_plan(required_h=8000.0, shape=2.0, acceleration=VALVE_RIG, units=units)
    for test_h, passes in ((plan.test_h, True), (plan.test_h * (1 - 1e-6), False)):
        result = demonstrate([test_h] * units, [False] * units, required_h=8000.0, shape=2.0,
                             acceleration=VALVE_RIG, criterion=Criterion.B_LIFE)
        assert result.passed is passes


def test_plan_refuses_what_cannot_demonstrate() -> None:
    with pytest.raises(RuleError) as caught:
        life_test_plan(required_h=1000.0, units=21)  # binomial R = C = 0.9 needs 22
    assert "the success run needs 22" in str(caught.value)
    with pytest.raises(RuleError) as caught:
        life_test_plan(required_h=1000.0, test_h=50.0, acceleration=InversePowerLaw(1, 2, 3))
    assert [p.path for p in caught.value.problems] == ["test_h"]
    assert "short of the required" in str(caught.value)
    with pytest.raises(RuleError) as caught:
        life_test_plan(required_h=0.0, reliability=1.0, confidence=0.0, shape=-1.0,
                       units=10, test_h=5.0)
    assert {p.path for p in caught.value.problems} == {
        "required_h", "reliability", "confidence", "shape", "units"}


# --- simulated tests --------------------------------------------------------------------------


@pytest.mark.parametrize("eta_use_h", [80_000.0, 40_000.0])
def test_pass_rate_of_the_valve_test_is_r_to_the_n(eta_use_h: float) -> None:
    # 9 units (the least that can pass, so any failure fails) run 1000 h at 350 bar =
    # 12 860 h at 210 bar. P(pass) = R(12 860 h)^9 = exp(−9·(12 860/η)²): 0.7925 for
    # η = 80 000 h, 0.3944 for η = 40 000 h.
    life = WeibullLife(2.0, eta_use_h)
    use_h = 1000.0 * 3125.0 / 243.0
    expected = math.exp(-9.0 * (use_h / eta_use_h) ** 2)
    r_true = life.reliability(8000.0)
    assert success_run_pass_probability(
        r_true, 9, test_h=use_h, required_h=8000.0, shape=2.0) == pytest.approx(expected)
    rng = np.random.default_rng(180)
    runs = 4000
    results = [run_life_test(rng, life, units=9, test_h=1000.0, required_h=8000.0,
                             acceleration=VALVE_RIG) for _ in range(runs)]
    passed = sum(r.passed for r in results) / runs
    assert abs(passed - expected) < _band(expected, runs)
    assert all(r.passed is (r.failures == 0) for r in results)


def test_pass_rate_of_a_binomial_lognormal_test_is_r_at_the_required_life() -> None:
    # Lognormal life (median 30 000 h, σ = 0.8) judged without a model: 22 units each run
    # 700 h at 350 bar = 9002 use h ≥ 8000 h, and only failures before 8000 h count.
    # R(8000) = 1 − Φ((ln 8000 − ln 30 000)/0.8) = 1 − Φ(−1.6522) = 0.9508; P(pass) = R²² =
    # 0.330.
    life = LognormalLife(math.log(30_000.0), 0.8)
    r_true = float(norm.sf(math.log(8000.0 / 30_000.0) / 0.8))
    assert r_true == pytest.approx(0.9508, abs=1e-4)
    expected = r_true**22
    rng = np.random.default_rng(181)
    runs = 4000
    results = [run_life_test(rng, life, units=22, test_h=700.0, required_h=8000.0,
                             acceleration=VALVE_RIG) for _ in range(runs)]
    assert {r.method for r in results} == {DemonstrationMethod.BINOMIAL}
    assert {r.criterion for r in results} == {Criterion.RELIABILITY}
    passed = sum(r.passed for r in results) / runs
    assert abs(passed - expected) < _band(expected, runs)


def test_b10_lower_bound_recomputed_from_the_documented_draws() -> None:
    # Draw order: one life.sample(rng, units) call, unit i the i-th value, divided by AF.
    # The bound is then recomputed here from the chi-square formula (Nelson 1982):
    # η_L = (2·Σ t_use^β / χ²(C; 2r + 2))^(1/β), B10_L = η_L·(−ln 0.9)^(1/β).
    life, units, test_h = WeibullLife(2.0, 20_000.0), 12, 1000.0
    factor = VALVE_RIG.factor
    result = run_life_test(np.random.default_rng(182), life, units=units, test_h=test_h,
                           required_h=5000.0, acceleration=VALVE_RIG)
    use_life = 20_000.0 * np.random.default_rng(182).weibull(2.0, units)
    test_life = use_life / factor
    failed = test_life <= test_h
    r = int(failed.sum())
    assert r >= 2  # this seed gives a test with failures, which is what is checked
    use_t = np.where(failed, test_life, test_h) * factor
    eta_lower = (2.0 * float(np.sum(use_t**2.0)) / float(chi2.ppf(0.90, 2 * r + 2))) ** 0.5
    b10_lower = eta_lower * math.sqrt(-math.log(0.9))
    assert result.failures == r
    assert result.scale_lower_h == pytest.approx(eta_lower)
    assert result.b_life_lower_h == pytest.approx(b10_lower)
    assert result.criterion is Criterion.B_LIFE and result.bound == result.b_life_lower_h
    assert result.passed is (b10_lower >= 5000.0)
    # The chi-square quantiles are the table's: χ²₀.₉₀ with 2, 4, 6 and 10 df.
    assert [round(float(chi2.ppf(0.90, df)), 3) for df in (2, 4, 6, 10)] == [
        4.605, 7.779, 10.645, 15.987]


def test_hydraulic_valve_qualification_at_350_bar() -> None:
    """The valve case's qualification step: the backup supplier's valve has a fatigue life
    Weibull β = 2, η = 80 000 h at the field pressure of 210 bar (true B10 = 80 000·√0.10536
    = 25 967 h); the field needs B10 ≥ 8000 h shown with 90 % confidence.

    On the rig at 350 bar the inverse power law with exponent 5 gives AF = (350/210)^5 =
    12.86, so 1000 test hours simulate 12 860 field hours (about 1.5 years of continuous
    duty) per valve. With no failure 9 valves then demonstrate
    B10_L = 12 860·(9·ln(1/0.9)/ln(1/0.1))^(1/2) = 12 860·√(0.94824/2.30259) = 12 860·0.64173
    = 8252.7 h ≥ 8000 h (Weibayes with zero failures; Abernethy, New Weibull Handbook, ch. 6).
    8 valves would not: 12 860·√(0.84288/2.30259) = 12 860·0.60503 = 7780.7 h.
    """
    life = WeibullLife(2.0, 80_000.0)
    assert life.b_life(0.10) == pytest.approx(25_967.4, abs=0.1)
    assert VALVE_RIG.use_hours(1000.0) == pytest.approx(12_860.08, abs=0.01)
    for units, b10_lower in ((9, 8252.7), (8, 7780.7)):
        result = demonstrate([1000.0] * units, [False] * units, required_h=8000.0, shape=2.0,
                             acceleration=VALVE_RIG, criterion=Criterion.B_LIFE)
        assert result.bound == pytest.approx(b10_lower, abs=0.1)
        assert result.passed is (units == 9)
    # The twin's test: the same seed gives the same outcome; with 9 valves (the least that can
    # pass) a run passes exactly when no valve fails, and then its bound is the 8252.7 h above.
    for seed in range(20):
        first = run_life_test(np.random.default_rng(seed), life, units=9, test_h=1000.0,
                              required_h=8000.0, acceleration=VALVE_RIG)
        again = run_life_test(np.random.default_rng(seed), life, units=9, test_h=1000.0,
                              required_h=8000.0, acceleration=VALVE_RIG)
        assert first == again
        assert first.passed is (first.failures == 0)
        if first.failures == 0:
            assert first.bound == pytest.approx(8252.7, abs=0.1)


def test_arrhenius_rig_runs_like_any_acceleration() -> None:
    # Ea = 0.7 eV, 40 °C use, 85 °C test: 1/313.15 − 1/358.15 = 4.01232e-4 K⁻¹, Ea/k = 8123.16 K,
    # exponent 3.25927, AF = e^3.25927 = 26.03; 500 h in the chamber = 13 015 h in use.
    oven = Arrhenius(activation_energy_ev=0.7, t_use_k=313.15, t_test_k=358.15)
    assert oven.factor == pytest.approx(26.03, abs=0.01)
    life = WeibullLife(1.5, 200_000.0)
    result = run_life_test(np.random.default_rng(3), life, units=10, test_h=500.0,
                           required_h=10_000.0, acceleration=oven)
    # Ten survivors of 13 015 use h: B10_L = 13 015·(10·0.1053605/2.302585)^(1/1.5).
    expected = 500.0 * oven.factor * (10 * -math.log(0.9) / -math.log(0.1)) ** (1 / 1.5)
    assert result.failures == 0
    assert result.bound == pytest.approx(expected)


# --- draws and refusals -----------------------------------------------------------------------


@pytest.mark.parametrize("life", [WeibullLife(2.0, 50_000.0), LognormalLife(10.5, 0.6)])
def test_one_vectorised_draw_per_test(life: WeibullLife | LognormalLife) -> None:
    rng, twin = np.random.default_rng(9), np.random.default_rng(9)
    run_life_test(rng, life, units=25, test_h=1000.0, required_h=8000.0,
                  acceleration=VALVE_RIG)
    life.sample(twin, 25)
    assert rng.bit_generator.state == twin.bit_generator.state


def test_default_criterion_follows_the_method() -> None:
    rng = np.random.default_rng(4)
    weibull = run_life_test(rng, WeibullLife(2.0, 1e5), units=9, test_h=1000.0,
                            required_h=8000.0, acceleration=VALVE_RIG)
    assert (weibull.method, weibull.criterion) == (DemonstrationMethod.WEIBULL,
                                                  Criterion.B_LIFE)
    by_r = run_life_test(rng, WeibullLife(2.0, 1e5), units=9, test_h=1000.0,
                         required_h=8000.0, acceleration=VALVE_RIG,
                         criterion=Criterion.RELIABILITY)
    assert by_r.criterion is Criterion.RELIABILITY and by_r.requirement == 0.9
    # A lognormal life analysed with an assumed Weibull shape gets the chi-square bound.
    assumed = run_life_test(rng, LognormalLife(11.0, 0.5), units=9, test_h=1000.0,
                            required_h=8000.0, acceleration=VALVE_RIG, shape=2.0)
    assert assumed.method is DemonstrationMethod.WEIBULL


def test_refusals_list_every_problem_before_drawing() -> None:
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    lognormal = LognormalLife(math.log(30_000.0), 0.8)
    with pytest.raises(RuleError) as caught:  # 500 h × 12.86 = 6430 use h < 8000 h
        run_life_test(rng, lognormal, units=22, test_h=500.0, required_h=8000.0,
                      acceleration=VALVE_RIG)
    assert [p.path for p in caught.value.problems] == ["test_h"]
    assert "short of the required 8000" in str(caught.value)
    assert "test at least 622.08" in str(caught.value)  # 8000/12.860 h
    with pytest.raises(RuleError) as caught:
        run_life_test(rng, lognormal, units=0, test_h=500.0, required_h=8000.0,
                      acceleration=VALVE_RIG)
    assert {p.path for p in caught.value.problems} == {"units", "test_h"}
    with pytest.raises(RuleError) as caught:
        run_life_test(rng, lognormal, units=22, test_h=700.0, required_h=8000.0,
                      acceleration=VALVE_RIG, criterion=Criterion.B_LIFE)
    assert [p.path for p in caught.value.problems] == ["criterion"]
    with pytest.raises(RuleError) as caught:
        run_life_test(rng, WeibullLife(2.0, 1e4), units=0, test_h=-1.0, required_h=0.0,
                      reliability=1.0, confidence=math.nan, shape=0.0)
    assert {p.path for p in caught.value.problems} == {
        "units", "test_h", "required_h", "reliability", "confidence", "shape"}
    assert rng.bit_generator.state == state
    with pytest.raises(TypeError):
        run_life_test(rng, 5.0, units=1, test_h=1.0, required_h=1.0)  # type: ignore[arg-type]
