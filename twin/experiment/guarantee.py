"""The minimum recovery guarantee rate: for a shock at a given severity, the probability that
the binding KPIs are back at ``level`` % of their pre-shock level within the recovery time
objective (RTO), with its Wilson interval; beside it robustness (min Q) and the time to
recover, each with an interval.

Per replication and binding KPI (the hypothesis's ``recovery.kpis``, else the KPIs of its
tolerances), performance Q(t) is the KPI's bucket value as % of its pre-shock level (the
mean over the buckets between warm-up and the shock's onset; inverted where lower is better
and capped at 100 — see :mod:`shocktwin.twin.experiment.recovery`). With the onset and the
end of the shock taken from the replication's own shock log (a shock may start at random or
cascade from another):

- the KPI has recovered at the start of the first bucket, after the last bucket with
  Q < level, whose Q is ≥ level: from there it stays at level to the horizon. A KPI that
  never fell below level recovered at the onset (recovery time 0); one still below level at
  the horizon never recovered. Buckets without a value (nothing finished in them) neither
  break nor show recovery. Times are known to one bucket (``experiment.bucket``);
- recovery time = recovered − onset; it is within the RTO when ≤ ``within``;
- TTR = recovered − the shock's end (0 when back before the shock ended), the convention of
  the resilience triangle (Bruneau et al. 2003), infinite when it never recovered;
- robustness = min Q from the onset on;
- the KPI has failed when Q fell below ``failure`` (anyLogistix's failure threshold), or —
  without a failure level — when a bucket after the onset broke its tolerance.

The replication recovers when every binding KPI does (its recovery time is the last one's;
that KPI is the replication's binding one); it is not measurable (``recovered`` None) when
the shock did not start before the horizon or a binding KPI has no pre-shock level or no
series. The guarantee is recovered / n over the measurable replications, with its 95 %
Wilson interval (continuity-corrected, the interval the verdict decides on:
:func:`shocktwin.interval.wilson_interval`); it **meets** a target when the interval's
low end is ≥ the target, **misses** it when the high end is below it, and is **undecided**
otherwise (a target of 1 is met only
when every replication recovered). Robustness is reported as its mean with a Student-t
interval and its minimum; TTR as its median and 90th percentile, each the order statistic
X(⌈qn⌉) with the distribution-free order-statistic interval (binomial ranks), so a
replication that never recovered counts as an infinitely long TTR rather than being dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shocktwin.twin.experiment.recovery import baseline_of, performance_pct

if TYPE_CHECKING:
    from shocktwin.scenarios.model import Recovery, Scenario, Tolerance
    from shocktwin.twin.experiment.replication import ReplicationResult

__all__ = ["MEETS", "MISSES", "UNDECIDED", "KpiRecovery", "RecoveryGuarantee",
           "ReplicationRecovery", "guarantee_curve", "guarantees_of", "kpi_recovery",
           "quantile_with_interval", "recovery_from_record", "recovery_guarantee",
           "recovery_of", "recovery_record", "shock_window", "state_of", "to_record"]

MEETS, MISSES, UNDECIDED = "meets", "misses", "undecided"


@dataclass(frozen=True)
class ReplicationRecovery:
    """One replication's recovery from one shock."""

    replication: int
    #: Back at level within the RTO; None when not measurable.
    recovered: bool | None
    #: Onset → recovered, h (inf: not recovered before the horizon; NaN: not measurable).
    recovery_h: float
    #: Lowest Q of the binding KPIs from the onset on, % of the pre-shock level.
    robustness_pct: float
    #: The shock's end → recovered, h (0 when back before the end; inf: never).
    ttr_h: float
    #: A binding KPI fell below the failure level (or broke its tolerance without one).
    failed: bool
    #: The binding KPI that recovered last (or not at all); None when not measurable.
    kpi: str | None


@dataclass(frozen=True)
class KpiRecovery:
    """One KPI's recovery in one replication."""

    kpi: str
    recovered_at_h: float  # inf: not before the horizon; NaN: not measurable
    robustness_pct: float
    failed: bool


@dataclass(frozen=True)
class RecoveryGuarantee:
    """The minimum recovery guarantee rate of a shock at one severity, over replications."""

    shock: str
    severity: float | None
    level_pct: float
    rto_h: float
    n: int  # measurable replications
    recovered: int
    rate: float  # recovered / n (NaN when n = 0)
    low: float  # 95 % Wilson interval of the rate
    high: float
    target: float | None
    state: str | None  # meets / misses / undecided; None without a target
    robustness_pct: float  # mean, with its t interval
    robustness_low: float
    robustness_high: float
    robustness_min: float
    ttr_p50_h: float  # order statistics (inf: beyond the horizon), with their intervals
    ttr_p50_low: float
    ttr_p50_high: float
    ttr_p90_h: float
    ttr_p90_low: float
    ttr_p90_high: float
    failed_share: float
    failure_pct: float | None = None
    never_recovered: int = 0  # measurable replications not back at level by the horizon
    unmeasured: int = 0  # replications left out (no shock, no baseline)
    kpis: tuple[str, ...] = ()
    #: How many of the binding KPIs' recoveries each KPI was last to (or never) recover in.
    binding_counts: tuple[tuple[str, int], ...] = ()


# --------------------------------------------------------------------------- per replication


def shock_window(result: ReplicationResult, shock_id: str, horizon_h: float
                 ) -> tuple[float, float] | None:
    """Onset and end of ``shock_id`` in the replication's shock log (its first occurrence;
    a recurring shock's repeats are ``id#k``); the end is the horizon when the shock had not
    ended by then; None when it did not start."""
    from shocktwin.twin.model.events import ShockEnded, ShockStarted

    def ours(name: str) -> bool:
        return name == shock_id or name.startswith(shock_id + "#")

    started = next((e for e in result.log if isinstance(e, ShockStarted) and ours(e.shock)),
                   None)
    if started is None:
        return None
    ended = next((e for e in result.log if isinstance(e, ShockEnded)
                  and e.shock == started.shock), None)
    return started.at_h, (ended.at_h if ended is not None else horizon_h)


def kpi_recovery(series: Mapping[str, np.ndarray], key: str, *, onset_h: float,
                 level_pct: float, failure_pct: float | None = None,
                 tolerances: Sequence[Tolerance] = (), warmup_h: float = 0.0) -> KpiRecovery:
    """When ``key`` is back at ``level_pct`` % of its pre-shock level for good (the module's
    definition), its robustness and whether it failed."""
    nan = math.nan
    if key not in series:
        return KpiRecovery(key, nan, nan, False)
    values = np.asarray(series[key], dtype=float)
    start = np.asarray(series["t_start_h"], dtype=float)
    stop = np.asarray(series["t_end_h"], dtype=float)
    baseline = baseline_of(values, start, stop, onset_h=onset_h, warmup_h=warmup_h)
    if math.isnan(baseline):
        return KpiRecovery(key, nan, nan, False)
    q = performance_pct(values, baseline, key)
    after = stop > onset_h
    measured = after & ~np.isnan(q)
    robustness = float(q[measured].min()) if measured.any() else nan
    bad = np.flatnonzero(after & (q < level_pct))  # NaN compares False: not bad
    if bad.size == 0:
        recovered_at = onset_h
    else:
        good = np.flatnonzero(measured & (q >= level_pct) & (np.arange(q.size) > bad[-1]))
        recovered_at = max(float(start[good[0]]), onset_h) if good.size else math.inf
    if failure_pct is not None:
        failed = bool(np.any(measured & (q < failure_pct)))
    else:
        bounds = [t for t in tolerances if t.key == key]
        failed = any(not t.holds(v) for t in bounds
                     for v in values[after & ~np.isnan(values)])
    return KpiRecovery(key, recovered_at, robustness, failed)


def recovery_of(result: ReplicationResult, scenario: Scenario, shock_id: str, *,
                spec: Recovery | None = None) -> ReplicationRecovery:
    """How replication ``result`` recovered from ``shock_id`` against the scenario's
    ``hypothesis.recovery`` (or ``spec``)."""
    spec = spec if spec is not None else scenario.hypothesis.recovery
    if spec is None:
        raise ValueError("the hypothesis states no recovery (hypothesis.recovery)")
    nan = math.nan
    unmeasured = ReplicationRecovery(result.replication, None, nan, nan, nan, False, None)
    window = shock_window(result, shock_id, scenario.horizon)
    if window is None:
        return unmeasured
    onset, end = window
    kpis = (list(spec.kpis) if spec.kpis is not None
            else list(dict.fromkeys(t.key for t in scenario.hypothesis.tolerances)))
    per = [kpi_recovery(result.series, k, onset_h=onset, level_pct=spec.level,
                        failure_pct=spec.failure, tolerances=scenario.hypothesis.tolerances,
                        warmup_h=scenario.warmup) for k in kpis]
    if not per or any(math.isnan(p.recovered_at_h) for p in per):
        return unmeasured
    last = max(per, key=lambda p: (p.recovered_at_h, -p.robustness_pct))
    recovery = last.recovered_at_h - onset
    return ReplicationRecovery(
        replication=result.replication,
        recovered=bool(recovery <= spec.within + 1e-9),
        recovery_h=recovery,
        robustness_pct=min(p.robustness_pct for p in per),
        ttr_h=max(last.recovered_at_h - end, 0.0),
        failed=any(p.failed for p in per),
        kpi=last.kpi)


def recovery_record(r: ReplicationRecovery) -> dict[str, Any]:
    """``r`` as a run log keeps it (infinities as strings, so the line is JSON)."""
    def num(x: float) -> float | str | None:
        if math.isnan(x):
            return None
        return x if math.isfinite(x) else "inf"

    return {"replication": r.replication, "recovered": r.recovered,
            "recovery_h": num(r.recovery_h), "robustness_pct": num(r.robustness_pct),
            "ttr_h": num(r.ttr_h), "failed": r.failed, "kpi": r.kpi}


def recovery_from_record(d: Mapping[str, Any]) -> ReplicationRecovery:
    """The inverse of :func:`recovery_record`."""
    def num(x: Any) -> float:
        return math.nan if x is None else (math.inf if x == "inf" else float(x))

    recovered = d["recovered"]
    return ReplicationRecovery(
        replication=int(d["replication"]),
        recovered=None if recovered is None else bool(recovered),
        recovery_h=num(d["recovery_h"]), robustness_pct=num(d["robustness_pct"]),
        ttr_h=num(d["ttr_h"]), failed=bool(d["failed"]), kpi=d.get("kpi"))


# --------------------------------------------------------------------------- over replications


def state_of(successes: int, n: int, low: float, high: float, target: float | None
             ) -> str | None:
    """meets / misses / undecided against ``target`` by the Wilson rule."""
    if target is None or n == 0:
        return None if target is None else UNDECIDED
    if target >= 1.0:
        return MEETS if successes == n else MISSES
    if low >= target:
        return MEETS
    if high < target:
        return MISSES
    return UNDECIDED


def quantile_with_interval(values: Iterable[float], q: float, level: float = 0.95
                           ) -> tuple[float, float, float]:
    """The q quantile of ``values`` as the order statistic X(⌈qn⌉) and its distribution-free
    interval (NaN where the sample is too small for a side). NaNs are left out; infinities
    (never recovered) are kept as the largest values."""
    from shocktwin.interval import quantile_interval

    x = np.sort(np.array([v for v in values if not math.isnan(v)], dtype=float))
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan
    point = float(x[max(math.ceil(q * n - 1e-9), 1) - 1])
    lo, hi = quantile_interval(n, q, level)
    return (point, float(x[lo - 1]) if lo is not None else math.nan,
            float(x[hi - 1]) if hi is not None else math.nan)


def recovery_guarantee(records: Sequence[ReplicationRecovery], *, shock: str,
                       severity: float | None, spec: Recovery,
                       kpis: Sequence[str] | None = None) -> RecoveryGuarantee:
    """The guarantee of ``records`` (one per replication) against ``spec``; ``kpis``: the
    binding KPIs to name (default the recovery's own)."""
    from collections import Counter

    from shocktwin.interval import t_interval, wilson_interval

    measured = [r for r in records if r.recovered is not None]
    n = len(measured)
    k = sum(1 for r in measured if r.recovered)
    nan = math.nan
    if n:
        w = wilson_interval(k, n)
        rate, low, high = w.share, w.low, w.high
    else:
        rate = low = high = nan
    robustness = [r.robustness_pct for r in measured]
    rob = t_interval(robustness)
    finite_rob = [v for v in robustness if not math.isnan(v)]
    ttr = [r.ttr_h for r in measured]
    p50 = quantile_with_interval(ttr, 0.5)
    p90 = quantile_with_interval(ttr, 0.9)
    binding = Counter(r.kpi for r in measured if r.kpi is not None and r.recovery_h > 0)
    return RecoveryGuarantee(
        shock=shock, severity=severity, level_pct=spec.level, rto_h=spec.within, n=n,
        recovered=k, rate=rate, low=low, high=high, target=spec.guarantee,
        state=state_of(k, n, low, high, spec.guarantee),
        robustness_pct=rob.mean, robustness_low=rob.low, robustness_high=rob.high,
        robustness_min=min(finite_rob) if finite_rob else nan,
        ttr_p50_h=p50[0], ttr_p50_low=p50[1], ttr_p50_high=p50[2],
        ttr_p90_h=p90[0], ttr_p90_low=p90[1], ttr_p90_high=p90[2],
        failed_share=(sum(1 for r in measured if r.failed) / n) if n else nan,
        failure_pct=spec.failure,
        never_recovered=sum(1 for r in measured if math.isinf(r.recovery_h)),
        unmeasured=len(records) - n,
        kpis=tuple(kpis if kpis is not None else (spec.kpis or ())),
        binding_counts=tuple(sorted(binding.items(), key=lambda kv: (-kv[1], kv[0]))))


def guarantee_curve(by_severity: Mapping[float, Sequence[ReplicationRecovery]], *, shock: str,
                    spec: Recovery, kpis: Sequence[str] | None = None
                    ) -> tuple[RecoveryGuarantee, ...]:
    """The guarantee at each severity (ascending), from the replications run there."""
    return tuple(recovery_guarantee(by_severity[s], shock=shock, severity=s, spec=spec,
                                    kpis=kpis) for s in sorted(by_severity))


def to_record(g: RecoveryGuarantee) -> dict[str, Any]:
    """``g`` as JSON-ready values: NaN → null; an infinite TTR (not recovered before the
    horizon) → null, with ``never_recovered`` saying how many replications that is."""
    out: dict[str, Any] = {}
    for key, value in asdict(g).items():
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        elif key == "kpis":
            value = list(value)
        elif key == "binding_counts":
            value = dict(value)
        out[key] = value
    return out


def guarantees_of(scenario: Scenario, replications: Sequence[ReplicationResult]
                  ) -> tuple[RecoveryGuarantee, ...]:
    """The recovery guarantee of each of the scenario's shocks over a run's replications
    (empty when the hypothesis states no recovery): what ``run`` reports per shock."""
    spec = scenario.hypothesis.recovery
    if spec is None:
        return ()
    kpis = scenario.hypothesis.recovery_kpis
    return tuple(recovery_guarantee([recovery_of(r, scenario, shock.id) for r in replications],
                                    shock=shock.id, severity=shock.severity(), spec=spec,
                                    kpis=kpis)
                 for shock in scenario.shocks)
