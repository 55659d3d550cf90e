"""Streaming monitors: published limits, split-anywhere invariance, and simulated run
lengths against the exact and published ARLs.

Simulated ARLs use a fixed seed and N independent runs; they must fall within 4 standard
errors (sample σ of the run lengths / √N) of the exact value, and that band is asserted to
be narrower than 10 % of the ARL so the check has teeth.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shocktwin.errors import RuleError
from shocktwin.rules_engine.arl import cusum_arl, ewma_arl, shewhart_arl
from shocktwin.rules_engine.monitor import (
    CMonitor,
    CusumMonitor,
    EwmaMonitor,
    InControl,
    IndividualsMonitor,
    LimitSignal,
    Monitor,
    MonitorUpdate,
    NpMonitor,
    PMonitor,
    RunRules,
    Signal,
    UMonitor,
    XbarRMonitor,
    XbarSMonitor,
    c4,
)
from shocktwin.rules_engine.spc import NelsonRule, WesternElectricRule, chart_constants

# --- limits against the textbook -------------------------------------------------------------


def test_c4_and_s_chart_factors_match_montgomery_appendix() -> None:
    # Montgomery, Introduction to SQC, Appendix Table VI: c4(5) = 0.9400, c4(10) = 0.9727;
    # B4(5) = 2.089, B3(6) = 0.030, B3(10) = 0.284, B4(10) = 1.716 (B = 1 ∓ 3√(1 − c4²)/c4).
    assert c4(5) == pytest.approx(0.9400, abs=5e-5)
    assert c4(10) == pytest.approx(0.9727, abs=5e-5)

    def b(n: int, sign: float) -> float:
        return 1 + sign * 3 * math.sqrt(1 - c4(n) ** 2) / c4(n)

    assert b(5, +1) == pytest.approx(2.089, abs=5e-4)
    assert b(6, -1) == pytest.approx(0.030, abs=5e-4)
    assert b(10, -1) == pytest.approx(0.284, abs=5e-4)
    assert b(10, +1) == pytest.approx(1.716, abs=5e-4)


def test_range_limits_agree_with_the_published_d3_d4() -> None:
    # σ = 1: R limits (d2 ∓ 3d3) must be D3·d2 and D4·d2 of the published table.
    for n in range(2, 11):
        monitor = XbarRMonitor(InControl(0.0, 1.0), n)
        r_lcl, r_ucl = monitor._spread(np.zeros((1, n)))[1:]
        c = chart_constants(n)
        assert r_ucl == pytest.approx(c.D4 * c.d2, abs=2e-3 * c.d2), n
        assert r_lcl == pytest.approx(c.D3 * c.d2, abs=2e-3 * c.d2), n


def test_xbar_r_warmup_gives_the_hand_computed_limits() -> None:
    # Means 2, 3, 4; R̄ = 2; σ̂ = 2/1.693; X̄ limits 3 ± 3σ̂/√3 = 3 ± A2·R̄ (A2 = 1.023).
    monitor = XbarRMonitor.from_warmup([[1, 2, 3], [2, 3, 4], [3, 4, 5]])
    update = monitor.update([[3, 3, 3]])
    assert update.ucl[0] == pytest.approx(3 + 1.023 * 2, abs=1e-3)
    assert update.lcl[0] == pytest.approx(3 - 1.023 * 2, abs=1e-3)


def test_p_monitor_limits_match_montgomery_orange_juice_cans() -> None:
    # Montgomery, Example 7.1: p̄ = 0.2313, n = 50; limits 0.0524 and 0.4102.
    update = PMonitor(InControl(0.2313)).update([12], 50)
    assert update.lcl[0] == pytest.approx(0.0524, abs=5e-5)
    assert update.ucl[0] == pytest.approx(0.4102, abs=5e-5)


def test_np_monitor_limits_are_n_times_the_p_limits() -> None:
    update = NpMonitor(InControl(0.2313), 50).update([12])
    assert update.lcl[0] == pytest.approx(50 * 0.0524, abs=5e-3)
    assert update.ucl[0] == pytest.approx(50 * 0.4102, abs=5e-3)


def test_c_monitor_limits_match_montgomery_circuit_boards() -> None:
    # Montgomery, Example 7.3: 516 nonconformities in 26 boards, c̄ = 19.85, limits 6.48 and
    # 33.22, computed from c̄ as printed (as in the example).
    warm = CMonitor.from_warmup([20] * 22 + [19] * 4)  # 516 in 26 units
    assert warm.c == pytest.approx(516 / 26)
    update = CMonitor(InControl(19.85)).update([39, 20])
    assert update.lcl[0] == pytest.approx(6.48, abs=5e-3)
    assert update.ucl[0] == pytest.approx(33.22, abs=5e-3)
    assert update.signals == {LimitSignal.OUT_OF_LIMITS: (0,)}


def test_u_monitor_limits_match_montgomery_personal_computers() -> None:
    # Montgomery, Example 7.4: ū = 1.93 nonconformities per computer, n = 5; limits 0.07, 3.79.
    update = UMonitor(InControl(1.93)).update([10, 30], [5, 5])
    assert update.lcl[0] == pytest.approx(0.07, abs=5e-3)
    assert update.ucl[0] == pytest.approx(3.79, abs=5e-3)
    assert update.first_signal() == 1


def test_s_monitor_warmup_uses_mean_s_over_c4() -> None:
    data = np.array([[1.0, 2.0, 4.0, 5.0], [2.0, 2.0, 3.0, 5.0]])
    monitor = XbarSMonitor.from_warmup(data)
    s_bar = data.std(axis=1, ddof=1).mean()
    assert monitor.sigma == pytest.approx(s_bar / c4(4))
    assert monitor.mean == pytest.approx(data.mean())


def test_ewma_limits_widen_to_their_asymptote() -> None:
    monitor = EwmaMonitor(InControl(10.0, 2.0), lam=0.2, L=3.0)
    update = monitor.update(np.full(200, 10.0))
    # First point: Lσ√(λ/(2 − λ)·(1 − 0.8²)) = 3·2·λ = 1.2; asymptote 3·2·√(0.2/1.8) = 2.
    assert update.ucl[0] - 10.0 == pytest.approx(1.2)
    assert update.ucl[-1] - 10.0 == pytest.approx(2.0)


def test_cusum_sums_by_hand() -> None:
    # μ = 10, σ = 1, k = 0.5, h = 4: x = 11, 12, 9, 13 → C⁺ = 0.5, 2.0, 0.5, 3.0;
    # C⁻ = 0, 0, 0.5, 0. Montgomery's tabular CUSUM recursion.
    monitor = CusumMonitor(InControl(10.0, 1.0), k=0.5, h=4.0)
    update = monitor.update([11, 12, 9, 13])
    np.testing.assert_allclose(update.statistic, [0.5, 2.0, 0.5, 3.0])
    assert update.companion is not None
    np.testing.assert_allclose(update.companion, [0, 0, 0.5, 0])
    assert monitor.update([12]).signals == {LimitSignal.CUSUM_UPPER: (4,)}


def test_a_run_rule_pattern_straddling_two_blocks_fires_once_at_its_end() -> None:
    monitor = IndividualsMonitor(InControl(0.0, 1.0), RunRules.WESTERN_ELECTRIC)
    assert monitor.update([0.3] * 5).signals == {}
    later = monitor.update([0.3] * 4)
    assert later.signals == {WesternElectricRule.EIGHT_SAME_SIDE: (7, 8)}


def test_restart_forgets_the_carried_state() -> None:
    monitor = CusumMonitor(InControl(0.0, 1.0))
    monitor.update([3.0, 3.0])
    monitor.restart()
    assert monitor.update([0.5]).statistic[0] == pytest.approx(0.0)
    assert monitor.points_seen == 3


def test_bad_blocks_and_parameters_are_refused() -> None:
    with pytest.raises(RuleError, match="hold 5 values"):
        XbarRMonitor(InControl(0.0, 1.0), 5).update([[1.0, 2.0]])
    with pytest.raises(RuleError, match="not finite"):
        IndividualsMonitor(InControl(0.0, 1.0)).update([1.0, math.nan])
    with pytest.raises(RuleError) as caught:
        CusumMonitor(InControl(0.0, 1.0), k=-1.0, h=0.0)
    assert len(caught.value.problems) == 2
    with pytest.raises(RuleError, match="whole numbers"):
        PMonitor(InControl(0.1)).update([1.5], 10)
    with pytest.raises(RuleError, match=r"\(0, 1\)"):
        PMonitor.from_warmup([0, 0, 0], 50)
    with pytest.raises(RuleError, match="no spread"):
        IndividualsMonitor.from_warmup([2.0, 2.0, 2.0])
    with pytest.raises(RuleError, match=r"in_control\.sigma"):
        EwmaMonitor(InControl(0.0, None), lam=0.1, L=3.0)


# --- split anywhere, same signals ------------------------------------------------------------

BASE = InControl(0.0, 1.0)
MAKERS: dict[str, Callable[[], Monitor]] = {
    "xbar_r": lambda: XbarRMonitor(BASE, 4, RunRules.NELSON),
    "xbar_s": lambda: XbarSMonitor(BASE, 4, RunRules.WESTERN_ELECTRIC),
    "individuals": lambda: IndividualsMonitor(BASE, RunRules.NELSON),
    "ewma": lambda: EwmaMonitor(BASE, lam=0.25, L=2.0),
    "cusum": lambda: CusumMonitor(BASE, k=0.5, h=2.0),
    "p": lambda: PMonitor(InControl(0.15), RunRules.WESTERN_ELECTRIC),
    "np": lambda: NpMonitor(InControl(0.15), 20, RunRules.NELSON),
    "c": lambda: CMonitor(InControl(2.0), RunRules.NELSON),
    "u": lambda: UMonitor(InControl(0.3), RunRules.WESTERN_ELECTRIC),
}
KINDS = tuple(MAKERS)


def _feed(kind: str, monitor: Any, grid: np.ndarray, part: slice) -> MonitorUpdate:
    """Feed the rows ``part`` of grid data to a monitor of ``kind``, in its own block form."""
    counts = np.abs(np.round(grid[:, 0] * 2))
    sizes = 8 + np.abs(np.round(grid[:, 1] * 4))
    if kind in ("xbar_r", "xbar_s"):
        return monitor.update(grid[part, :4])
    if kind in ("individuals", "ewma", "cusum"):
        return monitor.update(grid[part, 0])
    if kind == "p":
        return monitor.update(np.minimum(counts, sizes)[part], sizes[part])
    if kind == "np":
        return monitor.update(np.minimum(counts, 20)[part])
    if kind == "c":
        return monitor.update(counts[part])
    return monitor.update(counts[part], sizes[part])


def _signals(updates: list[MonitorUpdate]) -> dict[Signal, tuple[int, ...]]:
    merged: dict[Signal, tuple[int, ...]] = {}
    for update in updates:
        for signal, indices in update.signals.items():
            merged[signal] = merged.get(signal, ()) + indices
    return merged


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.lists(st.integers(-40, 40), min_size=4, max_size=4), min_size=1, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=6),
)
def test_a_block_split_anywhere_gives_the_same_signals(
    kind: str, data: list[list[int]], cuts: list[int]
) -> None:
    # Values on a grid of eighths: sums, means and the EWMA filter are exact in binary, so
    # the only way two feeds can differ is a carried state that is lost or double-counted.
    grid = np.asarray(data, dtype=np.float64) / 8.0
    whole = _feed(kind, MAKERS[kind](), grid, slice(None))
    monitor = MAKERS[kind]()
    bounds = [0, *sorted(c for c in cuts if c <= len(grid)), len(grid)]
    parts = [_feed(kind, monitor, grid, slice(a, b)) for a, b in itertools.pairwise(bounds)]
    assert _signals(parts) == dict(whole.signals)
    np.testing.assert_array_equal(np.concatenate([p.statistic for p in parts]), whole.statistic)
    assert monitor.points_seen == len(grid)


# --- simulated run lengths -------------------------------------------------------------------


def _run_lengths(
    make: Callable[[], Monitor],
    draw: Callable[[np.random.Generator, int], np.ndarray],
    runs: int,
    block: int,
    signals: frozenset[Signal],
    seed: int,
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lengths = np.empty(runs)
    for run in range(runs):
        monitor = make()
        while True:
            update = monitor.update(draw(rng, block))  # type: ignore[attr-defined]
            first = update.first_signal(signals)
            if first is not None:
                lengths[run] = first + 1
                break
    return lengths


def _assert_mean_run_length(lengths: np.ndarray, expected: float) -> None:
    band = 4.0 * lengths.std(ddof=1) / math.sqrt(lengths.size)
    assert band < 0.1 * expected, "too few runs for the check to mean anything"
    assert abs(lengths.mean() - expected) < band, (lengths.mean(), expected, band)


OUT = frozenset({LimitSignal.OUT_OF_LIMITS})
CUSUM = frozenset({LimitSignal.CUSUM_UPPER, LimitSignal.CUSUM_LOWER})


def test_streaming_xbar_chart_in_control_arl_is_370() -> None:
    lengths = _run_lengths(
        lambda: XbarRMonitor(InControl(0.0, 1.0), 5),
        lambda rng, m: rng.standard_normal((m, 5)),
        runs=2000, block=512, signals=OUT, seed=17,
    )  # fmt: skip
    _assert_mean_run_length(lengths, shewhart_arl(0.0, subgroup_size=5))


def test_streaming_xbar_chart_detects_a_one_sigma_shift_in_four_and_a_half() -> None:
    lengths = _run_lengths(
        lambda: XbarRMonitor(InControl(0.0, 1.0), 5),
        lambda rng, m: rng.standard_normal((m, 5)) + 1.0,
        runs=3000, block=16, signals=OUT, seed=18,
    )  # fmt: skip
    _assert_mean_run_length(lengths, shewhart_arl(1.0, subgroup_size=5))


def test_western_electric_rules_together_have_in_control_arl_91_75() -> None:
    # Champ & Woodall (1987), Technometrics 29(4), 393-399: Shewhart chart with all four
    # Western Electric rules, in control, ARL = 91.75 (rederived by the Markov chain in
    # test_spc_run_rules.py).
    rules = frozenset(WesternElectricRule)
    lengths = _run_lengths(
        lambda: IndividualsMonitor(InControl(0.0, 1.0), RunRules.WESTERN_ELECTRIC),
        lambda rng, m: rng.standard_normal(m),
        runs=3000, block=256, signals=rules, seed=19,
    )  # fmt: skip
    _assert_mean_run_length(lengths, 91.75)


def test_nelson_rules_signal_more_often_than_western_electric() -> None:
    # Nelson's eight tests include the four WE zone tests (with nine, not eight, on one
    # side), plus trends and stratification, so in control they alarm sooner than rule 1.
    lengths = _run_lengths(
        lambda: IndividualsMonitor(InControl(0.0, 1.0), RunRules.NELSON),
        lambda rng, m: rng.standard_normal(m),
        runs=500, block=256, signals=frozenset(NelsonRule), seed=20,
    )  # fmt: skip
    assert lengths.mean() < 0.5 * shewhart_arl(0.0)


# (h, shift, Montgomery Table 9.3 entry, runs, block): the tabular CUSUM with k = 1/2.
CUSUM_CELLS = [
    (4.0, 0.0, 168.0, 2000, 512),
    (4.0, 1.0, 8.38, 3000, 32),
    (5.0, 0.0, 465.0, 2000, 1024),
    (5.0, 1.0, 10.4, 3000, 32),
    (5.0, 2.0, 4.01, 3000, 16),
]


@pytest.mark.parametrize(("h", "shift", "published", "runs", "block"), CUSUM_CELLS)
def test_streaming_cusum_matches_the_published_and_markov_chain_arl(
    h: float, shift: float, published: float, runs: int, block: int
) -> None:
    # Known in-control parameters (μ = 0, σ = 1), so the only error is the simulation's.
    lengths = _run_lengths(
        lambda: CusumMonitor(InControl(0.0, 1.0), k=0.5, h=h),
        lambda rng, m: rng.standard_normal(m) + shift,
        runs=runs, block=block, signals=CUSUM, seed=21,
    )  # fmt: skip
    _assert_mean_run_length(lengths, published)
    _assert_mean_run_length(lengths, cusum_arl(shift, k=0.5, h=h))


# (λ, L, shift, Lucas & Saccucci 1990 entry as in Montgomery Table 9.11, runs, block).
EWMA_CELLS = [
    (0.10, 2.814, 0.0, 500.0, 3000, 1024),
    (0.10, 2.814, 1.0, 10.3, 3000, 32),
    (0.25, 2.998, 0.5, 48.2, 3000, 128),
    (0.40, 3.054, 1.0, 14.3, 3000, 64),
    (0.05, 2.615, 2.0, 5.2, 3000, 16),
]


@pytest.mark.parametrize(("lam", "L", "shift", "published", "runs", "block"), EWMA_CELLS)
def test_streaming_ewma_matches_the_published_and_markov_chain_arl(
    lam: float, L: float, shift: float, published: float, runs: int, block: int
) -> None:
    lengths = _run_lengths(
        lambda: EwmaMonitor(InControl(0.0, 1.0), lam=lam, L=L, asymptotic=True),
        lambda rng, m: rng.standard_normal(m) + shift,
        runs=runs, block=block, signals=OUT, seed=22,
    )  # fmt: skip
    _assert_mean_run_length(lengths, published)
    _assert_mean_run_length(lengths, ewma_arl(shift, lam=lam, L=L))


@pytest.mark.slow
def test_western_electric_arl_to_one_percent_on_a_long_simulation() -> None:
    # Champ & Woodall (1987): 91.75. 40 000 runs put 4 standard errors near 1.8 %.
    lengths = _run_lengths(
        lambda: IndividualsMonitor(InControl(0.0, 1.0), RunRules.WESTERN_ELECTRIC),
        lambda rng, m: rng.standard_normal(m),
        runs=40_000, block=256, signals=frozenset(WesternElectricRule), seed=23,
    )  # fmt: skip
    _assert_mean_run_length(lengths, 91.75)
    assert 4.0 * lengths.std(ddof=1) / math.sqrt(lengths.size) < 0.02 * 91.75
