"""Western Electric and Nelson rules on hand-built series (centre 0, σ 1 unless stated), and
the Western Electric rules' run lengths: a Markov chain written out here against Champ &
Woodall's published ARL, and the streaming monitor's simulated run lengths against the chain.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from shocktwin.errors import RuleError
from shocktwin.rules_engine.monitor import InControl, IndividualsMonitor, RunRules
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


# --- in-control and shifted ARLs of the Western Electric rules -------------------------------

# Zones of a standardised point on one side: 3 = beyond 2σ (zone A), 2 = beyond 1σ (zone B),
# 1 = within 1σ (zone C); the sign is the side. Beyond 3σ is rule 1's signal and has no zone.
_ZONE_EDGES = {3: (2.0, 3.0), 2: (1.0, 2.0), 1: (0.0, 1.0)}
ALL_WE = frozenset(WesternElectricRule)


def western_electric_arl_by_markov_chain(
    shift: float, rules: frozenset[WesternElectricRule] = ALL_WE
) -> float:
    """Zero-state ARL of an individuals chart (3σ limits, always with rule 1) plus the other
    Western Electric ``rules``, by the Markov-chain method of Champ & Woodall (1987),
    Technometrics 29(4): the state is the zones of the last four points (0 before the
    first) and the length, capped at 7, of the current run on one side. A transition that
    completes a rule's pattern is absorbed; ARL = first entry of (I − Q)⁻¹·1."""
    probability = {}
    for zone, (low, high) in _ZONE_EDGES.items():
        probability[zone] = norm.cdf(high - shift) - norm.cdf(low - shift)
        probability[-zone] = norm.cdf(-low - shift) - norm.cdf(-high - shift)
    start: tuple[tuple[int, ...], int] = ((0, 0, 0, 0), 0)
    index = {start: 0}
    states = [start]
    moves: list[list[tuple[int, float]]] = []
    while len(moves) < len(states):
        last, run = states[len(moves)]
        out: list[tuple[int, float]] = []
        for zone, p in probability.items():
            side = 1 if zone > 0 else -1
            beyond_2 = [z * side == 3 for z in last]
            beyond_1 = [z * side >= 2 for z in last]
            if WesternElectricRule.TWO_OF_THREE_BEYOND_2_SIGMA in rules and (
                abs(zone) == 3 and sum(beyond_2[-2:]) >= 1
            ):
                continue
            if WesternElectricRule.FOUR_OF_FIVE_BEYOND_1_SIGMA in rules and (
                abs(zone) >= 2 and sum(beyond_1) >= 3
            ):
                continue
            new_run = run + 1 if run and (last[-1] > 0) == (zone > 0) else 1
            if WesternElectricRule.EIGHT_SAME_SIDE in rules and new_run >= 8:
                continue
            state = ((*last[1:], zone), min(new_run, 7))
            if state not in index:
                index[state] = len(states)
                states.append(state)
            out.append((index[state], p))
        moves.append(out)
    q = np.zeros((len(states), len(states)))
    for row, out in enumerate(moves):
        for column, p in out:
            q[row, column] += p
    return float(np.linalg.solve(np.eye(len(states)) - q, np.ones(len(states)))[0])


def test_markov_chain_reproduces_the_published_western_electric_arls() -> None:
    # Rule 1 alone: 1/(2Φ(−3)) = 370.4 (Montgomery, Introduction to SQC, §6.2). All four
    # rules: 91.75, Champ & Woodall (1987), Technometrics 29(4), 393-399, the figure the
    # Western Electric rules are usually quoted with (table number not checked here).
    rule_1 = frozenset({WesternElectricRule.ONE_BEYOND_3_SIGMA})
    assert western_electric_arl_by_markov_chain(0.0, rule_1) == pytest.approx(370.4, abs=0.05)
    assert western_electric_arl_by_markov_chain(0.0) == pytest.approx(91.75, abs=0.005)


def _run_lengths(
    shift: float, rules: frozenset[WesternElectricRule], runs: int, block: int, seed: int
) -> np.ndarray:
    # Through the streaming monitor with known in-control parameters; a rule subset is the
    # first signal among those rules (the monitor reports every rule that fires).
    rng = np.random.default_rng(seed)
    lengths = np.empty(runs)
    for run in range(runs):
        monitor = IndividualsMonitor(InControl(0.0, 1.0), RunRules.WESTERN_ELECTRIC)
        first = None
        while first is None:
            first = monitor.update(rng.standard_normal(block) + shift).first_signal(rules)
        lengths[run] = first + 1
    return lengths


WE_CASES = [
    # (rules besides rule 1, shift, runs, block)
    ((), 0.0, 1500, 512),
    ((WesternElectricRule.TWO_OF_THREE_BEYOND_2_SIGMA,), 0.0, 2000, 512),
    ((WesternElectricRule.EIGHT_SAME_SIDE,), 0.0, 2000, 256),
    (tuple(WesternElectricRule)[1:], 0.0, 3000, 256),
    (tuple(WesternElectricRule)[1:], 1.0, 3000, 32),
]


@pytest.mark.parametrize(("extra", "shift", "runs", "block"), WE_CASES)
def test_monitor_run_lengths_match_the_markov_chain(
    extra: tuple[WesternElectricRule, ...], shift: float, runs: int, block: int
) -> None:
    rules = frozenset({WesternElectricRule.ONE_BEYOND_3_SIGMA, *extra})
    expected = western_electric_arl_by_markov_chain(shift, rules)
    lengths = _run_lengths(shift, rules, runs, block, seed=60 + len(extra))
    band = 4.0 * lengths.std(ddof=1) / np.sqrt(runs)
    assert band < 0.1 * expected, "too few runs for the check to mean anything"
    assert abs(lengths.mean() - expected) < band, (lengths.mean(), expected, band)
