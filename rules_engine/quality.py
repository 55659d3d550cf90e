"""Measured quality in a running twin: control charts, capability and the statistics
triggers read from them.

Every lot of a measured material that incoming inspection reads hands its readings to the
material's :class:`QualityRecord` (through the rule engine), per characteristic, in the
order they were taken:

- **control charts**: the rule set's chart of the characteristic (X̄-R, X̄-S, I-MR, EWMA,
  CUSUM on the readings; p, np, c, u on the lot's nonconforming count) is fed as a stream
  (:mod:`rules_engine.monitor`). Its limits come from the first ``phase_i`` subgroups
  (phase I, estimated from the readings as they come in; nothing signals meanwhile) or
  from given ``limits``. Each signal is journalled (``ChartSignalled``); run rules are the
  family's numbers the rule set selects.
- **capability per lot**: Cpk with σ within the lot's subgroups (of the chart's subgroup
  size; of 5 where the chart has none), Ppk with the overall σ of its readings, against the
  rule set's limits (or the plant's), with Bissell's 95 % interval; journalled as
  ``LotMeasured``.
- **capability per supplier**: over its lots of the last 30 days, Cpk with the pooled
  within-lot σ and Ppk with the overall σ (lot-to-lot shifts lower Ppk, not Cpk), each
  with its interval.

Memory stays flat in the horizon: charts keep their state, the supplier windows hold one
row of sums per lot for 30 days.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shocktwin.errors import RuleError
from shocktwin.rules_engine.monitor import (
    CMonitor,
    CusumMonitor,
    EwmaMonitor,
    InControl,
    IndividualsMonitor,
    LimitSignal,
    Monitor,
    NpMonitor,
    PMonitor,
    RunRules,
    UMonitor,
    XbarRMonitor,
    XbarSMonitor,
)
from shocktwin.rules_engine.ruleset import ChartType, CompiledCharacteristic, RuleFamily
from shocktwin.twin.model.measure import bissell_interval

__all__ = ["DEFAULT_CPK_MIN", "CapabilityEstimate", "ChartState", "Moments", "QualityRecord",
           "SupplierWindow", "estimate", "lot_moments", "within_sigma"]

FloatArray = NDArray[np.float64]

#: The Cpk a characteristic must show where the rule set gives none (the common supplier
#: quality requirement for an established process).
DEFAULT_CPK_MIN = 1.33
_WINDOW_H = 30 * 24.0
_SIGNAL_WINDOW_H = 7 * 24.0
_CAPABILITY_SUBGROUP = 5
_D2 = {2: 1.128, 3: 1.693, 4: 2.059, 5: 2.326, 6: 2.534, 7: 2.704, 8: 2.847, 9: 2.970,
       10: 3.078}


@dataclass(frozen=True)
class CapabilityEstimate:
    """Cpk and Ppk of a set of readings, with Bissell's 95 % intervals."""

    n: int
    mean: float
    sigma_within: float
    sigma_overall: float
    cpk: float
    cpk_low: float
    cpk_high: float
    ppk: float
    ppk_low: float
    ppk_high: float


def _index(mean: float, sigma: float, lsl: float | None, usl: float | None) -> float:
    if not sigma > 0:
        return math.inf
    sides = [(usl - mean) if usl is not None else math.inf,
             (mean - lsl) if lsl is not None else math.inf]
    return min(sides) / (3.0 * sigma)


def estimate(n: int, mean: float, sigma_within: float, sigma_overall: float,
             lsl: float | None, usl: float | None) -> CapabilityEstimate:
    cpk = _index(mean, sigma_within, lsl, usl)
    ppk = _index(mean, sigma_overall, lsl, usl)
    return CapabilityEstimate(n, mean, sigma_within, sigma_overall, cpk, *bissell_interval(cpk, n),
                              ppk, *bissell_interval(ppk, n))


def within_sigma(readings: FloatArray, subgroup: int) -> float:
    """σ within consecutive subgroups of ``subgroup`` readings: R̄/d2 (n ≤ 10) or the pooled
    subgroup standard deviation; the overall s when there are fewer than two subgroups."""
    m = subgroup if subgroup >= 2 else _CAPABILITY_SUBGROUP
    k = readings.size // m
    if k < 2:
        return float(readings.std(ddof=1)) if readings.size > 1 else 0.0
    groups = readings[: k * m].reshape(k, m)
    if m in _D2:
        return float((groups.max(axis=1) - groups.min(axis=1)).mean() / _D2[m])
    return float(math.sqrt(groups.var(axis=1, ddof=1).mean()))


def _family(rules: tuple[Any, ...]) -> RunRules:
    if not rules:
        return RunRules.NONE
    we = RuleFamily.WESTERN_ELECTRIC.rules
    return RunRules.WESTERN_ELECTRIC if rules[0] in we else RunRules.NELSON


@dataclass
class ChartState:
    """One characteristic's chart: phase I until its limits are set, then the stream."""

    material: str
    characteristic: str
    spec: CompiledCharacteristic
    monitor: Monitor | None = None
    warmup: list[Any] = field(default_factory=list)
    pending: list[float] = field(default_factory=list)  # readings short of a subgroup

    @property
    def chart(self) -> ChartType:
        assert self.spec.chart is not None
        return self.spec.chart

    def _phase_i(self, batch: list[Any]) -> None:
        spc = self.spec.spc
        assert spc is not None
        self.warmup.extend(batch)
        if len(self.warmup) < spc.phase_i:
            return
        rules = _family(self.spec.run_rules)
        data = self.warmup
        try:
            self.monitor = self._build(data, rules)
        except RuleError:
            # No spread yet, or no nonconforming unit (p̄ = 0 gives no limits): estimate
            # again from the latest phase_i subgroups when the next lot comes.
            del self.warmup[:-spc.phase_i]
            return
        self.warmup = []

    def _build(self, data: list[Any], rules: RunRules) -> Monitor:
        spc = self.spec.spc
        assert spc is not None
        chart = self.chart
        if chart is ChartType.XBAR_R:
            return XbarRMonitor.from_warmup(np.asarray(data), rules=rules)
        if chart is ChartType.XBAR_S:
            return XbarSMonitor.from_warmup(np.asarray(data), rules=rules)
        x = np.asarray(data, dtype=float)
        if chart is ChartType.I_MR:
            return IndividualsMonitor.from_warmup(x, rules=rules)
        if chart is ChartType.EWMA:
            return EwmaMonitor.from_warmup(x, lam=spc.lam, L=spc.width)
        if chart is ChartType.CUSUM:
            return CusumMonitor.from_warmup(x, k=spc.k, h=spc.h)
        d = np.asarray([a for a, _ in data], dtype=float)
        n = np.asarray([b for _, b in data], dtype=float)
        if chart is ChartType.P:
            return PMonitor.from_warmup(d, n.astype(int), rules=rules)
        if chart is ChartType.NP:
            return NpMonitor.from_warmup(d, int(n[0]), rules=rules)
        if chart is ChartType.C:
            return CMonitor.from_warmup(d, rules=rules)
        return UMonitor.from_warmup(d, n, rules=rules)

    def _given(self) -> Monitor:
        spc = self.spec.spc
        assert spc is not None and spc.limits is not None
        ic = InControl(spc.limits.centre, spc.limits.sigma)
        rules = _family(self.spec.run_rules)
        chart, m = self.chart, spc.subgroup_size or 1
        if chart is ChartType.XBAR_R:
            return XbarRMonitor(ic, m, rules)
        if chart is ChartType.XBAR_S:
            return XbarSMonitor(ic, m, rules)
        if chart is ChartType.I_MR:
            return IndividualsMonitor(ic, rules)
        if chart in (ChartType.EWMA, ChartType.CUSUM):
            if m > 1:
                assert ic.sigma is not None
                ic = InControl(ic.centre, ic.sigma / math.sqrt(m))
            if chart is ChartType.EWMA:
                return EwmaMonitor(ic, lam=spc.lam, L=spc.width)
            return CusumMonitor(ic, k=spc.k, h=spc.h)
        if chart is ChartType.P:
            return PMonitor(ic, rules)
        if chart is ChartType.NP:
            return NpMonitor(ic, m, rules)
        if chart is ChartType.C:
            return CMonitor(ic, rules)
        return UMonitor(ic, rules)

    def feed(self, readings: FloatArray, found: int, n: int
             ) -> tuple[list[tuple[str, int, float]], int]:
        """A lot's readings (or its count of nonconforming among ``n`` read): the signals
        they completed, as (signal, points that signalled, the first one's plotted value:
        the range, s or moving range for a spread signal, C⁻ for a downward CUSUM), and
        the number of points with any signal. An EWMA or CUSUM starts afresh after it
        signals (the cause is acted on), so a sustained shift is not counted point by
        point."""
        spc = self.spec.spc
        assert spc is not None
        if self.monitor is None and spc.limits is not None:
            self.monitor = self._given()
        chart = self.chart
        m = spc.subgroup_size or 1
        batch: list[Any]
        if chart in (ChartType.XBAR_R, ChartType.XBAR_S):
            values = [*self.pending, *readings.tolist()]
            k = len(values) // m
            batch = [values[i * m:(i + 1) * m] for i in range(k)]
            self.pending = values[k * m:]
        elif chart in (ChartType.I_MR, ChartType.EWMA, ChartType.CUSUM):
            values = [*self.pending, *readings.tolist()]
            k = len(values) // m
            batch = ([sum(values[i * m:(i + 1) * m]) / m for i in range(k)] if m > 1
                     else values)
            self.pending = values[k * m:] if m > 1 else []
        elif chart is ChartType.NP:
            if n != m:
                return [], 0  # an np chart needs samples of its fixed size
            batch = [(found, m)]
        else:
            batch = [(found, n)]
        if not batch:
            return [], 0
        if self.monitor is None:
            self._phase_i(batch)
            return [], 0
        restart = chart in (ChartType.EWMA, ChartType.CUSUM)
        kinds: dict[str, tuple[int, float]] = {}  # signal → (points, first value)
        signalled: set[int] = set()
        start = 0
        while start < len(batch):
            update = self._update(batch[start:])
            hits = self._selected(update)
            if restart and hits:
                # Up to the first signal; the monitor restarts after it.
                first = min(min(ix) for _, ix in hits)
                hits = [(sig, tuple(i for i in ix if i == first)) for sig, ix in hits]
                hits = [(sig, ix) for sig, ix in hits if ix]
                self.monitor.restart()  # type: ignore[union-attr]
                start += first - update.start + 1
            else:
                start = len(batch)
            for signal, indices in hits:
                k = indices[0] - update.start
                companion = signal in (LimitSignal.SPREAD_OUT_OF_LIMITS,
                                       LimitSignal.CUSUM_LOWER)
                value = (update.companion[k] if companion and update.companion is not None
                         else update.statistic[k])
                points, first_value = kinds.get(signal.value, (0, float(value)))
                kinds[signal.value] = (points + len(indices), first_value)
                signalled.update(indices)  # stream indices: a re-fed point gets a new one
        return (sorted((kind, pts, v) for kind, (pts, v) in kinds.items()),
                len(signalled))

    def _selected(self, update: Any) -> list[tuple[Any, tuple[int, ...]]]:
        """The signals of an update that count: limits, and the run rules selected."""
        selected = set(self.spec.run_rules)
        return [(signal, tuple(indices)) for signal, indices in update.signals.items()
                if indices and (isinstance(signal, LimitSignal) or signal in selected)]

    def _update(self, batch: list[Any]) -> Any:
        monitor = self.monitor
        chart = self.chart
        if chart in (ChartType.XBAR_R, ChartType.XBAR_S):
            return monitor.update(np.asarray(batch, dtype=float))  # type: ignore[union-attr]
        if chart in (ChartType.I_MR, ChartType.EWMA, ChartType.CUSUM):
            return monitor.update(np.asarray(batch, dtype=float))  # type: ignore[union-attr]
        d = np.asarray([a for a, _ in batch], dtype=float)
        n = np.asarray([b for _, b in batch], dtype=float)
        if chart is ChartType.P:
            return monitor.update(d, n.astype(int))  # type: ignore[union-attr,call-arg]
        if chart in (ChartType.NP, ChartType.C):
            return monitor.update(d)  # type: ignore[union-attr]
        return monitor.update(d, n)  # type: ignore[union-attr,call-arg]


@dataclass
class Moments:
    """Readings pooled lot by lot: count, mean, sum of squares about the mean (merged by
    Chan et al.'s update, so no Σx² cancels), and the within-lot sum of squares with its
    degrees of freedom."""

    lots: int = 0
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    within_ss: float = 0.0
    within_dof: int = 0

    def add(self, n: int, mean: float, m2: float, within_var: float) -> None:
        total = self.n + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n * n / total
        self.mean += delta * n / total
        self.n = total
        self.lots += 1
        if n > 1:
            self.within_ss += within_var * (n - 1)
            self.within_dof += n - 1

    def merge(self, lots: int, n: int, mean: float, m2: float, within_ss: float,
              within_dof: int) -> None:
        """Pool another set of lots given by its summary."""
        total = self.n + n
        if total == 0:
            return
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n * n / total
        self.mean += delta * n / total
        self.n = total
        self.lots += lots
        self.within_ss += within_ss
        self.within_dof += within_dof

    def estimate(self, lsl: float | None, usl: float | None) -> CapabilityEstimate | None:
        if self.n < 2:
            return None
        overall = math.sqrt(self.m2 / (self.n - 1))
        within = (math.sqrt(self.within_ss / self.within_dof) if self.within_dof > 0
                  else overall)
        return estimate(self.n, self.mean, within, overall, lsl, usl)


def lot_moments(readings: FloatArray) -> tuple[int, float, float]:
    """(n, mean, sum of squares about the mean) of one lot's readings."""
    mean = float(readings.mean())
    return readings.size, mean, float(((readings - mean) ** 2).sum())


@dataclass
class SupplierWindow:
    """A supplier's lots of one characteristic over the last 30 days: per lot (time, n,
    mean, sum of squares about its mean, within-lot variance)."""

    rows: deque[tuple[float, int, float, float, float]] = field(default_factory=deque)

    def add(self, now: float, readings: FloatArray, within_var: float) -> None:
        self.rows.append((now, *lot_moments(readings), within_var))
        self.evict(now)

    def evict(self, now: float) -> None:
        """Forget the lots older than the window."""
        while self.rows and self.rows[0][0] < now - _WINDOW_H:
            self.rows.popleft()

    def estimate(self, lsl: float | None, usl: float | None) -> CapabilityEstimate | None:
        pooled = Moments()
        for _, n, mean, m2, within in self.rows:
            pooled.add(n, mean, m2, within)
        return pooled.estimate(lsl, usl)


class QualityRecord:
    """The measured-quality state of one material under the rule set in force."""

    def __init__(self, material: str) -> None:
        self.material = material
        self.charts: dict[tuple[str, str], ChartState] = {}  # (supplier, characteristic)
        self.windows: dict[tuple[str, str], SupplierWindow] = {}  # (supplier, characteristic)
        self.totals: dict[tuple[str, str], Moments] = {}  # over the run
        self.history: dict[tuple[str, str], deque[float]] = {}  # recent readings
        self.signals: deque[tuple[float, str, str | None]] = deque()  # (time, chart, supplier)
        self.lot_cpk = math.inf
        self.lot_ppk = math.inf
        self.below_in_a_row = 0
        self.last_supplier: str | None = None  # of the last lot measured

    def forget(self) -> None:
        """The quality records are lost (a cyber incident back to its recovery point):
        charts start their phase I again, and the capability windows, the readings on
        record and the signals are gone. The run's own totals (for the end-of-run
        capability) are the twin's accounting, not the plant's records, and stay."""
        self.charts.clear()
        self.windows.clear()
        self.history.clear()
        self.signals.clear()
        self.lot_cpk = self.lot_ppk = math.inf
        self.below_in_a_row = 0

    def chart(self, spec: CompiledCharacteristic, supplier: str | None) -> ChartState | None:
        """The chart of ``spec`` for ``supplier``'s lots: each source is its own process,
        with its own phase I; a changed chart in a reloaded rule set starts afresh."""
        if spec.chart is None or spec.spc is None:
            return None
        key = (supplier or "", spec.name)
        state = self.charts.get(key)
        if state is None or state.spec != spec:
            state = ChartState(self.material, spec.name, spec)
            self.charts[key] = state
        return state

    def signal_count(self, now: float, chart: str | None = None,
                     supplier: str | None = None) -> int:
        """Points with a signal in the last 7 days, on ``chart`` (default any) of
        ``supplier``'s lots (default any supplier's)."""
        while self.signals and self.signals[0][0] < now - _SIGNAL_WINDOW_H:
            self.signals.popleft()
        return sum(1 for _, c, s in self.signals
                   if (chart is None or c == chart) and (supplier is None or s == supplier))

    def supplier_capability(self, supplier: str, limits: dict[str, tuple[float | None,
                                                                          float | None]],
                            now: float) -> tuple[float, float, float, float]:
        """(lowest Cpk with its 95 % interval, lowest Ppk) of the supplier's characteristics
        over 30 days; +inf where nothing was measured."""
        cpk = cpk_low = cpk_high = ppk = math.inf
        for (sup, name), window in self.windows.items():
            if sup != supplier or name not in limits:
                continue
            window.evict(now)
            est = window.estimate(*limits[name])
            if est is None:
                continue
            if est.cpk < cpk:
                cpk, cpk_low, cpk_high = est.cpk, est.cpk_low, est.cpk_high
            ppk = min(ppk, est.ppk)
        return cpk, cpk_low, cpk_high, ppk

    def remember(self, supplier: str, name: str, readings: FloatArray) -> None:
        history = self.history.setdefault((supplier, name), deque(maxlen=500))
        history.extend(readings.tolist())
