"""Streaming control-chart monitors: a measurement stream is fed in blocks and each block
returns its plotted statistics and the signals it completed.

Every monitor holds its in-control parameters (estimated from a warm-up block, phase I, or
given) and the state that carries over between blocks: the last value for a moving range,
the EWMA and the cumulative sums, and the recent points the run rules look back on. A stream
split into blocks anywhere gives the same statistics and signals as one block (to the last
bit for the Shewhart charts, the EWMA and the run rules; a CUSUM adds each block as running
sums, so a split can move a sum by rounding). Work within a block is vectorised.

Signals are reported at stream indices (0 = the first point ever fed), with the conventions
of :mod:`rules_engine.spc`: limits are strict (a point on the limit does not signal), and a
run rule fires at the point that completes its pattern. A monitor does not restart itself
after a signal; :meth:`Monitor.restart` does that once the cause has been dealt with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shocktwin.errors import Problem, RuleError
from shocktwin.rules_engine._checks import raise_problems
from shocktwin.rules_engine.spc import (
    NelsonRule,
    WesternElectricRule,
    chart_constants,
    nelson_rules,
    western_electric_rules,
)

__all__ = [
    "CMonitor",
    "CusumMonitor",
    "EwmaMonitor",
    "InControl",
    "IndividualsMonitor",
    "LimitSignal",
    "Monitor",
    "MonitorKind",
    "MonitorUpdate",
    "NpMonitor",
    "PMonitor",
    "RunRules",
    "Signal",
    "UMonitor",
    "XbarRMonitor",
    "XbarSMonitor",
    "c4",
]

FloatArray = NDArray[np.float64]

_SIGMA_LIMIT = 3.0
# The longest look-back of any run rule: Nelson's fifteen points within 1σ.
_RULE_HISTORY = 15
# d3 (σ of the relative range R/σ) for n = 2..10: Montgomery, Introduction to SQC,
# Appendix Table VI; with d2 it gives D4 = 1 + 3·d3/d2 and D3 = max(0, 1 − 3·d3/d2).
_D3 = MappingProxyType(
    {2: 0.853, 3: 0.888, 4: 0.880, 5: 0.864, 6: 0.848, 7: 0.833, 8: 0.820, 9: 0.808, 10: 0.797}
)
_MAX_S_SUBGROUP = 25


class MonitorKind(StrEnum):
    """The chart a monitor keeps."""

    XBAR_R = "xbar_r"
    XBAR_S = "xbar_s"
    INDIVIDUALS = "individuals"
    P = "p"
    NP = "np"
    C = "c"
    U = "u"
    EWMA = "ewma"
    CUSUM = "cusum"


class RunRules(StrEnum):
    """Which run rules a Shewhart monitor applies to its main statistic."""

    NONE = "none"
    WESTERN_ELECTRIC = "western_electric"
    NELSON = "nelson"


class LimitSignal(StrEnum):
    """Signals that are not run rules."""

    OUT_OF_LIMITS = "out_of_limits"  # the main statistic (X̄, x, p, np, c, u, EWMA)
    SPREAD_OUT_OF_LIMITS = "spread_out_of_limits"  # R, S or the moving range
    CUSUM_UPPER = "cusum_upper"
    CUSUM_LOWER = "cusum_lower"


Signal = LimitSignal | WesternElectricRule | NelsonRule


@dataclass(frozen=True)
class InControl:
    """In-control parameters of a monitored characteristic.

    ``centre`` is the process mean (in the measurement's unit) for variables charts, the
    fraction nonconforming for p and np, and the defects per unit for c and u. ``sigma`` is
    σ of one individual value (variables charts only, ``None`` for attributes).
    """

    centre: float
    sigma: float | None = None


@dataclass(frozen=True, eq=False)
class MonitorUpdate:
    """What one block produced. Arrays are read-only, one entry per point of the block.

    ``statistic`` is the main plotted statistic with its limits ``lcl`` and ``ucl``;
    ``companion`` is the dispersion statistic (R, S or moving range; NaN where undefined) or,
    for a CUSUM, the lower sum C⁻ (``statistic`` is then C⁺). ``signals`` maps each signal
    that fired to its stream indices.
    """

    kind: MonitorKind
    start: int
    statistic: FloatArray
    lcl: FloatArray
    ucl: FloatArray
    companion: FloatArray | None
    signals: Mapping[Signal, tuple[int, ...]]

    def first_signal(self, among: frozenset[Signal] | None = None) -> int | None:
        """Stream index of the first signal in this block (of the kinds ``among``), if any."""
        hits = [
            indices[0]
            for signal, indices in self.signals.items()
            if indices and (among is None or signal in among)
        ]
        return min(hits) if hits else None


def c4(n: int) -> float:
    """c4 = E[s]/σ for a normal sample of ``n`` (Montgomery, Introduction to SQC, App. VI):
    √(2/(n − 1))·Γ(n/2)/Γ((n − 1)/2).

    Raises:
        RuleError: n below 2.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise RuleError([Problem(None, "subgroup_size", f"must be an integer ≥ 2, got {n!r}")])
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


# --- input checks --------------------------------------------------------------------------


def _array(values: object, name: str, ndim: int, problems: list[Problem]) -> FloatArray | None:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(
            Problem(None, name, "must be numbers" + (" in equal rows" if ndim == 2 else ""))
        )
        return None
    if array.ndim != ndim:
        shape = "a 1-D sequence" if ndim == 1 else "a 2-D array (subgroup × item)"
        problems.append(Problem(None, name, f"must be {shape}, got shape {array.shape}"))
        return None
    finite = np.isfinite(array)
    bad_rows = ~finite.all(axis=1) if array.ndim == 2 else ~finite
    bad = np.flatnonzero(bad_rows)
    if bad.size:
        problems.append(Problem(None, name, f"entries {bad[:10].tolist()} are not finite"))
    return array


def _whole(array: FloatArray, name: str, minimum: float, problems: list[Problem]) -> None:
    bad = np.flatnonzero((array < minimum) | (array != np.round(array)))
    if bad.size:
        problems.append(
            Problem(None, name, f"entries {bad[:10].tolist()} must be whole numbers ≥ {minimum:g}")
        )


def _real(name: str, value: object, problems: list[Problem], *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(Problem(None, name, f"must be a finite number, got {value!r}"))
        return math.nan
    if positive and value <= 0:
        problems.append(Problem(None, name, f"must be > 0, got {value!r}"))
    return float(value)


def _frozen(values: ArrayLike, length: int) -> FloatArray:
    array = np.broadcast_to(np.asarray(values, dtype=np.float64), (length,)).copy()
    array.flags.writeable = False
    return array


# --- the monitor core ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Points:
    """A block's plotted values, before signals are found."""

    statistic: FloatArray
    centre: FloatArray
    sigma: FloatArray  # σ of the plotted statistic, for the run-rule zones
    lcl: FloatArray
    ucl: FloatArray
    companion: FloatArray | None = None
    companion_lcl: float | FloatArray = -math.inf
    companion_ucl: float | FloatArray = math.inf


class Monitor:
    """A streaming chart: :meth:`update` takes a block, checks it, asks the subclass for the
    plotted points (``_points``), then finds signals and carries the rule history on."""

    kind: ClassVar[MonitorKind]

    def __init__(self, in_control: InControl, rules: RunRules = RunRules.NONE) -> None:
        self.in_control = in_control
        self.rules = RunRules(rules)
        self._seen = 0
        self._history: tuple[FloatArray, FloatArray, FloatArray] = (
            np.empty(0),
            np.empty(0),
            np.empty(0),
        )

    @property
    def points_seen(self) -> int:
        """Number of points plotted so far (the stream index of the next one)."""
        return self._seen

    def restart(self) -> None:
        """Forget the carried state (sums, EWMA, last value, rule history) after a signal
        has been acted on; limits and the stream index are kept."""
        self._history = (np.empty(0), np.empty(0), np.empty(0))
        self._restart_hook()

    def _restart_hook(self) -> None:
        """Subclasses reset their own carried state."""

    def _emit(self, points: _Points) -> MonitorUpdate:
        start = self._seen
        length = points.statistic.size
        signals: dict[Signal, tuple[int, ...]] = {}

        def record(signal: Signal, flags: NDArray[np.bool_]) -> None:
            where = np.flatnonzero(flags)
            if where.size:
                signals[signal] = tuple(int(i) + start for i in where)

        stat = points.statistic
        if self.kind is MonitorKind.CUSUM:
            assert points.companion is not None
            record(LimitSignal.CUSUM_UPPER, stat > points.ucl)
            record(LimitSignal.CUSUM_LOWER, points.companion > points.ucl)
        else:
            record(LimitSignal.OUT_OF_LIMITS, (stat > points.ucl) | (stat < points.lcl))
        if points.companion is not None and self.kind is not MonitorKind.CUSUM:
            spread = points.companion
            record(
                LimitSignal.SPREAD_OUT_OF_LIMITS,
                (spread > points.companion_ucl) | (spread < points.companion_lcl),
            )
        if self.rules is not RunRules.NONE and length:
            for rule, flags in self._rule_flags(points).items():
                record(rule, flags)
        self._seen += length
        return MonitorUpdate(
            kind=self.kind,
            start=start,
            statistic=_frozen(stat, length),
            lcl=_frozen(points.lcl, length),
            ucl=_frozen(points.ucl, length),
            companion=None if points.companion is None else _frozen(points.companion, length),
            signals=MappingProxyType(signals),
        )

    def _rule_flags(self, points: _Points) -> dict[Signal, NDArray[np.bool_]]:
        # The rules see the carried points before this block, so patterns that straddle a
        # block boundary complete exactly where they would in one long block.
        old_x, old_c, old_s = self._history
        x = np.concatenate((old_x, points.statistic))
        c = np.concatenate((old_c, points.centre))
        s = np.concatenate((old_s, points.sigma))
        offset = old_x.size
        fired: Mapping[Signal, tuple[int, ...]]
        if self.rules is RunRules.WESTERN_ELECTRIC:
            fired = western_electric_rules(x, c, s)  # type: ignore[assignment]
        else:
            fired = nelson_rules(x, c, s)  # type: ignore[assignment]
        flags: dict[Signal, NDArray[np.bool_]] = {}
        for rule, indices in fired.items():
            mask = np.zeros(x.size, dtype=bool)
            mask[list(indices)] = True
            flags[rule] = mask[offset:]
        keep = slice(max(x.size - _RULE_HISTORY, 0), None)
        self._history = (x[keep], c[keep], s[keep])
        return flags


def _constant(points: FloatArray, value: float) -> FloatArray:
    return np.full(points.shape, value)


def _warmup_values(values: ArrayLike, name: str = "warmup") -> FloatArray:
    problems: list[Problem] = []
    x = _array(values, name, 1, problems)
    if x is not None and x.size < 2:
        problems.append(Problem(None, name, f"needs at least 2 values, got {x.size}"))
    raise_problems(problems)
    assert x is not None
    return x


def _sigma_from_moving_range(x: FloatArray, name: str = "warmup") -> float:
    sigma = float(np.abs(np.diff(x)).mean()) / chart_constants(2).d2
    if not sigma > 0:
        raise RuleError([Problem(None, name, "has no spread: σ̂ = MR̄/d2 is 0")])
    return sigma


def _variables_in_control(in_control: InControl) -> tuple[float, float]:
    problems: list[Problem] = []
    centre = _real("in_control.centre", in_control.centre, problems)
    sigma = _real("in_control.sigma", in_control.sigma, problems, positive=True)
    raise_problems(problems)
    return centre, sigma


# --- variables charts ----------------------------------------------------------------------


class _SubgroupMonitor(Monitor):
    """X̄ with a dispersion chart (R or S) on subgroups of a fixed size."""

    def __init__(
        self, in_control: InControl, subgroup_size: int, rules: RunRules = RunRules.NONE
    ) -> None:
        self._check_size(subgroup_size)
        self.mean, self.sigma = _variables_in_control(in_control)
        super().__init__(in_control, rules)
        self.subgroup_size = subgroup_size

    #: How the subclass estimates σ in phase I (for the message when there is no spread).
    _SIGMA_HAT: ClassVar[str]

    @classmethod
    def _check_size(cls, n: int) -> None:
        raise NotImplementedError

    @classmethod
    def _sigma_hat(cls, data: FloatArray) -> float:
        raise NotImplementedError

    @classmethod
    def from_warmup(cls, subgroups: ArrayLike, *, rules: RunRules = RunRules.NONE) -> Self:
        """Phase I: μ̂ = X̿ and σ̂ by the subclass's estimator, from a warm-up block of
        subgroups."""
        problems: list[Problem] = []
        data = _array(subgroups, "warmup", 2, problems)
        raise_problems(problems)
        assert data is not None
        sigma = cls._sigma_hat(data)
        if not sigma > 0:
            raise RuleError([Problem(None, "warmup",
                                     f"has no spread: σ̂ = {cls._SIGMA_HAT} is 0")])
        return cls(InControl(float(data.mean()), sigma), data.shape[1], rules)

    def _spread(self, data: FloatArray) -> tuple[FloatArray, float, float]:
        raise NotImplementedError

    def update(self, subgroups: ArrayLike) -> MonitorUpdate:
        """Plot a block of subgroups (rows of ``subgroup_size`` values)."""
        problems: list[Problem] = []
        data = _array(subgroups, "block", 2, problems)
        if data is not None and data.size and data.shape[1] != self.subgroup_size:
            problems.append(
                Problem(
                    None,
                    "block",
                    f"subgroups must hold {self.subgroup_size} values, got {data.shape[1]}",
                )
            )
        raise_problems(problems)
        assert data is not None
        means = data.mean(axis=1)
        sigma_mean = self.sigma / math.sqrt(self.subgroup_size)
        spread, spread_lcl, spread_ucl = self._spread(data)
        return self._emit(
            _Points(
                statistic=means,
                centre=_constant(means, self.mean),
                sigma=_constant(means, sigma_mean),
                lcl=_constant(means, self.mean - _SIGMA_LIMIT * sigma_mean),
                ucl=_constant(means, self.mean + _SIGMA_LIMIT * sigma_mean),
                companion=spread,
                companion_lcl=spread_lcl,
                companion_ucl=spread_ucl,
            )
        )


class XbarRMonitor(_SubgroupMonitor):
    """X̄-R chart on subgroups of n = 2..10: X̄ limits μ ± 3σ/√n, R limits
    max(0, d2 − 3d3)·σ and (d2 + 3d3)·σ (Montgomery, Introduction to SQC, §6.2)."""

    kind = MonitorKind.XBAR_R

    @classmethod
    def _check_size(cls, n: int) -> None:
        chart_constants(n)

    _SIGMA_HAT = "R̄/d2"

    @classmethod
    def _sigma_hat(cls, data: FloatArray) -> float:
        """Phase I: σ̂ = R̄/d2."""
        return float(np.ptp(data, axis=1).mean()) / chart_constants(data.shape[1]).d2

    def _spread(self, data: FloatArray) -> tuple[FloatArray, float, float]:
        d2, d3 = chart_constants(self.subgroup_size).d2, _D3[self.subgroup_size]
        lower = max(0.0, d2 - _SIGMA_LIMIT * d3) * self.sigma
        return np.ptp(data, axis=1), lower, (d2 + _SIGMA_LIMIT * d3) * self.sigma


class XbarSMonitor(_SubgroupMonitor):
    """X̄-S chart on subgroups of n = 2..25: S limits c4·σ ∓ 3σ·√(1 − c4²), the lower one
    clipped at 0 (Montgomery, Introduction to SQC, §6.3)."""

    kind = MonitorKind.XBAR_S

    @classmethod
    def _check_size(cls, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= _MAX_S_SUBGROUP:
            raise RuleError(
                [Problem(None, "subgroup_size", f"must be 2..{_MAX_S_SUBGROUP}, got {n!r}")]
            )

    _SIGMA_HAT = "s̄/c4"

    @classmethod
    def _sigma_hat(cls, data: FloatArray) -> float:
        """Phase I: σ̂ = s̄/c4."""
        cls._check_size(data.shape[1])
        return float(data.std(axis=1, ddof=1).mean()) / c4(data.shape[1])

    def _spread(self, data: FloatArray) -> tuple[FloatArray, float, float]:
        c = c4(self.subgroup_size)
        half = _SIGMA_LIMIT * math.sqrt(1.0 - c * c)
        return data.std(axis=1, ddof=1), max(0.0, c - half) * self.sigma, (c + half) * self.sigma


class IndividualsMonitor(Monitor):
    """I-MR chart: x limits μ ± 3σ; moving-range limits from d2 and d3 for n = 2. The first
    point of the stream (or after a restart) has no moving range (NaN)."""

    kind = MonitorKind.INDIVIDUALS

    def __init__(self, in_control: InControl, rules: RunRules = RunRules.NONE) -> None:
        self.mean, self.sigma = _variables_in_control(in_control)
        super().__init__(in_control, rules)
        self._last = math.nan

    @classmethod
    def from_warmup(
        cls, values: ArrayLike, *, rules: RunRules = RunRules.NONE
    ) -> IndividualsMonitor:
        """Phase I: μ̂ = x̄, σ̂ = MR̄/d2 from a warm-up block of individual values."""
        x = _warmup_values(values)
        return cls(InControl(float(x.mean()), _sigma_from_moving_range(x)), rules)

    def _restart_hook(self) -> None:
        self._last = math.nan

    def update(self, values: ArrayLike) -> MonitorUpdate:
        """Plot a block of individual values."""
        problems: list[Problem] = []
        x = _array(values, "block", 1, problems)
        raise_problems(problems)
        assert x is not None
        moving = np.abs(np.diff(x, prepend=self._last))
        if x.size:
            self._last = float(x[-1])
        d2, d3 = chart_constants(2).d2, _D3[2]
        return self._emit(
            _Points(
                statistic=x,
                centre=_constant(x, self.mean),
                sigma=_constant(x, self.sigma),
                lcl=_constant(x, self.mean - _SIGMA_LIMIT * self.sigma),
                ucl=_constant(x, self.mean + _SIGMA_LIMIT * self.sigma),
                companion=moving,
                companion_lcl=max(0.0, d2 - _SIGMA_LIMIT * d3) * self.sigma,
                companion_ucl=(d2 + _SIGMA_LIMIT * d3) * self.sigma,
            )
        )


class EwmaMonitor(Monitor):
    """EWMA of individual values (or of subgroup means, with σ of a mean as ``sigma``):
    z = λx + (1 − λ)z₋₁ from z₀ = μ, limits μ ± L·σ·√(λ/(2 − λ)·(1 − (1 − λ)^(2i))), or
    their asymptotic form (``asymptotic=True``, the design of Lucas & Saccucci 1990 and of
    :func:`rules_engine.arl.ewma_arl`). Montgomery, Introduction to SQC, §9.2."""

    kind = MonitorKind.EWMA

    def __init__(
        self,
        in_control: InControl,
        *,
        lam: float,
        L: float,
        asymptotic: bool = False,
    ) -> None:
        self.mean, self.sigma = _variables_in_control(in_control)
        problems: list[Problem] = []
        _real("L", L, problems, positive=True)
        if isinstance(lam, bool) or not isinstance(lam, int | float) or not 0 < lam <= 1:
            problems.append(Problem(None, "lam", f"must be in (0, 1], got {lam!r}"))
        raise_problems(problems)
        super().__init__(in_control)
        self.lam, self.L, self.asymptotic = float(lam), float(L), asymptotic
        self._z = self.mean
        self._steps = 0

    @classmethod
    def from_warmup(
        cls,
        values: ArrayLike,
        *,
        lam: float,
        L: float,
        asymptotic: bool = False,
    ) -> EwmaMonitor:
        """Phase I: μ̂ = x̄, σ̂ = MR̄/d2 from a warm-up block of individual values."""
        x = _warmup_values(values)
        in_control = InControl(float(x.mean()), _sigma_from_moving_range(x))
        return cls(in_control, lam=lam, L=L, asymptotic=asymptotic)

    def _restart_hook(self) -> None:
        self._z, self._steps = self.mean, 0

    def update(self, values: ArrayLike) -> MonitorUpdate:
        """Plot a block of values."""
        from scipy.signal import lfilter

        problems: list[Problem] = []
        x = _array(values, "block", 1, problems)
        raise_problems(problems)
        assert x is not None
        keep = 1.0 - self.lam
        # z[i] = λ·x[i] + keep·z[i−1] as a first-order filter whose state carries z₋₁, so a
        # block boundary runs the very same arithmetic as the middle of a block.
        z, _ = lfilter([self.lam], [1.0, -keep], x, zi=[keep * self._z])
        z = np.asarray(z, dtype=np.float64)
        steps = self._steps + np.arange(1, x.size + 1)
        if x.size:
            self._z = float(z[-1])
            self._steps += x.size
        factor = self.lam / (2.0 - self.lam)
        if self.asymptotic:
            half = _constant(z, self.L * self.sigma * math.sqrt(factor))
        else:
            half = self.L * self.sigma * np.sqrt(factor * (1.0 - keep ** (2.0 * steps)))
        return self._emit(
            _Points(
                statistic=z,
                centre=_constant(z, self.mean),
                sigma=half / self.L,
                lcl=self.mean - half,
                ucl=self.mean + half,
            )
        )


class CusumMonitor(Monitor):
    """Two-sided tabular CUSUM: C⁺ = max(0, x − (μ + kσ) + C⁺₋₁),
    C⁻ = max(0, (μ − kσ) − x + C⁻₋₁), both from 0 (or from a head start, in σ), signalling
    when a sum exceeds hσ (Montgomery, Introduction to SQC, §9.1). ``lcl`` and ``ucl`` in the
    update are 0 and hσ."""

    kind = MonitorKind.CUSUM

    def __init__(
        self, in_control: InControl, *, k: float = 0.5, h: float = 4.0, head_start: float = 0.0
    ) -> None:
        self.mean, self.sigma = _variables_in_control(in_control)
        problems: list[Problem] = []
        _real("h", h, problems, positive=True)
        if _real("k", k, problems) < 0:
            problems.append(Problem(None, "k", f"must be ≥ 0, got {k!r}"))
        start = _real("head_start", head_start, problems)
        if not 0 <= start <= h:
            problems.append(Problem(None, "head_start", f"must be in [0, h], got {head_start!r}"))
        raise_problems(problems)
        super().__init__(in_control)
        self.k, self.h, self.head_start = float(k), float(h), float(head_start)
        self._upper = self._lower = self.head_start * self.sigma

    @classmethod
    def from_warmup(
        cls, values: ArrayLike, *, k: float = 0.5, h: float = 4.0, head_start: float = 0.0
    ) -> CusumMonitor:
        """Phase I: μ̂ = x̄, σ̂ = MR̄/d2 from a warm-up block of individual values."""
        x = _warmup_values(values)
        in_control = InControl(float(x.mean()), _sigma_from_moving_range(x))
        return cls(in_control, k=k, h=h, head_start=head_start)

    def _restart_hook(self) -> None:
        self._upper = self._lower = self.head_start * self.sigma

    @staticmethod
    def _lindley(steps: FloatArray, start: float) -> FloatArray:
        # W[i] = max(0, W[i−1] + steps[i]) from W₋₁ = start, in closed form:
        # W[i] = S[i] − min(−start, min_{j ≤ i} S[j]) with S the running sum of the steps.
        running = np.cumsum(steps)
        return running - np.minimum(np.minimum.accumulate(running), -start)

    def update(self, values: ArrayLike) -> MonitorUpdate:
        """Plot a block of individual values."""
        problems: list[Problem] = []
        x = _array(values, "block", 1, problems)
        raise_problems(problems)
        assert x is not None
        slack = self.k * self.sigma
        upper = self._lindley(x - (self.mean + slack), self._upper)
        lower = self._lindley((self.mean - slack) - x, self._lower)
        if x.size:
            self._upper, self._lower = float(upper[-1]), float(lower[-1])
        return self._emit(
            _Points(
                statistic=upper,
                centre=_constant(x, 0.0),
                sigma=_constant(x, self.sigma),
                lcl=_constant(x, 0.0),
                ucl=_constant(x, self.h * self.sigma),
                companion=lower,
            )
        )


# --- attributes charts ---------------------------------------------------------------------


def _counts_and_sizes(
    counts: ArrayLike, sizes: ArrayLike | float, name: str, *, size_name: str, whole_sizes: bool
) -> tuple[FloatArray, FloatArray]:
    problems: list[Problem] = []
    d = _array(counts, name, 1, problems)
    n: FloatArray | None = None
    try:
        n = np.asarray(sizes, dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(Problem(None, size_name, "must be a number or a sequence of them"))
    if d is not None and n is not None:
        if n.ndim == 0:
            n = np.full(d.shape, float(n))
        if n.shape != d.shape:
            problems.append(Problem(None, size_name, f"{n.size} sizes for {d.size} counts"))
        elif not problems:
            _whole(d, name, 0, problems)
            if whole_sizes:
                _whole(n, size_name, 1, problems)
            elif not (np.isfinite(n).all() and (n > 0).all()):
                problems.append(Problem(None, size_name, "must be finite and > 0"))
    raise_problems(problems)
    assert d is not None and n is not None
    return d, n


def _attribute_points(
    statistic: FloatArray, centre: float, sigma: FloatArray, upper_bound: float | FloatArray
) -> _Points:
    return _Points(
        statistic=statistic,
        centre=_constant(statistic, centre),
        sigma=sigma,
        lcl=np.maximum(centre - _SIGMA_LIMIT * sigma, 0.0),
        ucl=np.minimum(centre + _SIGMA_LIMIT * sigma, upper_bound),
    )


def _open_fraction(name: str, value: float) -> float:
    problems: list[Problem] = []
    p = _real(name, value, problems)
    if not problems and not 0 < p < 1:
        problems.append(Problem(None, name, f"must be in (0, 1) for 3σ limits, got {value!r}"))
    raise_problems(problems)
    return p


def _positive_rate(name: str, value: float) -> float:
    problems: list[Problem] = []
    rate = _real(name, value, problems, positive=True)
    raise_problems(problems)
    return rate


class PMonitor(Monitor):
    """p chart of the fraction nonconforming, sample sizes free to vary: limits
    p ± 3√(p(1 − p)/nᵢ) clipped to [0, 1] (Montgomery, Introduction to SQC, §7.2)."""

    kind = MonitorKind.P

    def __init__(self, in_control: InControl, rules: RunRules = RunRules.NONE) -> None:
        self.p = _open_fraction("in_control.centre", in_control.centre)
        super().__init__(in_control, rules)

    @classmethod
    def from_warmup(
        cls,
        nonconforming: ArrayLike,
        sample_sizes: ArrayLike | int,
        *,
        rules: RunRules = RunRules.NONE,
    ) -> PMonitor:
        """Phase I: p̄ = Σd / Σn over the warm-up samples."""
        d, n = _counts_and_sizes(
            nonconforming, sample_sizes, "warmup", size_name="sample_sizes", whole_sizes=True
        )
        return cls(InControl(float(d.sum() / n.sum())), rules)

    def update(self, nonconforming: ArrayLike, sample_sizes: ArrayLike | int) -> MonitorUpdate:
        """Plot a block of samples: nonconforming counts and their sample sizes."""
        d, n = _counts_and_sizes(
            nonconforming, sample_sizes, "block", size_name="sample_sizes", whole_sizes=True
        )
        if (d > n).any():
            raise RuleError([Problem(None, "block", "counts exceed their sample size")])
        sigma = np.sqrt(self.p * (1.0 - self.p) / n)
        return self._emit(_attribute_points(d / n, self.p, sigma, 1.0))


class NpMonitor(Monitor):
    """np chart of the number nonconforming in samples of a fixed size n: limits
    np ± 3√(np(1 − p)) clipped to [0, n] (Montgomery, Introduction to SQC, §7.2)."""

    kind = MonitorKind.NP

    def __init__(
        self, in_control: InControl, sample_size: int, rules: RunRules = RunRules.NONE
    ) -> None:
        self.p = _open_fraction("in_control.centre", in_control.centre)
        if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
            raise RuleError(
                [Problem(None, "sample_size", f"must be an integer ≥ 1, got {sample_size!r}")]
            )
        super().__init__(in_control, rules)
        self.sample_size = sample_size

    @classmethod
    def from_warmup(
        cls, nonconforming: ArrayLike, sample_size: int, *, rules: RunRules = RunRules.NONE
    ) -> NpMonitor:
        """Phase I: p̄ = Σd / (m·n) over m warm-up samples of size n."""
        d, n = _counts_and_sizes(
            nonconforming, sample_size, "warmup", size_name="sample_size", whole_sizes=True
        )
        return cls(InControl(float(d.sum() / n.sum())), sample_size, rules)

    def update(self, nonconforming: ArrayLike) -> MonitorUpdate:
        """Plot a block of nonconforming counts."""
        d, n = _counts_and_sizes(
            nonconforming, self.sample_size, "block", size_name="sample_size", whole_sizes=True
        )
        if (d > n).any():
            raise RuleError([Problem(None, "block", "counts exceed the sample size")])
        mean = self.sample_size * self.p
        sigma = _constant(d, math.sqrt(mean * (1.0 - self.p)))
        return self._emit(_attribute_points(d, mean, sigma, float(self.sample_size)))


class CMonitor(Monitor):
    """c chart of defects per inspection unit: limits c ± 3√c, the lower clipped at 0
    (Montgomery, Introduction to SQC, §7.3)."""

    kind = MonitorKind.C

    def __init__(self, in_control: InControl, rules: RunRules = RunRules.NONE) -> None:
        self.c = _positive_rate("in_control.centre", in_control.centre)
        super().__init__(in_control, rules)

    @classmethod
    def from_warmup(cls, defects: ArrayLike, *, rules: RunRules = RunRules.NONE) -> CMonitor:
        """Phase I: c̄ = mean defects per unit over the warm-up."""
        d, _ = _counts_and_sizes(defects, 1, "warmup", size_name="units", whole_sizes=False)
        return cls(InControl(float(d.mean())), rules)

    def update(self, defects: ArrayLike) -> MonitorUpdate:
        """Plot a block of defect counts, one per inspection unit."""
        d, _ = _counts_and_sizes(defects, 1, "block", size_name="units", whole_sizes=False)
        return self._emit(_attribute_points(d, self.c, _constant(d, math.sqrt(self.c)), math.inf))


class UMonitor(Monitor):
    """u chart of defects per unit with varying numbers of units nᵢ: limits ū ± 3√(ū/nᵢ),
    the lower clipped at 0 (Montgomery, Introduction to SQC, §7.3)."""

    kind = MonitorKind.U

    def __init__(self, in_control: InControl, rules: RunRules = RunRules.NONE) -> None:
        self.u = _positive_rate("in_control.centre", in_control.centre)
        super().__init__(in_control, rules)

    @classmethod
    def from_warmup(
        cls, defects: ArrayLike, units: ArrayLike | float, *, rules: RunRules = RunRules.NONE
    ) -> UMonitor:
        """Phase I: ū = Σc / Σn over the warm-up samples."""
        d, n = _counts_and_sizes(defects, units, "warmup", size_name="units", whole_sizes=False)
        return cls(InControl(float(d.sum() / n.sum())), rules)

    def update(self, defects: ArrayLike, units: ArrayLike | float) -> MonitorUpdate:
        """Plot a block of samples: defect counts and the inspection units in each."""
        d, n = _counts_and_sizes(defects, units, "block", size_name="units", whole_sizes=False)
        return self._emit(_attribute_points(d / n, self.u, np.sqrt(self.u / n), math.inf))
