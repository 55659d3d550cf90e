"""Gauge R&R and misclassification: the ANOVA against sums of squares written out by hand,
variance components and risks against simulation (fixed seeds), and the bivariate-normal
risks against an independent one-dimensional integral.

No published example with both the raw study data and the risks was at hand; the risks are
checked against the bivariate-normal formula computed here in the measurement's own units
(inclusion-exclusion of scipy's joint CDF at the rectangle's corners), against the integral
P(X in, Y out) = ∫ φ(x)·P(Y out | x) dx, and against simulation.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import multivariate_normal, norm

from shocktwin.errors import RuleError
from shocktwin.rules_engine.gauge import gauge_study, misclassification


def test_anova_components_match_sums_of_squares_by_hand() -> None:
    rng = np.random.default_rng(50)
    y = rng.normal(size=(5, 3, 2)) + np.arange(5)[:, None, None] + 0.3 * np.arange(3)[None, :, None]
    p, o, r = y.shape
    grand = sum(y[i, j, k] for i, j, k in itertools.product(range(p), range(o), range(r))) / y.size
    part = [sum(y[i, j, k] for j in range(o) for k in range(r)) / (o * r) for i in range(p)]
    oper = [sum(y[i, j, k] for i in range(p) for k in range(r)) / (p * r) for j in range(o)]
    cell = [[sum(y[i, j, k] for k in range(r)) / r for j in range(o)] for i in range(p)]
    ss_p = o * r * sum((m - grand) ** 2 for m in part)
    ss_o = p * r * sum((m - grand) ** 2 for m in oper)
    ss_po = r * sum(
        (cell[i][j] - part[i] - oper[j] + grand) ** 2 for i in range(p) for j in range(o)
    )
    ss_e = sum(
        (y[i, j, k] - cell[i][j]) ** 2
        for i, j, k in itertools.product(range(p), range(o), range(r))
    )
    ms_p, ms_o = ss_p / (p - 1), ss_o / (o - 1)
    ms_po, ms_e = ss_po / ((p - 1) * (o - 1)), ss_e / (p * o * (r - 1))
    study = gauge_study(y, lsl=-5.0, usl=15.0, reference=np.arange(5))
    assert study.repeatability**2 == pytest.approx(ms_e)
    assert study.interaction**2 == pytest.approx(max((ms_po - ms_e) / r, 0.0), abs=1e-12)
    assert study.operator**2 == pytest.approx(max((ms_o - ms_po) / (p * r), 0.0), abs=1e-12)
    assert study.part**2 == pytest.approx(max((ms_p - ms_po) / (o * r), 0.0))
    assert study.grr**2 == pytest.approx(study.repeatability**2 + study.reproducibility**2)
    assert study.percent_grr_of_tolerance == pytest.approx(100 * 6 * study.grr / 20.0)
    assert study.percent_grr_of_total == pytest.approx(100 * study.grr / study.total)
    assert study.distinct_categories == pytest.approx(1.41 * study.part / study.grr)
    assert study.bias == pytest.approx(float((y - np.arange(5)[:, None, None]).mean()))


def test_variance_components_are_unbiased_on_simulated_studies() -> None:
    # σ_part = 2, σ_operator = 1, σ_interaction = 0.5, σ_repeat = 0.4; 10 parts, 8 operators,
    # 3 replicates. With these sizes the truncation at 0 practically never bites, so the mean
    # of each estimate over many studies must sit within 4 standard errors of the truth.
    rng = np.random.default_rng(51)
    studies, p, o, r = 400, 10, 8, 3
    truth = {"part": 4.0, "operator": 1.0, "interaction": 0.25, "repeatability": 0.16}
    estimates: dict[str, list[float]] = {name: [] for name in truth}
    for _ in range(studies):
        y = (
            rng.normal(0, 2.0, (p, 1, 1))
            + rng.normal(0, 1.0, (1, o, 1))
            + rng.normal(0, 0.5, (p, o, 1))
            + rng.normal(0, 0.4, (p, o, r))
        )
        study = gauge_study(y)
        for name in truth:
            estimates[name].append(getattr(study, name) ** 2)
    for name, variance in truth.items():
        values = np.asarray(estimates[name])
        band = 4 * values.std(ddof=1) / math.sqrt(studies)
        assert abs(values.mean() - variance) < band, (name, values.mean(), variance, band)


def _integral_risks(
    mean: float, part_sd: float, gauge_sd: float, low: float, high: float, bias: float
) -> tuple[float, float]:
    def measured_in(x: float) -> float:
        return float(norm.cdf((high - x - bias) / gauge_sd) - norm.cdf((low - x - bias) / gauge_sd))

    def density(x: float) -> float:
        return float(norm.pdf(x, mean, part_sd))

    edge_low = max(low, mean - 12 * part_sd)
    edge_high = min(high, mean + 12 * part_sd)
    false_reject = integrate.quad(
        lambda x: density(x) * (1 - measured_in(x)), edge_low, edge_high, epsabs=1e-14
    )[0]
    false_accept = 0.0
    if math.isfinite(high):
        false_accept += integrate.quad(
            lambda x: density(x) * measured_in(x), high, mean + 12 * part_sd, epsabs=1e-14
        )[0]
    if math.isfinite(low):
        false_accept += integrate.quad(
            lambda x: density(x) * measured_in(x), mean - 12 * part_sd, low, epsabs=1e-14
        )[0]
    return false_accept, false_reject


CASES = [
    (0.0, 1.0, 0.3, -2.5, 2.5, 0.0),
    (0.5, 1.0, 0.3, None, 2.5, 0.1),
    (10.0, 0.8, 0.5, 8.0, 13.0, -0.2),
]


def _bivariate_risks(
    mean: float, part_sd: float, gauge_sd: float, lsl: float | None, usl: float | None, bias: float
) -> tuple[float, float]:
    # (X, Y) with Y = X + bias + E: means (μ, μ + bias), Var X = σp², Var Y = σp² + σg²,
    # Cov = σp². P(both in) by inclusion-exclusion of the joint CDF F at the four corners,
    # F(u, u) − F(l, u) − F(u, l) + F(l, l); a missing limit sits 40 σ out.
    far = 40.0 * math.hypot(part_sd, gauge_sd)
    low = mean - far if lsl is None else lsl
    high = mean + far if usl is None else usl
    joint = multivariate_normal(
        mean=[mean, mean + bias],
        cov=[[part_sd**2, part_sd**2], [part_sd**2, part_sd**2 + gauge_sd**2]],
    )

    def cdf(x: float, y: float) -> float:
        return float(joint.cdf([x, y]))

    both_in = cdf(high, high) - cdf(low, high) - cdf(high, low) + cdf(low, low)
    x_in = norm.cdf(high, mean, part_sd) - norm.cdf(low, mean, part_sd)
    measured_sd = math.hypot(part_sd, gauge_sd)
    y_in = norm.cdf(high, mean + bias, measured_sd) - norm.cdf(low, mean + bias, measured_sd)
    return float(y_in - both_in), float(x_in - both_in)


@pytest.mark.parametrize(("mean", "part_sd", "gauge_sd", "lsl", "usl", "bias"), CASES)
def test_risks_match_the_bivariate_normal_formula(
    mean: float, part_sd: float, gauge_sd: float, lsl: float | None, usl: float | None, bias: float
) -> None:
    risks = misclassification(
        mean=mean, part_sd=part_sd, gauge_sd=gauge_sd, lsl=lsl, usl=usl, bias=bias
    )
    false_accept, false_reject = _bivariate_risks(mean, part_sd, gauge_sd, lsl, usl, bias)
    # scipy's CDF is itself a numerical integration (Genz), good to about 1e-6 absolute.
    assert risks.false_accept == pytest.approx(false_accept, abs=2e-6)
    assert risks.false_reject == pytest.approx(false_reject, abs=2e-6)


@pytest.mark.parametrize(("mean", "part_sd", "gauge_sd", "lsl", "usl", "bias"), CASES)
def test_bivariate_risks_match_the_one_dimensional_integral(
    mean: float, part_sd: float, gauge_sd: float, lsl: float | None, usl: float | None, bias: float
) -> None:
    risks = misclassification(
        mean=mean, part_sd=part_sd, gauge_sd=gauge_sd, lsl=lsl, usl=usl, bias=bias
    )
    low = -math.inf if lsl is None else lsl
    high = math.inf if usl is None else usl
    false_accept, false_reject = _integral_risks(mean, part_sd, gauge_sd, low, high, bias)
    assert risks.false_accept == pytest.approx(false_accept, rel=1e-6, abs=1e-12)
    assert risks.false_reject == pytest.approx(false_reject, rel=1e-6, abs=1e-12)
    assert risks.false_accept > 1e-4 and risks.false_reject > 1e-4


@pytest.mark.parametrize(("mean", "part_sd", "gauge_sd", "lsl", "usl", "bias"), CASES)
def test_bivariate_risks_match_simulation(
    mean: float, part_sd: float, gauge_sd: float, lsl: float | None, usl: float | None, bias: float
) -> None:
    items = 2_000_000
    rng = np.random.default_rng(52)
    x = rng.normal(mean, part_sd, items)
    y = x + bias + rng.normal(0.0, gauge_sd, items)
    low = -np.inf if lsl is None else lsl
    high = np.inf if usl is None else usl
    x_in, y_in = (x >= low) & (x <= high), (y >= low) & (y <= high)
    risks = misclassification(
        mean=mean, part_sd=part_sd, gauge_sd=gauge_sd, lsl=lsl, usl=usl, bias=bias
    )
    for simulated, exact in (
        (np.mean(~x_in & y_in), risks.false_accept),
        (np.mean(x_in & ~y_in), risks.false_reject),
    ):
        assert abs(simulated - exact) < 4 * math.sqrt(exact * (1 - exact) / items)


def test_a_perfect_gauge_misclassifies_nothing() -> None:
    risks = misclassification(mean=0.0, part_sd=1.0, gauge_sd=1e-9, lsl=-2.0, usl=2.0)
    assert risks.false_accept < 1e-7 and risks.false_reject < 1e-7
    assert risks.conforming == pytest.approx(norm.cdf(2) - norm.cdf(-2))


def test_bad_input_is_refused_with_every_problem() -> None:
    with pytest.raises(RuleError) as caught:
        misclassification(mean=math.nan, part_sd=0.0, gauge_sd=-1.0, lsl=3.0, usl=1.0)
    assert len(caught.value.problems) == 4
    with pytest.raises(RuleError, match="each ≥ 2"):
        gauge_study(np.zeros((5, 1, 2)))
    with pytest.raises(RuleError, match="no variation"):
        gauge_study(np.ones((3, 2, 2)))
