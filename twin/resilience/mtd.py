"""Maximum tolerable disruption: the largest severity of a shock for which the steady-state
hypothesis still holds with probability ≥ p, with a confidence interval.

Method. Replication r runs on its own random-number streams at every severity (common
random numbers), so it has its own tolerable severity s_r: the hypothesis holds in r below
it and fails above (checked, see below). s_r is bracketed in [low, high] and found by
bisection to within the resolution, for all replications in lockstep (each round is one
batch for the executor). The hypothesis holds with probability P(s_r ≥ s), so the MTD at
probability p is the (1 − p) quantile of the s_r — with n replications, the order statistic
s_(k+1), k = ⌊(1 − p) n⌋, the largest severity at which at least p n of them hold.

The resolution. A replication's s_r is known only to its bracket: t_r ≤ s_r < f_r, with
t_r the largest severity tried that held and f_r the smallest that failed (f_r − t_r ≤ the
resolution). Order statistics keep that order, t_(i) ≤ s_(i) ≤ f_(i), so:

- the point estimate is t_(k+1): the largest severity *tried* at which at least p n of the
  replications held. It is conservative — below the sample quantile s_(k+1) by less than
  one resolution step (f_(k+1) − t_(k+1));
- its 95 % interval is [t_(l), f_(u)], with (l, u) the ranks of the distribution-free
  order-statistic interval of the (1 − p) quantile (binomial ranks, no shape assumed for the
  s_r). Since P(s_(l) ≤ ξ ≤ s_(u)) ≥ 95 % and t_(l) ≤ s_(l), s_(u) ≤ f_(u), it covers the
  true quantile ξ with at least 95 %: the lower end is widened down by the brackets' lower
  ends, the upper end up by their upper ends, each by less than one resolution step.

Replications are added until the interval is as narrow as asked, up to ``max_replications``
and the run budget; a search stopped by the budget says so and gives the bracket it
reached, never a made-up number.

Monotonicity is checked, not assumed: the range is first scanned at a few interior points,
so an effect that rises and falls again (escapes under rectifying inspection peak at the
plan's AOQL) is found even when the range's upper end holds; s_r is the edge of the first
failing region, and every replication that holds again above it is reported.

Every run's outcome is stored as it finishes (``RunStore``), keyed by everything it
depends on, so an interrupted search resumes without recomputing anything.

The recovery guarantee (:mod:`shocktwin.twin.experiment.guarantee`), when the hypothesis
states a ``recovery``, comes from the same runs: each run's recovery from the searched shock
is kept in its record, every replication runs every point of the scan grid, so the curve of
the guarantee over severity is read off the grid's points at no extra run. The guarantee at
the MTD comes with the recovery figures measured there, and the guarantee at the shock's own
severity (the scenario as written) from one more run per replication.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shocktwin.errors import Problem, ScenarioError, SimulationError, unknown_name
from shocktwin.files import read_text
from shocktwin.interval import quantile_interval, t_interval
from shocktwin.scenarios.model import MtdShock, Scenario, mtd_axis_value, mtd_range
from shocktwin.twin.experiment.budget import check_mtd_budget
from shocktwin.twin.experiment.executor import LOCAL, ExecutorSpec, Job, Runner, run_jobs
from shocktwin.twin.experiment.guarantee import (
    RecoveryGuarantee,
    ReplicationRecovery,
    guarantee_curve,
    quantile_with_interval,
    recovery_from_record,
    recovery_guarantee,
    recovery_of,
    recovery_record,
    to_record,
)
from shocktwin.twin.experiment.prefix import SharedPrefix, open_shared_prefix
from shocktwin.twin.experiment.recovery import resilience_of
from shocktwin.twin.journal.document import (
    DocumentKind,
    Guarantee,
    MtdDocument,
    MtdFound,
    MtdStatus,
    SearchFinished,
    Threshold,
    make_document,
    write_document,
)

__all__ = ["RUN_LOG", "MtdOutcome", "MtdResult", "MtdStatus", "ReplicationThreshold",
           "RunStore", "find_mtd", "iso22301", "mtd_document", "quantile_interval",
           "resilience_at", "run_key", "run_mtd_search", "search_mtds"]


BELOW = -math.inf  # the hypothesis fails already at the range's low end
ABOVE = math.inf  # it still holds at the range's high end


@dataclass(frozen=True)
class ReplicationThreshold:
    replication: int
    tolerable: float  # largest severity tested that holds (BELOW / ABOVE when censored)
    failing: float  # smallest severity tested that fails (ABOVE when none)
    broken: tuple[str, ...]  # KPIs outside tolerance at ``failing``
    monotone: bool


@dataclass(frozen=True)
class MtdResult:
    shock: str
    axis: str
    unit: str  # "h" for time axes, "" for magnitudes
    probability: float
    low: float
    high: float
    resolution: float
    status: MtdStatus
    mtd: float | None
    ci_low: float | None
    ci_high: float | None
    replications: int
    #: Runs the result needed — the search's, at the shock's own severity, and (from
    #: ``search_mtds``) those measuring recovery at the MTD — whether computed now or taken
    #: from an earlier search's log (so a resumed search reports the same count as an
    #: uninterrupted one).
    runs: int
    thresholds: tuple[ReplicationThreshold, ...]
    binding_kpi: str | None
    binding_counts: dict[str, int]
    non_monotone: tuple[int, ...]
    target: float | None = None
    meets_target: bool | None = None
    resilience: dict[str, float] = field(default_factory=dict)
    iso22301: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: Of ``runs``, those taken from the run log (an earlier, interrupted search's) instead
    #: of computed.
    runs_reused: int = 0
    #: The recovery guarantee at each point of the scan grid (the hypothesis's ``recovery``;
    #: empty without one).
    guarantee_curve: tuple[RecoveryGuarantee, ...] = ()
    #: The guarantee at the MTD found (over the replications the recovery figures there
    #: were measured in).
    guarantee_at_mtd: RecoveryGuarantee | None = None
    #: The guarantee at the shock's own severity (the scenario as written).
    guarantee: RecoveryGuarantee | None = None

    @property
    def fails(self) -> bool:
        """The search did not settle, the MTD misses its target, or the ISO 22301 checks
        (RTO within the MTD, recovery within the RTO, the MBCO kept) fail."""
        return (self.meets_target is False or self.status is MtdStatus.NOT_CONVERGED
                or any(self.iso22301.get(k) is False
                       for k in ("rto_within_mtd", "recovered_within_rto", "mbco_kept")))


#: Largest run log read back by ``--resume`` (a run's record is about 1 kB).
RUN_LOG_LIMIT = 512 * 1024 * 1024


class RunStore:
    """Outcomes of finished runs, appended to a JSON-lines file as each completes."""

    def __init__(self, path: Path | None, *, resume: bool) -> None:
        self.path = path
        self.cache: dict[str, dict[str, Any]] = {}
        self.loaded = 0
        if path is None:
            return
        if path.exists() and not resume:
            raise SimulationError("it holds runs of an earlier search; give --resume to "
                                  "continue it, or another --out", file=str(path))
        if path.exists():
            text = read_text(path, limit=RUN_LOG_LIMIT, error=SimulationError)
            for line in text.splitlines():
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    continue  # the line a kill cut short (or damaged): that run is redone
                if isinstance(record, dict) and isinstance(record.get("key"), str):
                    self.cache[record["key"]] = record
            self.loaded = len(self.cache)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SimulationError(f"cannot create the output folder: {e.strerror or e}",
                                  file=str(path.parent)) from None

    def get(self, key: str) -> dict[str, Any] | None:
        return self.cache.get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        record = {"key": key, **record}
        self.cache[key] = record
        if self.path is None:
            return
        line = json.dumps(record, allow_nan=True, separators=(",", ":")) + "\n"
        try:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as e:
            raise SimulationError(f"cannot write the run log: {e.strerror or e}",
                                  file=str(self.path)) from None


def run_key(sc: Scenario) -> str:
    """What a run's outcome depends on: the scenario without its search and optimisation
    settings, and the content of its rule sets (keys of stored runs)."""
    h = hashlib.sha256(sc.model_copy(update={"mtd": None, "optimize": None})
                       .content_hash().encode())
    for digest in sorted(sc.rule_files().values()):
        h.update(digest.encode())
    return h.hexdigest()[:32]


def find_mtd(scenario: Scenario, item: MtdShock, *, executor: ExecutorSpec | Runner = LOCAL,
             store: RunStore | None = None, seed: int | None = None,
             progress: Callable[[str], None] | None = None,
             counted: Callable[[int], None] | None = None,
             share_prefix: bool = True) -> MtdResult:
    """Search the MTD of one shock of the scenario's ``mtd`` block; ``counted(n)`` is told
    the runs needed so far (computed or reused) after each batch.

    Each replication's run up to the shock's start is simulated once and every severity
    continues from it (``twin.experiment.prefix``) where the executor and the shock allow;
    the results are the same as with ``share_prefix=False``, which runs every severity
    from the start."""
    shared = _Shared(executor, item.shock, enabled=share_prefix)
    try:
        return _find_mtd(scenario, item, executor=executor, store=store, seed=seed,
                         progress=progress, counted=counted, shared=shared)
    finally:
        shared.close()


class _Shared:
    """The search's keepers (``SharedPrefix``), opened at its first batch of runs."""

    def __init__(self, executor: ExecutorSpec | Runner, shock_id: str, *,
                 enabled: bool) -> None:
        self.executor, self.shock_id, self.enabled = executor, shock_id, enabled
        self.prefix: SharedPrefix | None = None
        self.opened = False

    def run(self, variant: Callable[[float], Scenario], seed: int, engine: str,
            todo: Sequence[tuple[tuple[int, float], Job]],
            done: Callable[[int, Any], None]) -> None:
        if self.enabled and not self.opened:
            self.opened = True
            self.prefix = open_shared_prefix(variant, self.shock_id,
                                             severities=[p[1] for p, _ in todo], seed=seed,
                                             engine=engine, executor=self.executor)
        if self.prefix is None:
            run_jobs([job for _, job in todo], self.executor, done)
        else:
            self.prefix.run([point for point, _ in todo], done)

    def close(self) -> None:
        if self.prefix is not None:
            self.prefix.close()


def _find_mtd(scenario: Scenario, item: MtdShock, *, executor: ExecutorSpec | Runner,
              store: RunStore | None, seed: int | None,
              progress: Callable[[str], None] | None,
              counted: Callable[[int], None] | None, shared: _Shared) -> MtdResult:
    spec = scenario.mtd
    if spec is None:
        raise ValueError("the scenario has no mtd block")
    shocks = {s.id: s for s in scenario.shocks}
    shock = shocks[item.shock]
    timed = shock.axis_is_time
    low, high, resolution = mtd_range(shock, item)
    precision = mtd_axis_value(shock, spec.precision) if spec.precision is not None else None
    p = spec.probability if spec.probability is not None else scenario.hypothesis.probability
    seed = scenario.experiment.seed if seed is None else seed
    engine = scenario.experiment.engine.value
    store = store or RunStore(None, resume=False)
    check_mtd_budget(scenario, item.shock)
    base_key = run_key(scenario)
    tolerances = scenario.hypothesis.tolerances
    recovery = scenario.hypothesis.recovery
    runs = 0  # computed by this call (what the budget counts)
    reused = 0  # taken from the run log instead of computed (an interrupted search's runs)
    seen: dict[tuple[int, float], dict[str, Any]] = {}  # every outcome this search used

    def usable(hit: dict[str, Any] | None) -> bool:
        # A record of a run log written before recoveries were kept is run again, not
        # misread as a run without one.
        return hit is not None and (recovery is None or "recovery" in hit)

    def variant(severity: float) -> Scenario:
        return _with_severity(scenario, item.shock, severity)

    def evaluate(points: list[tuple[int, float]]) -> dict[tuple[int, float], dict[str, Any]]:
        nonlocal runs, reused
        out: dict[tuple[int, float], dict[str, Any]] = {}
        todo: list[tuple[tuple[int, float], str, Job]] = []
        for r, s in dict.fromkeys(points):
            key = f"{base_key}|{item.shock}|{s!r}|{r}|{seed}|{engine}"
            hit = store.get(key)
            if hit is not None and usable(hit):
                out[(r, s)] = seen[(r, s)] = hit
                reused += 1
            else:
                todo.append(((r, s), key, Job(variant(s), r, seed, engine)))
        if runs + len(todo) > spec.budget:
            raise _BudgetExceeded
        jobs = [job for _, _, job in todo]

        def done(i: int, result: Any) -> None:
            point, key, _ = todo[i]
            broken = [t.key for t in tolerances if not t.holds(result.kpis[t.key])]
            record: dict[str, Any] = {"holds": not broken, "broken": broken,
                                      "kpis": {k: v for k, v in result.kpis.items()}}
            if recovery is not None:
                record["recovery"] = recovery_record(recovery_of(result, scenario,
                                                                 item.shock))
            store.put(key, record)
            out[point] = seen[point] = record

        if jobs:
            shared.run(variant, seed, engine, [(point, job) for point, _, job in todo], done)
            runs += len(jobs)
        if counted is not None:
            counted(runs + reused)
        return out

    thresholds: dict[int, dict[str, Any]] = {}
    notes: list[str] = []
    n_target = spec.replications
    status = MtdStatus.CONVERGED
    try:
        while True:
            fresh = [r for r in range(n_target) if r not in thresholds]
            if fresh:
                _bisect(fresh, low, high, resolution, spec.scan, evaluate, thresholds)
                if progress:
                    progress(f"{item.shock}: {len(thresholds)} replications, {runs} runs")
            mtd, ci = _estimate(thresholds, p)
            width = (ci[1] - ci[0]) if ci[0] is not None and ci[1] is not None else math.inf
            done_enough = precision is None or width <= precision
            if done_enough or n_target >= spec.max_replications:
                if not done_enough:
                    notes.append(f"the interval is wider than the precision asked for after "
                                 f"{n_target} replications (max_replications)")
                break
            n_target = min(spec.max_replications, n_target + spec.replications)
    except _BudgetExceeded:
        status = MtdStatus.NOT_CONVERGED
        notes.append(f"stopped at the budget of {spec.budget} runs")
    mtd, ci = _estimate(thresholds, p) if thresholds else (None, (None, None))
    ordered = sorted(thresholds)
    rows = tuple(ReplicationThreshold(r, thresholds[r]["tolerable"], thresholds[r]["failing"],
                                      tuple(thresholds[r]["broken"]),
                                      thresholds[r].get("monotone", True))
                 for r in ordered)
    counts = Counter(k for row in rows if row.failing != ABOVE for k in row.broken)
    if status is MtdStatus.CONVERGED:
        if mtd is not None and mtd == BELOW:
            status = MtdStatus.BELOW_RANGE
        elif mtd is not None and mtd == ABOVE:
            status = MtdStatus.ABOVE_RANGE
    non_monotone = tuple(row.replication for row in rows if not row.monotone)
    if non_monotone:
        notes.append(f"the hypothesis is not monotone in severity in replications "
                     f"{', '.join(map(str, non_monotone))}: it fails below their tolerable "
                     "severity; the MTD assumes monotonicity there")
    curve: tuple[RecoveryGuarantee, ...] = ()
    own: RecoveryGuarantee | None = None
    if recovery is not None and thresholds:
        kpis = scenario.hypothesis.recovery_kpis

        def recoveries(severity: float, reps: Sequence[int] = ordered
                       ) -> list[ReplicationRecovery]:
            return [recovery_from_record(seen[(r, severity)]["recovery"]) for r in reps
                    if (r, severity) in seen]

        by_point = {g: recoveries(g) for g in _grid(low, high, spec.scan)}
        curve = guarantee_curve({g: v for g, v in by_point.items() if v}, shock=item.shock,
                                spec=recovery, kpis=kpis)
        severity = _round(shock.severity())
        # The search's replications, and more when the guarantee asks for more
        # (guarantee_replications): the rate's interval narrows with them.
        own_reps = sorted({*ordered, *range(spec.guarantee_replications or 0)})
        try:
            if status is MtdStatus.NOT_CONVERGED:
                raise _BudgetExceeded
            evaluate([(r, severity) for r in own_reps])
            own = recovery_guarantee(recoveries(severity, own_reps), shock=item.shock,
                                     severity=severity, spec=recovery, kpis=kpis)
        except _BudgetExceeded:
            notes.append(f"no recovery guarantee at the shock's own severity: its "
                         f"{len(own_reps)} runs would pass the budget of {spec.budget}")
    target = mtd_axis_value(shock, item.target) if item.target is not None else None
    finite = mtd is not None and math.isfinite(mtd)
    meets = None
    if target is not None and mtd is not None and status is not MtdStatus.NOT_CONVERGED:
        meets = bool(mtd >= target)
    result = MtdResult(
        shock=item.shock, axis=shock.axis, unit="h" if timed else "",
        probability=p, low=low, high=high, resolution=resolution, status=status,
        mtd=mtd if finite or status in (MtdStatus.BELOW_RANGE, MtdStatus.ABOVE_RANGE) else None,
        ci_low=ci[0], ci_high=ci[1], replications=len(rows), runs=runs + reused,
        runs_reused=reused, thresholds=rows,
        binding_kpi=counts.most_common(1)[0][0] if counts else None,
        binding_counts=dict(counts), non_monotone=non_monotone, target=target,
        meets_target=meets, notes=tuple(notes), guarantee_curve=curve, guarantee=own)
    return result


class _BudgetExceeded(Exception):
    pass


def _bisect(reps: list[int], low: float, high: float, resolution: float, scan: int,
            evaluate: Callable[[list[tuple[int, float]]], dict[tuple[int, float], Any]],
            thresholds: dict[int, dict[str, Any]]) -> None:
    """Scan, bracket and bisect the tolerable severity of ``reps`` in lockstep.

    The range is first scanned at ``scan`` evenly spaced interior points as well as its
    ends, so a failure in the middle of the range (an effect that rises and falls again,
    such as escapes under rectifying inspection) is not hidden by a holding upper end. The
    tolerable severity is then bisected between the last holding point before the first
    failing one and that failing point. A replication that holds again above a failing
    point is flagged as non-monotone.
    """
    grid = _grid(low, high, scan)
    found = evaluate([(r, g) for r in reps for g in grid])
    brackets: dict[int, list[float]] = {}
    broken: dict[int, list[str]] = {}
    monotone: dict[int, bool] = {}
    for r in reps:
        outcomes = [found[(r, g)] for g in grid]
        first_fail = next((i for i, o in enumerate(outcomes) if not o["holds"]), None)
        monotone[r] = first_fail is None or not any(o["holds"] for o in outcomes[first_fail:])
        if first_fail is None:
            thresholds[r] = {"tolerable": ABOVE, "failing": ABOVE, "broken": [],
                             "monotone": True}
        elif first_fail == 0:
            thresholds[r] = {"tolerable": BELOW, "failing": low,
                             "broken": outcomes[0]["broken"], "monotone": monotone[r]}
        else:
            brackets[r] = [grid[first_fail - 1], grid[first_fail]]
            broken[r] = outcomes[first_fail]["broken"]
    while brackets:
        points = [(r, _mid(lo, hi)) for r, (lo, hi) in brackets.items()
                  if hi - lo > resolution]
        if not points:
            break
        found = evaluate(points)
        for r, mid in points:
            if found[(r, mid)]["holds"]:
                brackets[r][0] = mid
            else:
                brackets[r][1] = mid
                broken[r] = found[(r, mid)]["broken"]
    for r, (lo, hi) in brackets.items():
        thresholds[r] = {"tolerable": lo, "failing": hi, "broken": broken[r],
                         "monotone": monotone[r]}


def _round(x: float) -> float:
    return float(f"{x:.10g}")


def _grid(low: float, high: float, scan: int) -> list[float]:
    """The range's ends and ``scan`` evenly spaced points between them, every replication
    runs at (rounded, so that keys of stored runs are stable text)."""
    return [_round(low + (high - low) * i / (scan + 1)) for i in range(scan + 2)]


def _with_severity(scenario: Scenario, shock_id: str, severity: float) -> Scenario:
    """The scenario with the shock at ``severity``; without the other shocks unless the mtd
    block keeps them (shocks cascading from it stay either way)."""
    keep_others = scenario.mtd is not None and scenario.mtd.others == "keep"
    followers = {shock_id}
    grew = True
    while grew:  # everything that cascades, directly or not, from the searched shock
        grew = False
        for s in scenario.shocks:
            if s.after is not None and s.after.shock in followers and s.id not in followers:
                followers.add(s.id)
                grew = True
    chosen = [(s.with_severity(severity) if s.id == shock_id else s) for s in scenario.shocks
              if keep_others or s.id in followers]
    return scenario.model_copy(update={"shocks": chosen})


def _mid(lo: float, hi: float) -> float:
    # Rounded so that keys of stored runs are stable text.
    return float(f"{(lo + hi) / 2.0:.10g}")


def _estimate(thresholds: dict[int, dict[str, Any]],
              p: float) -> tuple[float | None, tuple[float | None, float | None]]:
    """The MTD at probability ``p`` and its 95 % interval from the replications' brackets
    (the module's docstring): the point t_(k+1), the interval [t_(l), f_(u)]."""
    tolerable = np.sort(np.array([t["tolerable"] for t in thresholds.values()], dtype=float))
    failing = np.sort(np.array([t["failing"] for t in thresholds.values()], dtype=float))
    n = tolerable.size
    if n == 0:
        return None, (None, None)
    k = math.floor((1.0 - p) * n + 1e-9)
    mtd = float(tolerable[min(k, n - 1)])
    lo_rank, hi_rank = quantile_interval(n, 1.0 - p)
    ci_low = float(tolerable[lo_rank - 1]) if lo_rank is not None else None
    ci_high = float(failing[hi_rank - 1]) if hi_rank is not None else None
    return mtd, (ci_low, ci_high)


def resilience_at(scenario: Scenario, item: MtdShock, severity: float, *, replications: int,
                  executor: ExecutorSpec | Runner = LOCAL, store: RunStore | None = None,
                  seed: int | None = None, kpi: str | None = None) -> dict[str, Any]:
    """TTS, TTR, robustness and loss of the binding KPI at ``severity`` (over
    replications), and whether ISO 22301's RTO and MBCO were kept."""
    return _measure_at(scenario, item, severity, replications=replications,
                       executor=executor, store=store, seed=seed, kpi=kpi).resilience


@dataclass(frozen=True)
class _AtSeverity:
    resilience: dict[str, Any]
    guarantee: RecoveryGuarantee | None
    runs: int
    runs_reused: int


def _measure_at(scenario: Scenario, item: MtdShock, severity: float, *, replications: int,
                executor: ExecutorSpec | Runner = LOCAL, store: RunStore | None = None,
                seed: int | None = None, kpi: str | None = None) -> _AtSeverity:
    """The recovery figures of the binding KPI at ``severity`` — means, robustness with its
    t interval, TTR's median and 90th percentile with order-statistic intervals — and the
    recovery guarantee there (when the hypothesis states a recovery)."""
    sc = _with_severity(scenario, item.shock, severity)
    changed = next(s for s in sc.shocks if s.id == item.shock)
    seed = scenario.experiment.seed if seed is None else seed
    engine = scenario.experiment.engine.value
    store = store or RunStore(None, resume=False)
    recovery = scenario.hypothesis.recovery
    tolerance = next((t for t in scenario.hypothesis.tolerances if t.key == kpi),
                     scenario.hypothesis.tolerances[0])
    base_key = f"res|{run_key(scenario)}|{item.shock}|{severity!r}|{tolerance.kpi}"
    keys = [f"{base_key}|{r}|{seed}|{engine}" for r in range(replications)]

    def usable(hit: dict[str, Any] | None) -> bool:
        return hit is not None and (recovery is None or "recovery" in hit)

    todo = [r for r, key in enumerate(keys) if not usable(store.get(key))]

    def done(i: int, result: Any) -> None:
        m = resilience_of(result.series, tolerance, onset_h=changed.start,
                          end_h=changed.end_h, warmup_h=scenario.warmup)
        record: dict[str, Any] = {"robustness_pct": m.robustness_pct, "tts_h": m.tts_h,
                                  "ttr_h": m.ttr_h, "loss_pct_h": m.loss_pct_h}
        if recovery is not None:
            record["recovery"] = recovery_record(recovery_of(result, scenario, item.shock))
        store.put(keys[todo[i]], record)

    run_jobs([Job(sc, r, seed, engine) for r in todo], executor, done)
    rows = [store.get(key) or {} for key in keys]

    def column(name: str) -> list[float]:
        return [float(row.get(name, math.nan)) for row in rows]

    def mean(values: list[float]) -> float:
        finite = [v for v in values if not math.isnan(v)]
        return float(np.mean(finite)) if finite else math.nan

    def finite(x: float) -> float:
        return x if math.isfinite(x) else math.nan  # beyond the horizon: no number

    robustness, ttr = column("robustness_pct"), column("ttr_h")
    rob = t_interval(robustness)
    # A replication still out of tolerance at the horizon has the longest TTR of all.
    ttr_ranked = [math.inf if math.isnan(v) else v for v in ttr]
    p50 = quantile_with_interval(ttr_ranked, 0.5)
    p90 = quantile_with_interval(ttr_ranked, 0.9)
    resilience = {
        "kpi": tolerance.kpi.value,
        "severity": severity,
        "replications": replications,
        "robustness_pct": mean(robustness),
        "robustness_pct_low": rob.low,
        "robustness_pct_high": rob.high,
        "robustness_pct_min": min((v for v in robustness if not math.isnan(v)),
                                  default=math.nan),
        "tts_h": mean(column("tts_h")),
        "ttr_h": mean(ttr),
        "ttr_h_max": max((v for v in ttr if not math.isnan(v)), default=math.nan),
        "ttr_h_p50": finite(p50[0]), "ttr_h_p50_low": finite(p50[1]),
        "ttr_h_p50_high": finite(p50[2]),
        "ttr_h_p90": finite(p90[0]), "ttr_h_p90_low": finite(p90[1]),
        "ttr_h_p90_high": finite(p90[2]),
        "never_recovered": sum(1 for v in ttr if math.isnan(v)),
        "loss_pct_h": mean(column("loss_pct_h")),
    }
    guarantee = None
    if recovery is not None:
        guarantee = recovery_guarantee(
            [recovery_from_record(row["recovery"]) for row in rows if "recovery" in row],
            shock=item.shock, severity=severity, spec=recovery,
            kpis=scenario.hypothesis.recovery_kpis)
    return _AtSeverity(resilience, guarantee, len(todo), replications - len(todo))


def iso22301(result: MtdResult, resilience: dict[str, Any], rto_h: float | None,
             mbco_pct: float | None) -> dict[str, Any]:
    """ISO 22301 checks: RTO within the MTD (time axes), recovery within the RTO, and the
    performance never below the MBCO."""
    out: dict[str, Any] = {}
    if not resilience:
        return out  # no MTD to measure recovery at
    if rto_h is not None:
        out["rto_h"] = rto_h
        if result.unit == "h" and result.mtd is not None and math.isfinite(result.mtd):
            out["rto_within_mtd"] = rto_h <= result.mtd
        ttr_max = resilience.get("ttr_h_max", math.nan)
        out["recovered_within_rto"] = (resilience.get("never_recovered", 0) == 0
                                       and not (ttr_max > rto_h))
    if mbco_pct is not None:
        out["mbco_pct"] = mbco_pct
        low = resilience.get("robustness_pct_min", math.nan)
        out["mbco_kept"] = bool(low >= mbco_pct) if not math.isnan(low) else None
    return out


# --------------------------------------------------------------------------- the searches


def search_mtds(scenario: Scenario, items: Sequence[MtdShock], *,
                executor: ExecutorSpec = LOCAL, store: RunStore | None = None,
                seed: int | None = None, progress: Callable[[int, int], None] | None = None
                ) -> list[MtdResult]:
    """Every MTD search of ``items`` on one open executor, each with the resilience of its
    binding KPI at the MTD and the ISO 22301 checks of the scenario's mtd block."""
    if scenario.mtd is None:
        raise ValueError("the scenario has no mtd block")
    mtd = scenario.mtd
    store = store or RunStore(None, resume=False)
    at_mtd = min(mtd.replications, 20)
    # The most runs the searches can take (each bounded by its budget), so the progress
    # bar has an end; the searches usually finish well before it.
    bounds = [min(mtd.budget, _most_runs(scenario, item)) + at_mtd for item in items]
    finished = 0  # runs needed by the searches already done (computed or reused)

    def counted(n: int) -> None:
        if progress is not None:
            progress(finished + n, sum(bounds))

    results = []
    with Runner(executor) as runner:
        for item in items:
            res = find_mtd(scenario, item, executor=runner, store=store, seed=seed,
                           counted=counted)
            resilience: dict[str, Any] = {}
            at: _AtSeverity | None = None
            if res.mtd is not None and res.status is MtdStatus.CONVERGED:
                at = _measure_at(scenario, item, res.mtd, replications=at_mtd,
                                 executor=runner, store=store, seed=seed,
                                 kpi=res.binding_kpi)
                resilience = at.resilience
            # The runs the result needed: the search's and those at the MTD.
            runs = res.runs + (at.runs + at.runs_reused if at is not None else 0)
            reused = res.runs_reused + (at.runs_reused if at is not None else 0)
            finished += runs
            counted(0)
            results.append(dataclasses.replace(
                res, resilience=resilience, runs=runs, runs_reused=reused,
                guarantee_at_mtd=at.guarantee if at is not None else None,
                iso22301=iso22301(res, resilience, mtd.rto, mtd.mbco)))
    return results


def _most_runs(scenario: Scenario, item: MtdShock) -> int:
    """An upper bound of a search's runs: every replication on the scan grid, bisected
    down to the resolution, and once more at the shock's own severity."""
    assert scenario.mtd is not None
    shock = next(s for s in scenario.shocks if s.id == item.shock)
    low, high, resolution = mtd_range(shock, item)
    scan = scenario.mtd.scan
    step = (high - low) / (scan + 1)
    halvings = max(0, math.ceil(math.log2(max(step / resolution, 1.0))))
    own = max(scenario.mtd.max_replications, scenario.mtd.guarantee_replications or 0)
    return scenario.mtd.max_replications * (scan + 2 + halvings) + own


# --------------------------------------------------------------------------- life cycle


@dataclass(frozen=True)
class MtdOutcome:
    """An MTD search as ``shocktwin mtd`` reports it: the results and their document."""

    scenario: Scenario
    results: tuple[MtdResult, ...]
    document: MtdDocument
    #: Runs taken from an earlier, interrupted search (``--resume``).
    runs_reused: int
    written: tuple[Path, ...] = ()

    @property
    def fails(self) -> bool:
        return any(r.fails for r in self.results)


def run_mtd_search(scenario_file: str | Path, *, shocks: Sequence[str] = (),
                   out: str | Path | None = None, resume: bool = False, seed: int | None = None,
                   executor: ExecutorSpec = LOCAL,
                   progress: Callable[[int, int], None] | None = None,
                   allowed_roots: Sequence[str | Path] = (),
                   command: Sequence[str] | None = None) -> MtdOutcome:
    """Load the scenario and search the MTD of each shock of its mtd block (``shocks``: only
    these), keeping every finished run in ``out``'s run log as it ends so that ``resume``
    continues an interrupted search; then write ``mtd.json`` there as a whole.

    The output folder is locked for the whole search: a second command writing it is
    refused.
    """
    from shocktwin.locks import locked
    from shocktwin.scenarios.loader import load_scenario

    path = Path(scenario_file)
    if resume and out is None:
        raise ScenarioError("--resume needs --out, the folder of the interrupted search")
    scenario = load_scenario(path, allowed_roots=allowed_roots)
    if scenario.mtd is None:
        raise ScenarioError("the scenario has no mtd block", file=str(path))
    known = [i.shock for i in scenario.mtd.shocks]
    unknown = [s for s in dict.fromkeys(shocks) if s not in known]
    if unknown:
        raise ScenarioError([Problem(str(path), "mtd.shocks", f"--shock {s}: " + unknown_name(
            "shock", s, known, listed="in the mtd block")) for s in unknown], file=str(path))
    items = [i for i in scenario.mtd.shocks if not shocks or i.shock in shocks]
    folder = Path(out) if out is not None else None
    with (locked(folder, what="results folder", error=SimulationError) if folder is not None
          else contextlib.nullcontext()):
        store = RunStore(folder / RUN_LOG if folder is not None else None, resume=resume)
        results = search_mtds(scenario, items, executor=executor, store=store, seed=seed,
                              progress=progress)
        doc = mtd_document(scenario, results, seed=seed, command=command)
        written = (write_document(folder, doc),) if folder is not None else ()
    return MtdOutcome(scenario, tuple(results), doc, sum(r.runs_reused for r in results),
                      written)


#: The run log an MTD search, an optimisation or a stress gate keeps in its output folder.
RUN_LOG = "runs.jsonl"


def mtd_document(scenario: Scenario, results: Sequence[MtdResult], *, seed: int | None,
                 command: Sequence[str] | None = None) -> MtdDocument:
    """The MTD results as ``mtd.json`` holds them: one chained record per shock (censored
    ends as ``above_range`` / ``below_range``, unknowns as null), closed by the search's
    outcome."""
    records: list[Any] = [_mtd_record(r) for r in results]
    records.append(SearchFinished(runs=sum(r.runs for r in results),
                                  runs_reused=sum(r.runs_reused for r in results),
                                  fails=any(r.fails for r in results)))
    doc = make_document(DocumentKind.MTD, records, scenario=scenario.name,
                        scenario_hash=scenario.content_hash(),
                        seed=scenario.experiment.seed if seed is None else seed,
                        rules=scenario.rule_files(), command=command)
    assert isinstance(doc, MtdDocument)
    return doc


def _mtd_record(r: MtdResult) -> MtdFound:
    def num(x: Any) -> Any:
        if isinstance(x, float):
            if x == math.inf:
                return MtdStatus.ABOVE_RANGE.value
            if x == -math.inf:
                return MtdStatus.BELOW_RANGE.value
            return None if math.isnan(x) else x
        return x

    return MtdFound(
        shock=r.shock, axis=r.axis, unit=r.unit, probability=r.probability,
        range=(r.low, r.high), resolution=r.resolution, status=r.status.value,
        mtd=num(r.mtd), ci95=(num(r.ci_low), num(r.ci_high)),
        target=r.target, meets_target=r.meets_target,
        binding_kpi=r.binding_kpi, binding_counts=dict(r.binding_counts),
        replications=r.replications, runs=r.runs, runs_reused=r.runs_reused,
        non_monotone_replications=list(r.non_monotone),
        resilience_at_mtd={k: num(v) for k, v in r.resilience.items()},
        iso22301=dict(r.iso22301), notes=list(r.notes),
        thresholds=[Threshold(replication=t.replication, tolerable=num(t.tolerable),
                              failing=num(t.failing), broken=list(t.broken))
                    for t in r.thresholds],
        fails=r.fails,
        guarantee_curve=[Guarantee(**to_record(g)) for g in r.guarantee_curve],
        guarantee_at_mtd=(Guarantee(**to_record(r.guarantee_at_mtd))
                          if r.guarantee_at_mtd is not None else None),
        guarantee=Guarantee(**to_record(r.guarantee)) if r.guarantee is not None else None)
