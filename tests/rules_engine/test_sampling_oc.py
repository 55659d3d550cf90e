"""OC curves of single sampling plans: a published value and the invariants of any OC curve."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shocktwin.errors import RuleError
from shocktwin.rules_engine.sampling import (
    AQL_SERIES,
    CODE_LETTERS,
    InspectionLevel,
    Measure,
    SamplingPlan,
    Severity,
    oc_curve,
    plan_table,
    single_sampling_plan,
)


def _plan(severity: Severity, letter: str, aql: str) -> SamplingPlan:
    cell = plan_table(severity)[(letter, aql)]
    return SamplingPlan(
        code_letter=letter,
        n=cell.n,
        ac=cell.ac,
        re=cell.re,
        full_inspection=False,
        severity=severity,
        level=InspectionLevel.II,
        aql=aql,
        lot_size=1_000_000,
    )


plans = st.builds(
    _plan,
    st.sampled_from(list(Severity)),
    st.sampled_from(CODE_LETTERS),
    st.sampled_from(AQL_SERIES),
)


def test_n80_ac2_accepts_one_percent_defective_lots_with_pa_0_9534() -> None:
    plan = single_sampling_plan(1000, "II", "1.0")  # J: n 80, Ac 2
    assert (plan.n, plan.ac) == (80, 2)
    assert float(oc_curve(plan, 0.01)) == pytest.approx(0.9534, abs=5e-5)


def test_oc_curve_keeps_the_shape_of_its_input() -> None:
    plan = single_sampling_plan(1000, "II", "1.0")
    assert oc_curve(plan, [[0.0, 0.01], [0.02, 0.05]]).shape == (2, 2)
    assert oc_curve(plan, 0.01).shape == ()


def test_nonconformities_use_poisson_with_mean_n_times_rate() -> None:
    plan = single_sampling_plan(1000, "II", "25")  # n 50, Ac 21: above AQL 10
    assert plan.measure is Measure.NONCONFORMITIES_PER_100_UNITS
    # Poisson(λ = 50 × 0.25 = 12.5) accepts 21 or fewer, summed by hand below.
    terms = [np.exp(-12.5)]
    for k in range(1, 22):
        terms.append(terms[-1] * 12.5 / k)
    assert float(oc_curve(plan, 0.25)) == pytest.approx(sum(terms), rel=1e-12)


def test_reduced_plan_accepts_counts_between_ac_and_re() -> None:
    plan = single_sampling_plan(1000, "II", "1.0", Severity.REDUCED)  # n 32, Ac 1, Re 3
    p = 0.02
    accepted_up_to_two = sum(math.comb(32, k) * p**k * (1 - p) ** (32 - k) for k in range(3))
    assert float(oc_curve(plan, p)) == pytest.approx(accepted_up_to_two, rel=1e-12)


@given(plans)
def test_pa_is_one_for_perfect_lots(plan: SamplingPlan) -> None:
    assert float(oc_curve(plan, 0.0)) == pytest.approx(1.0)


@given(plans, st.lists(st.floats(0.0, 1.0), min_size=2, max_size=20))
def test_pa_never_rises_with_the_defect_rate(plan: SamplingPlan, rates: list[float]) -> None:
    ordered = np.sort(np.asarray(rates))
    if plan.measure is Measure.NONCONFORMITIES_PER_100_UNITS:
        ordered = ordered * 20.0  # nonconformities per unit are not bounded by 1
    pa = oc_curve(plan, ordered)
    assert np.all((pa >= 0.0) & (pa <= 1.0))
    assert np.all(np.diff(pa) <= 1e-12)


@pytest.mark.parametrize("rates", [[-0.1, 0.2], [0.5, 1.5], [float("nan")]])
def test_rates_outside_their_range_are_refused(rates: list[float]) -> None:
    plan = single_sampling_plan(1000, "II", "1.0")
    with pytest.raises(RuleError, match="defect_rates"):
        oc_curve(plan, rates)


def test_percent_nonconforming_above_aql_10_is_refused_with_every_problem() -> None:
    plan = single_sampling_plan(1000, "II", "25")
    with pytest.raises(RuleError) as caught:
        oc_curve(plan, [2.0], Measure.PERCENT_NONCONFORMING)
    assert [p.path for p in caught.value.problems] == ["measure", "defect_rates"]
