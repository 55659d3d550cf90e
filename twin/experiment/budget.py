"""Resource bounds: a run whose size is absurd is refused before it starts, with the
estimate that made it absurd and the key that sets it, instead of filling the memory or
running for months.

:func:`estimate_run` sizes a run from every source of events and memory of the scenario:

* demand: an arrival per order, a completion per unit at every station of the routing;
* breakdowns: per process station, servers x horizon / MTBF failures, each a failure, a
  repair and the paused completion scheduled again;
* supplier lots: with (s, Q) replenishment the lots ordered are at most what the bill of
  materials consumes plus the reorder point, in lots of the order quantity, plus one; each
  a delivery, and an arrival and a completion at incoming inspection when there is one;
* shocks: every recovery step, and for a random onset every occurrence (Poisson rate x
  the time after its start, capped by ``max_occurrences``);
* a replayed log (a shop, or a plant's recorded products): its operation reports and work
  orders, once for a trace and at the recorded rate for the resampling modes;
* KPI snapshots: one per bucket, costing about one event per station and buffer;
* units in stock: the initial stock, the lots as they are made, and what one order's bill of
  materials needs at once.

Every figure below was measured on this kind of machine (2 cores, CPython 3.11, simpy
kernel); the estimates are upper bounds of the right order, not predictions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from shocktwin.errors import Problem, SimulationError
from shocktwin.scenarios.model import InspectionStation, ProcessStation, RecordedDist, Scenario
from shocktwin.source import Loc, loc_text

__all__ = ["BYTES_PER_BUCKET", "BYTES_PER_STOCK_UNIT", "BYTES_PER_UNIT", "CPU_S_PER_EVENT",
           "CPU_S_PER_STOCK_UNIT", "MAX_BUCKETS", "MAX_CPU_DAYS", "MAX_MEMORY_GIB",
           "UNITS_PER_S", "RunEstimate", "Source", "check_budget", "check_mtd_budget",
           "check_plan", "cpu_text", "estimate_run", "log_problems", "memory_text",
           "missing_stores", "mtd_runs",
           "optimize_runs"]

#: Memory per unit made: its release records, its order's records, and the KPI arrays made
#: from them. Measured with tracemalloc: the peak of ``run_replication`` at the scenario's
#: horizon and at four times it, divided by the extra units released — 76.1 B (demo_plant,
#: 60 d / 240 d), 76.7 B (valve_quality) and 79.7 B (valve_disruptions); rounded up.
BYTES_PER_UNIT = 80
#: Memory per unit in stock: a slot in its lot's list of defect flags (8 B), with the numpy
#: draw the lot is made from. Measured with tracemalloc: the peak of ``run_replication`` of
#: the test plant with 20 M and 40 M units of initial stock differs by 7.2 B a unit.
BYTES_PER_STOCK_UNIT = 8
#: KPI series and snapshots kept per bucket of a finished replication: 190–220 B measured
#: with tracemalloc on the bundled scenarios, rounded up.
BYTES_PER_BUCKET = 256
#: CPU time per kernel event of a plant: ``time.process_time`` of one replication of each
#: bundled scenario over its ``events`` count gives 2.9–3.4 µs (3.95 µs for
#: photoresist_switch, with incoming inspection under a rule set; 1.8 µs on breakdowns
#: alone); rounded up to the largest.
CPU_S_PER_EVENT = 4e-6
#: CPU time per unit that passes through stock: its defect flag made with its lot (12–16 ns)
#: and withdrawn by a unit of the bill of materials (41–43 ns), measured with
#: ``time.process_time`` on lots of 2 M and 8 M units.
CPU_S_PER_STOCK_UNIT = 60e-9
#: The slowest rate a shop replays recorded operations at on one core (the earlier, whole-run
#: figure, kept for shops: their cost is per operation of the log).
UNITS_PER_S = 5_000.0
MAX_MEMORY_GIB = 8.0
MAX_CPU_DAYS = 7.0
#: KPI series buckets per replication.
MAX_BUCKETS = 2_000_000

#: Kernel events per breakdown: the failure, the repair, and the completion of the unit it
#: paused scheduled again (107,606 events measured against 110,000 counted this way on the
#: demo plant with an MTBF of 36 s).
_EVENTS_PER_BREAKDOWN = 3
#: Events at incoming inspection per lot: its arrival and its completion.
_EVENTS_PER_INSPECTED_LOT = 2


@dataclass(frozen=True)
class Source:
    """One source of work and memory in a replication, and the key that sets its size."""

    loc: Loc
    what: str  # e.g. "breakdowns of station 'assembly' (3 servers x 87,600 h / 1 ms)"
    events: float = 0.0  # kernel events per replication
    cpu_s: float = 0.0  # per replication
    memory_bytes: float = 0.0  # at its peak, in one replication

    @property
    def key(self) -> str:
        return loc_text(self.loc)


@dataclass(frozen=True)
class RunEstimate:
    """What a run of ``runs`` replications is estimated to need, from its sources.

    ``cpu_s`` and ``events`` count every run; ``memory_bytes`` is the peak: one replication
    at work plus the ``kept`` finished ones' KPI series.
    """

    runs: int
    kept: int
    buckets: float  # KPI buckets per replication
    sources: tuple[Source, ...]

    @property
    def events_per_run(self) -> float:
        return sum(s.events for s in self.sources)

    @property
    def cpu_s_per_run(self) -> float:
        return sum(s.cpu_s for s in self.sources)

    @property
    def memory_bytes_per_run(self) -> float:
        return sum(s.memory_bytes for s in self.sources)

    @property
    def kept_bytes(self) -> float:
        return self.kept * self.buckets * BYTES_PER_BUCKET

    @property
    def events(self) -> float:
        return self.events_per_run * self.runs

    @property
    def cpu_s(self) -> float:
        return self.cpu_s_per_run * self.runs

    @property
    def memory_bytes(self) -> float:
        return self.memory_bytes_per_run + self.kept_bytes

    def largest(self, measure: str) -> Source:
        """The source with the most ``cpu_s`` or ``memory_bytes``."""
        return max(self.sources, key=lambda s: float(getattr(s, measure)))

    def __str__(self) -> str:
        runs = f"{self.runs:,} replication{'s' if self.runs != 1 else ''}"
        return f"about {cpu_text(self.cpu_s)} and {memory_text(self.memory_bytes)} for {runs}"


def cpu_text(seconds: float) -> str:
    """CPU time in the unit that reads best: 'about 3.2 CPU-minutes'."""
    for unit, size in (("days", 86_400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= 2 * size:
            return f"{_figure(seconds / size)} CPU-{unit}"
    return f"{_figure(seconds)} CPU-seconds"


def memory_text(size: float) -> str:
    """Memory in MB or GB (decimal)."""
    if size >= 1e9:
        return f"{_figure(size / 1e9)} GB"
    return f"{_figure(max(size / 1e6, 1.0))} MB"


def _figure(x: float) -> str:
    return f"{x:,.1f}" if x < 10 else f"{x:,.0f}"


def estimate_run(scenario: Scenario, replications: int | None = None, *,
                 kept: int | None = None) -> RunEstimate:
    """Estimate the CPU time, memory and events of ``replications`` runs of ``scenario``
    (default its own count), ``kept`` of them kept whole (default all, as ``run`` does).

    A shop whose store does not exist is sized at zero work here; :func:`check_budget`
    reports the missing store.
    """
    runs = scenario.experiment.replications if replications is None else replications
    kept = runs if kept is None else kept
    buckets = scenario.horizon / scenario.bucket_h
    sources = [*(_plant_sources(scenario) if scenario.plant is not None
                 else _shop_sources(scenario)), *_common_sources(scenario, buckets)]
    return RunEstimate(runs, kept, buckets, tuple(sources))


def _plant_sources(scenario: Scenario) -> list[Source]:
    plant = scenario.plant
    assert plant is not None
    horizon = scenario.horizon
    out: list[Source] = []
    units = 0.0
    consumed: dict[str, float] = {}
    waiting: dict[str, float] = {}
    products = plant.product_list()
    recorded = _recorded_orders(scenario)
    for p, product in enumerate(products):
        if product.recorded is not None:
            out += _recorded_sources(scenario, p, product, recorded.get(p), consumed, waiting)
            continue
        demand = product.orders
        orders = demand.mean_rate(horizon) * horizon
        made = demand.mean_units_per_h(horizon) * horizon
        units += made
        unit_events = orders + made * _visits(product)
        loc: Loc = ("plant", "demand") if plant.products is None else (
            "plant", "products", p, "demand")
        if plant.products is None and demand.rate is not None:
            loc, what = ("horizon",), (f"{made:,.0f} units per replication ({demand.rate:g}/h "
                                      f"x {demand.quantity} x {horizon:,.0f} h)")
        else:
            what = (f"{made:,.0f} units of {product.id!r} per replication ({orders:,.0f} "
                    f"orders over {horizon:,.0f} h)")
        out.append(Source(loc, what, unit_events, unit_events * CPU_S_PER_EVENT,
                          made * BYTES_PER_UNIT))
        for m, q in plant.materials_per_unit(product).items():
            consumed[m] = consumed.get(m, 0.0) + made * q
            biggest = max((o.quantity for o in demand.orders or ()), default=demand.quantity)
            waiting[m] = max(waiting.get(m, 0.0), biggest * q)
    for i, st in enumerate(plant.stations):
        if isinstance(st, ProcessStation) and st.mtbf:
            failures = st.servers * horizon / st.mtbf
            events = failures * _EVENTS_PER_BREAKDOWN
            out.append(Source(("plant", "stations", i, "mtbf"), (
                f"{failures:,.0f} breakdowns of station {st.id!r} ({st.servers:,} servers "
                f"x {horizon:,.0f} h / MTBF {_hours(st.mtbf)})"), events,
                events * CPU_S_PER_EVENT))
    incoming = any(isinstance(st, InspectionStation) and st.role == "incoming"
                   for st in plant.stations)
    per_lot = 1 + (_EVENTS_PER_INSPECTED_LOT if incoming else 0)
    explicit_bom = plant.bom is not None or any(p.bom is not None for p in products)
    for i, buf in enumerate(plant.buffers):
        j, sup = next((j, s) for j, s in enumerate(plant.suppliers)
                      if s.material == buf.material and s.tier == 1)
        size = buf.order_quantity or sup.lot_size
        size_loc: Loc = (("plant", "buffers", i, "order_quantity") if buf.order_quantity
                         else ("plant", "suppliers", j, "lot_size"))
        used = consumed.get(buf.material, 0.0)
        out += _stock_sources(("plant", "buffers", i), buf.id, buf.initial, buf.reorder_point,
                              size, size_loc, used, per_lot)
        if explicit_bom and buf.material in waiting:
            at_once = waiting[buf.material]
            out.append(Source(("plant", "bom", buf.material), (
                f"{at_once:,.0f} units of {buf.material!r} in stock at once for one order "
                f"({used:,.0f} consumed)"), cpu_s=used * CPU_S_PER_STOCK_UNIT,
                memory_bytes=at_once * BYTES_PER_STOCK_UNIT))
    # The suppliers' stock of their inputs: what they make, times the units per unit.
    made_by = {m: used for m, used in consumed.items()}
    first_source = {(s.tier, s.material): s for s in reversed(plant.suppliers)}
    for tier in sorted({s.tier for s in plant.suppliers}):
        for j, sup in enumerate(plant.suppliers):
            if sup.tier != tier:
                continue
            share = made_by.get(sup.material, 0.0)
            for k, need in enumerate(sup.inputs):
                used = share * need.quantity
                made_by[need.material] = made_by.get(need.material, 0.0) + used
                source = first_source[(tier + 1, need.material)]
                size = need.order_quantity or source.lot_size
                where: Loc = ("plant", "suppliers", j, "inputs", k)
                out += _stock_sources(where, f"{sup.id}/{need.material}", need.initial,
                                      need.reorder_point, size, (*where, "order_quantity"),
                                      used, 1)
    return out


@dataclass(frozen=True)
class _Recorded:
    """The log's orders a recorded product replays: work orders, units, operation reports
    and the largest order, over the log's span (hours)."""

    orders: int
    units: int
    operations: int
    largest: int
    span_h: float


def _recorded_orders(scenario: Scenario) -> dict[int, _Recorded]:
    """What each recorded product of the plant replays of its log, by product index; empty
    when the log cannot be read (:func:`check_budget` reports why)."""
    plant = scenario.plant
    if plant is None or plant.log is None or not any(
            p.recorded is not None for p in plant.products or ()):
        return {}
    from shocktwin.errors import ShocktwinError
    from shocktwin.twin.experiment.feed import load_shop_data

    try:
        data = load_shop_data(scenario)
    except ShocktwinError:
        return {}
    named = {part: k for k, p in enumerate(plant.products or ()) if p.recorded is not None
             for part in p.recorded.part_types or ()}
    rest = next((k for k, p in enumerate(plant.products or ())
                 if p.recorded is not None and p.recorded.part_types is None), None)
    out: dict[int, _Recorded] = {}
    largest: dict[int, int] = {}
    for job in data.pool:
        k = named.get(job.part, rest) if job.part is not None else rest
        if k is not None:
            largest[k] = max(largest.get(k, 1), job.quantity or 1)
    for part, summary in data.part_types.items():
        k = named.get(part, rest) if part is not None else rest
        if k is None:
            continue
        was = out.get(k, _Recorded(0, 0, 0, 1, data.log.span_h))
        out[k] = _Recorded(was.orders + summary.jobs, was.units + summary.units,
                           was.operations + summary.operations, largest.get(k, 1),
                           data.log.span_h)
    return out


def _recorded_sources(scenario: Scenario, p: int, product: Any, rec: _Recorded | None,
                      consumed: dict[str, float], waiting: dict[str, float]) -> list[Source]:
    """A recorded product's orders and their operations, as its log's mode replays them."""
    plant = scenario.plant
    assert plant is not None and plant.log is not None
    if rec is None:
        return []
    from shocktwin.scenarios.model import ReplayMode

    horizon = scenario.horizon
    scale = (min(1.0, horizon / rec.span_h) if plant.log.mode is ReplayMode.TRACE
             else horizon / max(rec.span_h, 1e-9))
    orders, units, operations = rec.orders * scale, rec.units * scale, rec.operations * scale
    for m, q in plant.materials_per_unit(product).items():
        consumed[m] = consumed.get(m, 0.0) + units * q
        waiting[m] = max(waiting.get(m, 0.0), rec.largest * q)
    return [Source(("plant", "products", p, "recorded"), (
        f"{orders:,.0f} recorded orders of {product.id!r} ({units:,.0f} units, "
        f"{operations:,.0f} operation reports) per replication"), operations,
        operations / UNITS_PER_S, units * BYTES_PER_UNIT)]


def _visits(product: Any) -> float:
    """Expected station visits of one unit: its routing, plus the steps a rework loop
    repeats (a loop taken with probability p is taken p / (1 - p) times on average)."""
    visits = float(len(product.routing))
    sids = [step.station for step in product.routing]
    for i, step in enumerate(product.routing):
        if step.rework is not None:
            back = max(j for j in range(i + 1) if sids[j] == step.rework.to)
            p = step.rework.probability
            visits += (i - back + 1) * p / (1.0 - p)
    return visits


def _stock_sources(loc: Loc, name: str, initial: int, reorder_point: int, size: int,
                   size_loc: Loc, used: float, per_lot: float) -> list[Source]:
    """A stock's initial units and the lots that replenish it."""
    out = []
    lots = (used + reorder_point) / size + 1
    # Stock at its highest: the initial stock, a pipeline up to the reorder point plus a
    # lot, and everything one order's bill of materials waits for.
    if initial:
        out.append(Source((*loc, "initial"), f"{initial:,} units of initial stock in {name!r}",
                          cpu_s=initial * CPU_S_PER_STOCK_UNIT,
                          memory_bytes=initial * BYTES_PER_STOCK_UNIT))
    made = lots * size
    out.append(Source(size_loc, (
        f"{lots:,.0f} lots of {size:,} units into {name!r} ({made:,.0f} units made)"),
        lots * per_lot, lots * per_lot * CPU_S_PER_EVENT + made * CPU_S_PER_STOCK_UNIT,
        (reorder_point + size) * BYTES_PER_STOCK_UNIT))
    return out


def _shop_sources(scenario: Scenario) -> list[Source]:
    from shocktwin.scenarios.model import ReplayMode
    from shocktwin.twin.experiment.feed import load_shop_data

    shop = scenario.shop
    assert shop is not None
    out: list[Source] = []
    horizon = scenario.horizon
    for i, res in enumerate(shop.resources):
        if res.mtbf:
            failures = res.servers * horizon / res.mtbf
            events = failures * _EVENTS_PER_BREAKDOWN
            out.append(Source(("shop", "resources", i, "mtbf"), (
                f"{failures:,.0f} breakdowns of resource {res.id!r} ({res.servers:,} servers "
                f"x {horizon:,.0f} h / MTBF {_hours(res.mtbf)})"), events,
                events * CPU_S_PER_EVENT))
    if not scenario.store_path().is_file():
        return out
    log = load_shop_data(scenario).log
    # Trace replays the log once; resampling releases at the recorded rate for the horizon.
    scale = (min(1.0, horizon / log.span_h) if shop.mode is ReplayMode.TRACE
             else horizon / max(log.span_h, 1e-9))
    orders = log.cases * scale
    operations = log.operations * scale
    out.append(Source(("horizon",), (
        f"{orders:,.0f} work orders per replication ({log.cases:,} in {log.span_h:,.0f} h "
        f"of log, replayed for {horizon:,.0f} h)"), operations, operations / UNITS_PER_S,
        orders * BYTES_PER_UNIT))
    return out


def _common_sources(scenario: Scenario, buckets: float) -> list[Source]:
    horizon = scenario.horizon
    out: list[Source] = []
    for k, shock in enumerate(scenario.shocks):
        steps = len(shock.intensity_steps())
        onset = shock.onset
        if onset is None:
            out.append(Source(("shocks", k), f"shock {shock.id!r}", steps,
                              steps * CPU_S_PER_EVENT))
            continue
        mean = onset.rate * max(horizon - shock.start, 0.0)
        # The Poisson count stays below mean + 4 sd but for a chance of about 3e-5.
        occurrences = min(float(onset.max_occurrences), mean + 4 * math.sqrt(mean) + 1)
        events = occurrences * steps
        out.append(Source(("shocks", k, "onset", "rate"), (
            f"{occurrences:,.0f} occurrences of shock {shock.id!r}"), events,
            events * CPU_S_PER_EVENT))
    components = 1 + (len(scenario.plant.stations) + len(scenario.plant.buffers)
                      if scenario.plant is not None
                      else len(scenario.shop.resources) if scenario.shop is not None else 0)
    # A snapshot is one event that reads every station and buffer: 14 µs measured per
    # snapshot of the demo plant (3 stations, 1 buffer) with a bucket of 36 s.
    out.append(Source(("experiment", "bucket") if scenario.experiment.bucket is not None
                      else ("horizon",), (
        f"{buckets:,.0f} KPI snapshots of {components - 1} stations and buffers"),
        buckets, buckets * components * CPU_S_PER_EVENT, buckets * BYTES_PER_BUCKET))
    return out


def _hours(h: float) -> str:
    for unit, size in (("d", 24.0), ("h", 1.0), ("min", 1 / 60), ("s", 1 / 3600)):
        if h >= size:
            return f"{h / size:,.4g} {unit}"
    return f"{h * 3.6e6:,.4g} ms"


def missing_stores(scenario: Scenario) -> list[tuple[Loc, str]]:
    """The stores the scenario names that do not exist: (key, path as written and resolved).
    ``run`` needs them (it stops at the first replication without one), so ``validate``
    reports them too."""
    named: list[tuple[Loc, str]] = []
    if scenario.shop is not None:
        named.append((("shop", "store"), scenario.shop.store))
    if scenario.plant is not None and scenario.plant.log is not None:
        named.append((("plant", "log", "store"), scenario.plant.log.store))
    if scenario.plant is not None:
        for i, sup in enumerate(scenario.plant.suppliers):
            if isinstance(sup.lead_time, RecordedDist):
                named.append((("plant", "suppliers", i, "lead_time", "store"),
                              sup.lead_time.store))
        for i, st in enumerate(scenario.plant.stations):
            if isinstance(st, InspectionStation) and st.ai is not None:
                named.append((("plant", "stations", i, "ai", "store"), st.ai.store))
    return [(loc, f"{text} ({scenario.resolve(text).resolve()})") for loc, text in named
            if not scenario.resolve(text).is_file()]


def log_problems(scenario: Scenario) -> list[tuple[Loc, str]]:
    """What keeps a plant from replaying its operations log, read from the store: a source
    the store does not hold, a bound resource or a recorded part type the log does not
    have (with the nearest name), and resources the replayed orders work on that no station
    is bound to. ``run`` needs them right, so ``validate`` reports them too."""
    plant = scenario.plant
    if plant is None or plant.log is None:
        return []
    # Only a plant that replays a log pays for the feed (and scipy.stats behind it).
    from shocktwin.errors import ShocktwinError, unknown_name
    from shocktwin.twin.experiment.feed import load_shop_data
    from shocktwin.twin.model.plant import replayed_resources

    try:
        data = load_shop_data(scenario)
        names = set(data.resource_names)
        parts = data.part_types
    except ShocktwinError as e:
        where: Loc = ("plant", "log", "source" if plant.log.source else "store")
        return [(where, p.message) for p in e.problems]
    out: list[tuple[Loc, str]] = []
    for i, res in enumerate(plant.log.resources):
        if res.name not in names:
            out.append((("plant", "log", "resources", i, "name"), unknown_name(
                "resource", res.name, names, listed="the log's resources")))
    known = sorted(p for p in parts if p is not None)
    route_of: dict[str | None, Any] = {}
    products = plant.products or []
    for k, product in enumerate(products):
        work = product.recorded
        if work is None:
            continue
        for j, part in enumerate(work.part_types or ()):
            if part not in parts:
                listed = "the log's part types" if known else "the log records none"
                out.append((("plant", "products", k, "recorded", "part_types", j),
                            unknown_name("part type", part, known, listed=listed)))
            route_of[part] = k
    rest = next((k for k, p in enumerate(products)
                 if p.recorded is not None and p.recorded.part_types is None), None)
    for recorded_part in parts:
        route_of.setdefault(recorded_part, rest)
    bound = {res.name for res in plant.log.resources}
    for name in replayed_resources(data, route_of):
        if name not in bound:
            out.append((("plant", "log", "resources"), (
                f"the log has work on {name!r} for the orders the plant replays, and no "
                f"station is bound to it: add {{name: {name!r}, station: ...}}")))
    return out


def check_budget(scenario: Scenario, runs: int, *, kept: int = 0,
                 file: str | None = None, runs_from: Loc = ("experiment", "replications"),
                 ) -> None:
    """Refuse, before anything runs, a run that would need too much memory or CPU time, or
    the recorded data it reads.

    Args:
        scenario: what each run simulates.
        runs: how many replications will be simulated in all (CPU time).
        kept: how many finished replications are kept whole at once (their KPI series).
        file: the file to name in the problems; by default the scenario's own.
        runs_from: the key that sets ``runs`` (named when there are too many).

    Raises:
        SimulationError: a store the scenario reads does not exist; one replication would
            need more than MAX_MEMORY_GIB or MAX_CPU_DAYS (naming the key of its largest
            source), its series more than MAX_BUCKETS buckets, the kept results more than
            MAX_MEMORY_GIB, or all runs more than MAX_CPU_DAYS of CPU time; each problem
            gives its estimate.
    """
    file = file if file is not None else scenario.source_file
    problems: list[Problem] = []

    def refuse(loc: Loc, message: str) -> None:
        problems.append(Problem(file, loc_text(loc), message, scenario.line_of(*loc)))

    missing = missing_stores(scenario)
    for loc, path in missing:
        refuse(loc, f"store {path} does not exist; ingest the recorded data into it first "
                    "(shocktwin ingest ... --db)")
    if not any(loc == ("plant", "log", "store") for loc, _ in missing):
        for loc, message in log_problems(scenario):
            refuse(loc, message)
    estimate = estimate_run(scenario, runs, kept=kept)
    buckets = estimate.buckets
    if buckets > MAX_BUCKETS:
        refuse(("experiment", "bucket") if scenario.experiment.bucket is not None
               else ("horizon",), (
            f"a horizon of {scenario.horizon:,.0f} h in buckets of {scenario.bucket_h:g} h "
            f"makes {buckets:,.0f} KPI buckets per replication (limit {MAX_BUCKETS:,}); "
            "use a wider bucket or a shorter horizon"))
    kept_gib = estimate.kept_bytes / 2**30
    if buckets <= MAX_BUCKETS and kept_gib > MAX_MEMORY_GIB:
        refuse(runs_from, (
            f"{kept:,} replications kept with {buckets:,.0f} KPI buckets each would need "
            f"about {kept_gib:,.1f} GiB (limit {MAX_MEMORY_GIB:g} GiB); fewer replications "
            "or a wider bucket"))
    memory_gib = estimate.memory_bytes_per_run / 2**30
    if memory_gib > MAX_MEMORY_GIB:
        top = estimate.largest("memory_bytes")
        refuse(top.loc, (
            f"one replication would need about {memory_gib:,.1f} GiB (limit "
            f"{MAX_MEMORY_GIB:g} GiB), {top.memory_bytes / 2**30:,.1f} GiB of it for about "
            f"{top.what}; lower {top.key}"))
    one_days = estimate.cpu_s_per_run / 86_400.0
    all_days = estimate.cpu_s / 86_400.0
    top = estimate.largest("cpu_s")
    if one_days > MAX_CPU_DAYS:
        refuse(top.loc, (
            f"one replication would take about {one_days:,.0f} CPU-days (limit "
            f"{MAX_CPU_DAYS:g}), {top.cpu_s / 86_400.0:,.0f} of them for {top.what}; "
            f"lower {top.key}"))
    elif all_days > MAX_CPU_DAYS:
        refuse(runs_from, (
            f"{runs:,} runs of about {estimate.events_per_run:,.0f} events each would take "
            f"about {all_days:,.0f} CPU-days (limit {MAX_CPU_DAYS:g}), most of it for "
            f"{top.what} ({top.key}); lower {loc_text(runs_from)} or {top.key}"))
    if problems:
        raise SimulationError(problems, file=file)


def mtd_runs(scenario: Scenario, shock_id: str) -> int:
    """The most runs the MTD search of one shock can make: every replication scanned and
    bisected down to the resolution, capped by the block's ``budget``."""
    return _mtd_runs(scenario, shock_id)[0]


def _mtd_runs(scenario: Scenario, shock_id: str) -> tuple[int, Loc]:
    """(runs, the key of the mtd block that sets them)."""
    from shocktwin.scenarios.model import mtd_range

    spec = scenario.mtd
    assert spec is not None
    item = next(i for i in spec.shocks if i.shock == shock_id)
    shock = next(s for s in scenario.shocks if s.id == shock_id)
    low, high, resolution = mtd_range(shock, item)
    steps = math.ceil(math.log2(max((high - low) / resolution, 1.0))) if resolution > 0 else 64
    searched = spec.max_replications * (spec.scan + 2 + steps)
    if spec.budget < searched:
        return spec.budget, ("mtd", "budget")
    return searched, ("mtd", "max_replications")


def check_mtd_budget(scenario: Scenario, shock_id: str, *, file: str | None = None) -> None:
    """``check_budget`` for the MTD search of one shock: too many runs name the ``mtd``
    block's key that sets them (``mtd.budget`` or ``mtd.max_replications``)."""
    runs, loc = _mtd_runs(scenario, shock_id)
    check_budget(scenario, runs, file=file, runs_from=loc)


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
    checks: list[tuple[int, int, Loc]] = [(n, n, ("experiment", "replications"))]
    if scenario.mtd is not None:
        for item in scenario.mtd.shocks:
            runs, loc = _mtd_runs(scenario, item.shock)
            checks.append((runs, 0, loc))
    if scenario.optimize is not None:
        checks.append((optimize_runs(scenario), 0, ("optimize",)))
    for runs, kept, loc in checks:
        try:
            check_budget(scenario, runs, kept=kept, runs_from=loc)
        except SimulationError as e:
            problems += [p for p in e.problems if p not in problems]
    if problems:
        raise SimulationError(problems, file=scenario.source_file)
