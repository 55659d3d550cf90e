"""Shewhart control charts (I-MR, X̄-R, p) and the Western Electric and Nelson run rules.

Charts are computed from phase-I data: the centre line and 3σ limits come from the points
themselves. Each chart keeps one limit and one σ per point, so charts with varying subgroup
sizes (the p chart) share one result type, and the run rules can be applied to any of them.

Run rules report a signal at the point that completes the pattern. For the "k of m" rules
that point must itself be one of the k beyond the zone, so one cluster is not reported again
by the ordinary points after it; at the start of a series a window is the points so far.
A point exactly on the centre line is on neither side; "beyond kσ" is strict (> kσ) and
"within 1σ" is its complement (≤ 1σ).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shocktwin.errors import Problem, RuleError

__all__ = [
    "ChartConstants",
    "ChartKind",
    "ControlChart",
    "IndividualsChart",
    "NelsonRule",
    "WesternElectricRule",
    "XbarRChart",
    "chart_constants",
    "individuals_chart",
    "nelson_rules",
    "p_chart",
    "western_electric_rules",
    "xbar_r_chart",
    "xbar_r_limits",
]

FloatArray = NDArray[np.float64]

_SIGMA_LIMIT = 3.0


@dataclass(frozen=True)
class ChartConstants:
    """Control-chart constants for subgroup size ``n`` (names as in the literature)."""

    n: int
    A2: float
    D3: float
    D4: float
    d2: float


# Factors for X̄ and R charts, n = 2..10: ASTM Manual on Presentation of Data and Control
# Chart Analysis (STP 15D), reproduced in Montgomery, Introduction to Statistical Quality
# Control, Appendix Table VI. Published limits are computed with these rounded values.
_CONSTANTS: Mapping[int, ChartConstants] = MappingProxyType(
    {
        c.n: c
        for c in (
            ChartConstants(2, A2=1.880, D3=0.0, D4=3.267, d2=1.128),
            ChartConstants(3, A2=1.023, D3=0.0, D4=2.574, d2=1.693),
            ChartConstants(4, A2=0.729, D3=0.0, D4=2.282, d2=2.059),
            ChartConstants(5, A2=0.577, D3=0.0, D4=2.114, d2=2.326),
            ChartConstants(6, A2=0.483, D3=0.0, D4=2.004, d2=2.534),
            ChartConstants(7, A2=0.419, D3=0.076, D4=1.924, d2=2.704),
            ChartConstants(8, A2=0.373, D3=0.136, D4=1.864, d2=2.847),
            ChartConstants(9, A2=0.337, D3=0.184, D4=1.816, d2=2.970),
            ChartConstants(10, A2=0.308, D3=0.223, D4=1.777, d2=3.078),
        )
    }
)


def chart_constants(n: int) -> ChartConstants:
    """Constants for subgroup size ``n`` (2..10); the moving range of two uses n = 2.

    Raises:
        RuleError: no constants for that size.
    """
    if isinstance(n, bool) or n not in _CONSTANTS:
        raise RuleError([Problem(None, "subgroup_size", f"subgroup size must be 2..10, got {n!r}")])
    return _CONSTANTS[n]


class ChartKind(StrEnum):
    """The statistic a chart plots."""

    INDIVIDUALS = "individuals"
    MOVING_RANGE = "moving_range"
    XBAR = "xbar"
    RANGE = "range"
    P = "p"


class WesternElectricRule(StrEnum):
    """Western Electric Statistical Quality Control Handbook (1956) zone rules."""

    ONE_BEYOND_3_SIGMA = "we1_one_beyond_3_sigma"
    TWO_OF_THREE_BEYOND_2_SIGMA = "we2_two_of_three_beyond_2_sigma"
    FOUR_OF_FIVE_BEYOND_1_SIGMA = "we3_four_of_five_beyond_1_sigma"
    EIGHT_SAME_SIDE = "we4_eight_same_side"


class NelsonRule(StrEnum):
    """Nelson's eight tests (J. Quality Technology 16(4), 1984), in his numbering."""

    ONE_BEYOND_3_SIGMA = "nelson1_one_beyond_3_sigma"
    NINE_SAME_SIDE = "nelson2_nine_same_side"
    SIX_TRENDING = "nelson3_six_trending"
    FOURTEEN_ALTERNATING = "nelson4_fourteen_alternating"
    TWO_OF_THREE_BEYOND_2_SIGMA = "nelson5_two_of_three_beyond_2_sigma"
    FOUR_OF_FIVE_BEYOND_1_SIGMA = "nelson6_four_of_five_beyond_1_sigma"
    FIFTEEN_WITHIN_1_SIGMA = "nelson7_fifteen_within_1_sigma"
    EIGHT_OUTSIDE_1_SIGMA = "nelson8_eight_outside_1_sigma"


@dataclass(frozen=True, eq=False)
class ControlChart:
    """One chart: the plotted points with centre line, limits and σ of the plotted statistic.

    ``lcl``, ``ucl`` and ``sigma`` have one entry per point (constant except on a p chart
    with varying subgroup sizes). Lower limits below the statistic's range are clipped
    (0 for ranges and proportions, 1 as the upper bound of a proportion). Arrays are
    read-only.
    """

    kind: ChartKind
    points: FloatArray
    centre: float
    lcl: FloatArray
    ucl: FloatArray
    sigma: FloatArray

    def out_of_limits(self) -> tuple[int, ...]:
        """Indices of points strictly outside the control limits."""
        outside = (self.points > self.ucl) | (self.points < self.lcl)
        return tuple(int(i) for i in np.flatnonzero(outside))

    def western_electric(self) -> dict[WesternElectricRule, tuple[int, ...]]:
        """Western Electric rules on this chart's points, centre and σ."""
        return western_electric_rules(self.points, self.centre, self.sigma)

    def nelson(self) -> dict[NelsonRule, tuple[int, ...]]:
        """Nelson rules on this chart's points, centre and σ."""
        return nelson_rules(self.points, self.centre, self.sigma)


@dataclass(frozen=True, eq=False)
class IndividualsChart:
    """I-MR chart. ``sigma_within`` = MR̄ / d2(2), the σ̂ of individual values."""

    individuals: ControlChart
    moving_range: ControlChart
    sigma_within: float


@dataclass(frozen=True, eq=False)
class XbarRChart:
    """X̄-R chart. ``sigma_within`` = R̄ / d2(n), the σ̂ of individual values."""

    xbar: ControlChart
    range: ControlChart
    sigma_within: float
    subgroup_size: int


def _frozen(values: ArrayLike, length: int) -> FloatArray:
    array = np.broadcast_to(np.asarray(values, dtype=np.float64), (length,)).copy()
    array.flags.writeable = False
    return array


def _chart(
    kind: ChartKind,
    points: ArrayLike,
    centre: float,
    lcl: ArrayLike,
    ucl: ArrayLike,
    sigma: ArrayLike,
) -> ControlChart:
    frozen_points = _frozen(points, np.size(points))
    length = frozen_points.size
    return ControlChart(
        kind=kind,
        points=frozen_points,
        centre=float(centre),
        lcl=_frozen(lcl, length),
        ucl=_frozen(ucl, length),
        sigma=_frozen(sigma, length),
    )


def _finite_vector(
    values: object, name: str, min_length: int, problems: list[Problem]
) -> FloatArray | None:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(Problem(None, name, "must be a sequence of numbers"))
        return None
    if array.ndim != 1:
        problems.append(Problem(None, name, f"must be one-dimensional, got shape {array.shape}"))
        return None
    if array.size < min_length:
        problems.append(
            Problem(None, name, f"needs at least {min_length} values, got {array.size}")
        )
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        problems.append(
            Problem(None, name, f"values at indices {bad[:10].tolist()} are not finite")
        )
    return array


def individuals_chart(values: ArrayLike) -> IndividualsChart:
    """I-MR chart from individual measurements, σ̂ from the average moving range of two.

    Raises:
        RuleError: fewer than two values, or values that are not finite numbers.
    """
    problems: list[Problem] = []
    x = _finite_vector(values, "values", 2, problems)
    if problems or x is None:
        raise RuleError(problems)
    constants = _CONSTANTS[2]
    moving = np.abs(np.diff(x))
    mr_bar = float(moving.mean())
    sigma_within = mr_bar / constants.d2
    centre = float(x.mean())
    individuals = _chart(
        ChartKind.INDIVIDUALS,
        x,
        centre,
        centre - _SIGMA_LIMIT * sigma_within,
        centre + _SIGMA_LIMIT * sigma_within,
        sigma_within,
    )
    mr_ucl = constants.D4 * mr_bar
    mr_chart = _chart(
        ChartKind.MOVING_RANGE,
        moving,
        mr_bar,
        constants.D3 * mr_bar,
        mr_ucl,
        (mr_ucl - mr_bar) / _SIGMA_LIMIT,
    )
    return IndividualsChart(individuals, mr_chart, sigma_within)


def xbar_r_limits(
    grand_mean: float, mean_range: float, subgroup_size: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Limits from summary statistics: ((X̄ LCL, X̄ UCL), (R LCL, R UCL)).

    X̄ limits are X̄̄ ± A2·R̄ and R limits D3·R̄, D4·R̄, as in the published examples.

    Raises:
        RuleError: subgroup size outside 2..10, or a negative or non-finite range.
    """
    problems: list[Problem] = []
    if not np.isfinite(grand_mean):
        problems.append(Problem(None, "grand_mean", f"must be finite, got {grand_mean!r}"))
    if not np.isfinite(mean_range) or mean_range < 0:
        problems.append(Problem(None, "mean_range", f"must be finite and ≥ 0, got {mean_range!r}"))
    if isinstance(subgroup_size, bool) or subgroup_size not in _CONSTANTS:
        problems.append(
            Problem(None, "subgroup_size", f"subgroup size must be 2..10, got {subgroup_size!r}")
        )
    if problems:
        raise RuleError(problems)
    c = _CONSTANTS[subgroup_size]
    return (
        (grand_mean - c.A2 * mean_range, grand_mean + c.A2 * mean_range),
        (c.D3 * mean_range, c.D4 * mean_range),
    )


def xbar_r_chart(subgroups: ArrayLike) -> XbarRChart:
    """X̄-R chart from equal-sized subgroups (rows), n = 2..10.

    σ̂ of individuals is R̄/d2; the σ of the plotted means is A2·R̄/3, so the run-rule zones
    match the limits exactly.

    Raises:
        RuleError: ragged or non-finite data, or a subgroup size outside 2..10.
    """
    problems: list[Problem] = []
    try:
        data = np.asarray(subgroups, dtype=np.float64)
    except (TypeError, ValueError):
        raise RuleError(
            [Problem(None, "subgroups", "must be equal-sized subgroups of numbers")]
        ) from None
    if data.ndim != 2 or data.shape[0] < 1:
        raise RuleError(
            [Problem(None, "subgroups", f"must be a 2-D array (subgroup × item), got {data.shape}")]
        )
    size = data.shape[1]
    if size not in _CONSTANTS:
        problems.append(Problem(None, "subgroups", f"subgroup size must be 2..10, got {size}"))
    bad_rows = np.flatnonzero(~np.isfinite(data).all(axis=1))
    if bad_rows.size:
        problems.append(
            Problem(None, "subgroups", f"subgroups {bad_rows[:10].tolist()} hold non-finite values")
        )
    if problems:
        raise RuleError(problems)

    means = data.mean(axis=1)
    ranges = np.ptp(data, axis=1)
    grand_mean = float(means.mean())
    mean_range = float(ranges.mean())
    (x_lcl, x_ucl), (r_lcl, r_ucl) = xbar_r_limits(grand_mean, mean_range, size)
    xbar = _chart(
        ChartKind.XBAR, means, grand_mean, x_lcl, x_ucl, (x_ucl - grand_mean) / _SIGMA_LIMIT
    )
    range_chart = _chart(
        ChartKind.RANGE, ranges, mean_range, r_lcl, r_ucl, (r_ucl - mean_range) / _SIGMA_LIMIT
    )
    return XbarRChart(xbar, range_chart, mean_range / _CONSTANTS[size].d2, size)


def p_chart(
    nonconforming: ArrayLike,
    sample_sizes: ArrayLike | int,
    *,
    p_standard: float | None = None,
) -> ControlChart:
    """p chart of the fraction nonconforming; sample sizes may differ between subgroups.

    The centre is p̄ = Σd / Σn unless a standard value ``p_standard`` is given. Limits are
    p̄ ± 3·√(p̄(1−p̄)/nᵢ), clipped to [0, 1], so they vary with nᵢ.

    Raises:
        RuleError: negative counts, counts above their sample size, sample sizes below 1,
            mismatched lengths, or ``p_standard`` outside [0, 1]; every problem is listed.
    """
    problems: list[Problem] = []
    counts = _finite_vector(nonconforming, "nonconforming", 1, problems)
    try:
        sizes = np.asarray(sample_sizes, dtype=np.float64)
    except (TypeError, ValueError):
        sizes = None
        problems.append(Problem(None, "sample_sizes", "must be a number or a sequence of them"))
    if counts is not None and sizes is not None:
        if sizes.ndim == 0:
            sizes = np.full(counts.shape, float(sizes))
        if sizes.shape != counts.shape:
            problems.append(
                Problem(
                    None,
                    "sample_sizes",
                    f"{sizes.size} sample sizes for {counts.size} counts",
                )
            )
        else:
            bad_counts = (counts < 0) | (counts != np.round(counts))
            bad_sizes = ~np.isfinite(sizes) | (sizes < 1) | (sizes != np.round(sizes))
            checks = (
                ("nonconforming", bad_counts, "must be whole numbers ≥ 0"),
                ("sample_sizes", bad_sizes, "must be whole numbers ≥ 1"),
                ("nonconforming", counts > sizes, "exceed their sample size"),
            )
            for name, bad, message in checks:
                where = np.flatnonzero(bad)
                if where.size:
                    problems.append(Problem(None, name, f"entries {where[:10].tolist()} {message}"))
    if p_standard is not None and not 0.0 <= p_standard <= 1.0:
        problems.append(Problem(None, "p_standard", f"must be in [0, 1], got {p_standard!r}"))
    if problems or counts is None or sizes is None:
        raise RuleError(problems)

    p_bar = float(counts.sum() / sizes.sum()) if p_standard is None else float(p_standard)
    sigma = np.sqrt(p_bar * (1.0 - p_bar) / sizes)
    lcl = np.clip(p_bar - _SIGMA_LIMIT * sigma, 0.0, 1.0)
    ucl = np.clip(p_bar + _SIGMA_LIMIT * sigma, 0.0, 1.0)
    return _chart(ChartKind.P, counts / sizes, p_bar, lcl, ucl, sigma)


# --- run rules -------------------------------------------------------------------------------


def _standardised(points: ArrayLike, centre: ArrayLike, sigma: ArrayLike) -> FloatArray:
    problems: list[Problem] = []
    x = _finite_vector(points, "points", 0, problems)
    if x is not None and not problems:
        try:
            c = np.broadcast_to(np.asarray(centre, dtype=np.float64), x.shape)
            s = np.broadcast_to(np.asarray(sigma, dtype=np.float64), x.shape)
        except ValueError:
            problems.append(Problem(None, "sigma", "centre and sigma must be scalars or match"))
        else:
            if not np.isfinite(c).all():
                problems.append(Problem(None, "centre", "must be finite"))
            if not (np.isfinite(s).all() and (s > 0).all()):
                problems.append(Problem(None, "sigma", "must be finite and > 0"))
    if problems or x is None:
        raise RuleError(problems)
    return (x - c) / s


def _run_length(flags: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Length of the run of True values ending at each index (0 where False)."""
    index = np.arange(flags.size)
    last_false = np.maximum.accumulate(np.where(flags, -1, index))
    return index - last_false


def _trailing_count(flags: NDArray[np.bool_], window: int) -> NDArray[np.int64]:
    """Number of True values among the last ``window`` points up to each index."""
    cumulative = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
    start = np.maximum(np.arange(flags.size) + 1 - window, 0)
    return cumulative[1:] - cumulative[start]


def _indices(flags: NDArray[np.bool_]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(flags))


def _beyond(z: FloatArray, sigmas: float) -> NDArray[np.bool_]:
    return np.abs(z) > sigmas


def _k_of_m_same_side(z: FloatArray, sigmas: float, k: int, m: int) -> NDArray[np.bool_]:
    above = z > sigmas
    below = z < -sigmas
    return (above & (_trailing_count(above, m) >= k)) | (below & (_trailing_count(below, m) >= k))


def _same_side(z: FloatArray, length: int) -> NDArray[np.bool_]:
    return (_run_length(z > 0) >= length) | (_run_length(z < 0) >= length)


def _trending(x: FloatArray, points: int) -> NDArray[np.bool_]:
    flags = np.zeros(x.size, dtype=bool)
    if x.size >= 2:
        step = np.diff(x)
        steps_needed = points - 1
        trend = (_run_length(step > 0) >= steps_needed) | (_run_length(step < 0) >= steps_needed)
        flags[1:] = trend
    return flags


def _alternating(x: FloatArray, points: int) -> NDArray[np.bool_]:
    flags = np.zeros(x.size, dtype=bool)
    if x.size >= 3:
        direction = np.sign(np.diff(x))
        # turns[j]: steps j and j + 1 go opposite ways, which is known once point j + 2 is in.
        turns = direction[1:] * direction[:-1] < 0
        flags[2:] = _run_length(turns) >= points - 2
    return flags


def western_electric_rules(
    points: ArrayLike, centre: ArrayLike, sigma: ArrayLike
) -> dict[WesternElectricRule, tuple[int, ...]]:
    """Western Electric zone rules: which fired, at which point indices.

    ``centre`` and ``sigma`` (σ of the plotted statistic) are scalars or one per point.
    Rules that did not fire are absent from the result.

    Raises:
        RuleError: non-finite points or centre, or σ not > 0.
    """
    z = _standardised(points, centre, sigma)
    found = {
        WesternElectricRule.ONE_BEYOND_3_SIGMA: _beyond(z, 3.0),
        WesternElectricRule.TWO_OF_THREE_BEYOND_2_SIGMA: _k_of_m_same_side(z, 2.0, 2, 3),
        WesternElectricRule.FOUR_OF_FIVE_BEYOND_1_SIGMA: _k_of_m_same_side(z, 1.0, 4, 5),
        WesternElectricRule.EIGHT_SAME_SIDE: _same_side(z, 8),
    }
    return {rule: _indices(flags) for rule, flags in found.items() if flags.any()}


def nelson_rules(
    points: ArrayLike, centre: ArrayLike, sigma: ArrayLike
) -> dict[NelsonRule, tuple[int, ...]]:
    """Nelson's eight tests: which fired, at which point indices.

    ``centre`` and ``sigma`` (σ of the plotted statistic) are scalars or one per point.
    Trend and alternation (tests 3 and 4) look at the raw points, so they work with
    per-point limits too; equal neighbours break them. Rules that did not fire are absent.

    Raises:
        RuleError: non-finite points or centre, or σ not > 0.
    """
    z = _standardised(points, centre, sigma)
    x = np.asarray(points, dtype=np.float64)
    outside_1 = _beyond(z, 1.0)
    eight_outside = (
        (_run_length(outside_1) >= 8)
        & (_trailing_count(z > 1.0, 8) >= 1)
        & (_trailing_count(z < -1.0, 8) >= 1)
    )
    found = {
        NelsonRule.ONE_BEYOND_3_SIGMA: _beyond(z, 3.0),
        NelsonRule.NINE_SAME_SIDE: _same_side(z, 9),
        NelsonRule.SIX_TRENDING: _trending(x, 6),
        NelsonRule.FOURTEEN_ALTERNATING: _alternating(x, 14),
        NelsonRule.TWO_OF_THREE_BEYOND_2_SIGMA: _k_of_m_same_side(z, 2.0, 2, 3),
        NelsonRule.FOUR_OF_FIVE_BEYOND_1_SIGMA: _k_of_m_same_side(z, 1.0, 4, 5),
        NelsonRule.FIFTEEN_WITHIN_1_SIGMA: _run_length(~outside_1) >= 15,
        NelsonRule.EIGHT_OUTSIDE_1_SIGMA: eight_outside,
    }
    return {rule: _indices(flags) for rule, flags in found.items() if flags.any()}
