"""The plant: builds suppliers, buffers, stations and demand from a scenario onto a kernel,
moves units along the routing, and records what happened for the KPIs.

Per-event work stays in Python lists; arrays are built once at the end.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from shocktwin.twin.kernel import Kernel
from shocktwin.twin.model.base import Model, PlantRecord
from shocktwin.twin.model.events import (
    RecallInspected,
    RecallStarted,
    SourceSwitched,
    SupplierSwitchOrdered,
)
from shocktwin.twin.model.feed import NO_FEEDS, Feeds
from shocktwin.twin.model.kinds import StationKind
from shocktwin.twin.model.part import LotJob, LotKind, Order, Part
from shocktwin.twin.model.rng import UniformStream, exponential_sampler, make_sampler, stream
from shocktwin.twin.model.station import InspectionStation, ReleaseStation, Station
from shocktwin.twin.model.supplier import Buffer, Supplier, _lot_flags

if TYPE_CHECKING:
    from shocktwin.rules_engine.runtime import RuleEngine
    from shocktwin.scenarios.model import Scenario

    #: Builds the plant's runtime rule engine over its incoming inspection stations.
    RulesFactory = Callable[[Model, dict[str, InspectionStation], np.random.Generator],
                            RuleEngine]

__all__ = ["Plant", "PlantRecord"]


class Plant(Model):
    """One replication's model of the scenario's plant on ``kernel``."""

    def __init__(self, scenario: Scenario, kernel: Kernel, *, seed: int, replication: int,
                 feeds: Feeds = NO_FEEDS, rules: RulesFactory | None = None) -> None:
        super().__init__(scenario, kernel, seed=seed, replication=replication)
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

        by_material: dict[str, list[Supplier]] = {}
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
                if sup.corrective_action is not None else None)
            self.suppliers[sup.id] = built
            by_material.setdefault(sup.material, []).append(built)
        for b in plant.buffers:
            primary, *backups = by_material[b.material]
            initial = _lot_flags(rng(f"buffer:{b.id}:initial"), b.initial, primary.defect_rate)
            buf = Buffer(b.id, b.material, initial, b.reorder_point,
                         b.order_quantity or next(s.lot_size for s in plant.suppliers
                                                  if s.material == b.material),
                         primary, kernel, backups)
            buf.resume = self._pick
            buf.on_switch = self._source_switched
            self.buffers[b.material] = buf
        self.bom = [(self.buffers[m], q) for m, q in plant.materials_per_unit().items()]

        specs = {s.id: s for s in plant.stations}
        self._incoming_ids = {s.id for s in plant.stations
                              if s.kind == StationKind.INSPECTION and s.role == "incoming"}
        incoming_ids = [s.id for s in plant.stations if s.id in self._incoming_ids]
        for sid in [*plant.routing, *incoming_ids]:
            spec = specs[sid]
            if spec.kind == StationKind.PROCESS:
                breakdown = rng(f"station:{sid}:breakdown") if spec.mtbf is not None else None
                st: Station = Station(
                    sid, spec.servers, make_sampler(spec.process_time, rng(f"station:{sid}:time")),
                    kernel, warmup_h=warmup,
                    defect_draw=UniformStream(rng(f"station:{sid}:defect")),
                    defect_rate=spec.defect_rate,
                    time_to_fail=exponential_sampler(breakdown, spec.mtbf)
                    if breakdown is not None and spec.mtbf else None,
                    time_to_repair=exponential_sampler(breakdown, spec.mttr)
                    if breakdown is not None and spec.mttr else None)
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
            self.stations.append(st)
        self._routing = plant.routing
        line = self.stations[: len(plant.routing)]
        for here, there in itertools.pairwise(line):
            here.next = there.arrive
        line[-1].next = self._release
        self._first = line[0].arrive

        demand = plant.demand
        self._interarrival = exponential_sampler(rng("demand:arrivals"), 1.0 / demand.rate)
        self._quantity = demand.quantity
        self._due_in = demand.due_in
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

    # -- running ------------------------------------------------------------------------

    def _start(self) -> None:
        for change in self.scenario.rule_changes:
            self.kernel.schedule(change.at, self._rule_change, change.rules)
        for buf in self.buffers.values():
            buf.start()
        for st in self.stations:
            st.start()
        self.kernel.schedule(self._interarrival(), self._arrive)

    def wip_count(self) -> int:
        return sum(s.in_station() for s in self.stations[: len(self._routing)])

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
        job = LotJob("shipped", None, list(flags), 0, LotKind.RECALL, None, len(flags), work,
                     functools.partial(self._recall_done, reason=reason))
        self.log(RecallStarted(self.kernel.now(), reason=reason, recalled=len(flags),
                               defective=int(sum(flags))))
        station.arrive_lot(job)

    def _recall_done(self, job: LotJob, station: InspectionStation, *, reason: str) -> None:
        now = self.kernel.now()
        defective = int(sum(job.flags))
        detection = min(station.detection * station.detection_factor.value, 1.0)
        found = sum(1 for _ in range(defective) if station.draw() < detection)
        station.inspected += job.sample
        station.rejected += found
        self._scrap_h.extend([now] * found)
        self.log(RecallInspected(self.kernel.now(), reason=reason, recalled=job.sample,
                                 found=found))
        if found:
            order = Order(len(self._order_due_h), now, now + self._due_in, found)
            self._order_created_h.append(now)
            self._order_due_h.append(order.due_h)
            self._order_done_h.append(np.nan)
            for _ in range(found):
                self._pick(Part(order))

    def _source_switched(self, buffer: Buffer, to: Supplier | None, ready_h: float) -> None:
        self.log(SourceSwitched(self.kernel.now(), buffer=buffer.id, material=buffer.material,
                                to_supplier=to.id if to is not None else None,
                                orders_from_h=ready_h if to is not None else None))
        drafted = self.scenario.drafted_rules(to.id) if to is not None else None
        if drafted is not None and self.rules is not None and to is not None:
            self.rules.substitute(drafted, buffer.material, reason=f"substitution {to.id}")

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

    def _arrive(self, _: Any) -> None:
        now = self.kernel.now()
        order = Order(len(self._order_due_h), now, now + self._due_in, self._quantity)
        self._order_created_h.append(now)
        self._order_due_h.append(order.due_h)
        self._order_done_h.append(np.nan)
        for _i in range(self._quantity):
            self._pick(Part(order))
        self.kernel.schedule(self._interarrival() / self.demand_factor.value, self._arrive)

    def _pick(self, part: Part) -> None:
        """Take the bill of materials for ``part`` line by line; start it when complete."""
        bom = self.bom
        while part.needs < len(bom):
            buf, quantity = bom[part.needs]
            part.needs += 1
            if not buf.take(part, quantity):
                return  # the buffer calls back here when the stock arrives
        now = self.kernel.now()
        part.start_h = now
        self.started += 1
        self.wip.add(now, 1)
        self._first(part)

    def _release(self, part: Part) -> None:
        now = self.kernel.now()
        self.released += 1
        self.wip.add(now, -1)
        self._release_h.append(now)
        self._release_lead_h.append(now - part.start_h)
        self._release_escaped.append(part.defective)
        order = part.order
        order.remaining -= 1
        if order.remaining == 0:
            self._order_done_h[order.index] = now

    def _scrap(self, part: Part) -> None:
        now = self.kernel.now()
        self.scrapped += 1
        self.wip.add(now, -1)
        self._scrap_h.append(now)
        # The order still needs a good unit: a replacement starts from the stock.
        self._pick(Part(part.order))

    def _station_rows(self) -> list[dict[str, Any]]:
        rows = super()._station_rows()
        for row, st in zip(rows, self.stations, strict=True):
            if isinstance(st, InspectionStation):
                row.update(inspected=st.inspected, rejected=st.rejected,
                           passed_unseen=st.passed_unseen)
        return rows
