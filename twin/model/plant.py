"""The plant: builds suppliers, buffers, stations and demand from a scenario onto a kernel,
moves units along the routing, and records what happened for the KPIs.

A plant may also replay the work orders of an operations log (``plant.log``): each recorded
order of a recorded product is a customer order of its quantity, which takes its bill of
materials from the buffers (so a supplier's outage starves it), then runs its recorded
tasks over the stations bound to the log's resources through the shared job executor
(:mod:`shocktwin.twin.model.job`), beside the units of the modelled products. What a task's
report rejected is scrapped there and counted by an inspection station; defective material
an order took is caught at its inspection tasks with the station's detection, or escapes.
The order ships what is left when its last task ends (after a release station, if named).
A warm start at a moment of the log (``start_state.at``) starts each order then in
progress at its current task, and a trace replays the later orders from that moment.

Per-event work stays in Python lists; arrays are built once at the end.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from array import array
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from shocktwin.errors import Problem, ReplayError
from shocktwin.twin.kernel import Kernel
from shocktwin.twin.model.base import Model, PlantRecord
from shocktwin.twin.model.events import (
    RecallInspected,
    RecallStarted,
    SourceSwitched,
    SupplierSwitchOrdered,
)
from shocktwin.twin.model.feed import NO_FEEDS, Feeds, JobSpec, ShopFeed
from shocktwin.twin.model.job import Job, JobExecutor, Task, serve_tasks
from shocktwin.twin.model.kinds import ReplayMode, StationKind
from shocktwin.twin.model.measure import ValueStream, fit_values
from shocktwin.twin.model.part import LotJob, LotKind, Order, Part, new_order
from shocktwin.twin.model.rng import (
    BLOCK,
    Sampler,
    UniformStream,
    exponential_sampler,
    make_sampler,
    stream,
)
from shocktwin.twin.model.station import (
    InspectionStation,
    ReleaseStation,
    Station,
    WearingStation,
)
from shocktwin.twin.model.supplier import Buffer, Supplier, _lot_flags

if TYPE_CHECKING:
    from shocktwin.rules_engine.runtime import RuleEngine
    from shocktwin.scenarios.model import Scenario

    #: Builds the plant's runtime rule engine over its incoming inspection stations.
    RulesFactory = Callable[[Model, dict[str, InspectionStation], np.random.Generator],
                            RuleEngine]

__all__ = ["Plant", "PlantRecord", "RecordedJob", "replayed_resources"]

#: An open order's completion time (the same bits as ``np.nan``, without its look-up).
_NAN = math.nan


class Plant(Model):
    """One replication's model of the scenario's plant on ``kernel``."""

    def __init__(self, scenario: Scenario, kernel: Kernel, *, seed: int, replication: int,
                 feeds: Feeds = NO_FEEDS, rules: RulesFactory | None = None,
                 data: ShopFeed | None = None, keep_finished: bool = False) -> None:
        super().__init__(scenario, kernel, seed=seed, replication=replication)
        # Bound once: an order's arrival and a unit's release use them every time.
        self._schedule = kernel.schedule
        self._now = kernel.now
        self._created_append = self._order_created_h.append
        self._due_append = self._order_due_h.append
        self._done_append = self._order_done_h.append
        self._release_append = self._release_h.append
        self._lead_append = self._release_lead_h.append
        self._escaped_append = self._release_escaped.append
        self._on_arrival = self._arrive  # one bound method, not a new one per order
        plant = scenario.plant
        if plant is None:
            raise TypeError("a Plant needs a scenario with a plant section")
        warmup = scenario.warmup

        def rng(component: str) -> np.random.Generator:
            return stream(seed, replication, component)

        def lead_time(dist: Any, rng: np.random.Generator) -> Callable[[], float]:
            if dist.dist == "recorded":
                return feeds.lead_time_sampler(dist, rng)
            return make_sampler(dist, rng)

        # A warm start, written in the scenario or read from a snapshot through the feeds
        # (both give the same attributes); its stock replaces the initial stock the plant
        # section gives.
        state = scenario.start_state
        self._start_state: Any = (feeds.start_state(state) if state is not None and state.stored
                                  else state)
        stock_now: Mapping[str, int] = (self._start_state.stock
                                        if self._start_state is not None else {})
        by_material: dict[tuple[int, str], list[Supplier]] = {}
        for sup in plant.suppliers:
            # The first supplier listed for a material is the one its buffer orders from;
            # the others are its backups, in order.
            built = Supplier(
                sup.id, sup.material, lead_time(sup.lead_time, rng(f"supplier:{sup.id}:lead")),
                rng(f"supplier:{sup.id}:quality"), sup.defect_rate, kernel,
                rng(f"supplier:{sup.id}:disruption"), unit_cost=sup.unit_cost,
                qualification_h=sup.qualification, promised_h=sup.promised,
                corrective_action=make_sampler(sup.corrective_action,
                                               rng(f"supplier:{sup.id}:corrective"))
                if sup.corrective_action is not None else None,
                tier=sup.tier, region=sup.region, country=sup.country)
            self.suppliers[sup.id] = built
            by_material.setdefault((sup.tier, sup.material), []).append(built)
        lot_size = {(s.tier, s.material): s.lot_size for s in reversed(plant.suppliers)}
        for b in plant.buffers:
            primary, *backups = by_material[(1, b.material)]
            initial = _lot_flags(rng(f"buffer:{b.id}:initial"), stock_now.get(b.id, b.initial),
                                 primary.defect_rate)
            buf = Buffer(b.id, b.material, initial, b.reorder_point,
                         b.order_quantity or lot_size[(1, b.material)], primary, kernel, backups)
            buf.resume = self._pick
            buf.on_switch = self._source_switched
            self.buffers[b.material] = buf
        # The suppliers' own stock of their inputs, ordered from the next tier.
        self.input_buffers: list[Buffer] = []
        for sup in plant.suppliers:
            maker = self.suppliers[sup.id]
            for need in sup.inputs:
                key = (sup.tier + 1, need.material)
                primary, *backups = by_material[key]
                stock_id = f"{sup.id}/{need.material}"
                initial = _lot_flags(rng(f"buffer:{stock_id}:initial"),
                                     stock_now.get(stock_id, need.initial),
                                     primary.defect_rate)
                stock = Buffer(stock_id, need.material, initial, need.reorder_point,
                               need.order_quantity or lot_size[key], primary, kernel, backups)
                stock.resume = maker.acquire
                stock.on_switch = self._source_switched
                maker.inputs.append((stock, need.quantity))
                self.input_buffers.append(stock)

        specs = {s.id: s for s in plant.stations}
        self._incoming_ids = {s.id for s in plant.stations
                              if s.kind == StationKind.INSPECTION and s.role == "incoming"}
        incoming_ids = [s.id for s in plant.stations if s.id in self._incoming_ids]
        routed = plant.routed_station_ids()
        # Stations that serve only the log's recorded work come after the others.
        placed = {*routed, *incoming_ids}
        logged = _logged_station_ids(plant)
        by_id: dict[str, Station] = {}
        for sid in [*routed, *incoming_ids,
                    *(s.id for s in plant.stations if s.id in logged and s.id not in placed)]:
            spec = specs[sid]
            if spec.kind == StationKind.PROCESS:
                st: Station = _process_station(spec, kernel, warmup, rng, feeds)
            elif spec.kind == StationKind.INSPECTION:
                st = InspectionStation(
                    sid, spec.inspectors,
                    make_sampler(spec.time_per_unit, rng(f"station:{sid}:time")), kernel,
                    warmup_h=warmup, draw=UniformStream(rng(f"station:{sid}:decision")),
                    detection=spec.detection, false_reject=spec.false_reject,
                    sample_fraction=spec.sample_fraction)
                st.reject = self._scrap  # type: ignore[attr-defined]
                if spec.ai is not None:
                    from shocktwin.twin.model.ai_gate import AIGate

                    st.ai = AIGate(feeds.gate_decisions(spec.ai),  # type: ignore[attr-defined]
                                   rng(f"station:{sid}:ai"))
            else:
                st = ReleaseStation(
                    sid, spec.reviewers,
                    make_sampler(spec.review_time, rng(f"station:{sid}:time"))
                    if spec.review_time is not None else None,
                    kernel, warmup_h=warmup, sla_h=spec.sla)
                self.sla_h = spec.sla
            st.next = self._advance
            st._next_now = True  # _advance, and the routes the line wires below, take it
            if spec.calendar is not None and plant.calendars is not None:
                st.follow_calendar(plant.calendars[spec.calendar].working_spans_h())
            self.stations.append(st)
            by_id[sid] = st
        self._line = self.stations[: len(routed)]
        self._measure(plant, by_id, rng, feeds)

        products = plant.product_list()
        self.products: list[_Route | _RecordedRoute] = [
            _Route(k, product, by_id, plant, self.buffers, rng, legacy=plant.products is None)
            if product.recorded is None else _RecordedRoute(k, product, by_id, plant,
                                                            self.buffers)
            for k, product in enumerate(products)]
        self._recorded = [r for r in self.products if isinstance(r, _RecordedRoute)]
        task_ids = ({r.station for r in plant.log.resources} if plant.log is not None
                    else set())
        own_times = {route.stations[i].id for route in self.products
                     for i, t in enumerate(route.step_times) if t is not None}
        for sid, st in by_id.items():
            if sid in own_times:
                st.time_by_step()
            if sid in task_ids:
                serve_tasks(st, self._task_done)
            if specs[sid].dispatching != "fifo":
                st.dispatch_by(specs[sid].dispatching)
        self._multi = len(self.products) > 1
        self._log_feed(scenario, feeds, data, by_id, rng)
        #: (case id, release, completion) of every recorded order shipped, hours (on request).
        self.finished: list[tuple[str, float, float]] = []
        self._keep_finished = keep_finished
        if not self._multi and self.products[0].serial:
            # One product on a serial line: each station hands its units straight to the
            # next, with no routing step to look up (the line's per-unit hot path).
            line = self.products[0].stations
            for here, there in itertools.pairwise(line):
                here.next = there.arrive
            line[-1].next = self._release
        # Per-product records, kept only when there is more than one product.
        self._release_product = array("h")
        self._order_product = array("h")
        self._scrap_product = array("h")
        self._inspection = [s for s in self.stations if isinstance(s, InspectionStation)]
        incoming = {st.id: st for st in self.stations
                    if isinstance(st, InspectionStation) and st.id in self._incoming_ids}
        if incoming:
            if rules is None:
                raise TypeError("a plant with incoming inspection needs a rule engine factory "
                                "(build it with twin.experiment.build_model)")
            self.rules = rules(self, incoming, rng("rules:incoming"))
            if scenario.rules is not None:
                path = scenario.resolve(scenario.rules).resolve()
                self.rules.install(scenario.ruleset(path), path)
            for buf in self.buffers.values():
                buf.inbound = self.rules.inbound
        if plant.quality is not None:
            from shocktwin.twin.model.quality_work import QualityRuntime

            library = None
            if scenario.rules is not None:
                library = scenario.ruleset(scenario.resolve(scenario.rules).resolve()).library
            self.quality = QualityRuntime(self, plant.quality, library, rng=rng,
                                          calendars=plant.calendars, warmup_h=warmup,
                                          inspection=list(self._inspection))
            for material, buf in self.buffers.items():
                self.quality.contexts[f"supplier.{material}"] = buf.supplier.id

    def _measure(self, plant: Any, by_id: dict[str, Station],
                 rng: Callable[[str], np.random.Generator], feeds: Feeds) -> None:
        """The plant's measured characteristics: a stream of true values per source (each
        tier-1 supplier of a material, or the station) and a gauge per characteristic."""
        from shocktwin.twin.model.measure import Gauge, StationMeasurement

        for ch in plant.characteristics:
            g = ch.gauge
            self.gauges[(ch.owner, ch.name)] = Gauge(
                f"{ch.owner}.{ch.name}", rng(f"gauge:{ch.owner}:{ch.name}"), bias=g.bias,
                repeatability=g.repeatability, reproducibility=g.reproducibility)
            self.characteristics[(ch.owner, ch.name)] = ch
            if ch.material is not None:
                for sup in plant.suppliers:
                    if sup.tier != 1 or sup.material != ch.material:
                        continue
                    values = self._value_stream(ch, sup.id, rng, feeds)
                    self.suppliers[sup.id].characteristics.append(
                        (ch.name, values, ch.lsl, ch.usl))
            else:
                st = by_id.get(str(ch.station))
                if st is None:
                    continue  # not on any routing: validation says so
                if st.measured is None:
                    st.measured = StationMeasurement(st.id)
                st.measured.add(ch.name, self._value_stream(ch, st.id, rng, feeds), ch.lsl,
                                ch.usl)

    def _value_stream(self, ch: Any, source: str, rng: Callable[[str], np.random.Generator],
                      feeds: Feeds) -> ValueStream:
        spec = ch.values_at(source)
        gen = rng(f"values:{source}:{ch.name}")
        name = f"{source}.{ch.name}"
        if spec.dist != "recorded":
            return ValueStream(name, gen, kind=spec.dist, mean=spec.mean, sd=spec.sd,
                               drift_per_h=spec.drift_per_day / 24.0,
                               autocorrelation=spec.autocorrelation)
        recorded = feeds.measurements(spec, ch.name)
        if spec.mode == "fit":
            try:
                kind, mean, sd = fit_values(recorded)
            except ValueError as e:
                raise ReplayError([Problem(spec.store, "characteristics",
                                           f"{ch.name} (mode fit): {e}")]) from e
            return ValueStream(name, gen, kind=kind, mean=mean, sd=sd)
        return ValueStream(name, gen, recorded=recorded, bootstrap=spec.mode == "bootstrap")

    def _log_feed(self, scenario: Scenario, feeds: Feeds, data: ShopFeed | None,
                  by_id: dict[str, Station], rng: Callable[[str], np.random.Generator]) -> None:
        """Wire the recorded products to the log: its jobs in the log's mode, each resource
        to its station; refuse a log whose replayed orders work where no station is
        bound."""
        self._jobs: Iterator[JobSpec] = iter(())
        #: The log's orders in progress at a warm start's moment, as the rest of their work.
        self._in_progress: tuple[JobSpec, ...] = ()
        self._recorded_wip = 0
        #: Recorded tasks each station has finished, by station id.
        self.tasks_served: dict[str, int] = {}
        # Made for every plant: with no log its job stream is empty and it releases nothing.
        self._executor = JobExecutor(self.kernel, self._finish_job)
        log = scenario.plant.log if scenario.plant is not None else None
        if not self._recorded or log is None:
            return
        self.data = data if data is not None else feeds.shop()
        self._quality = rng("log:quality")
        named = {part: r for r in self._recorded for part in r.part_types or ()}
        rest = next((r for r in self._recorded if r.part_types is None), None)
        self._route_of = {part: named.get(part, rest) if part is not None else rest
                          for part in self.data.part_types}
        station_of = {res.name: by_id[res.station] for res in log.resources}
        self._stations = [station_of.get(name) for name in self.data.resource_names]
        problems = [Problem(None, "plant.log.resources", f"the log has work on {name!r} "
                            "for the orders the plant replays; bind it to a station")
                    for name in replayed_resources(self.data, self._route_of)
                    if name not in station_of]
        if problems:
            raise ReplayError(problems)
        for route in self._recorded:
            if route.release is not None:
                route.release.next = self._leave
        for buf in self.buffers.values():
            buf.resume = self._resume
        if log.mode is ReplayMode.TRACE:
            jobs = self.data.trace()
        elif log.mode is ReplayMode.BOOTSTRAP:
            jobs = self.data.bootstrap(rng("log:bootstrap"), scenario.horizon,
                                       self.demand_factor)
        else:
            jobs = self.data.fitted(rng("log:fit"), self.demand_factor)
        route_of = self._route_of
        jobs = (j for j in jobs if route_of.get(j.part) is not None)
        state = scenario.start_state
        if state is not None and state.at is not None:
            # A warm start at a moment of the log: its unfinished orders go on from where
            # they stand, and a trace replays the later ones from then on.
            standing = feeds.log_state(state)
            self._in_progress = tuple(j for j in standing.in_progress
                                      if route_of.get(j.part) is not None)
            if log.mode is ReplayMode.TRACE:
                at_h = standing.at_h
                jobs = (dataclasses.replace(j, release_h=j.release_h - at_h) for j in jobs
                        if j.release_h >= at_h)
        self._jobs = jobs

    # -- running ------------------------------------------------------------------------

    def _start(self) -> None:
        for change in self.scenario.rule_changes:
            self.kernel.schedule(change.at, self._rule_change, change.rules)
        if self._start_state is not None:
            self._open_orders(self._start_state)
        for buf in self.buffers.values():
            buf.start()
        for stock in self.input_buffers:
            stock.start()
        for st in self.stations:
            st.start()
        for route in self.products:
            first = route.next_order_h(0.0, 1.0)
            if first is not None:
                self.kernel.schedule(first, self._arrive, route)
        self._resume_jobs()
        self._executor.release_next(self._jobs, self._release_job)
        if self.quality is not None:
            self.quality.start()
        if self._start_state is not None:
            self._warm_start(self._start_state)

    def _open_orders(self, state: Any) -> None:
        """A warm start's purchase orders on their way, counted in the inventory position
        before any stock is reviewed."""
        for order in state.open_orders:
            supplier = self.suppliers[order.supplier]
            supplier.open_order(order.quantity, supplier.serves[0], order.arrives_in)

    def _warm_start(self, state: Any) -> None:
        """The plant as it stands at the start: units in work at their stations, each
        material's inspection at its switching state."""
        now = self.kernel.now()
        for wip in state.wip:
            route = (next(r for r in self.products if r.id == wip.product)
                     if wip.product is not None else self.products[0])
            assert isinstance(route, _Route)  # the scenario check refuses recorded ones
            order = self._order(route, now, wip.units)
            order.due_h = wip.due_in
            self._order_due_h[order.index] = wip.due_in
            step = next(i for i, st in enumerate(route.stations) if st.id == wip.station)
            for _ in range(wip.units):
                part = Part(order)
                part.needs = len(route.bom)  # its materials were taken before the start
                part.step = step
                part.start_h = now
                self.started += 1
                route.started += 1
                self.wip.add(now, 1)
                route.arrivals[step](part, now)
        if state.inspection and self.rules is not None:
            self.rules.resume_inspection(state.inspection)

    def wip_count(self) -> int:
        if not self._recorded:
            return sum(s.in_station() for s in self._line)
        # Recorded tasks share the stations: count the units, not what queues.
        units = self._recorded_wip
        for st in self._line:
            units += sum(1 for server in st.servers if server.part.__class__ is Part)
            units += sum(1 for item, _ in st.waiting_items() if item.__class__ is Part)
        return units

    def wip_by_product(self) -> list[int]:
        """Units in work or waiting at a station, per product, counted where they are."""
        out = [0] * len(self.products)
        for st in self._line:
            for server in st.servers:
                if server.part is not None and server.part.__class__ is Part:
                    out[server.part.route.index] += 1
            for item, _ in st.waiting_items():
                if item.__class__ is Part:
                    out[item.route.index] += 1
        for route in self._recorded:
            out[route.index] += route.wip
        return out

    def recall(self, lookback_h: float, station: Station, *, reason: str,
               once: bool = False) -> None:
        """Units shipped in the last ``lookback_h`` come back and are inspected in full at
        ``station``; the defective ones found are scrapped and made again for a new order
        due ``due_in`` from now."""
        if once and not self.once(reason):
            return
        now = self.kernel.now()
        first = int(np.searchsorted(self._release_h, now - lookback_h, side="left"))
        flags = [bool(f) for f in self._release_escaped[first:]]
        if not flags or not isinstance(station, InspectionStation):
            self.log(RecallInspected(self.kernel.now(), reason=reason, recalled=len(flags),
                                     found=0))
            return
        work = sum(station.service() for _ in range(len(flags)))
        products = (list(self._release_product[first:]) if self._multi
                    else [0] * len(flags))
        job = LotJob("shipped", None, list(flags), 0, LotKind.RECALL, None, len(flags), work,
                     functools.partial(self._recall_done, reason=reason, products=products))
        self.log(RecallStarted(self.kernel.now(), reason=reason, recalled=len(flags),
                               defective=int(sum(flags))))
        station.arrive_lot(job)

    def _recall_done(self, job: LotJob, station: InspectionStation, *, reason: str,
                     products: list[int]) -> None:
        now = self.kernel.now()
        detection = min(station.detection * station.detection_factor.value, 1.0)
        # Units in the order they were shipped; the defective ones are found or missed.
        found_by_product = [0] * len(self.products)
        for flag, k in zip(job.flags, products, strict=True):
            if flag and station.draw() < detection:
                found_by_product[k] += 1
        found = sum(found_by_product)
        station.inspected += job.sample
        station.rejected += found
        self._scrap_h.extend([now] * found)
        if self._multi:
            for k, n in enumerate(found_by_product):
                self._scrap_product.extend([k] * n)
        self.log(RecallInspected(self.kernel.now(), reason=reason, recalled=job.sample,
                                 found=found))
        for route, n in zip(self.products, found_by_product, strict=True):
            if n and isinstance(route, _Route):  # a recorded product is not made again
                order = self._order(route, now, n)
                for _ in range(n):
                    self._pick(Part(order))

    def _source_switched(self, buffer: Buffer, to: Supplier | None, ready_h: float) -> None:
        self.log(SourceSwitched(self.kernel.now(), buffer=buffer.id, material=buffer.material,
                                to_supplier=to.id if to is not None else None,
                                orders_from_h=ready_h if to is not None else None))
        drafted = self.scenario.drafted_rules(to.id) if to is not None else None
        if drafted is not None and self.rules is not None and to is not None:
            self.rules.substitute(drafted, buffer.material, reason=f"substitution {to.id}")
        if self.rules is not None and self.buffers.get(buffer.material) is buffer:
            self.rules.source_switched(buffer, to)
        quality = self.quality
        if quality is not None and to is not None and self.buffers.get(buffer.material) is buffer:
            if quality.backup_taking_over(to.id, functools.partial(self._qualified, buffer,
                                                                    to, ready_h)):
                buffer.ready_at_h = math.inf  # until its playbook qualifies it
            quality.change_context(f"supplier.{buffer.material}", to.id,
                                   reason=f"source of {buffer.material} switched to {to.id}")

    def _qualified(self, buffer: Buffer, supplier: Supplier, contracted_h: float) -> None:
        """A backup's qualification playbook is done: its buffer may order from it, once it
        is contracted too (``contracted_h``: e.g. an insolvency's search for it)."""
        if buffer.supplier is supplier and not math.isfinite(buffer.ready_at_h):
            now = self.kernel.now()
            buffer.ready_at_h = max(now, contracted_h)
            if buffer.ready_at_h > now:
                self.kernel.schedule(buffer.ready_at_h - now, self._contracted, buffer)
            else:
                buffer.review()

    def _contracted(self, buffer: Buffer) -> None:
        buffer.review()

    def release_held(self, part: Any) -> None:
        self._release(part)

    def switch_supplier(self, material: str, supplier_id: str, *, reason: str) -> None:
        """The buffer of ``material`` orders from ``supplier_id`` from now on."""
        buffer = self.buffers[material]
        target = self.suppliers[supplier_id]
        if target is buffer.supplier:
            return
        self.log(SupplierSwitchOrdered(self.kernel.now(), reason=reason, material=material,
                                       to_supplier=supplier_id))
        buffer.switch_to(target)

    def _rule_change(self, path_text: str) -> None:
        self.reload_rules(path_text, reason="schedule")

    def _order(self, route: _Route | _RecordedRoute, now: float, quantity: int) -> Order:
        order = new_order(len(self._order_due_h), now, now + route.due_in, quantity, route)
        self._order_created_h.append(now)
        self._order_due_h.append(order.due_h)
        self._order_done_h.append(np.nan)
        if self._multi:
            self._order_product.append(route.index)
        return order

    def _arrive(self, route: _Route) -> None:
        now = self._now()
        quantity = route._quantity  # route.quantity_now(), read directly: once per order
        # self._order(route, now, quantity), inlined for the common case of one product.
        if self._multi:
            order = self._order(route, now, quantity)
        else:
            due_h = now + route.due_in
            order = new_order(len(self._order_due_h), now, due_h, quantity, route)
            self._created_append(now)
            self._due_append(due_h)
            self._done_append(_NAN)
        if quantity == 1 and not route.bom:
            # self._pick(Part(order), now), inlined for a unit with no materials to take:
            # it starts at once.
            part = Part(order)
            part.start_h = now
            self.started += 1
            route.started += 1
            wip = self.wip
            wip.area += wip.value * (now - wip.last_h)
            wip.last_h = now
            wip.value += 1.0  # a float, as the level is: float + int is the slower add
            route.arrivals[0](part, now)
        else:
            for _i in range(quantity):
                self._pick(Part(order), now)
        draw = route._gap
        if draw is not None:  # route.next_order_h's common case, without the call
            self._schedule(draw() / self.demand_factor.value, self._on_arrival, route)
            return
        gap = route.next_order_h(now, self.demand_factor.value)
        if gap is not None:
            self._schedule(gap, self._on_arrival, route)

    def _pick(self, part: Part, now: float | None = None) -> None:
        """Take the bill of materials for ``part`` line by line; start it when complete
        (``now``: the clock, when the caller has read it)."""
        route = part.route
        bom = route.bom
        while part.needs < len(bom):
            buf, quantity = bom[part.needs]
            part.needs += 1
            if not buf.take(part, quantity):
                return  # the buffer calls back here when the stock arrives
        if now is None:
            now = self._now()
        part.start_h = now
        self.started += 1
        route.started += 1
        wip = self.wip  # Level.add, inlined: once as each unit starts and once as it leaves
        wip.area += wip.value * (now - wip.last_h)
        wip.last_h = now
        wip.value += 1.0
        route.arrivals[0](part, now)

    def _advance(self, part: Part, now: float | None = None) -> None:
        """A unit is done at its routing step: on to the next, back for rework, or out
        (``now``: the clock, when the caller has read it)."""
        route = part.route
        step = part.step
        loop = route.rework[step]
        if loop is not None and loop[2]() < loop[1]:
            step = loop[0]
            route.reworked += 1
        else:
            step += 1
        if step < route.length:
            part.step = step
            route.arrivals[step](part, now)
        else:
            self._release(part, now)

    def _release(self, part: Part, now: float | None = None) -> None:
        if now is None:
            now = self._now()
        quality = self.quality
        if quality is not None:
            flag = quality.gate(part)
            if flag is None:
                return  # held by the fallback: released through release_held
            self._release_fallback.append(flag)
            self._release_time_h.append(now - part.at_release_h if part.at_release_h >= 0.0
                                        else math.nan)
        self.released += 1
        wip = self.wip
        wip.area += wip.value * (now - wip.last_h)
        wip.last_h = now
        wip.value -= 1.0
        self._release_append(now)
        self._lead_append(now - part.start_h)
        self._escaped_append(part.defective)
        route = part.route
        route.released += 1
        if self._multi:
            self._release_product.append(route.index)
        order = part.order
        order.remaining -= 1
        if order.remaining == 0:
            self._order_done_h[order.index] = now

    def _scrap(self, part: Part) -> None:
        now = self.kernel.now()
        self.scrapped += 1
        self.wip.add(now, -1)
        self._scrap_h.append(now)
        route = part.route
        route.scrapped += 1
        if self._multi:
            self._scrap_product.append(route.index)
        # The order still needs a good unit: a replacement starts from the stock.
        self._pick(Part(part.order))

    # -- recorded work orders ---------------------------------------------------------

    def replays(self, part: str | None) -> bool:
        """Whether the plant replays the log's work orders of part type ``part``."""
        return bool(self._recorded) and self._route_of.get(part) is not None

    @property
    def recorded_products(self) -> list[int]:
        """The indices (into ``products``) of the products that replay the log."""
        return [r.index for r in self._recorded]

    def _release_job(self, spec: JobSpec) -> None:
        """A recorded work order is released: a customer order of its quantity, which
        takes its materials and then runs its tasks."""
        now = self.kernel.now()
        route = self._route_of[spec.part]
        assert route is not None  # the feed passes only the orders of recorded products
        units = spec.quantity or 1
        order = self._order(route, now, units)
        job = self._recorded_job(spec, order, units, now)
        self._pick_job(job)
        self._executor.release_next(self._jobs, self._release_job)

    def _resume_jobs(self) -> None:
        """A warm start at a moment of the log: each recorded order in progress goes on with
        the rest of its tasks, its units already in work (their materials were taken before
        the start), due as its product says after its recorded release."""
        now = self.kernel.now()
        for spec in self._in_progress:
            route = self._route_of[spec.part]
            assert route is not None  # only the orders of recorded products are kept
            units = spec.quantity or 0
            order = self._order(route, now, units)
            order.due_h = spec.release_h + route.due_in
            self._order_due_h[order.index] = order.due_h
            self._start_job(self._recorded_job(spec, order, units, spec.release_h))

    def _recorded_job(self, spec: JobSpec, order: Order, units: int,
                      release_h: float) -> RecordedJob:
        """The job of ``order``, released at ``release_h``, that runs ``spec``'s tasks over
        the bound stations."""
        job = RecordedJob(order.index, spec.case_id, release_h, [], order)
        job.route = order.product
        job.left = units
        stations = self._stations
        rejected = spec.rejected or [0] * len(spec.resource)
        handled = spec.handled or [0] * len(spec.resource)
        job.tasks = [Task(job, stations[r], w, a, d, x, h)
                     for r, w, a, d, x, h in zip(spec.resource, spec.work_h, spec.after,
                                                 spec.wait_h, rejected, handled, strict=True)]
        return job

    def _resume(self, taker: Part | RecordedJob) -> None:
        """Stock came for a unit, or for a unit of a recorded order, waiting at a buffer."""
        if taker.__class__ is Part:
            self._pick(taker)  # type: ignore[arg-type]
            return
        job: RecordedJob = taker  # type: ignore[assignment]
        job.short -= 1
        if job.short == 0:
            self._start_job(job)

    def _pick_job(self, job: RecordedJob) -> None:
        """Take the bill of materials of every unit of ``job``, unit by unit: what is in
        stock now, the rest as it comes (each buffer holds the order's whole shortfall on
        backorder, so it reorders for it); start it when it has everything."""
        for buf, quantity in job.route.bom:
            for _ in range(job.left):
                if not buf.take(job, quantity):
                    job.short += 1  # the buffer calls back when the stock arrives
        if job.short == 0:
            self._start_job(job)

    def _start_job(self, job: RecordedJob) -> None:
        """``job`` has its materials: its units are in work, its first task is enabled."""
        route = job.route
        now = self.kernel.now()
        job.start_h = now
        self.started += job.left
        route.started += job.left
        route.wip += job.left
        self._recorded_wip += job.left
        self.wip.add(now, job.left)
        self._executor.start(job)

    def _task_done(self, task: Task) -> None:
        """A station finished a recorded task: count what its report inspected and
        rejected, scrap the rejects (and the defective units it caught), go on."""
        job: RecordedJob = task.job  # type: ignore[assignment]
        st = task.resource
        self.tasks_served[st.id] = self.tasks_served.get(st.id, 0) + 1
        scrap = task.rejected
        if isinstance(st, InspectionStation):
            st.inspected += task.inspected
            caught = 0
            if job.bad:
                detection = min(st.detection * st.detection_factor.value, 1.0)
                caught = int(self._quality.binomial(min(job.bad, job.left), detection))
                job.bad -= caught
            st.rejected += task.rejected + caught
            scrap += caught
        scrap = min(scrap, job.left)
        if scrap:
            self._scrap_units(job, scrap)
        self._executor.task_done(task)

    def _scrap_units(self, job: RecordedJob, units: int) -> None:
        now = self.kernel.now()
        route = job.route
        job.left -= units
        job.bad = min(job.bad, job.left)
        self.scrapped += units
        route.scrapped += units
        route.wip -= units
        self._recorded_wip -= units
        self.wip.add(now, -units)
        self._scrap_h.extend([now] * units)
        if self._multi:
            self._scrap_product.extend([route.index] * units)

    def _finish_job(self, job: Job) -> None:
        """Its last task ended: to the release station, or out."""
        order: RecordedJob = job  # type: ignore[assignment]
        release = order.route.release
        if release is not None:
            release.arrive(order)
        else:
            self._ship(order)

    def _leave(self, item: Part | RecordedJob, now: float | None = None) -> None:
        """Done at a release station that recorded orders also pass."""
        if item.__class__ is RecordedJob:
            self._ship(item)  # type: ignore[arg-type]
        else:
            self._advance(item, now)  # type: ignore[arg-type]

    def _ship(self, job: RecordedJob) -> None:
        """The order's good units leave; its defective ones escape with them."""
        now = self.kernel.now()
        route = job.route
        units = job.left
        self.released += units
        route.released += units
        route.wip -= units
        self._recorded_wip -= units
        self.wip.add(now, -units)
        self._release_h.extend([now] * units)
        self._release_lead_h.extend([now - job.start_h] * units)
        self._release_escaped.extend([1] * job.bad + [0] * (units - job.bad))
        if self._multi:
            self._release_product.extend([route.index] * units)
        self._order_done_h[job.index] = now
        if self._keep_finished:
            self.finished.append((job.case_id, job.release_h, now))

    def _record(self) -> PlantRecord:
        record = super()._record()
        if not self._multi:
            return record
        # Scrap times are kept sorted; their products move with them.
        scrap_h = np.frombuffer(self._scrap_h, dtype=float)
        order = np.argsort(scrap_h, kind="stable")
        return dataclasses.replace(
            record, products=tuple(r.id for r in self.products),
            release_product=np.frombuffer(self._release_product, dtype=np.int16).copy(),
            order_product=np.frombuffer(self._order_product, dtype=np.int16).copy(),
            scrap_product=np.frombuffer(self._scrap_product, dtype=np.int16)[order].copy())

    def _station_rows(self) -> list[dict[str, Any]]:
        rows = super()._station_rows()
        for row, st in zip(rows, self.stations, strict=True):
            if isinstance(st, InspectionStation):
                row.update(inspected=st.inspected, rejected=st.rejected,
                           passed_unseen=st.passed_unseen)
                if st.units_measured:
                    row.update(units_measured=st.units_measured,
                               false_accepts=st.false_accepts,
                               false_rejects=st.false_rejects)
        return rows


def _process_station(spec: Any, kernel: Kernel, warmup: float,
                     rng: Callable[[str], np.random.Generator],
                     feeds: Feeds = NO_FEEDS) -> Station:
    """A process station: failures by calendar time, operating hours or units made, or
    recorded outages, and planned maintenance, as the scenario says."""
    sid = spec.id
    wears = spec.mtbf is not None or spec.units_between_failures is not None
    breakdown = rng(f"station:{sid}:breakdown") if wears else None
    common: dict[str, Any] = dict(
        warmup_h=warmup, defect_draw=UniformStream(rng(f"station:{sid}:defect")),
        defect_rate=spec.defect_rate,
        time_to_fail=exponential_sampler(breakdown, spec.mtbf)
        if breakdown is not None and spec.mtbf else None,
        time_to_repair=exponential_sampler(breakdown, spec.mttr)
        if breakdown is not None and spec.mttr else None)
    service = make_sampler(spec.process_time, rng(f"station:{sid}:time"))
    st: Station
    if spec.downtime is not None:
        from shocktwin.twin.model.station import RecordedDowntimeStation

        # Recorded outages replace the modelled failures (the scenario refuses both).
        st = RecordedDowntimeStation(
            sid, spec.servers, service, kernel, **common,
            outages=feeds.downtime(spec, rng(f"station:{sid}:downtime")))
    elif breakdown is not None and spec.units_between_failures is not None:
        p = 1.0 / max(spec.units_between_failures, 1.0)
        st = WearingStation(sid, spec.servers, service, kernel, **common,
                            units_to_fail=Sampler(lambda: breakdown.geometric(p, BLOCK)
                                                  [::-1].astype(float).tolist()))
    elif spec.failure_basis == "operating":
        st = WearingStation(sid, spec.servers, service, kernel, **common, operating=True)
    else:
        st = Station(sid, spec.servers, service, kernel, **common)
    if spec.maintenance is not None:
        m = spec.maintenance
        st.plan_maintenance(m.first if m.first is not None else m.every, m.every, m.duration)
    return st


class _Route:
    """A product in the running plant: its routing over the built stations, bill of
    materials, demand and counts."""

    __slots__ = (
        "_gap",
        "_orders",
        "_quantity",
        "arrivals",
        "bom",
        "due_in",
        "id",
        "index",
        "length",
        "priority",
        "released",
        "rework",
        "reworked",
        "scrapped",
        "serial",
        "started",
        "stations",
        "step_times",
    )

    def __init__(self, index: int, product: Any, by_id: dict[str, Station], plant: Any,
                 buffers: dict[str, Buffer], rng: Callable[[str], np.random.Generator], *,
                 legacy: bool) -> None:
        self.index = index
        self.id = product.id
        self.priority = product.priority
        steps = product.routing
        self.stations = [by_id[step.station] for step in steps]
        self.arrivals = [st.arrive for st in self.stations]
        self.length = len(steps)
        self.bom = [(buffers[m], q) for m, q in plant.materials_per_unit(product).items()]
        prefix = "" if legacy else f"product:{product.id}:"
        self.rework: list[tuple[int, float, Callable[[], float]] | None] = []
        self.step_times: list[Callable[[], float] | None] = []
        sids = [step.station for step in steps]
        for i, step in enumerate(steps):
            loop = step.rework
            if loop is None:
                self.rework.append(None)
            else:
                back = max(j for j in range(i + 1) if sids[j] == loop.to)
                self.rework.append((back, loop.probability,
                                    UniformStream(rng(f"{prefix}rework:{i}"))))
            self.step_times.append(
                make_sampler(step.process_time, rng(f"{prefix}step:{i}:time"))
                if step.process_time is not None else None)
        self.serial = (len(set(sids)) == len(sids) and all(r is None for r in self.rework)
                       and all(t is None for t in self.step_times))
        demand = product.orders
        self.due_in = demand.due_in
        self._quantity = demand.quantity
        self._orders: list[tuple[float, int]] = []
        self._gap: Callable[[], float] | None = None
        if demand.rate is not None:
            # The one-product form keeps the stream name it always had.
            stream_id = "demand:arrivals" if legacy else f"{prefix}arrivals"
            self._gap = exponential_sampler(rng(stream_id), 1.0 / demand.rate)
        elif demand.every is not None:
            every = demand.every
            self._gap = lambda: every
        else:
            # Popped from the end: the schedule in time order, ties in the order written.
            self._orders = sorted(((o.at, o.quantity) for o in demand.orders),
                                  key=lambda o: o[0], reverse=True)
        self.started = 0
        self.released = 0
        self.scrapped = 0
        self.reworked = 0

    def next_order_h(self, now: float, factor: float) -> float | None:
        """Hours from ``now`` to the next order (None: no more); a demand factor above 1
        brings generated orders closer together."""
        if self._gap is not None:
            return self._gap() / factor
        if not self._orders:
            return None
        at, self._quantity = self._orders.pop()
        return max(at - now, 0.0)

    def quantity_now(self) -> int:
        """Units of the order arriving now."""
        return self._quantity


class _RecordedRoute:
    """A recorded product in the running plant: the log's part types it replays, its bill
    of materials, due time, release station and counts."""

    def __init__(self, index: int, product: Any, by_id: dict[str, Station], plant: Any,
                 buffers: dict[str, Buffer]) -> None:
        work = product.recorded
        # What the plant reads of every product: a recorded one has no routing of its own.
        self.serial = False
        self.stations: list[Station] = []
        self.step_times: list[Callable[[], float] | None] = []
        self.index = index
        self.id = product.id
        self.priority = product.priority
        self.part_types: list[str] | None = work.part_types
        self.bom = [(buffers[m], q) for m, q in plant.materials_per_unit(product).items()]
        self.due_in = work.due_in if work.due_in is not None else np.inf
        self.release: Station | None = by_id[work.release] if work.release else None
        self.started = 0
        self.released = 0
        self.scrapped = 0
        self.reworked = 0
        self.wip = 0  # units of its orders started and not yet shipped or scrapped

    def next_order_h(self, now: float, factor: float) -> float | None:
        """Its orders come from the log, not from a demand."""
        return None


class RecordedJob(Job):
    """A recorded work order in the plant: a customer order of ``left`` units still to
    ship, of which ``bad`` are made of defective material."""

    __slots__ = ("bad", "defective", "left", "route", "short", "start_h")

    def __init__(self, index: int, case_id: str, release_h: float, tasks: list[Task],
                 order: Order) -> None:
        super().__init__(index, case_id, release_h, tasks, order)
        self.route: _RecordedRoute
        self.left = 0
        self.bad = 0
        self.short = 0  # units of material it waits for
        self.start_h = release_h
        self.defective = False  # the truth is unit by unit, in ``bad``

    def took_defective(self, units: int) -> None:
        """``units`` of the material it took were defective."""
        self.bad = min(self.bad + units, self.left)


def _logged_station_ids(plant: Any) -> set[str]:
    """The stations the plant's recorded work reaches: bound to a log resource, or the
    release station of a recorded product."""
    if plant.log is None:
        return set()
    out = {r.station for r in plant.log.resources}
    out.update(p.recorded.release for p in plant.products or ()
               if p.recorded is not None and p.recorded.release is not None)
    return out


def replayed_resources(data: ShopFeed, route_of: dict[str | None, Any]) -> list[str]:
    """The log's resources that the orders of the replayed part types work on."""
    used: set[int] = set()
    for part, summary in data.part_types.items():
        if route_of.get(part) is not None:
            used |= summary.resources
    return [data.resource_names[r] for r in sorted(used)]
