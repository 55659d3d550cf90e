"""Western Electric and Nelson rules on hand-built series (centre 0, σ 1 unless stated)."""

from __future__ import annotations

import numpy as np
import pytest

from shocktwin.errors import RuleError
from shocktwin.rules_engine.spc import (
    NelsonRule,
    WesternElectricRule,
    nelson_rules,
    p_chart,
    western_electric_rules,
)

# For each Nelson rule: a series that must trigger it (with the indices that complete the
# pattern) and a near miss that must not.
NELSON_CASES = [
    (
        NelsonRule.ONE_BEYOND_3_SIGMA,
        [0.0, 0.5, 3.5, 0.0, -3.2],
        (2, 4),
        [0.0, 2.9, -2.9, 3.0, -3.0],  # on the limit is not beyond it
    ),
    (
        NelsonRule.NINE_SAME_SIDE,
        [-0.5] + [0.4] * 10,
        (9, 10),
        [0.4] * 8 + [-0.4] + [0.4] * 8,
    ),
    (
        NelsonRule.NINE_SAME_SIDE,
        [-0.3] * 9,
        (8,),
        [-0.3] * 4 + [0.0] + [-0.3] * 4,  # a point on the centre line breaks the run
    ),
    (
        NelsonRule.SIX_TRENDING,
        [0.5, -1.0, -0.8, -0.5, -0.1, 0.3, 0.9],
        (6,),
        [-1.0, -0.8, -0.5, -0.5, 0.3, 0.9],  # a tie breaks the trend
    ),
    (
        NelsonRule.SIX_TRENDING,
        [1.0, 0.8, 0.5, 0.1, -0.3, -0.9],
        (5,),
        [1.0, 0.8, 0.5, 0.1, -0.3],  # five points are not six
    ),
    (
        NelsonRule.FOURTEEN_ALTERNATING,
        [0.2, -0.2] * 7,
        (13,),
        [0.2, -0.2] * 6 + [0.2],  # thirteen points
    ),
    (
        NelsonRule.FOURTEEN_ALTERNATING,
        [0.2, -0.2] * 8,
        (13, 14, 15),
        [0.2, -0.2] * 3 + [-0.3] + [-0.2, 0.2] * 4,  # two falls in a row break it
    ),
    (
        NelsonRule.TWO_OF_THREE_BEYOND_2_SIGMA,
        [0.0, 2.5, 0.0, 2.5, 0.0, -2.1, -2.2],
        (3, 6),
        [2.5, 0.0, 0.0, 2.5, 0.0, -2.5, 2.5],  # four apart, or on opposite sides
    ),
    (
        NelsonRule.FOUR_OF_FIVE_BEYOND_1_SIGMA,
        [1.5, 1.5, 0.0, 1.5, 1.5],
        (4,),
        [1.5, 1.5, 0.0, 0.0, 1.5, 1.5, -1.5],  # never four within five on one side
    ),
    (
        NelsonRule.FIFTEEN_WITHIN_1_SIGMA,
        [2.0] + [0.1, 0.6, -0.4, -0.9, 0.3] * 3,
        (15,),
        [0.1, 0.6, -0.4, -0.9, 0.3] * 2 + [0.1, 0.6, 1.2, -0.9, 0.3, 0.2],
    ),
    (
        NelsonRule.EIGHT_OUTSIDE_1_SIGMA,
        [1.5, 1.2, -1.5, -2.5, 1.1, 1.8, -1.3, -1.6],
        (7,),
        [1.5, 1.2, 1.5, 2.5, 1.1, 1.8, 1.3, 1.6],  # all on one side
    ),
    (
        NelsonRule.EIGHT_OUTSIDE_1_SIGMA,
        [1.5, -1.5] * 5,
        (7, 8, 9),
        [1.5, -1.5, 1.5, -1.5, 0.5, 1.5, -1.5, 1.5, -1.5],  # one point within 1σ
    ),
]


@pytest.mark.parametrize(
    ("rule", "firing", "indices", "quiet"),
    NELSON_CASES,
    ids=[f"{case[0].value}-{i}" for i, case in enumerate(NELSON_CASES)],
)
def test_nelson_rule_fires_on_its_pattern_only(
    rule: NelsonRule, firing: list[float], indices: tuple[int, ...], quiet: list[float]
) -> None:
    assert nelson_rules(firing, 0.0, 1.0).get(rule) == indices
    assert rule not in nelson_rules(quiet, 0.0, 1.0)


def test_every_nelson_rule_has_a_case() -> None:
    assert {case[0] for case in NELSON_CASES} == set(NelsonRule)


WESTERN_ELECTRIC_CASES = [
    (WesternElectricRule.ONE_BEYOND_3_SIGMA, [0.0, -3.1], (1,), [3.0, -3.0]),
    (
        WesternElectricRule.TWO_OF_THREE_BEYOND_2_SIGMA,
        [2.1, 2.2],
        (1,),
        [2.1, -2.2, 0.0, 2.1],
    ),
    (
        WesternElectricRule.FOUR_OF_FIVE_BEYOND_1_SIGMA,
        [-1.2, -1.1, -0.2, -1.3, -1.4],
        (4,),
        [-1.2, -1.1, 1.2, -1.3, 0.0, -1.4],
    ),
    (WesternElectricRule.EIGHT_SAME_SIDE, [0.3] * 8, (7,), [0.3] * 7 + [-0.3] + [0.3] * 7),
]


@pytest.mark.parametrize(("rule", "firing", "indices", "quiet"), WESTERN_ELECTRIC_CASES)
def test_western_electric_rule_fires_on_its_pattern_only(
    rule: WesternElectricRule, firing: list[float], indices: tuple[int, ...], quiet: list[float]
) -> None:
    assert western_electric_rules(firing, 0.0, 1.0).get(rule) == indices
    assert rule not in western_electric_rules(quiet, 0.0, 1.0)


def test_a_cluster_is_reported_at_its_last_point_beyond_the_zone() -> None:
    # Points 1 and 2 complete "2 of 3 beyond 2σ" at 2; point 3 is ordinary and is not flagged
    # although its window still holds the two; point 4 on the other side starts afresh.
    fired = western_electric_rules([0.0, 2.5, 2.5, 0.0, -2.5], 0.0, 1.0)
    assert fired[WesternElectricRule.TWO_OF_THREE_BEYOND_2_SIGMA] == (2,)


def test_rules_scale_with_centre_and_sigma() -> None:
    # 10 ± 2: 17 is beyond 3σ, 15 and 14.5 are two of three beyond 2σ.
    fired = western_electric_rules([10.0, 15.0, 14.5, 17.0], 10.0, 2.0)
    assert fired[WesternElectricRule.ONE_BEYOND_3_SIGMA] == (3,)
    assert fired[WesternElectricRule.TWO_OF_THREE_BEYOND_2_SIGMA] == (2, 3)


def test_a_quiet_series_fires_nothing() -> None:
    series = [0.3, -0.5, 1.2, -0.8, 0.1, -1.1, 0.7, 0.7, -0.2, 2.1, -0.4]
    assert western_electric_rules(series, 0.0, 1.0) == {}
    assert nelson_rules(series, 0.0, 1.0) == {}


def test_per_point_sigma_from_a_p_chart() -> None:
    # The same fraction 0.16 is beyond 3σ for n = 400 (σ 0.015) but not for n = 100 (σ 0.03).
    chart = p_chart([16, 64], [100, 400], p_standard=0.1)
    assert chart.nelson().get(NelsonRule.ONE_BEYOND_3_SIGMA) == (1,)


def test_bad_sigma_and_points_are_refused() -> None:
    with pytest.raises(RuleError, match="sigma"):
        nelson_rules([0.0, 1.0], 0.0, 0.0)
    with pytest.raises(RuleError, match="not finite"):
        western_electric_rules([0.0, np.nan], 0.0, 1.0)
