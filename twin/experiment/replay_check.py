"""Replay fidelity: run a scenario's log in trace mode with no shocks and compare what the
twin did with what was recorded (``shocktwin replay-check``). The scenario is a shop, or a
plant whose recorded products replay the log (its suppliers, stock and rules in force).

Per order: the absolute percentage error of the lead time (release to last end; in a plant,
to shipping). Per resource (a plant: per station bound to the log, with the resources it
serves): reports completed and utilisation, twin against log. For the ``bootstrap`` and
``fit`` modes, which cannot match order by order, the lead-time mean and the release rate
over replications against the log's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from shocktwin.interval import t_interval
from shocktwin.scenarios.model import ReplayMode, Scenario
from shocktwin.twin.experiment.budget import check_budget
from shocktwin.twin.experiment.feed import load_shop_data
from shocktwin.twin.kernel import make_kernel
from shocktwin.twin.model.plant import Plant
from shocktwin.twin.model.shop import Shop

if TYPE_CHECKING:
    from shocktwin.edge_replay.replay import ShopLog

__all__ = ["ModeCheck", "ReplayFidelity", "ResourceCheck", "check_replay"]


@dataclass(frozen=True)
class ResourceCheck:
    id: str
    name: str
    servers: int
    log_reports: int
    twin_reports: int
    log_utilisation: float
    twin_utilisation: float


@dataclass(frozen=True)
class ModeCheck:
    """A resampling mode against the log over a horizon of the log's length, across
    replications (each figure: mean and 95 % t half-width).

    Orders released and resource hours worked compare like with like. The lead time does
    not quite: the log's orders are cut by both ends of its window (work before the first
    day or after the last is not in it), while the twin counts only orders it finished.
    """

    mode: str
    replications: int
    release_rate_per_h: tuple[float, float]
    busy_h: tuple[float, float]
    lead_time_mean_h: tuple[float, float]


@dataclass(frozen=True)
class ReplayFidelity:
    source: str
    orders: int
    orders_compared: int
    orders_unfinished: int  # released in the twin but not finished by the horizon
    lead_time_mdape: float  # median absolute % error per order, as a fraction
    lead_time_p90_ape: float
    share_within_1pct: float
    log_lead_time_mean_h: float
    twin_lead_time_mean_h: float
    log_lead_time_p95_h: float
    log_throughput_per_h: float
    log_busy_h: float
    resources: tuple[ResourceCheck, ...]
    modes: tuple[ModeCheck, ...] = ()

    @property
    def utilisation_max_abs_error(self) -> float:
        return max((abs(r.twin_utilisation - r.log_utilisation) for r in self.resources),
                   default=0.0)


def check_replay(scenario: Scenario, *, modes: tuple[ReplayMode, ...] = (),
                 replications: int = 10, seed: int = 1) -> ReplayFidelity:
    """Trace-replay ``scenario`` without shocks and compare with its log; optionally also
    run the resampling ``modes`` for ``replications`` each."""
    from shocktwin.twin.experiment.replication import run_replication

    if scenario.shop is None:
        if scenario.plant is None or scenario.plant.log is None:
            raise ValueError("replay-check needs a shop, or a plant that replays a log")
        return _check_plant(scenario, modes=modes, replications=replications, seed=seed)
    data = load_shop_data(scenario)
    log = data.log
    trace = scenario.model_copy(update={
        "shop": scenario.shop.model_copy(update={"mode": ReplayMode.TRACE}), "shocks": [],
        "warmup": 0.0})
    resampled = [scenario.model_copy(update={
        "shop": scenario.shop.model_copy(update={"mode": mode}), "shocks": [],
        "horizon": log.span_h, "warmup": 0.0}) for mode in modes]
    # Everything is sized before anything runs.
    check_budget(trace, 1, kept=1)
    for sc in resampled:
        check_budget(sc, replications, kept=replications)
    shop = Shop(trace, make_kernel("simpy"), seed=seed, replication=0, data=data,
                keep_finished=True)
    shop.run()

    recorded = log.case_lead_times()
    twin = {case: (rel, end) for case, rel, end in shop.finished}

    window = min(log.span_h, scenario.horizon)
    resources = []
    for spec, st in zip(scenario.shop.resources, shop.stations, strict=True):
        stats = next((r for r in log.resources if r.name == spec.name), None)
        busy = st.busy.area_at(scenario.horizon)
        resources.append(ResourceCheck(
            spec.id, spec.name, spec.servers,
            stats.operations if stats else 0, st.served,
            stats.busy_h / (spec.servers * window) if stats and window > 0 else 0.0,
            busy / (spec.servers * window) if window > 0 else 0.0))

    checks = []
    for mode, sc in zip(modes, resampled, strict=True):
        reps = [run_replication(sc, r, seed=seed) for r in range(replications)]
        checks.append(ModeCheck(
            mode.value, replications,
            _mean_ci([r.snapshots["started"][-1] / log.span_h for r in reps]),
            _mean_ci([sum(row["utilisation"] * row["servers"] for row in r.stations)
                      * log.span_h for r in reps]),
            _mean_ci([r.kpis["release_lead_time_mean"] for r in reps])))

    return _fidelity(log, recorded, twin, shop.started - shop.released, resources, checks)


def _fidelity(log: ShopLog, recorded: dict[str, tuple[float, float]],
              twin: dict[str, tuple[float, float]], unfinished: int,
              resources: list[ResourceCheck], checks: list[ModeCheck]) -> ReplayFidelity:
    """The trace replay's orders (``twin``) against the log's (``recorded``), each order's
    (release_h, end_h); ``unfinished``: orders released in the twin but not finished."""
    ape = np.asarray(_errors(recorded, twin))
    lead = np.array([end - rel for rel, end in recorded.values()])
    return ReplayFidelity(
        source=log.source, orders=len(recorded), orders_compared=int(ape.size),
        orders_unfinished=unfinished,
        lead_time_mdape=float(np.median(ape)) if ape.size else math.nan,
        lead_time_p90_ape=float(np.percentile(ape, 90)) if ape.size else math.nan,
        share_within_1pct=float(np.mean(ape <= 0.01)) if ape.size else math.nan,
        log_lead_time_mean_h=float(lead.mean()) if lead.size else math.nan,
        twin_lead_time_mean_h=float(np.mean([e - r for r, e in twin.values()]))
        if twin else math.nan,
        log_lead_time_p95_h=float(np.percentile(lead, 95)) if lead.size else math.nan,
        log_throughput_per_h=len(recorded) / log.span_h if log.span_h > 0 else math.nan,
        log_busy_h=sum(r.busy_h for r in log.resources),
        resources=tuple(resources), modes=tuple(checks))


def _errors(recorded: dict[str, tuple[float, float]],
            twin: dict[str, tuple[float, float]]) -> list[float]:
    """The absolute relative error of each order's lead time the twin finished."""
    errors = []
    for case, (rel, end) in recorded.items():
        if case in twin and end > rel:
            sim_rel, sim_end = twin[case]
            errors.append(abs((sim_end - sim_rel) - (end - rel)) / (end - rel))
    return errors


def _check_plant(scenario: Scenario, *, modes: tuple[ReplayMode, ...], replications: int,
                 seed: int) -> ReplayFidelity:
    """The fidelity of a plant that replays its log: its recorded products' orders against
    the log's (only the orders of the part types it replays are compared)."""
    from shocktwin.rules_engine.runtime import RuleEngine
    from shocktwin.twin.experiment.feed import RecordedFeeds

    plant = scenario.plant
    assert plant is not None and plant.log is not None
    data = load_shop_data(scenario)
    log = data.log

    def variant(mode: ReplayMode, **changes: object) -> Scenario:
        return scenario.model_copy(update={
            "plant": plant.model_copy(update={
                "log": plant.log.model_copy(update={"mode": mode})}),  # type: ignore[union-attr]
            "shocks": [], "warmup": 0.0, **changes})

    trace = variant(ReplayMode.TRACE)
    resampled = [variant(mode, horizon=log.span_h) for mode in modes]
    check_budget(trace, 1, kept=1)
    for sc in resampled:
        check_budget(sc, replications, kept=replications)
    model = Plant(trace, make_kernel("simpy"), seed=seed, replication=0,
                  feeds=RecordedFeeds(trace), rules=RuleEngine, data=data, keep_finished=True)
    model.run()
    replayed = {job.case_id for job in data.pool if model.replays(job.part)}
    recorded = {case: v for case, v in log.case_lead_times().items() if case in replayed}
    twin = {case: (rel, end) for case, rel, end in model.finished}

    window = min(log.span_h, scenario.horizon)
    stats = {r.name: r for r in log.resources}
    served: dict[str, list[str]] = {}
    for res in plant.log.resources:
        served.setdefault(res.station, []).append(res.name)
    resources = []
    for st in model.stations:
        names = served.get(st.id)
        if names is None:
            continue
        found = [stats[n] for n in names if n in stats]
        capacity = st.n_servers * window
        resources.append(ResourceCheck(
            st.id, " + ".join(names), st.n_servers, sum(r.operations for r in found),
            model.tasks_served.get(st.id, 0),
            sum(r.busy_h for r in found) / capacity if capacity > 0 else 0.0,
            st.busy.area_at(scenario.horizon) / capacity if capacity > 0 else 0.0))

    checks = []
    for mode, sc in zip(modes, resampled, strict=True):
        rates, busy, leads = [], [], []
        for r in range(replications):
            rep = Plant(sc, make_kernel("simpy"), seed=seed, replication=r,
                        feeds=RecordedFeeds(sc), rules=RuleEngine, data=data)
            record = rep.run()
            mine = (np.isin(record.order_product, rep.recorded_products) if record.products
                    else np.ones(record.order_created_h.size, dtype=bool))
            rates.append(int(mine.sum()) / log.span_h)
            busy.append(sum(row["utilisation"] * row["servers"] for row in record.stations)
                        * log.span_h)
            done = mine & ~np.isnan(record.order_done_h)
            leads.append(float(np.mean(record.order_done_h[done]
                                       - record.order_created_h[done])) if done.any()
                         else math.nan)
        checks.append(ModeCheck(mode.value, replications, _mean_ci(rates), _mean_ci(busy),
                                _mean_ci(leads)))

    return _fidelity(log, recorded, twin, len(replayed) - len(model.finished), resources,
                     checks)


def _mean_ci(values: list[float]) -> tuple[float, float]:
    i = t_interval(values)
    return i.mean, i.half_width
