"""The quality system inside the twin: the rule library's contexts, the pools of the quality
organisation, the playbooks that put work on them, and the fallback the plant runs under
while rules are invalid.

- **Contexts.** Each library rule is bound to context values (``toolchain: eda-a``,
  ``supplier.valve: valve-jp``). A change of a context (a shock's ``context``, or the plant
  switching a material's source) invalidates the rules bound to the old value; the plant
  then runs under the rule set's declared fallback until every invalidated rule has been
  regenerated and re-reviewed by the playbook on that context.
- **Pools and work.** A pool is a station whose servers are people or rigs, with its
  calendar and its ``capacity`` lever (a staff shortage acts on it as on any station). A
  playbook starts its latency after the event that calls for it; its items run in their
  precedence order, each as ``count`` tasks on its pool, taken by priority (1 first), first
  come first served within a priority. A life test holds one member of its pool for its test
  hours and then draws the units' lives from the supplier's parameter pack; a failed test
  stops the playbook.
- **Fallback.** ``hold_release``: units wait at quality release until the rules are valid;
  ``deviation``: each unit needs an approval task on the fallback's pool before release;
  ``full_inspection``: every inspection station inspects 100 % (its sample floor).

Everything the KPIs need is kept here: the backlog (tasks waiting or in work) as a level,
the episodes from a shock's onset to a valid quality system, and which releases happened
under a fallback.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shocktwin.twin.kernel import Kernel
from shocktwin.twin.model.dispatch import KeyedQueue
from shocktwin.twin.model.events import (
    LifeTestCompleted,
    PlaybookFinished,
    QualitySystemRevalidated,
    ResponseStarted,
    RulesInvalidated,
    WorkFinished,
)
from shocktwin.twin.model.level import Level
from shocktwin.twin.model.rng import make_sampler
from shocktwin.twin.model.station import Station

if TYPE_CHECKING:
    from shocktwin.twin.model.base import Model

__all__ = ["QualityRuntime", "QualitySystemRecord", "WorkTask"]

#: The lever source the full-inspection fallback sets on inspection stations.
FALLBACK_SOURCE = "quality fallback"


class WorkTask:
    """One task of a work item (a ``Work`` for its pool)."""

    __slots__ = ("defective", "done", "order", "priority", "work_h")

    def __init__(self, work_h: float, priority: int, done: Callable[[WorkTask], None]) -> None:
        self.work_h = work_h
        self.priority = priority
        self.done = done
        self.defective = False  # kept for ``Work``: a task has no quality of its own
        self.order = None


class Pool(Station[WorkTask]):
    """A pool of the quality organisation: ``capacity`` members taking tasks by priority."""

    kind = "pool"

    def __init__(self, pool_id: str, capacity: int, kernel: Kernel, *, warmup_h: float) -> None:
        super().__init__(pool_id, capacity, _no_service, kernel, warmup_h=warmup_h)
        self.queue = KeyedQueue(_priority)
        self.next = _task_done

    def _work_h(self, part: WorkTask) -> float:
        return part.work_h


def _priority(task: WorkTask) -> float:
    return float(task.priority)


def _task_done(task: WorkTask) -> None:
    task.done(task)


def _no_service() -> float:  # pragma: no cover - a task brings its own time
    raise RuntimeError("a pool takes its work time from the task")


@dataclass
class _Invalid:
    """Rules of one context invalid after a shock's onset at ``onset_h``; ``changed_h``: the
    context's latest change, which only a response to it makes good."""

    old: str
    new: str
    rules: int
    onset_h: float
    changed_h: float


class _Run:
    """One playbook running: its items' open predecessors and tasks, and what it settles."""

    def __init__(self, book: Any, event_h: float, on: str, rules: int,
                 settle: Callable[[], str]) -> None:
        self.book = book
        self.event_h = event_h
        self.on = on
        self.rules = rules
        self.settle = settle
        self.waiting = {it.id: len(it.after) for it in book.items}
        self.open_tasks: dict[str, int] = {}
        self.started_h: dict[str, float] = {}
        self.left = len(book.items)
        self.failed = False


@dataclass(frozen=True)
class QualitySystemRecord:
    """What the KPIs read of the quality system after a run."""

    # (shock onset, valid again) per episode of invalid rules; NaN: not valid by the horizon.
    episodes: tuple[tuple[float, float], ...]
    backlog_peak: float  # tasks waiting or in work at once, after the warm-up


class QualityRuntime:
    """The quality system of one replication (see the module's docstring)."""

    def __init__(self, model: Model, spec: Any, library: Any, *,
                 rng: Callable[[str], np.random.Generator], calendars: Any,
                 warmup_h: float, inspection: list[Station[Any]]) -> None:
        self.model = model
        self.kernel = model.kernel
        self.spec = spec
        self.library = library
        self.fallback = library.fallback if library is not None else None
        self.contexts: dict[str, str] = dict(spec.contexts)
        self._rng = rng
        self._warmup_h = warmup_h
        self._inspection = inspection
        self.pools: dict[str, Pool] = {}
        for p in spec.pools:
            pool = Pool(p.id, p.capacity, self.kernel, warmup_h=warmup_h)
            if p.calendar is not None and calendars is not None:
                pool.follow_calendar(calendars[p.calendar].working_spans_h())
            self.pools[p.id] = pool
        self._books: dict[tuple[str, str], list[Any]] = {}
        for book in spec.playbooks:
            on = book.trigger
            key = (("context", on.context) if on.context is not None else
                   ("backup", on.backup) if on.backup is not None else ("shock", on.shock))
            self._books.setdefault(key, []).append(book)
        self._latency = {b.id: make_sampler(b.latency, rng(f"quality:{b.id}:latency"))
                         for b in spec.playbooks}
        self._duration = {(b.id, it.id): make_sampler(it.duration, rng(f"quality:{b.id}:{it.id}"))
                          for b in spec.playbooks for it in b.items if it.duration is not None}
        self._deviation: Callable[[], float] | None = None
        if self.fallback is not None and self.fallback.mode == "deviation":
            draw = rng("quality:deviation")
            mean = float(self.fallback.approval_time)
            self._deviation = lambda: float(draw.exponential(mean))
        self.invalid: dict[str, _Invalid] = {}
        self.backlog = Level()
        self.under_fallback = Level()
        self._tasks = 0
        self._peak = 0
        self._episode_onset: float | None = None
        self.episodes: list[tuple[float, float]] = []
        self._last_onset_h: float | None = None
        self._held: list[Any] = []
        self._passed: set[int] = set()
        self.released_under_fallback = 0
        self._qualify: dict[str, Callable[[], None]] = {}

    # -- the plant's hooks ------------------------------------------------------------------

    def start(self) -> None:
        for pool in self.pools.values():
            pool.start()
        if self._warmup_h > 0:
            self.kernel.schedule(self._warmup_h, self._end_warmup)

    def _end_warmup(self, _: Any) -> None:
        self._peak = self._tasks

    def shock_started(self, shock_id: str) -> None:
        """A shock's onset: the time a later invalidation is counted from, and the
        playbooks on the shock."""
        now = self.kernel.now()
        self._last_onset_h = now
        for book in self._books.get(("shock", shock_id.split("#")[0]), []):
            self._start_book(book, f"shock {shock_id}", 0, lambda: "its work done")

    def change_contexts(self, changes: dict[str, str], *, reason: str) -> None:
        for key, value in changes.items():
            self.change_context(key, value, reason=reason)

    def change_context(self, key: str, new: str, *, reason: str) -> None:
        """``key`` now stands at ``new``: invalidate the rules bound to its old value and
        start the playbooks on it."""
        old = self.contexts.get(key)
        if old is None or old == new:
            self.contexts[key] = new
            return
        self.contexts[key] = new
        now = self.kernel.now()
        bound = self.library.bound_to(key, old) if self.library is not None else []
        rules = len(bound)
        if key in self.invalid:  # changed again before the first change was made good
            self.invalid[key].new = new
            self.invalid[key].changed_h = now
        elif rules:
            onset = self._last_onset_h if self._last_onset_h is not None else now
            self.invalid[key] = _Invalid(old, new, rules, onset, now)
            kinds: dict[str, int] = {}
            for rule in bound:
                kinds[str(rule.kind)] = kinds.get(str(rule.kind), 0) + 1
            self.model.log(RulesInvalidated(
                now, reason=reason, context=key, old=old, new=new, rules=rules,
                kinds=", ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
                fallback=str(self.fallback.mode) if self.fallback is not None else None))
            if self._episode_onset is None:
                self._episode_onset = onset
                self._enter_fallback(now)
        for book in self._books.get(("context", key), []):
            self._start_book(book, f"context {key}", rules,
                             functools.partial(self._revalidate, key, now))

    def backup_taking_over(self, supplier_id: str, qualified: Callable[[], None]) -> bool:
        """A backup takes over: True when a playbook qualifies it (``qualified`` is called
        when it is done); False when its own qualification time applies."""
        books = self._books.get(("backup", supplier_id), [])
        if not books:
            return False

        def settle() -> str:
            qualified()
            return f"{supplier_id} qualified"

        for book in books:
            self._start_book(book, f"backup {supplier_id}", 0, settle)
        return True

    # -- releases ---------------------------------------------------------------------------

    def gate(self, part: Any) -> int | None:
        """Whether ``part`` may be released now: 0 under valid rules, 1 under a fallback,
        None when the fallback holds it (it is released later through the plant)."""
        if self._passed and id(part) in self._passed:
            self._passed.discard(id(part))
            self.released_under_fallback += 1
            return 1
        if not self.invalid:
            return 0
        mode = self.fallback.mode if self.fallback is not None else "hold_release"
        if mode == "full_inspection":
            self.released_under_fallback += 1
            return 1
        if mode == "hold_release":
            self._held.append(part)
            return None
        assert self._deviation is not None and self.fallback is not None
        pool = self.pools[self.fallback.pool]
        self._add_task(pool, self._deviation(), 3, functools.partial(self._approved, part))
        return None

    def _approved(self, part: Any, _task: WorkTask) -> None:
        self._passed.add(id(part))
        self.model.release_held(part)

    # -- playbooks --------------------------------------------------------------------------

    def _start_book(self, book: Any, on: str, rules: int, settle: Callable[[], str]) -> None:
        run = _Run(book, self.kernel.now(), on, rules, settle)
        self.kernel.schedule(self._latency[book.id](), self._respond, run)

    def _respond(self, run: _Run) -> None:
        tasks = sum(self._count(run, it) for it in run.book.items)
        self.model.log(ResponseStarted(self.kernel.now(), playbook=run.book.id, on=run.on,
                                       event_h=run.event_h, tasks=tasks))
        for item in run.book.items:
            if not item.after:
                self._start_item(run, item)

    @staticmethod
    def _count(run: _Run, item: Any) -> int:
        return run.rules if item.count == "rules" else int(item.count)

    def _start_item(self, run: _Run, item: Any) -> None:
        now = self.kernel.now()
        run.started_h[item.id] = now
        pool = self.pools[item.pool]
        if item.test is not None:
            run.open_tasks[item.id] = 1
            self._add_task(pool, float(item.test.hours), item.priority,
                           lambda _t: self._life_test_done(run, item))
            return
        n = self._count(run, item)
        if n == 0:
            self._item_done(run, item)
            return
        run.open_tasks[item.id] = n
        draw = self._duration[(run.book.id, item.id)]
        for _ in range(n):
            self._add_task(pool, draw(), item.priority, lambda _t: self._task_done(run, item))

    def _add_task(self, pool: Pool, work_h: float, priority: int,
                  done: Callable[[WorkTask], None]) -> None:
        now = self.kernel.now()

        def finished(task: WorkTask) -> None:
            self._tasks -= 1
            self.backlog.add(self.kernel.now(), -1)
            done(task)

        self._tasks += 1
        self.backlog.add(now, 1)
        if self._tasks > self._peak and now >= self._warmup_h:
            self._peak = self._tasks
        pool.arrive(WorkTask(work_h, priority, finished))

    def _task_done(self, run: _Run, item: Any) -> None:
        run.open_tasks[item.id] -= 1
        if run.open_tasks[item.id] == 0:
            self._item_done(run, item)

    def _life_test_done(self, run: _Run, item: Any) -> None:
        owner = item.supplier or run.book.trigger.backup
        pack = self.model.scenario_supplier(owner).life
        result = item.test.run(self._rng(f"quality:{run.book.id}:{item.id}:life"), pack)
        factor = pack.acceleration.factor if pack.acceleration is not None else 1.0
        self.model.log(LifeTestCompleted(
            self.kernel.now(), playbook=run.book.id, item=item.id, supplier=owner,
            units=result.units, test_h=float(item.test.hours),
            use_h=float(item.test.hours) * factor, failures=result.failures,
            criterion=str(result.criterion), bound=float(result.bound),
            requirement=float(result.requirement), passed=bool(result.passed)))
        if not result.passed:
            run.failed = True
            self.model.log(PlaybookFinished(self.kernel.now(), playbook=run.book.id, passed=False,
                                        settled=f"life test {item.id} failed: nothing settled"))
            return
        self._item_done(run, item)

    def _item_done(self, run: _Run, item: Any) -> None:
        now = self.kernel.now()
        self.model.log(WorkFinished(now, playbook=run.book.id, item=item.id, work=str(item.kind),
                                pool=item.pool, tasks=self._count(run, item),
                                started_h=run.started_h[item.id]))
        run.left -= 1
        if run.left == 0:
            settled = run.settle()
            self.model.log(PlaybookFinished(now, playbook=run.book.id, passed=True,
                                        settled=settled))
            return
        for other in run.book.items:
            if item.id in other.after:
                run.waiting[other.id] -= 1
                if run.waiting[other.id] == 0:
                    self._start_item(run, other)

    def _revalidate(self, key: str, changed_h: float) -> str:
        """The playbook on ``key``'s change at ``changed_h`` is done: its invalidated rules
        are valid again, unless the context changed since (the response to that change
        makes them good)."""
        gone = self.invalid.get(key)
        if gone is None:
            return "no rules were invalid"
        if changed_h < gone.changed_h:
            return f"nothing: {key} changed again since, to {gone.new}"
        del self.invalid[key]
        settled = f"{gone.rules} rules valid for {key} {self.contexts[key]}"
        if not self.invalid:
            self._leave_fallback()
        return settled

    # -- fallback ---------------------------------------------------------------------------

    def _enter_fallback(self, now: float) -> None:
        self.under_fallback.add(now, 1)
        if self.fallback is not None and self.fallback.mode == "full_inspection":
            for st in self._inspection:
                st.sample_floor.set(FALLBACK_SOURCE, 1.0)  # type: ignore[attr-defined]

    def _leave_fallback(self) -> None:
        now = self.kernel.now()
        onset = self._episode_onset if self._episode_onset is not None else now
        self.episodes.append((onset, now))
        self._episode_onset = None
        self.under_fallback.add(now, -1)
        if self.fallback is not None and self.fallback.mode == "full_inspection":
            for st in self._inspection:
                st.sample_floor.set(FALLBACK_SOURCE, None)  # type: ignore[attr-defined]
        held, self._held = self._held, []
        self.model.log(QualitySystemRevalidated(now, onset_h=onset, hours=now - onset,
                                          released_under_fallback=self.released_under_fallback
                                          + len(held)))
        for part in held:
            self._passed.add(id(part))
            self.model.release_held(part)

    # -- the record -------------------------------------------------------------------------

    def record(self) -> QualitySystemRecord:
        episodes = list(self.episodes)
        if self._episode_onset is not None:
            episodes.append((self._episode_onset, math.nan))
        return QualitySystemRecord(episodes=tuple(episodes), backlog_peak=float(self._peak))
