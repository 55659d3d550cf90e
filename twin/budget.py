"""Resource bounds: a run whose size is absurd is refused before it starts, with the
estimate that made it absurd, instead of filling the memory or running for months.

A replication keeps 8-byte records per unit released and per order (KPIs stream; nothing
per event is kept), and the twin moves about 10⁴–10⁵ units a second per core, so the
estimates below are conservative orders of magnitude, not predictions.
"""

from __future__ import annotations

from scenarios.model import Scenario
from twin.errors import Problem, SimulationError

__all__ = ["BYTES_PER_UNIT", "MAX_BUCKETS", "MAX_CPU_DAYS", "MAX_MEMORY_GIB",
           "UNITS_PER_S", "check_budget"]

#: Records kept per unit made (release time, lead time, escape flag; order times).
BYTES_PER_UNIT = 64
#: The slowest rate the twin moves units at on one core (a long routing, breakdowns).
UNITS_PER_S = 5_000.0
MAX_MEMORY_GIB = 8.0
MAX_CPU_DAYS = 7.0
#: KPI series buckets per replication.
MAX_BUCKETS = 2_000_000


def check_budget(scenario: Scenario, replications: int, *, file: str | None = None) -> None:
    """Raise SimulationError when one replication would need more than MAX_MEMORY_GIB, the
    series more than MAX_BUCKETS buckets, or all replications more than MAX_CPU_DAYS of
    CPU time."""
    problems = []
    buckets = scenario.horizon / scenario.bucket_h
    if buckets > MAX_BUCKETS:
        problems.append(Problem(file, "experiment.bucket", (
            f"a horizon of {scenario.horizon:,.0f} h in buckets of {scenario.bucket_h:g} h "
            f"makes {buckets:,.0f} KPI buckets per replication (limit {MAX_BUCKETS:,}); "
            "use a wider bucket")))
    if scenario.plant is not None:
        demand = scenario.plant.demand
        units = demand.rate * demand.quantity * scenario.horizon
        memory_gib = units * BYTES_PER_UNIT / 2**30
        cpu_days = units * replications / UNITS_PER_S / 86_400.0
        if memory_gib > MAX_MEMORY_GIB:
            problems.append(Problem(file, "horizon", (
                f"about {units:,.0f} units per replication ({demand.rate:g}/h x "
                f"{demand.quantity} x {scenario.horizon:,.0f} h) would need about "
                f"{memory_gib:,.1f} GiB (limit {MAX_MEMORY_GIB:g} GiB); shorten the horizon")))
        elif cpu_days > MAX_CPU_DAYS:
            problems.append(Problem(file, "experiment.replications", (
                f"{replications:,} replications of about {units:,.0f} units each would take "
                f"about {cpu_days:,.0f} CPU-days (limit {MAX_CPU_DAYS:g}); fewer replications "
                "or a shorter horizon")))
    if problems:
        raise SimulationError(problems, file=file)
