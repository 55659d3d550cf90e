"""The plant: builds suppliers, buffers, stations and demand from a scenario onto a kernel,
moves units along the routing, and records what happened for the KPIs.

Per-event work stays in Python lists; arrays are built once at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scenarios.model import InspectionStation as InspectionSpec
from scenarios.model import ProcessStation as ProcessSpec
from scenarios.model import ReleaseStation as ReleaseSpec
from scenarios.model import Scenario
from twin.kernel import Kernel
from twin.model.level import Level
from twin.model.lever import Lever
from twin.model.part import Order, Part
from twin.model.station import InspectionStation, ReleaseStation, Station
from twin.model.supplier import Buffer, Supplier, _lot_flags
from twin.rng import UniformStream, exponential_sampler, make_sampler, stream

__all__ = ["Plant", "PlantRecord"]


@dataclass(frozen=True)
class PlantRecord:
    """Raw observations of one replication, as arrays (times in hours)."""

    horizon_h: float
    warmup_h: float
    release_h: np.ndarray
    release_lead_h: np.ndarray
    release_escaped: np.ndarray
    scrap_h: np.ndarray
    order_created_h: np.ndarray
    order_due_h: np.ndarray
    order_done_h: np.ndarray  # NaN while open
    snapshot_h: np.ndarray
    snapshots: dict[str, np.ndarray]
    stations: tuple[dict[str, Any], ...]
    inspectors: int
    sla_h: float | None
    events: int
    log: tuple[dict[str, Any], ...] = ()


class Plant:
    """One replication's model of the scenario's plant on ``kernel``."""

    def __init__(self, scenario: Scenario, kernel: Kernel, *, seed: int, replication: int) -> None:
        self.scenario = scenario
        self.kernel = kernel
        plant = scenario.plant
        warmup = scenario.warmup

        def rng(component: str) -> np.random.Generator:
            return stream(seed, replication, component)

        self.suppliers: dict[str, Supplier] = {}
        for sup in plant.suppliers:
            # The first supplier listed for a material is the one its buffer orders from.
            self.suppliers.setdefault(sup.material, Supplier(
                sup.id, sup.material, make_sampler(sup.lead_time, rng(f"supplier:{sup.id}:lead")),
                rng(f"supplier:{sup.id}:quality"), sup.defect_rate, kernel,
                rng(f"supplier:{sup.id}:disruption")))
        self.buffers: dict[str, Buffer] = {}
        for b in plant.buffers:
            supplier = self.suppliers[b.material]
            initial = _lot_flags(rng(f"buffer:{b.id}:initial"), b.initial, supplier.defect_rate)
            buf = Buffer(b.id, b.material, initial, b.reorder_point,
                         b.order_quantity or next(s.lot_size for s in plant.suppliers
                                                  if s.material == b.material),
                         supplier, kernel)
            buf.resume = self._pick
            self.buffers[b.material] = buf
        self.bom = [(self.buffers[m], q) for m, q in plant.materials_per_unit().items()]

        specs = {s.id: s for s in plant.stations}
        self.stations: list[Station] = []
        self.sla_h: float | None = None
        for sid in plant.routing:
            spec = specs[sid]
            if isinstance(spec, ProcessSpec):
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
            elif isinstance(spec, InspectionSpec):
                st = InspectionStation(
                    sid, spec.inspectors,
                    make_sampler(spec.time_per_unit, rng(f"station:{sid}:time")), kernel,
                    warmup_h=warmup, draw=UniformStream(rng(f"station:{sid}:decision")),
                    detection=spec.detection, false_reject=spec.false_reject,
                    sample_fraction=spec.sample_fraction)
                st.reject = self._scrap  # type: ignore[attr-defined]
            else:
                assert isinstance(spec, ReleaseSpec)
                st = ReleaseStation(
                    sid, spec.reviewers,
                    make_sampler(spec.review_time, rng(f"station:{sid}:time"))
                    if spec.review_time is not None else None,
                    kernel, warmup_h=warmup, sla_h=spec.sla)
                self.sla_h = spec.sla
            self.stations.append(st)
        for here, there in zip(self.stations, self.stations[1:], strict=False):
            here.next = there.arrive
        self.stations[-1].next = self._release
        self._first = self.stations[0].arrive

        demand = plant.demand
        self._interarrival = exponential_sampler(rng("demand:arrivals"), 1.0 / demand.rate)
        self.demand_factor = Lever("demand.rate_factor", 1.0)
        self._quantity = demand.quantity
        self._due_in = demand.due_in

        self.wip = Level()
        self.started = 0
        self.released = 0
        self.scrapped = 0
        self._release_h: list[float] = []
        self._release_lead_h: list[float] = []
        self._release_escaped: list[bool] = []
        self._scrap_h: list[float] = []
        self._order_created_h: list[float] = []
        self._order_due_h: list[float] = []
        self._order_done_h: list[float] = []
        self._snap_h: list[float] = []
        self._snaps: dict[str, list[float]] = {k: [] for k in _SNAPSHOT_KEYS}
        self._warm_areas: dict[str, tuple[float, float]] = {}
        self.events: list[dict[str, Any]] = []
        self._inspection = [s for s in self.stations if isinstance(s, InspectionStation)]

    # -- running ------------------------------------------------------------------------

    def run(self) -> PlantRecord:
        scenario = self.scenario
        horizon = scenario.horizon
        for buf in self.buffers.values():
            buf.start()
        for st in self.stations:
            st.start()
        self.kernel.schedule(self._interarrival(), self._arrive)
        for shock in scenario.shocks:
            self._schedule_shock(shock)
        times = _snapshot_times(horizon, scenario.bucket_h, scenario.warmup)
        if times:
            self.kernel.schedule(times[0], self._snapshot, (times, 0))
        if 0 < scenario.warmup < horizon:
            self.kernel.schedule(scenario.warmup, self._end_warmup)
        self.kernel.run(horizon)
        self._take_snapshot(horizon)
        return self._record()

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

    # -- shocks --------------------------------------------------------------------------

    def supplier(self, supplier_id: str) -> Supplier:
        for sup in self.suppliers.values():
            if sup.id == supplier_id:
                return sup
        raise KeyError(supplier_id)

    def station(self, station_id: str) -> Station:
        for st in self.stations:
            if st.id == station_id:
                return st
        raise KeyError(station_id)

    def log(self, kind: str, **fields: Any) -> None:
        """A journal record of something that happened during the run."""
        self.events.append({"kind": kind, "at_h": self.kernel.now(), **fields})

    def _schedule_shock(self, shock: Any) -> None:
        steps = shock.intensity_steps()
        self.kernel.schedule(steps[0][0], self._shock_step, (shock, steps, 0))

    def _shock_step(self, arg: tuple[Any, list[tuple[float, float]], int]) -> None:
        shock, steps, i = arg
        at, level = steps[i]
        if i == 0:
            self.log("ShockStarted", shock=shock.id, type=shock.type,
                     target=shock.target, severity=shock.severity())
        shock.apply(self, level)
        if i == 1:  # by construction, the step at the end of the shock's duration
            self.log("ShockEnded", shock=shock.id, recovered_at_h=steps[-1][0])
        if i + 1 < len(steps):
            self.kernel.schedule(steps[i + 1][0] - at, self._shock_step, (shock, steps, i + 1))

    # -- observation --------------------------------------------------------------------

    def _end_warmup(self, _: Any) -> None:
        now = self.kernel.now()
        self._warm_areas = {st.id: (st.busy.area_at(now), st.down.area_at(now))
                            for st in self.stations}

    def _snapshot(self, arg: tuple[list[float], int]) -> None:
        times, i = arg
        self._take_snapshot(times[i])
        if i + 1 < len(times):
            self.kernel.schedule(times[i + 1] - times[i], self._snapshot, (times, i + 1))

    def _take_snapshot(self, t: float) -> None:
        snaps = self._snaps
        self._snap_h.append(t)
        snaps["started"].append(self.started)
        snaps["released"].append(self.released)
        snaps["scrapped"].append(self.scrapped)
        snaps["wip_count"].append(sum(s.in_station() for s in self.stations))
        snaps["wip_area"].append(self.wip.area_at(t))
        snaps["inspection_busy_area"].append(sum(s.busy.area_at(t) for s in self._inspection))
        snaps["stockout_area"].append(sum(b.stockout.area_at(t) for b in self.buffers.values()))
        snaps["on_hand_min"].append(min((b.on_hand for b in self.buffers.values()), default=0))

    def _record(self) -> PlantRecord:
        sc = self.scenario
        horizon, warmup = sc.horizon, sc.warmup
        snap_h = np.asarray(self._snap_h)
        window = horizon - warmup
        stations = []
        for st in self.stations:
            busy0, down0 = self._warm_areas.get(st.id, (0.0, 0.0))
            busy = st.busy.area_at(horizon) - busy0
            down = st.down.area_at(horizon) - down0
            row: dict[str, Any] = {
                "station": st.id, "kind": st.kind, "servers": st.n_servers,
                "utilisation": busy / (st.n_servers * window) if window > 0 else np.nan,
                "availability": 1.0 - down / (st.n_servers * window) if window > 0 else np.nan,
                "wait_mean_h": st.wait_sum_h / st.wait_count if st.wait_count else np.nan,
                "served": st.served,
            }
            if isinstance(st, InspectionStation):
                row.update(inspected=st.inspected, rejected=st.rejected,
                           passed_unseen=st.passed_unseen)
            stations.append(row)
        return PlantRecord(
            horizon_h=horizon, warmup_h=warmup,
            release_h=np.asarray(self._release_h, dtype=float),
            release_lead_h=np.asarray(self._release_lead_h, dtype=float),
            release_escaped=np.asarray(self._release_escaped, dtype=bool),
            scrap_h=np.asarray(self._scrap_h, dtype=float),
            order_created_h=np.asarray(self._order_created_h, dtype=float),
            order_due_h=np.asarray(self._order_due_h, dtype=float),
            order_done_h=np.asarray(self._order_done_h, dtype=float),
            snapshot_h=snap_h,
            snapshots={k: np.asarray(v, dtype=float) for k, v in self._snaps.items()},
            stations=tuple(stations),
            inspectors=sum(s.n_servers for s in self._inspection),
            sla_h=self.sla_h,
            events=self.kernel.scheduled,
            log=tuple(self.events),
        )


_SNAPSHOT_KEYS = ("started", "released", "scrapped", "wip_count", "wip_area",
                  "inspection_busy_area", "stockout_area", "on_hand_min")


def _snapshot_times(horizon: float, bucket: float, warmup: float) -> list[float]:
    n = int(np.ceil(horizon / bucket - 1e-9))
    times = {round(k * bucket, 9) for k in range(1, n)}
    if 0 < warmup < horizon:
        times.add(warmup)
    return sorted(t for t in times if 0 < t < horizon)


