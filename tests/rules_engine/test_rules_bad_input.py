"""Bad input to the quality-engineering library: RuleError naming every problem at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shocktwin.errors import RuleError
from shocktwin.rules_engine.capability import cp, cpk, process_capability
from shocktwin.rules_engine.sampling import (
    code_letter,
    normalise_aql,
    plan_table,
    single_sampling_plan,
)
from shocktwin.rules_engine.spc import chart_constants, xbar_r_limits

# (call, the path and a message fragment of each problem, in order)
BAD_CALLS: list[tuple[str, Callable[[], object], list[tuple[str, str]]]] = [
    (
        "plan-everything-wrong",
        lambda: single_sampling_plan(1, "IV", 0.3, "lenient"),
        [
            ("lot_size", "at least 2"),
            ("level", "unknown inspection level 'IV'"),
            ("aql", "unknown AQL 0.3"),
            ("severity", "unknown severity 'lenient'"),
        ],
    ),
    ("plan-unknown-aql", lambda: single_sampling_plan(1000, "II", "0.3"), [("aql", "0.3")]),
    ("plan-aql-not-a-number", lambda: single_sampling_plan(1000, "II", "one"), [("aql", "one")]),
    (
        "plan-lot-not-whole",
        lambda: single_sampling_plan(99.5, "II", 1.0),  # type: ignore[arg-type]
        [("lot_size", "whole number")],
    ),
    (
        "letter-lot-and-level",
        lambda: code_letter(1, "S-5"),
        [("lot_size", "at least 2"), ("level", "S-5")],
    ),
    ("letter-bool-lot", lambda: code_letter(True, "II"), [("lot_size", "whole number")]),  # type: ignore[arg-type]
    ("aql-label", lambda: normalise_aql(2.0), [("aql", "unknown AQL 2.0")]),
    ("table-severity", lambda: plan_table("strict"), [("severity", "strict")]),
    (
        "cpk-everything-wrong",
        lambda: cpk(float("nan"), -1.0, lsl=12.0, usl=8.5),
        [("mean", "finite"), ("sigma", "> 0"), ("spec", "LSL 12 must be below USL 8.5")],
    ),
    ("cpk-equal-limits", lambda: cpk(10.0, 1.0, lsl=9.0, usl=9.0), [("spec", "below USL")]),
    ("cpk-no-limits", lambda: cpk(10.0, 1.0), [("spec", "at least one of LSL and USL")]),
    ("cp-bad-limit", lambda: cp(1.0, lsl=float("inf"), usl=3.0), [("lsl", "finite")]),
    (
        "capability-spec-and-data",
        lambda: process_capability([1.0], lsl=12.0, usl=8.5),
        [("spec", "below USL"), ("values", "at least 2")],
    ),
    ("constants-size", lambda: chart_constants(11), [("subgroup_size", "2..10")]),
    (
        "limits-everything-wrong",
        lambda: xbar_r_limits(float("nan"), -0.1, 1),
        [("grand_mean", "finite"), ("mean_range", "≥ 0"), ("subgroup_size", "2..10")],
    ),
]


@pytest.mark.parametrize(
    ("call", "expected"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_bad_input_lists_every_problem(
    call: Callable[[], object], expected: list[tuple[str, str]]
) -> None:
    with pytest.raises(RuleError) as caught:
        call()
    problems = caught.value.problems
    assert [p.path for p in problems] == [path for path, _ in expected]
    for problem, (_, fragment) in zip(problems, expected, strict=True):
        assert fragment in problem.message
