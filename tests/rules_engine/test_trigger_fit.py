"""Triggers the twin cannot evaluate are refused when rules load (and by lint, the same
check): conditions that fail on values the statistics can take, and triggers the twin never
evaluates. Each refusal is checked against what the evaluator and the running twin do."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shocktwin.rules_engine.expression import EvaluationError, compile_expression
from shocktwin.rules_engine.fit import condition_failures, twin_problems
from shocktwin.rules_engine.ruleset import STATISTICS, parse_rules
from shocktwin.rules_engine.runtime import MEASURED
from shocktwin.scenarios import load_scenario
from shocktwin.twin.experiment.replication import run_replication
from shocktwin.twin.model.events import TriggerFired

# Conditions that fail for some values the statistics can take, with such values.
FAILING = [
    ("lot.defect_rate / lot.rejected_in_last_5 > 0.5", {"lot.rejected_in_last_5": 0.0}),
    ("supplier.ppm % station.queue > 1", {"station.queue": 0.0}),
    ("supplier.ppm // lot.accepted_in_a_row > 1", {"lot.accepted_in_a_row": 0.0}),
    ("lot.accepted_in_a_row < 5 and 1 / lot.accepted_in_a_row > 1",
     {"lot.accepted_in_a_row": 0.0}),
    ("lot.accepted_in_a_row > 0 or 1 / lot.accepted_in_a_row > 0.1",
     {"lot.accepted_in_a_row": 0.0}),
    ("supplier.ppm / abs(supplier.cpk) > 1", {"supplier.cpk": 0.0}),
    ("2 ** lot.accepted_in_a_row > 3", {"lot.accepted_in_a_row": 65.0}),
    ("supplier.cpk ** 0.5 < 1", {"supplier.cpk": -0.5}),
    ("lot.accepted_in_a_row ** -1 > 0.3", {"lot.accepted_in_a_row": 0.0}),
    ("1 / 0 > 1", {}),
]

# Conditions the twin can always evaluate: guarded or bounded away from the failure.
SAFE = [
    "supplier.cpk < 1.33 and supplier.otd < 0.92",
    "lot.rejected_in_last_5 > 0 and lot.defect_rate / lot.rejected_in_last_5 > 0.5",
    "lot.rejected_in_last_5 == 0 or lot.defect_rate / lot.rejected_in_last_5 > 0.5",
    "not lot.accepted_in_a_row <= 0 and 1 / lot.accepted_in_a_row > 0.1",
    "lot.accepted_in_a_row != 0 and 1 / lot.accepted_in_a_row > 0.1",
    "0 < lot.accepted_in_a_row < 5 and 1 / lot.accepted_in_a_row > 0.3",
    "(supplier.ppm / lot.accepted_in_a_row if lot.accepted_in_a_row > 0 else 0) > 5",
    "supplier.ppm / max(1, lot.accepted_in_a_row) > 3",
    "supplier.ppm / (lot.accepted_in_a_row + 1) > 3",
    "supplier.ppm / clamp(lot.accepted_in_a_row, 1, 10) > 1",
    "abs(supplier.cpk) > 0 and supplier.ppm / abs(supplier.cpk) > 1",
    "supplier.ppm / 1e6 > 0.01",
    "supplier.cpk ** 2 < 1",
    "lot.rejected_in_last_10 ** 0.5 > 1",
]


def values(**changes: float) -> dict[str, float]:
    out = {name: 1.0 for name in MEASURED}
    out.update(changes)
    return out


@pytest.mark.parametrize(("text", "witness"), FAILING, ids=[t for t, _ in FAILING])
def test_a_condition_that_can_fail_is_refused(text: str, witness: dict[str, float]) -> None:
    assert condition_failures(text), text
    # The refusal is real: the evaluator the twin runs fails on those values.
    with pytest.raises(EvaluationError):
        compile_expression(text, STATISTICS).evaluate(values(**witness))


@pytest.mark.parametrize("text", SAFE)
def test_a_guarded_condition_is_accepted(text: str) -> None:
    assert condition_failures(text) == []


def _statistic_value(name: str) -> st.SearchStrategy[float]:
    s = STATISTICS[name]
    low = -1e3 if s.low == float("-inf") else s.low
    high = 1e6 if s.high == float("inf") else s.high
    edges = sorted(x for x in {low, high, 0.0, 1.0} if low <= x <= high)
    whole = st.sampled_from(edges) | st.integers(int(low), int(high)).map(float)
    if s.unit in _COUNTS:  # lots, units, signals: the twin counts them, never 1e-311 of one
        return whole
    # Shares, rates and capability indices are ratios of counts and of measured spreads in
    # double precision: a nonzero one is never within 1e-12 of zero (that would need a mean
    # 1e-12 σ from a limit), where dividing by it overflows every float.
    return whole | st.floats(low, high, allow_nan=False).filter(
        lambda x: x == 0.0 or abs(x) >= 1e-12)


#: Units of statistics that are counts, which take whole values only.
_COUNTS = frozenset({"lots", "units", "signals"})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAFE), st.fixed_dictionaries({n: _statistic_value(n) for n in MEASURED}))
def test_accepted_conditions_evaluate_on_every_value_in_range(text: str,
                                                              stats: dict[str, float]) -> None:
    compile_expression(text, STATISTICS).evaluate(stats)


BASE_RULES: dict[str, Any] = {
    "version": 1, "name": "fit-test",
    "plans": [{"material": "valve", "station": "iqc-in",
               "sampling": {"method": "single", "level": "II", "aql": 1.0}}],
    "triggers": [{"id": "t", "material": "valve", "when": "supplier.ppm >= 0",
                  "then": [{"type": "inspect_full", "material": "valve", "lots": 1}]}],
}


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(".".join(map(str, loc)), message)
            for loc, message in twin_problems(parse_rules(data))]


def test_a_trigger_for_a_material_without_a_plan_is_refused() -> None:
    data = copy.deepcopy(BASE_RULES)
    data["triggers"][0]["material"] = "bolt"
    assert [loc for loc, _ in problems(data)] == ["triggers.0.material"]


def test_a_trigger_for_every_material_is_accepted_whether_sampled_or_in_full() -> None:
    data = copy.deepcopy(BASE_RULES)
    data["plans"].append({"material": "seal", "sampling": "full"})
    del data["triggers"][0]["material"]
    assert problems(data) == []  # evaluated after every lot decision of either
    data["plans"][0]["sampling"] = "full"
    assert problems(data) == []


def test_a_trigger_on_a_sampled_plan_is_accepted() -> None:
    assert problems(BASE_RULES) == []


# The running twin: a trigger whose condition always holds fires on a sampled plan and on
# a plan that inspects every lot in full.

SCENARIO = """
version: 1
name: fit-run
horizon: 10d
plant:
  suppliers:
    - {id: valve-jp, material: valve, lead_time: 1d, lot_size: 500, defect_rate: 0.01}
  buffers:
    - {id: valve-stock, material: valve, initial: 600, reorder_point: 400}
  stations:
    - {id: iqc-in, kind: inspection, role: incoming, inspectors: 1, time_per_unit: 10s}
    - {id: assembly, process_time: 3min}
    - {id: release, kind: release, sla: 4h}
  routing: [assembly, release]
  demand: {rate: 10/h, due_in: 2d}
rules: rules.yaml
"""


def write(tmp_path: Path, rules: dict[str, Any]) -> Path:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO)
    return path


def fired(scenario: Any) -> int:
    rep = run_replication(scenario, 0, seed=3)
    return sum(isinstance(e, TriggerFired) for e in rep.log)


def test_the_twin_evaluates_triggers_on_a_full_plan_too(tmp_path: Path) -> None:
    # Every lot decided, sampled or inspected in full, updates the statistics and
    # evaluates the triggers.
    sampled = load_scenario(write(tmp_path, BASE_RULES))
    assert fired(sampled) >= 1
    full = copy.deepcopy(BASE_RULES)
    full["plans"][0]["sampling"] = "full"
    assert fired(load_scenario(write(tmp_path, full))) >= 1
