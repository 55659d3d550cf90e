"""Stations with parallel servers: process stations (with breakdowns), inspection, release.

Each server fails and is repaired on its own clock (exponential MTBF/MTTR in calendar
time); a unit in work when its server fails resumes where it stopped after the repair
(preemptive-resume). A server taken offline by a shock (staff shortage, power cut,
tool-chain switch) pauses the same way. Scheduled completions are cancelled lazily with a
per-server token.

A station is generic in the ``Work`` it serves: plant stations serve ``Part``s, incoming
inspection also delivered lots (``LotJob``), a shop resource the shop's tasks.

Levers that shocks move: ``capacity`` (share of servers online), ``speed`` (time factor),
``mtbf_factor`` (time-to-failure factor), ``defect_rate``; inspection adds ``detection_factor`` and
``sample_floor`` (a minimum sample fraction, e.g. 1.0 for a fall-back to 100 %).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from shocktwin.twin.kernel import Kernel
from shocktwin.twin.model.dispatch import Waiting, dispatching_policies
from shocktwin.twin.model.kinds import StationKind
from shocktwin.twin.model.level import Level
from shocktwin.twin.model.lever import Combine, Lever
from shocktwin.twin.model.measure import StationMeasurement
from shocktwin.twin.model.part import LotJob, Part
from shocktwin.twin.model.work import Work

__all__ = ["InspectionStation", "RecordedDowntimeStation", "ReleaseStation", "Server", "Station",
           "WearingStation"]

W = TypeVar("W", bound=Work)
#: Where a station passes the items it is done with.
Route = Callable[[W], None]


class Server(Generic[W]):
    """One server of a station: a machine, an inspector or a reviewer."""

    __slots__ = ("busy_since", "end_h", "online", "part", "remaining_h", "token", "up",
                 "wear_left")

    def __init__(self) -> None:
        self.part: W | None = None
        self.end_h = 0.0
        self.remaining_h = 0.0
        self.token = 0
        self.up = True  # not broken down
        self.online = True  # not taken out of service by a shock
        # Usage-based failures: operating hours (or units) left before it fails, and when
        # its current stretch of work began.
        self.wear_left = 0.0
        self.busy_since = 0.0


class Station(Generic[W]):
    """A queue of ``W`` items in front of ``servers`` identical servers (FIFO unless
    :meth:`dispatch_by` names another policy)."""

    kind: str = StationKind.PROCESS.value
    # What only some stations declare is a class-level default, set on the instance when
    # declared: a station keeps fewer than 30 attributes of its own, past which CPython
    # looks each of them up on a slower path (and the hot path reads a dozen per unit).
    _ttf: Callable[[], float] | None = None
    _ttr: Callable[[], float] | None = None
    maintenance: tuple[float, float, float] | None = None
    calendar: list[tuple[float, float]] | None = None

    def __init__(self, station_id: str, servers: int, service: Callable[[], float],
                 kernel: Kernel, *, warmup_h: float, defect_draw: Callable[[], float] | None = None,
                 defect_rate: float = 0.0, time_to_fail: Callable[[], float] | None = None,
                 time_to_repair: Callable[[], float] | None = None) -> None:
        self.id = station_id
        self.n_servers = servers
        self.servers: list[Server[W]] = [Server() for _ in range(servers)]
        self.idle: list[Server[W]] = list(reversed(self.servers))
        self.queue: Waiting = deque()
        self.service = service
        self.kernel = kernel
        # Bound once: the hot path (a start and a completion per unit) looks them up often.
        self._schedule = kernel.schedule
        self._now = kernel.now
        self._done = self._done_checked
        # Checked once here, not per unit: a station whose work time is its own draw and
        # whose finish is the process step's skips those two calls per unit (a subclass or
        # a per-instance replacement of either clears the flag).
        cls = type(self)
        self._own_time = cls._work_h is Station._work_h
        self._own_finish = cls.finish is Station.finish
        self.warmup_h = warmup_h
        self.busy = Level()
        self.down = Level()
        self.served = 0
        self.wait_sum_h = 0.0
        self.wait_count = 0
        self.next: Route[W] = _unrouted
        # Set by the owner that wires ``next`` to a route taking the clock as a second
        # argument (a plant's routing), so a completion passes the time it has read.
        self._next_now = False
        self._defect_draw = defect_draw
        # Process-induced defect rate; shocks (heat, drift) raise it, the highest wins.
        self.defect_rate = Lever(f"{station_id}.defect_rate", defect_rate, Combine.MAX)
        if time_to_fail is not None:
            self._ttf = time_to_fail
        if time_to_repair is not None:
            self._ttr = time_to_repair
        self.capacity = Lever(f"{station_id}.capacity", 1.0, Combine.PRODUCT,
                              self._set_capacity)
        self.speed = Lever(f"{station_id}.speed", 1.0)
        self.mtbf_factor = Lever(f"{station_id}.mtbf_factor", 1.0)
        self.measured: StationMeasurement | None = None  # characteristics of its output

    # -- life cycle ---------------------------------------------------------------------

    def dispatch_by(self, policy: str) -> None:
        """Serve the waiting items by the dispatching policy called ``policy``."""
        cls = dispatching_policies()[policy]
        if cls.draws_ahead:
            # The work time is drawn on arrival (the policy orders by it) and used at the
            # start of service; an item that finds a server idle draws it then.
            draw = self._work_h
            drawn: dict[int, float] = {}
            missing = object()

            def drawn_first(part: W) -> float:
                work = drawn.pop(id(part), missing)
                return draw(part) if work is missing else work  # type: ignore[return-value]

            self.drawn = drawn
            self.work_time = draw
            self._work_h = drawn_first  # type: ignore[method-assign]
            self._own_time = False
        self.queue = cls().queue(self)

    def time_by_step(self) -> None:
        """A unit whose routing step gives its own time here takes that time; others the
        station's own."""
        own = self.service

        def by_step(part: W) -> float:
            step = part.route.step_times[part.step]  # type: ignore[attr-defined]
            return step() if step is not None else own()

        self._work_h = by_step  # type: ignore[method-assign]
        self._own_time = False

    def start(self) -> None:
        """Schedule the first failure of every server (when the station breaks down) and
        the first planned maintenance stop."""
        if self._ttf is not None:
            for server in self.servers:
                self.kernel.schedule(self._ttf(), self._fail, server)
        if self.maintenance is not None:
            first, _, _ = self.maintenance
            self.kernel.schedule(first, self._maintenance_starts)
        if self.calendar is not None:
            self._shift_changes()

    def follow_calendar(self, week: list[tuple[float, float]]) -> None:
        """Work only in the ``week``'s spans (hours after the start, repeating every 168 h);
        outside them every server is off and a unit in work resumes at the next shift."""
        self.calendar = week

    def _shift_changes(self) -> None:
        """Schedule the week's shift ends and starts from now; the last one schedules the
        next week."""
        assert self.calendar is not None
        changes: list[tuple[float, float | None]] = []
        ends_at = 0.0
        for start, end in self.calendar:
            if start > ends_at:
                changes.append((ends_at, 0.0))  # off until this shift starts
            changes.append((start, None))
            ends_at = end
        if ends_at < _WEEK_H:
            changes.append((ends_at, 0.0))
        for at, share in changes:
            self.kernel.schedule(at, self._shift_change, share)
        self.kernel.schedule(_WEEK_H, self._next_week)

    def _shift_change(self, share: float | None) -> None:
        self.capacity.set(_OFF_SHIFT, share)

    def _next_week(self, _: object) -> None:
        self._shift_changes()

    def plan_maintenance(self, first_h: float, every_h: float, duration_h: float) -> None:
        """Stop every server for ``duration_h`` every ``every_h``, first at ``first_h``; a
        unit in work resumes where it stopped."""
        self.maintenance = (first_h, every_h, duration_h)

    def _maintenance_starts(self, _: object) -> None:
        assert self.maintenance is not None
        _, every, duration = self.maintenance
        self.capacity.set(_MAINTENANCE, 0.0)
        self.kernel.schedule(duration, self._maintenance_ends)
        self.kernel.schedule(every, self._maintenance_starts)

    def _maintenance_ends(self, _: object) -> None:
        self.capacity.set(_MAINTENANCE, None)

    def arrive(self, part: W, now: float | None = None) -> None:
        """``part`` joins the queue, or starts if a server is idle (``now``: the clock,
        when the caller has read it)."""
        if now is None:
            now = self._now()
        if self.idle:
            self._begin(self.idle.pop(), part, now, now)
        else:
            self.queue.append((part, now))

    def waiting_items(self) -> list[tuple[W, float]]:
        """The items waiting for a server, with their arrival times (any order)."""
        return list(self.queue)  # type: ignore[call-overload]

    def in_station(self) -> int:
        """Units queued or in work here (for conservation checks)."""
        return len(self.queue) + sum(1 for s in self.servers if s.part is not None)

    # -- service ------------------------------------------------------------------------

    def _begin(self, server: Server[W], part: W, arrived_h: float, now: float) -> None:
        if arrived_h >= self.warmup_h:
            self.wait_sum_h += now - arrived_h
            self.wait_count += 1
        duration = ((self.service() if self._own_time else self._work_h(part))
                    * self.speed.value)
        server.part = part
        busy = self.busy  # Level.add, inlined: it runs twice per unit and station
        busy.area += busy.value * (now - busy.last_h)
        busy.last_h = now
        busy.value += 1.0  # a float, as the level is: float + int is the slower add
        server.end_h = now + duration
        token = server.token = server.token + 1
        # The token lets a pause (breakdown, shock) cancel this completion lazily.
        self._schedule(duration, self._done, (server, token))

    def _work_h(self, part: W) -> float:
        """Work time of ``part`` here at normal speed, hours."""
        return self.service()

    def _done_checked(self, arg: tuple[Server[W], int]) -> None:
        server, token = arg
        if token != server.token:
            return  # paused after this completion was scheduled
        now = self._now()
        part = server.part
        server.part = None
        busy = self.busy
        busy.area += busy.value * (now - busy.last_h)
        busy.last_h = now
        busy.value -= 1.0
        self.served += 1
        # A completion that is still current (the token above) has its item on the server:
        # not None, which the type checker cannot see and a check would pay per event.
        if self._own_finish:
            # Station.finish, inlined: it runs once per unit and process station.
            rate = self.defect_rate.value
            if rate > 0.0 and self._defect_draw is not None and self._defect_draw() < rate:
                part.defective = True  # type: ignore[union-attr]
            measured = self.measured
            if measured is not None and measured.out_of_spec(now):
                part.defective = True  # type: ignore[union-attr]
            if self._next_now:
                self.next(part, now)  # type: ignore[arg-type, call-arg]
            else:
                self.next(part)  # type: ignore[arg-type]
        else:
            self.finish(part)  # type: ignore[arg-type]
        if self.queue:
            nxt, arrived = self.queue.popleft()
            self._begin(server, nxt, arrived, now)
        else:
            self.idle.append(server)

    def finish(self, part: W) -> None:
        """A unit's work here is done: make it defective at the process rate (and when a
        measured characteristic of it is out of its limits), pass it on. (Inlined in
        ``_done_checked`` for stations that keep it: a change here goes there too.)"""
        rate = self.defect_rate.value
        if rate > 0.0 and self._defect_draw is not None and self._defect_draw() < rate:
            part.defective = True
        if self.measured is not None and self.measured.out_of_spec(self.kernel.now()):
            part.defective = True
        self.next(part)

    # -- breakdowns and capacity --------------------------------------------------------

    def _pause(self, server: Server[W], now: float) -> None:
        """A working or idle server stops: its unit (if any) waits for it."""
        if server.part is not None:
            server.remaining_h = server.end_h - now
            server.token += 1  # the pending completion no longer counts
            self.busy.add(now, -1)
        else:
            self.idle.remove(server)

    def _resume(self, server: Server[W], now: float) -> None:
        """A server is back (repaired and online): finish its unit, or take the next."""
        if server.part is not None:
            server.end_h = now + server.remaining_h
            server.token += 1
            self.busy.add(now, 1)
            self.kernel.schedule(server.remaining_h, self._done_checked, (server, server.token))
        elif self.queue:
            nxt, arrived = self.queue.popleft()
            self._begin(server, nxt, arrived, now)
        else:
            self.idle.append(server)

    def _fail(self, server: Server[W]) -> None:
        now = self.kernel.now()
        if server.online:
            self._pause(server, now)
        server.up = False
        self.down.add(now, 1)
        self.kernel.schedule(self._ttr(), self._repair, server)  # type: ignore[misc]

    def _repair(self, server: Server[W]) -> None:
        now = self.kernel.now()
        server.up = True
        self.down.add(now, -1)
        self._renewed(server)
        if server.online:
            self._resume(server, now)
        self._next_failure(server)

    def _renewed(self, server: Server[W]) -> None:
        """A repaired server starts a new life (a wearing station draws its wear)."""

    def _next_failure(self, server: Server[W]) -> None:
        """Schedule a repaired server's next failure by calendar time."""
        self.kernel.schedule(self._ttf() * self.mtbf_factor.value, self._fail, server)  # type: ignore[misc]

    def _set_capacity(self, share: float) -> None:
        """Keep round(share × servers) online; idle and broken servers go offline first."""
        now = self.kernel.now()
        target = max(0, min(self.n_servers, int(share * self.n_servers + 0.5)))
        online = [s for s in self.servers if s.online]
        if len(online) > target:
            # Idle servers first, then broken ones, then those at work.
            order = sorted(online, key=lambda s: (s.part is not None, s.up))
            for server in order[: len(online) - target]:
                if server.up:
                    self._pause(server, now)
                server.online = False
        else:
            for server in [s for s in self.servers if not s.online][: target - len(online)]:
                server.online = True
                if server.up:
                    self._resume(server, now)

    def online_servers(self) -> int:
        return sum(1 for s in self.servers if s.online)


#: The capacity lever's keys for planned maintenance stops and time off shift.
_MAINTENANCE = "planned maintenance"
_OFF_SHIFT = "off shift"
_WEEK_H = 168.0


class WearingStation(Station[W]):
    """A station whose servers fail by use: after operating hours at work (``operating``:
    the time to failure is counted only while a server works) or after a number of units
    made (``units_to_fail``); repairs as for calendar failures. Failures by use happen
    during work: an operating-hours failure interrupts the unit in work, which resumes after
    the repair; a unit-count failure happens as the last unit is completed."""

    def __init__(self, *args: Any, operating: bool = False,
                 units_to_fail: Callable[[], float] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if operating == (units_to_fail is not None):
            raise TypeError("a wearing station wears by operating hours or by units")
        self._operating = operating
        self._units_to_fail = units_to_fail

    def _draw_wear(self) -> float:
        if self._units_to_fail is not None:
            return self._units_to_fail()
        return self._ttf() * self.mtbf_factor.value  # type: ignore[misc]

    def start(self) -> None:
        for server in self.servers:
            server.wear_left = self._draw_wear()
        if self.maintenance is not None:
            self.kernel.schedule(self.maintenance[0], self._maintenance_starts)
        if self.calendar is not None:
            self._shift_changes()

    def _arm(self, server: Server[W], now: float) -> None:
        """The server starts (or resumes) work: it wears out before the unit is done if its
        operating hours left are fewer than the work left."""
        if not self._operating:
            return
        server.busy_since = now
        if server.wear_left < server.end_h - now:
            self.kernel.schedule(server.wear_left, self._worn_out, (server, server.token))

    def _wear(self, server: Server[W], now: float) -> None:
        if self._operating:
            server.wear_left -= now - server.busy_since

    def _begin(self, server: Server[W], part: W, arrived_h: float, now: float) -> None:
        Station._begin(self, server, part, arrived_h, now)
        self._arm(server, now)

    def _resume(self, server: Server[W], now: float) -> None:
        super()._resume(server, now)
        if server.part is not None:
            self._arm(server, now)

    def _pause(self, server: Server[W], now: float) -> None:
        if server.part is not None:
            self._wear(server, now)
        super()._pause(server, now)

    def _worn_out(self, arg: tuple[Server[W], int]) -> None:
        server, token = arg
        if token == server.token:  # still at the same stretch of work
            self._fail(server)

    def _done_checked(self, arg: tuple[Server[W], int]) -> None:
        server, token = arg
        if token != server.token:
            return
        now = self.kernel.now()
        part = server.part
        server.part = None
        self.busy.add(now, -1)
        self.served += 1
        self._wear(server, now)
        self.finish(part)  # type: ignore[arg-type]
        if self._units_to_fail is not None:
            server.wear_left -= 1
            if server.wear_left <= 0:
                # It fails as it completes the unit: down until repaired, then back to work.
                server.up = False
                self.down.add(now, 1)
                self.kernel.schedule(self._ttr(), self._repair, server)  # type: ignore[misc]
                return
        if self.queue:
            nxt, arrived = self.queue.popleft()
            self._begin(server, nxt, arrived, now)
        else:
            self.idle.append(server)

    def _renewed(self, server: Server[W]) -> None:
        server.wear_left = self._draw_wear()

    def _next_failure(self, server: Server[W]) -> None:
        """Failures by use come from the work itself (``_arm``, unit counts)."""


class RecordedDowntimeStation(Station[W]):
    """A station whose breakdowns are given as outages of the whole station, ``(start_h,
    end_h)`` in time order (recorded downtime, replayed or resampled): during each one every
    server is down, and a unit in work resumes where it stopped when it ends. The outages are
    read one at a time, so none beyond the horizon is ever read."""

    def __init__(self, *args: Any, outages: Iterator[tuple[float, float]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outages = outages

    def start(self) -> None:
        super().start()
        self._next_outage()

    def _next_outage(self) -> None:
        outage = next(self._outages, None)
        if outage is not None:
            start_h, end_h = outage
            self.kernel.schedule(max(start_h - self.kernel.now(), 0.0), self._outage_starts,
                                 end_h)

    def _outage_starts(self, end_h: float) -> None:
        now = self.kernel.now()
        for server in self.servers:
            if server.online:
                self._pause(server, now)
            server.up = False
        self.down.add(now, self.n_servers)
        self.kernel.schedule(max(end_h - now, 0.0), self._outage_ends)

    def _outage_ends(self, _: object) -> None:
        now = self.kernel.now()
        self.down.add(now, -self.n_servers)
        for server in self.servers:
            server.up = True
            if server.online:
                self._resume(server, now)
        self._next_outage()


class InspectionStation(Station[Part | LotJob]):
    """Inspectors check (a sample of) units; caught defects and false rejects go to scrap.

    Incoming inspection also serves delivered lots, which come in through ``arrive_lot`` and
    end in their own ``done`` call-back; only units pass on through ``next`` or ``reject``.
    """

    kind: str = StationKind.INSPECTION.value

    def __init__(self, station_id: str, servers: int, service: Callable[[], float],
                 kernel: Kernel, *, warmup_h: float, draw: Callable[[], float],
                 detection: float, false_reject: float, sample_fraction: float) -> None:
        super().__init__(station_id, servers, service, kernel, warmup_h=warmup_h)
        self.draw = draw
        self.detection = detection
        self.false_reject = false_reject
        self.sample_fraction = sample_fraction
        self.reject: Route[Part] = _unrouted
        self.inspected = 0
        self.rejected = 0
        self.passed_unseen = 0
        # Units read with a gauge (measured characteristics), and how the readings
        # misclassified them against their true values.
        self.units_measured = 0
        self.false_accepts = 0
        self.false_rejects = 0
        self.detection_factor = Lever(f"{station_id}.detection_factor", 1.0)
        self.ai: Any = None  # an AIGate deciding instead of the detection probability
        self.sample_floor = Lever(f"{station_id}.sample_floor", 0.0, Combine.MAX)

    def arrive_lot(self, job: LotJob) -> None:
        """A delivered lot (or its screening) queues for the inspectors like a unit."""
        Station.arrive(self, job)  # past the sampling of units: a lot is always inspected

    def _work_h(self, part: Part | LotJob) -> float:
        if part.__class__ is LotJob:
            return part.work_h
        return self.service()

    def arrive(self, part: Part | LotJob, now: float | None = None) -> None:
        """A unit from the line; its inspection is skipped outside the sample (lots come in
        through ``arrive_lot``)."""
        fraction = self.sample_fraction
        floor = self.sample_floor.value
        if floor > fraction:
            fraction = floor
        if fraction < 1.0 and self.draw() >= fraction:
            self.passed_unseen += 1
            self.next(part)
            return
        Station.arrive(self, part, now)  # as super(), without a super object per unit

    def finish(self, part: Part | LotJob) -> None:
        # The unit is tested first: it is the common case, and one class test narrows it.
        if part.__class__ is Part:
            self.inspected += 1
            ai = self.ai
            if ai is not None:
                # The model decides on a recorded anomaly of the unit's true class; a drift
                # shock (detection_factor < 1) loses a share of its catches.
                caught = ai.rejects(part.defective)
                if caught and part.defective:
                    factor = self.detection_factor.value
                    caught = factor >= 1.0 or self.draw() < factor
            elif part.defective:
                detection = self.detection * self.detection_factor.value
                caught = detection >= 1.0 or self.draw() < detection
            else:
                caught = self.false_reject > 0.0 and self.draw() < self.false_reject
            if caught:
                self.rejected += 1
                self.reject(part)
            else:
                self.next(part)
        elif part.__class__ is LotJob:
            part.done(part, self)


class ReleaseStation(Station[Part]):
    """Quality release; with no reviewers a unit is released the moment it arrives."""

    kind: str = StationKind.RELEASE.value

    def __init__(self, station_id: str, servers: int | None, service: Callable[[], float] | None,
                 kernel: Kernel, *, warmup_h: float, sla_h: float) -> None:
        super().__init__(station_id, servers or 1, service or _zero, kernel, warmup_h=warmup_h)
        self.sla_h = sla_h
        self.immediate = servers is None

    def arrive(self, part: Part, now: float | None = None) -> None:
        if part.__class__ is Part:  # a recorded order's job passes here too, unstamped
            if now is None:
                now = self._now()
            part.at_release_h = now
        if self.immediate and self.servers[0].online and not self.queue:
            self.served += 1
            self.next(part)
        else:  # reviewed, or held (quarantine, systems down) until release resumes
            Station.arrive(self, part, now)

    def finish(self, part: Part) -> None:
        self.next(part)


def _zero() -> float:
    return 0.0


def _unrouted(part: object) -> None:  # pragma: no cover - wiring error
    raise RuntimeError("station output is not connected")
