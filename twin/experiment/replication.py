"""Experiments: replications of a scenario, their seeds and executors, and the summary with
95 % confidence intervals and the steady-state hypothesis verdict (the rule, and sequential
replications until the verdict is decided, are in ``sequential``).

A replication is a pure function of (scenario, replication index, seed, engine), so results
do not depend on the executor, the number of workers or the order replications finish in.
"""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shocktwin.errors import SimulationError
from shocktwin.interval import t_interval
from shocktwin.scenarios.model import Engine, Kpi, Scenario, Tolerance
from shocktwin.twin.experiment.budget import check_budget, estimate_run
from shocktwin.twin.experiment.executor import Executor, ExecutorSpec, Job, Runner, run_jobs
from shocktwin.twin.experiment.kpi import kpis_of, series_of
from shocktwin.twin.experiment.sequential import (
    ALPHA,
    LookRefused,
    SequentialOutcome,
    VerdictState,
    decide,
    plan_looks,
    run_sequential,
)
from shocktwin.twin.kernel import Kernel, make_kernel
from shocktwin.twin.model.base import Model, PlantRecord
from shocktwin.twin.model.events import ModelEvent
from shocktwin.twin.model.plant import Plant
from shocktwin.twin.model.shop import Shop

__all__ = ["Executor", "ExperimentResult", "KpiSummary", "ReplicationResult",
           "ToleranceCheck", "Verdict", "VerdictState", "build_model", "judge",
           "result_of", "run_experiment", "run_replication", "run_until_decided",
           "summarise"]

#: A replication whose model is estimated above this is collected right after it ends.
COLLECT_ABOVE_BYTES = 256 * 1024 * 1024

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReplicationResult:
    """What one replication measured."""

    replication: int
    kpis: dict[str, float]
    series: dict[str, np.ndarray]
    stations: tuple[dict[str, Any], ...]
    snapshot_h: np.ndarray
    snapshots: dict[str, np.ndarray]
    events: int
    wall_s: float = field(compare=False)
    log: tuple[ModelEvent, ...] = ()  # ShockStarted, ShockEnded, ... in time order


@dataclass(frozen=True)
class KpiSummary:
    """A KPI across replications: mean, sample standard deviation and the 95 % CI (t)."""

    kpi: str
    mean: float
    std: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class ToleranceCheck:
    """One tolerance of the hypothesis against the replications."""

    tolerance: Tolerance
    mean: float
    share_within: float  # share of replications in which this tolerance held
    mean_within: bool


@dataclass(frozen=True)
class Verdict:
    """The steady-state hypothesis against the replications: all its tolerances must hold
    together in at least ``required`` of them. ``held`` of ``n`` did; the Wilson interval of
    that share at ``level`` decides (``sequential.decide``): HOLDS when its lower end is at
    or above ``required``, VIOLATED when its upper end is below, else UNDECIDED. A scenario
    without tolerances has no verdict (NONE; the share and its interval are NaN)."""

    state: VerdictState
    required: float
    observed: float  # held / n
    checks: tuple[ToleranceCheck, ...]
    held: int = 0
    n: int = 0
    share_low: float = float("nan")
    share_high: float = float("nan")
    level: float = 1 - ALPHA

    @property
    def holds(self) -> bool:
        return self.state is VerdictState.HOLDS


@dataclass(frozen=True)
class ExperimentResult:
    scenario: Scenario
    seed: int
    engine: Engine
    replications: tuple[ReplicationResult, ...]
    summary: dict[str, KpiSummary]
    verdict: Verdict
    #: The looks of a run until decided (``run_until_decided``); None for a plain run.
    sequential: SequentialOutcome | None = None
    #: The minimum recovery guarantee rate of each of the scenario's shocks over the
    #: replications (``twin.experiment.guarantee``); empty when the hypothesis states no
    #: recovery.
    guarantees: tuple[Any, ...] = ()

    @property
    def events(self) -> int:
        return sum(r.events for r in self.replications)


def build_model(scenario: Scenario, kernel: Kernel, *, seed: int, replication: int) -> Model:
    """The scenario's plant or shop for one replication on ``kernel``, handed its recorded
    data (``feed.RecordedFeeds``) and, for incoming inspection, the runtime rule engine."""
    from shocktwin.rules_engine.runtime import RuleEngine
    from shocktwin.twin.experiment.feed import RecordedFeeds

    feeds = RecordedFeeds(scenario)
    if scenario.shop is not None:
        return Shop(scenario, kernel, seed=seed, replication=replication, feeds=feeds)
    return Plant(scenario, kernel, seed=seed, replication=replication, feeds=feeds,
                 rules=RuleEngine)


def run_replication(scenario: Scenario, replication: int, *, seed: int,
                    engine: Engine | str = Engine.SIMPY) -> ReplicationResult:
    """Run one replication on a fresh kernel and measure its KPIs."""
    started = time.perf_counter()
    model = build_model(scenario, make_kernel(str(engine)), seed=seed, replication=replication)
    record = model.run()
    del model
    return result_of(scenario, replication, record, started)


def result_of(scenario: Scenario, replication: int, record: PlantRecord,
              started: float) -> ReplicationResult:
    """A finished run's record measured: its KPIs, series and snapshots (``started``: the
    ``time.perf_counter()`` the run began at)."""
    if estimate_run(scenario, 1).memory_bytes_per_run > COLLECT_ABOVE_BYTES:
        # The model holds reference cycles, freed only when the collector next runs; with
        # big models several dead ones pile up first (3 replications reached 2.6 GB for one
        # of 0.75 GB). A collection costs about 40-60 ms, so only big models pay it.
        gc.collect()
    return ReplicationResult(
        replication=replication,
        kpis=kpis_of(record),
        series=series_of(record, scenario.bucket_h),
        stations=record.stations,
        snapshot_h=record.snapshot_h,
        snapshots=record.snapshots,
        events=record.events,
        wall_s=time.perf_counter() - started,
        log=record.log,
    )


def run_experiment(scenario: Scenario, *, replications: int | None = None,
                   seed: int | None = None, engine: Engine | str | None = None,
                   executor: Executor | str = Executor.LOCAL, workers: int | None = None,
                   scheduler: str | None = None, progress: Progress | None = None,
                   on_result: Callable[[ReplicationResult], None] | None = None,
                   ) -> ExperimentResult:
    """Run the scenario's replications (overrides win over the scenario's settings)."""
    n, seed, engine = _settings(scenario, replications, seed, engine)
    with Runner(ExecutorSpec(Executor(executor), workers, scheduler)) as runner:
        results = _run_more(scenario, [], n, seed, engine, runner, progress, on_result)
    return _result(scenario, seed, engine, results, 1 - ALPHA)


def _settings(scenario: Scenario, replications: int | None, seed: int | None,
              engine: Engine | str | None) -> tuple[int, int, Engine]:
    """The replications, seed and engine of a run (overrides win over the scenario's), the
    first replications checked against the budget."""
    exp = scenario.experiment
    n = replications if replications is not None else exp.replications
    if n < 1:
        raise SimulationError("at least one replication is needed")
    check_budget(scenario, n, kept=n)
    return (n, exp.seed if seed is None else seed,
            Engine(engine if engine is not None else exp.engine))


def run_until_decided(scenario: Scenario, *, replications: int | None = None,
                      seed: int | None = None, engine: Engine | str | None = None,
                      executor: Executor | str = Executor.LOCAL, workers: int | None = None,
                      scheduler: str | None = None, progress: Progress | None = None,
                      on_result: Callable[[ReplicationResult], None] | None = None,
                      alpha: float = ALPHA) -> ExperimentResult:
    """Run replications in looks (``sequential.plan_looks``: the first ``replications``, or
    the scenario's, then doubled up to ``experiment.max_replications``) until the verdict is
    decided, each look at the level 1 − alpha/K of K planned looks.

    Replication r is the same whichever look runs it, so the result equals
    :func:`run_experiment` with the final number of replications (same KPIs, same journal
    hash); only the verdict's level differs. The budget is checked before every look: a
    look it refuses ends the run with the looks taken (``result.sequential.stopped`` says
    why); a first look it refuses is refused as in :func:`run_experiment`.
    """
    first, seed, engine = _settings(scenario, replications, seed, engine)
    plan = plan_looks(first, scenario.experiment.max_replications, alpha)
    tolerances = scenario.hypothesis.tolerances
    results: list[ReplicationResult] = []
    with Runner(ExecutorSpec(Executor(executor), workers, scheduler)) as runner:

        def held_after(n: int) -> int:
            if results:
                try:
                    check_budget(scenario, n, kept=n)
                except SimulationError as e:
                    reasons = "; ".join(p.message for p in e.problems) or str(e)
                    raise LookRefused(f"the budget refuses {n} replications: {reasons}"
                                      ) from e
            results[:] = _run_more(scenario, results, n, seed, engine, runner, progress,
                                   on_result)
            return int(_held_together(tolerances, results).sum())

        if tolerances:
            outcome = run_sequential(held_after, plan, scenario.hypothesis.probability)
        else:  # nothing to decide: one look
            held_after(first)
            outcome = SequentialOutcome(plan, ())
    result = _result(scenario, seed, engine, results, plan.level)
    return dataclasses.replace(result, sequential=outcome)


def _run_more(scenario: Scenario, done: Sequence[ReplicationResult], n: int, seed: int,
              engine: Engine, runner: Runner, progress: Progress | None,
              on_result: Callable[[ReplicationResult], None] | None,
              ) -> list[ReplicationResult]:
    """``done`` (replications 0 … len(done) − 1) and the replications after it up to n."""
    jobs = [Job(scenario, r, seed, engine.value) for r in range(len(done), n)]
    finished = len(done)

    def finish(_: int, result: ReplicationResult) -> None:
        nonlocal finished
        finished += 1
        if on_result is not None:
            on_result(result)
        if progress:
            progress(finished, n)

    return [*done, *run_jobs(jobs, runner, finish)]


def _result(scenario: Scenario, seed: int, engine: Engine,
            results: Sequence[ReplicationResult], level: float) -> ExperimentResult:
    from shocktwin.twin.experiment.guarantee import guarantees_of

    return ExperimentResult(scenario=scenario, seed=seed, engine=engine,
                            replications=tuple(results), summary=summarise(results),
                            verdict=judge(scenario.hypothesis.tolerances,
                                          scenario.hypothesis.probability, results,
                                          level=level),
                            guarantees=guarantees_of(scenario, results))


def summarise(results: Sequence[ReplicationResult]) -> dict[str, KpiSummary]:
    """Mean and 95 % t-interval of every KPI over the replications (NaNs left out)."""
    out: dict[str, KpiSummary] = {}
    # The plant's KPIs in their table order, then those per product as measured.
    plant_wide = [k.value for k in Kpi if k.value in results[0].kpis]
    names = [*plant_wide, *(k for k in results[0].kpis if k not in plant_wide)]
    for name in names:
        values = np.array([r.kpis[name] for r in results], dtype=float)
        out[name] = confidence_interval(name, values)
    return out


def confidence_interval(name: str, values: np.ndarray, level: float = 0.95) -> KpiSummary:
    i = t_interval(values, level)
    return KpiSummary(name, i.mean, i.sd, i.low, i.high, i.n)


def judge(tolerances: Sequence[Tolerance], required: float,
          results: Sequence[ReplicationResult], *, level: float = 1 - ALPHA) -> Verdict:
    """The steady-state hypothesis verdict over the replications (``sequential.decide`` on
    the share in which all tolerances held together; NONE without tolerances)."""
    if not results:
        raise ValueError("no replications to judge")
    checks = []
    for tol in tolerances:
        values = np.array([r.kpis[tol.key] for r in results], dtype=float)
        held = np.array([tol.holds(v) for v in values], dtype=bool)
        finite = values[~np.isnan(values)]
        mean = float(finite.mean()) if finite.size else float("nan")
        checks.append(ToleranceCheck(tol, mean, float(held.mean()), tol.holds(mean)))
    n = len(results)
    if not tolerances:
        nan = float("nan")
        return Verdict(VerdictState.NONE, required, nan, (), 0, n, nan, nan, level)
    together = int(_held_together(tolerances, results).sum())
    state, interval = decide(together, n, required, level)
    return Verdict(state, required, together / n, tuple(checks), together, n,
                   interval.low, interval.high, level)


def _held_together(tolerances: Sequence[Tolerance],
                   results: Sequence[ReplicationResult]) -> np.ndarray:
    """Per replication: did every tolerance hold?"""
    together = np.ones(len(results), dtype=bool)
    for tol in tolerances:
        together &= np.array([tol.holds(float(r.kpis[tol.key])) for r in results], dtype=bool)
    return together
