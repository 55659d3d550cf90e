"""Resource bounds: a run whose size is absurd is refused before it starts, with the
estimate that made it absurd, instead of filling the memory or running for months.

What a run keeps:

* while a replication runs, 8-byte records per unit released and per order (KPIs stream;
  nothing per event is kept) — ``BYTES_PER_UNIT``;
* for every replication whose result is kept (``run``, ``stress``), its KPI series and
  snapshots: about 190–220 B per bucket measured with tracemalloc on the bundled
  scenarios — ``BYTES_PER_BUCKET`` rounds that up. MTD, screening and optimisation keep
  only each run's KPIs.

The twin moves about 10⁴–10⁵ units a second per core, so the estimates below are
conservative orders of magnitude, not predictions.
"""

from __future__ import annotations

from shocktwin.errors import Problem, SimulationError
from shocktwin.scenarios.model import Scenario

__all__ = ["BYTES_PER_BUCKET", "BYTES_PER_UNIT", "MAX_BUCKETS", "MAX_CPU_DAYS",
           "MAX_MEMORY_GIB", "UNITS_PER_S", "check_budget", "check_plan", "mtd_runs",
           "optimize_runs"]

#: Records kept per unit made (release time, lead time, escape flag; order times).
BYTES_PER_UNIT = 64
#: KPI series and snapshots kept per bucket of a finished replication.
BYTES_PER_BUCKET = 256
#: The slowest rate the twin moves units (or replays operations) at on one core.
UNITS_PER_S = 5_000.0
MAX_MEMORY_GIB = 8.0
MAX_CPU_DAYS = 7.0
#: KPI series buckets per replication.
MAX_BUCKETS = 2_000_000


def check_budget(scenario: Scenario, runs: int, *, kept: int = 0,
                 file: str | None = None) -> None:
    """Refuse, before anything runs, a run that would need too much memory or CPU time.

    Args:
        scenario: what each run simulates.
        runs: how many replications will be simulated in all (CPU time).
        kept: how many finished replications are kept whole at once (their KPI series).
        file: the file to name in the problems; by default the scenario's own.

    Raises:
        SimulationError: one replication would need more than MAX_MEMORY_GIB, its series
            more than MAX_BUCKETS buckets, the kept results more than MAX_MEMORY_GIB, or all
            runs more than MAX_CPU_DAYS of CPU time; each problem gives its estimate.
    """
    file = file if file is not None else scenario.source_file
    problems: list[Problem] = []

    def refuse(loc: tuple[str, ...], message: str) -> None:
        problems.append(Problem(file, ".".join(loc), message, scenario.line_of(*loc)))

    buckets = scenario.horizon / scenario.bucket_h
    if buckets > MAX_BUCKETS:
        refuse(("experiment", "bucket") if scenario.experiment.bucket is not None
               else ("horizon",), (
            f"a horizon of {scenario.horizon:,.0f} h in buckets of {scenario.bucket_h:g} h "
            f"makes {buckets:,.0f} KPI buckets per replication (limit {MAX_BUCKETS:,}); "
            "use a wider bucket or a shorter horizon"))
    kept_gib = kept * buckets * BYTES_PER_BUCKET / 2**30
    if buckets <= MAX_BUCKETS and kept_gib > MAX_MEMORY_GIB:
        refuse(("experiment", "replications"), (
            f"{kept:,} replications kept with {buckets:,.0f} KPI buckets each would need "
            f"about {kept_gib:,.1f} GiB (limit {MAX_MEMORY_GIB:g} GiB); fewer replications "
            "or a wider bucket"))
    units, work, how = _size(scenario)
    memory_gib = units * BYTES_PER_UNIT / 2**30
    cpu_days = work * runs / UNITS_PER_S / 86_400.0
    if memory_gib > MAX_MEMORY_GIB:
        refuse(("horizon",), (
            f"about {units:,.0f} {how} would need about {memory_gib:,.1f} GiB "
            f"(limit {MAX_MEMORY_GIB:g} GiB); shorten the horizon"))
    elif cpu_days > MAX_CPU_DAYS:
        refuse(("experiment", "replications"), (
            f"{runs:,} runs of about {work:,.0f} {'units' if scenario.plant else 'operations'} "
            f"each would take about {cpu_days:,.0f} CPU-days (limit {MAX_CPU_DAYS:g}); fewer "
            "replications or a shorter horizon"))
    if problems:
        raise SimulationError(problems, file=file)


def _size(scenario: Scenario) -> tuple[float, float, str]:
    """(units kept per replication, units or operations moved per replication, wording)."""
    if scenario.plant is not None:
        demand = scenario.plant.demand
        units = demand.rate * demand.quantity * scenario.horizon
        return units, units, (f"units per replication ({demand.rate:g}/h x {demand.quantity}"
                              f" x {scenario.horizon:,.0f} h)")
    from shocktwin.scenarios.model import ReplayMode
    from shocktwin.twin.experiment.feed import load_shop_data

    assert scenario.shop is not None
    if not scenario.store_path().is_file():
        return 0.0, 0.0, "work orders"  # the run itself reports the missing store
    log = load_shop_data(scenario).log
    # Trace replays the log once; resampling releases at the recorded rate for the horizon.
    scale = (min(1.0, scenario.horizon / log.span_h) if scenario.shop.mode is ReplayMode.TRACE
             else scenario.horizon / max(log.span_h, 1e-9))
    orders = log.cases * scale
    return orders, log.operations * scale, (
        f"work orders per replication ({log.cases:,} in {log.span_h:,.0f} h of log, "
        f"replayed for {scenario.horizon:,.0f} h)")


def mtd_runs(scenario: Scenario, shock_id: str) -> int:
    """The most runs the MTD search of one shock can make: every replication scanned and
    bisected down to the resolution, capped by the block's ``budget``."""
    import math

    from shocktwin.scenarios.model import mtd_range

    spec = scenario.mtd
    assert spec is not None
    item = next(i for i in spec.shocks if i.shock == shock_id)
    shock = next(s for s in scenario.shocks if s.id == shock_id)
    low, high, resolution = mtd_range(shock, item)
    steps = math.ceil(math.log2(max((high - low) / resolution, 1.0))) if resolution > 0 else 64
    return min(spec.budget, spec.max_replications * (spec.scan + 2 + steps))


def optimize_runs(scenario: Scenario) -> int:
    """The runs an optimisation makes: replications x population x generations."""
    spec = scenario.optimize
    assert spec is not None
    return ((spec.replications or scenario.experiment.replications)
            * spec.population * spec.generations)


def check_plan(scenario: Scenario) -> None:
    """``check_budget`` for everything the file asks for: its replications, and its MTD
    searches and optimisation when it has those blocks. Every problem at once."""
    problems: list[Problem] = []
    n = scenario.experiment.replications
    checks: list[tuple[int, int]] = [(n, n)]
    if scenario.mtd is not None:
        checks += [(mtd_runs(scenario, item.shock), 0) for item in scenario.mtd.shocks]
    if scenario.optimize is not None:
        checks.append((optimize_runs(scenario), 0))
    for runs, kept in checks:
        try:
            check_budget(scenario, runs, kept=kept)
        except SimulationError as e:
            problems += [p for p in e.problems if p not in problems]
    if problems:
        raise SimulationError(problems, file=scenario.source_file)
