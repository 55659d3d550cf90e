"""What every model of a replication shares: shocks on its components, the journal log,
snapshots at bucket edges, the warm-up cut, and the raw record the KPIs are computed from.

Two models derive from it: the ``Plant`` built from a scenario's plant section (suppliers,
buffers, a serial line) and the ``Shop`` replayed from an MES log (jobs routed over
resources).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shocktwin.errors import SimulationError
from shocktwin.twin.kernel import Kernel
from shocktwin.twin.model.events import (
    BackupMissing,
    ModelEvent,
    OrderExpedited,
    OrdersCancelled,
    SelectorMatched,
    ShockEnded,
    ShockStarted,
)
from shocktwin.twin.model.kinds import CascadeOn
from shocktwin.twin.model.level import Level
from shocktwin.twin.model.lever import Lever
from shocktwin.twin.model.station import Station
from shocktwin.twin.model.supplier import Buffer, Supplier

if TYPE_CHECKING:
    from shocktwin.rules_engine.runtime import RuleEngine
    from shocktwin.scenarios.model import Scenario
    from shocktwin.twin.model.measure import Gauge
    from shocktwin.twin.model.quality_work import QualityRuntime, QualitySystemRecord

__all__ = ["Model", "PlantRecord", "bucket_edges_h"]


def _no_index() -> np.ndarray:
    return np.zeros(0, dtype=np.int16)


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
    log: tuple[ModelEvent, ...] = ()
    # A plant with several products: their ids, and the product (index) of each release,
    # order and scrapped unit, in the order of the arrays above (empty with one product).
    products: tuple[str, ...] = ()
    release_product: np.ndarray = field(default_factory=_no_index)
    order_product: np.ndarray = field(default_factory=_no_index)
    scrap_product: np.ndarray = field(default_factory=_no_index)
    # A plant with a quality system: each release's time at quality release (arrival to
    # release, NaN without a release station) and whether it was released under a
    # fallback, in the order of release_h; and the quality system's own record.
    release_time_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    release_fallback: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    quality: QualitySystemRecord | None = None


@dataclass(eq=False)
class _PendingStart:
    """A shock's start as scheduled: the shock, its intensity steps and what it hits. Held
    by reference in the event, so ``Model.set_severity`` can change it until it is due."""

    shock: Any
    steps: list[tuple[float, float]]
    hits: list[Any]
    fired: bool = False


SNAPSHOT_KEYS = ("started", "released", "scrapped", "wip_count", "wip_area",
                 "inspection_busy_area", "stockout_area", "on_hand_min", "material_cost")


class Model:
    """Book-keeping common to the plant and the shop; subclasses build the components."""

    def __init__(self, scenario: Scenario, kernel: Kernel, *, seed: int = 0,
                 replication: int = 0) -> None:
        self.scenario = scenario
        self.kernel = kernel
        self.seed = seed
        self.replication = replication
        # Cascaded shocks waiting for the shock they follow, by its id.
        self._followers: dict[str, list[Any]] = {}
        self._stockout_watch: list[Any] = []
        self._once: set[str] = set()
        # Shock starts scheduled and not yet due, by the id of the scenario's shock.
        self._pending_starts: dict[str, list[_PendingStart]] = {}
        self.suppliers: dict[str, Supplier] = {}
        self.buffers: dict[str, Buffer] = {}
        self.stations: list[Station] = []
        self._station_index: dict[str, Station] = {}
        self.demand_factor = Lever("demand.rate_factor", 1.0)
        self.wip = Level()
        self.started = 0
        self.released = 0
        self.scrapped = 0
        self.sla_h: float | None = None
        # Per-unit and per-order records in typed arrays (8 bytes an entry, not a Python
        # float object each): memory grows with the horizon only by what KPIs need.
        self._release_h = array("d")
        self._release_lead_h = array("d")
        self._release_escaped = array("b")
        self._scrap_h = array("d")
        self._order_created_h = array("d")
        self._order_due_h = array("d")
        self._order_done_h = array("d")
        self._snap_h: list[float] = []
        self._snaps: dict[str, list[float]] = {k: [] for k in SNAPSHOT_KEYS}
        self._warm_areas: dict[str, tuple[float, float]] = {}
        self.events: list[ModelEvent] = []
        self._inspection: list[Station] = []
        self.rules: RuleEngine | None = None
        # Measured characteristics by (material or station, name): their declaration and
        # the gauge that reads them.
        self.characteristics: dict[tuple[str, str], Any] = {}
        self.gauges: dict[tuple[str, str], Gauge] = {}
        # The quality system (a plant that declares one): contexts, pools, playbooks.
        self.quality: QualityRuntime | None = None
        self._release_time_h = array("d")
        self._release_fallback = array("b")

    # -- running ------------------------------------------------------------------------

    def run(self) -> PlantRecord:
        """Run the replication to its horizon and return its record."""
        self.begin()
        return self.finish()

    def begin(self) -> None:
        """Schedule everything the run starts with (the model's first events, its shocks,
        snapshots and the warm-up cut) without advancing the clock."""
        scenario = self.scenario
        horizon = scenario.horizon
        self._start()
        for shock in scenario.shocks:
            if shock.after is not None:
                self._followers.setdefault(shock.after.shock, []).append(shock)
            elif shock.onset is not None:
                self._schedule_onsets(shock)
            else:
                self._schedule_shock(shock, shock.id)
        for buffer in self.buffers.values():
            buffer.on_empty = self._stocked_out
        times = _snapshot_times(horizon, scenario.bucket_h, scenario.warmup)
        if times:
            self.kernel.schedule(times[0], self._snapshot, (times, 0))
        if 0 < scenario.warmup < horizon:
            self.kernel.schedule(scenario.warmup, self._end_warmup)

    def advance(self, until_h: float) -> None:
        """Run until the clock reaches ``until_h``; what is due at ``until_h`` stays pending,
        so ``finish`` continues exactly as an uninterrupted run would."""
        if until_h > self.kernel.now():
            self.kernel.run(until_h)

    def finish(self) -> PlantRecord:
        """Run on to the horizon and return the record."""
        horizon = self.scenario.horizon
        self.kernel.run(horizon)
        self._take_snapshot(horizon)
        self._log_output_capability(horizon)
        if self.rules is not None:
            self.rules.log_capability()
        return self._record()

    def shock_start(self, shock_id: str) -> float | None:
        """When the scenario's shock ``shock_id`` first starts, as scheduled by ``begin``
        (its first random occurrence for a random onset); None when that is not known
        before the run (a shock cascading from another, or no occurrence in the horizon)."""
        pending = [p.shock.start for p in self._pending_starts.get(shock_id, ())]
        return min(pending) if pending else None

    def set_severity(self, scenario: Scenario, shock_id: str, severity: float) -> None:
        """Give the not yet started shock ``shock_id`` (or its random occurrences) another
        severity, as if the run had been built from ``scenario`` (the same scenario with
        the shock at ``severity``). Only what has not happened yet can change: a shock that
        started already is refused, and so is one that cascades from another (its start is
        scheduled only when its leader's comes)."""
        if any(s.id == shock_id for waiting in (*self._followers.values(),
                                               self._stockout_watch) for s in waiting):
            raise SimulationError(f"shock {shock_id!r} cascades from another: its severity "
                                  "cannot be set on a run in progress")
        for p in self._pending_starts.get(shock_id, ()):
            if p.fired:
                raise SimulationError(f"shock {shock_id!r} has started already: its "
                                      "severity cannot change")
            shock = p.shock.with_severity(severity)
            steps = shock.intensity_steps()
            if steps[0][0] != p.steps[0][0]:
                raise SimulationError(f"shock {shock_id!r}: a severity that moves its "
                                      "start cannot be set on a run in progress")
            # A selector's hits were matched when the start was scheduled: keep them.
            hits = ([shock] if p.hits and p.hits[0] is p.shock
                    else [h.with_severity(severity) for h in p.hits])
            p.shock, p.steps, p.hits = shock, steps, hits
        self.scenario = scenario

    def _log_output_capability(self, now: float) -> None:
        """The capability of each process station's measured output over the run (true
        values), with Bissell's 95 % interval."""
        from shocktwin.twin.model.events import OutputMeasured
        from shocktwin.twin.model.measure import bissell_interval

        for st in self.stations:
            measured = getattr(st, "measured", None)
            if measured is None or not measured.units:
                continue
            for j, (name, n, mean, sd) in enumerate(measured.moments()):
                low, high = measured.limits[j]
                sides = [v for v in (high - mean, mean - low) if math.isfinite(v)]
                ppk = min(sides) / (3.0 * sd) if sd > 0 and sides else None
                low_b, high_b = bissell_interval(ppk if ppk is not None else math.nan, n)
                self.log(OutputMeasured(
                    now, station=st.id, characteristic=name, units=n, mean=mean, sd=sd,
                    out_of_spec=measured.out[j], ppk=ppk,
                    ppk_low=low_b if math.isfinite(low_b) else None,
                    ppk_high=high_b if math.isfinite(high_b) else None))

    def _start(self) -> None:
        """Schedule the model's first events (arrivals, breakdowns)."""
        raise NotImplementedError

    def wip_count(self) -> int:
        """Units (or jobs) started and neither released nor scrapped, counted structurally."""
        raise NotImplementedError

    # -- shocks --------------------------------------------------------------------------

    def supplier(self, supplier_id: str) -> Supplier:
        return self.suppliers[supplier_id]  # keyed by id: a region's shock hits hundreds

    def station(self, station_id: str) -> Station:
        by_id = self._station_index
        if len(by_id) != len(self.stations):
            by_id.clear()
            by_id.update((st.id, st) for st in self.stations)
        found = by_id.get(station_id)
        if found is None and self.quality is not None:
            found = self.quality.pools.get(station_id)  # a pool: staff shortages hit it
        if found is None:
            raise KeyError(station_id)
        return found

    def change_contexts(self, changes: dict[str, str], *, reason: str,
                        once: str | None = None) -> None:
        """Contexts of the rule library change (a shock's onset): see the quality system."""
        if self.quality is None:
            raise SimulationError(f"{reason}: the plant has no quality system whose contexts "
                                  "could change")
        if once is not None and not self.once(f"context {once}"):
            return
        self.quality.change_contexts(changes, reason=reason)

    def release_held(self, part: Any) -> None:
        """Release a unit the quality system's fallback held (see the plant)."""
        raise SimulationError("this model holds no units at release")

    def scenario_supplier(self, supplier_id: str) -> Any:
        """The scenario's declaration of supplier ``supplier_id``."""
        assert self.scenario.plant is not None
        return next(s for s in self.scenario.plant.suppliers if s.id == supplier_id)

    def reload_rules(self, path_text: str, *, reason: str, once: bool = False,
                     relative_to: Path | None = None) -> None:
        """Load the rule set ``path_text`` (relative to the scenario file, or to
        ``relative_to``) inside the running twin; loaded with the scenario, so never read
        from disk here."""
        if self.rules is None:
            raise SimulationError(f"{reason}: the plant has no incoming inspection to apply "
                                  "rules to")
        path = (relative_to / path_text) if relative_to else self.scenario.resolve(path_text)
        self.rules.reload(self.scenario.ruleset(path), path.resolve(), reason=reason,
                          once=once)

    def once(self, reason: str) -> bool:
        """True the first time ``reason`` is seen (a one-off shock effect)."""
        if reason in self._once:
            return False
        self._once.add(reason)
        return True

    def expedite(self, supplier: Supplier, quantity: int, lead_factor: float, premium: float,
                 *, reason: str, once: bool = False) -> None:
        """An emergency order of ``quantity`` from ``supplier`` for its material's buffer."""
        if once and not self.once(reason):
            return
        # The plant's buffer of the material, or (a supplier further out) the stock of the
        # supplier it delivers to.
        buffer = self.buffers.get(supplier.material) or next(iter(supplier.serves), None)
        if buffer is None:
            raise SimulationError(f"{reason}: no buffer holds {supplier.material!r}")
        supplier.expedite(quantity, buffer, lead_factor, premium)
        self.log(OrderExpedited(self.kernel.now(), reason=reason, supplier=supplier.id,
                                quantity=quantity))

    def switch_supplier(self, material: str, supplier_id: str, *, reason: str) -> None:
        raise SimulationError(f"{reason}: this model has no suppliers to switch")

    def activate_backup(self, supplier_id: str, *, reason: str) -> None:
        """Move the orders of ``supplier_id``'s material to its next backup that can ship
        (not lost, not on hold), cancelling what it still owes."""
        supplier = self.supplier(supplier_id)
        # Every stock that orders from it: the plant's buffer, or the stocks of the suppliers
        # one tier nearer the plant.
        for buffer in [b for b in supplier.serves if b.supplier is supplier]:
            backup = next((s for s in buffer.sources
                           if s is not supplier and not (s.lost or s.on_hold)), None)
            if backup is None:
                self.log(BackupMissing(self.kernel.now(), reason=reason,
                                       material=supplier.material))
                continue
            # What the stricken site still owes will not ship in time: order it elsewhere.
            cancelled = supplier.cancel_orders(buffer)
            if cancelled:
                self.log(OrdersCancelled(self.kernel.now(), reason=reason,
                                         supplier=supplier.id, units=cancelled))
            if self.buffers.get(buffer.material) is buffer:
                self.switch_supplier(supplier.material, backup.id, reason=reason)
            else:
                buffer.switch_to(backup)

    def gauges_at(self, station_id: str) -> list[Gauge]:
        """The gauges that read lots at incoming inspection station ``station_id``: those of
        the measured materials whose plan in force names it (or, with one incoming station,
        every measured material's)."""
        rules = self.rules
        if rules is None:
            return []
        out: list[Gauge] = []
        for material, state in rules.materials.items():
            at = state.plan.station or next(iter(rules.stations), None)
            if at == station_id:
                out.extend(g for (owner, _), g in self.gauges.items() if owner == material)
        return out

    def recall(self, lookback_h: float, station: Station, *, reason: str,
               once: bool = False) -> None:
        """Recall what was shipped in the last ``lookback_h``: see the plant."""
        raise SimulationError(f"{reason}: this model cannot recall shipped units")

    def log(self, event: ModelEvent) -> None:
        """A journal record of something that happened during the run."""
        self.events.append(event)

    def _schedule_shock(self, shock: Any, key: str) -> None:
        """Schedule ``shock``'s start; ``key`` is the id of the scenario's shock it comes
        from (a random occurrence or a cascade carries an id of its own)."""
        steps = shock.intensity_steps()
        pending = _PendingStart(shock, steps, self._hits(shock))
        self._pending_starts.setdefault(key, []).append(pending)
        self.kernel.schedule(steps[0][0] - self.kernel.now(), self._shock_start, pending)

    def _hits(self, shock: Any) -> list[Any]:
        """What applying ``shock`` means: the shock itself, or for a selector one copy per
        matching supplier (in the order the scenario lists them), each aimed at it."""
        target = shock.target
        if target is None or isinstance(target, str):
            return [shock]
        return [shock.model_copy(update={"target": sup.id}) for sup in self.suppliers.values()
                if target.matches(sup)]

    def _schedule_onsets(self, shock: Any) -> None:
        """Random onset: Poisson occurrences from the shock's start, from its own stream."""
        from shocktwin.twin.model.rng import stream

        rng = stream(self.seed, self.replication, f"shock:{shock.id}:onset")
        t = shock.start
        for k in range(shock.onset.max_occurrences):
            t += float(rng.exponential(1.0 / shock.onset.rate))
            if t >= self.scenario.horizon:
                break
            self._schedule_shock(shock.model_copy(update={
                "id": f"{shock.id}#{k + 1}", "start": t, "onset": None}), shock.id)

    def _follow(self, leader: str, moment: CascadeOn) -> None:
        """Start the shocks cascading from ``leader`` at ``moment`` (started / ended)."""
        for follower in self._followers.get(leader, ()):
            if follower.after.on is moment:
                self._start_cascaded(follower)
            elif follower.after.on is CascadeOn.STOCKOUT and moment is CascadeOn.STARTED:
                self._stockout_watch.append(follower)

    def _start_cascaded(self, shock: Any) -> None:
        self._schedule_shock(shock.model_copy(update={
            "start": self.kernel.now() + shock.start, "after": None}), shock.id)

    def _stocked_out(self, buffer: Any) -> None:
        if self._stockout_watch:
            watching, self._stockout_watch = self._stockout_watch, []
            for shock in watching:
                self._start_cascaded(shock)

    def _shock_start(self, pending: _PendingStart) -> None:
        pending.fired = True
        self._shock_step((pending.shock, pending.steps, 0, pending.hits))

    def _shock_step(self, arg: tuple[Any, list[tuple[float, float]], int, list[Any]]) -> None:
        shock, steps, i, hits = arg
        at, level = steps[i]
        if i == 0:
            self.log(ShockStarted(self.kernel.now(), shock=shock.id, type=shock.type,
                                  target=shock.target_text, severity=shock.severity()))
            if self.quality is not None:
                self.quality.shock_started(shock.id)
            if hits and hits[0] is not shock:
                self.log(SelectorMatched(self.kernel.now(), shock=shock.id,
                                      suppliers=tuple(h.target for h in hits)))
        for hit in hits:
            hit.apply(self, level)
        if i == 0:
            self._follow(shock.id, CascadeOn.STARTED)
        if i == 1:  # by construction, the step at the end of the shock's duration
            self.log(ShockEnded(self.kernel.now(), shock=shock.id,
                                recovered_at_h=steps[-1][0]))
            self._follow(shock.id, CascadeOn.ENDED)
        if i + 1 < len(steps):
            self.kernel.schedule(steps[i + 1][0] - at, self._shock_step,
                                 (shock, steps, i + 1, hits))

    # -- observation --------------------------------------------------------------------

    def _end_warmup(self, _: Any) -> None:
        now = self.kernel.now()
        self._warm_areas = {st.id: (st.busy.area_at(now), st.down.area_at(now))
                            for st in self.stations}

    def _snapshot(self, arg: tuple[list[float], int]) -> None:
        times, i = arg
        self._take_snapshot(times[i])
        if i + 1 < len(times):
            # A delay to the absolute time, not the gap between two snapshot times: gaps
            # added up drift off the grid (10 min is not a binary fraction of an hour),
            # while now + (t - now) lands on t exactly for now <= t <= 2 now.
            self.kernel.schedule(times[i + 1] - self.kernel.now(), self._snapshot,
                                 (times, i + 1))

    def _take_snapshot(self, t: float) -> None:
        snaps = self._snaps
        self._snap_h.append(t)
        snaps["started"].append(self.started)
        snaps["released"].append(self.released)
        snaps["scrapped"].append(self.scrapped)
        snaps["wip_count"].append(self.wip_count())
        snaps["wip_area"].append(self.wip.area_at(t))
        snaps["inspection_busy_area"].append(sum(s.busy.area_at(t) for s in self._inspection))
        snaps["stockout_area"].append(sum(b.stockout.area_at(t) for b in self.buffers.values()))
        snaps["on_hand_min"].append(min((b.on_hand for b in self.buffers.values()), default=0))
        snaps["material_cost"].append(sum(s.cost for s in self.suppliers.values()))
        if self.quality is not None:
            snaps.setdefault("quality_backlog_area", []).append(
                self.quality.backlog.area_at(t))
            snaps.setdefault("fallback_area", []).append(self.quality.under_fallback.area_at(t))

    def _station_rows(self) -> list[dict[str, Any]]:
        horizon, warmup = self.scenario.horizon, self.scenario.warmup
        window = horizon - warmup
        rows = []
        for st in self.stations:
            busy0, down0 = self._warm_areas.get(st.id, (0.0, 0.0))
            busy = st.busy.area_at(horizon) - busy0
            down = st.down.area_at(horizon) - down0
            rows.append({
                "station": st.id, "kind": st.kind, "servers": st.n_servers,
                "utilisation": busy / (st.n_servers * window) if window > 0 else np.nan,
                "availability": 1.0 - down / (st.n_servers * window) if window > 0 else np.nan,
                "wait_mean_h": st.wait_sum_h / st.wait_count if st.wait_count else np.nan,
                "served": st.served,
            })
        return rows

    def _record(self) -> PlantRecord:
        sc = self.scenario
        return PlantRecord(
            horizon_h=sc.horizon, warmup_h=sc.warmup,
            release_h=np.frombuffer(self._release_h, dtype=float),
            release_lead_h=np.frombuffer(self._release_lead_h, dtype=float),
            release_escaped=np.frombuffer(self._release_escaped, dtype=np.int8).astype(bool),
            scrap_h=np.sort(np.frombuffer(self._scrap_h, dtype=float)),
            order_created_h=np.frombuffer(self._order_created_h, dtype=float),
            order_due_h=np.frombuffer(self._order_due_h, dtype=float),
            order_done_h=np.frombuffer(self._order_done_h, dtype=float),
            snapshot_h=np.asarray(self._snap_h),
            snapshots={k: np.asarray(v, dtype=float) for k, v in self._snaps.items()},
            stations=tuple(self._station_rows()),
            inspectors=sum(s.n_servers for s in self._inspection),
            sla_h=self.sla_h,
            events=self.kernel.scheduled,
            log=tuple(self.events),
            release_time_h=np.frombuffer(self._release_time_h, dtype=float),
            release_fallback=np.frombuffer(self._release_fallback, dtype=np.int8).astype(bool),
            quality=self.quality.record() if self.quality is not None else None,
        )


def bucket_edges_h(horizon_h: float, bucket_h: float) -> np.ndarray:
    """The edges of the KPI buckets, hours: edge k is ``k * bucket_h`` from an integer k
    (never a running sum, which drifts), the last is the horizon. The snapshots and the
    KPI series both use these, so every edge finds its snapshot exactly."""
    n = max(int(np.ceil(horizon_h / bucket_h - 1e-9)), 1)
    edges = np.minimum(np.arange(n + 1) * bucket_h, horizon_h)
    edges[-1] = horizon_h
    return edges


def _snapshot_times(horizon: float, bucket: float, warmup: float) -> list[float]:
    """Times of the snapshots before the horizon: the inner bucket edges and the warm-up
    end (unless an edge is there already)."""
    times = [float(t) for t in bucket_edges_h(horizon, bucket)[1:-1]]
    if 0 < warmup < horizon and not any(abs(t - warmup) <= _SAME_TIME_H for t in times):
        times.append(warmup)
    return sorted(t for t in times if 0 < t < horizon)


#: Two times closer than this (hours, about 4 µs) are the same snapshot.
_SAME_TIME_H = 1e-9
