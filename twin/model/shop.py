"""The job shop replayed from an MES log: work orders released over time, each a sequence
of tasks (operation reports) that wait, queue for a resource and hold it for their work.

A task is enabled either ``after`` every earlier task of its job has ended, or ``with`` the
previous task (it overlapped it in the record), at an offset from that task's dispatch.
Once enabled it waits its extraneous delay (what the record shows beyond resource
contention: shifts, transport, material), then queues FIFO at its resource. Resources are
ordinary stations, so capacity, speed and breakdown shocks act on them as on a plant.

Where the jobs come from is the feed:

- ``trace``: the recorded jobs at their recorded release times, streamed batch by batch;
- ``bootstrap``: each day of the run takes the releases of a recorded day drawn at random
  (with their jobs, times of day, work and waits), from the replication's own stream;
- ``fit``: Poisson releases at the recorded rate; each job takes the routing of a recorded
  job drawn at random, with work and waits drawn from the distributions fitted per resource.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from shocktwin.errors import Problem, ReplayError
from shocktwin.twin.kernel import Kernel
from shocktwin.twin.model.base import Model
from shocktwin.twin.model.feed import NO_FEEDS, Feeds, JobSpec, ShopFeed
from shocktwin.twin.model.kinds import ReplayMode, StationKind
from shocktwin.twin.model.rng import exponential_sampler, stream
from shocktwin.twin.model.station import Station

if TYPE_CHECKING:
    from shocktwin.scenarios.model import Scenario

__all__ = ["Job", "Shop", "ShopResource", "Task"]


class Job:
    """A work order in the shop."""

    __slots__ = ("case_id", "index", "next", "outstanding", "pending", "release_h", "tasks")

    def __init__(self, index: int, case_id: str, release_h: float, tasks: list[Task]) -> None:
        self.index = index
        self.case_id = case_id
        self.release_h = release_h
        self.tasks = tasks
        self.next = 0  # index of the next task not yet enabled
        self.outstanding = 0  # tasks dispatched and not finished
        self.pending = False  # a task is enabled and waiting out its delay


class Task:
    """One operation report of a job: ``work_h`` on ``resource`` after ``wait_h`` (a ``Work``
    for its resource)."""

    __slots__ = ("after", "defective", "job", "resource", "wait_h", "work_h")

    def __init__(self, job: Job, resource: ShopResource, work_h: float, after: bool,
                 wait_h: float) -> None:
        self.job = job
        self.resource = resource
        self.work_h = work_h
        self.after = after
        self.wait_h = wait_h
        self.defective = False  # the log records no defects; kept for the ``Work`` protocol


class ShopResource(Station[Task]):
    """A resource of the shop: its work time comes with each task."""

    def __init__(self, station_id: str, servers: int, kernel: Kernel, *, warmup_h: float,
                 kind: StationKind, time_to_fail: Callable[[], float] | None = None,
                 time_to_repair: Callable[[], float] | None = None) -> None:
        super().__init__(station_id, servers, _no_service, kernel, warmup_h=warmup_h,
                         time_to_fail=time_to_fail, time_to_repair=time_to_repair)
        self.kind = kind.value

    def _work_h(self, part: Task) -> float:
        return part.work_h


class Shop(Model):
    """One replication of a shop scenario on ``kernel``."""

    def __init__(self, scenario: Scenario, kernel: Kernel, *, seed: int, replication: int,
                 feeds: Feeds = NO_FEEDS, data: ShopFeed | None = None,
                 keep_finished: bool = False) -> None:
        super().__init__(scenario, kernel, seed=seed, replication=replication)
        shop = scenario.shop
        if shop is None:
            raise TypeError("a Shop needs a scenario with a shop section")
        self.data = data if data is not None else feeds.shop()
        self.mode = shop.mode
        self._due_in = shop.due_in if shop.due_in is not None else math.inf

        def rng(component: str) -> np.random.Generator:
            return stream(seed, replication, component)

        by_name: dict[str, ShopResource] = {}
        for spec in shop.resources:
            breakdown = rng(f"station:{spec.id}:breakdown") if spec.mtbf else None
            res = ShopResource(
                spec.id, spec.servers, kernel, warmup_h=scenario.warmup, kind=spec.kind,
                time_to_fail=exponential_sampler(breakdown, spec.mtbf)
                if breakdown is not None and spec.mtbf else None,
                time_to_repair=exponential_sampler(breakdown, spec.mttr)
                if breakdown is not None and spec.mttr else None)
            res.next = self._task_done
            by_name[spec.name] = res
            self.stations.append(res)
        missing = sorted(set(self.data.resource_names) - set(by_name))
        if missing:
            raise ReplayError([Problem(None, "shop.resources", f"the log has work on {name!r}, "
                                       "which the scenario does not list") for name in missing])
        self._resources = [by_name[name] for name in self.data.resource_names]
        self._inspection = [s for s in self.stations if s.kind == StationKind.INSPECTION.value]
        self._open = 0
        #: (case id, release, completion) of every job finished, hours (kept on request).
        self.finished: list[tuple[str, float, float]] = []
        self._keep_finished = keep_finished
        self._jobs: Iterator[JobSpec]
        if shop.mode is ReplayMode.TRACE:
            self._jobs = self.data.trace()
        elif shop.mode is ReplayMode.BOOTSTRAP:
            self._jobs = self.data.bootstrap(rng("shop:bootstrap"), scenario.horizon,
                                             self.demand_factor)
        else:
            self._jobs = self.data.fitted(rng("shop:fit"), self.demand_factor)

    # -- running ------------------------------------------------------------------------

    def _start(self) -> None:
        for st in self.stations:
            st.start()
        self._schedule_next_release()

    def wip_count(self) -> int:
        return self._open

    def _schedule_next_release(self) -> None:
        spec = next(self._jobs, None)
        if spec is None:
            return
        self.kernel.schedule(max(spec.release_h - self.kernel.now(), 0.0), self._release_job,
                             spec)

    def _release_job(self, spec: JobSpec) -> None:
        now = self.kernel.now()
        job = Job(len(self._order_created_h), spec.case_id, now, [])
        resources = self._resources
        job.tasks = [Task(job, resources[r], w, a, d)
                     for r, w, a, d in zip(spec.resource, spec.work_h, spec.after, spec.wait_h,
                                           strict=True)]
        self._order_created_h.append(now)
        self._order_due_h.append(now + self._due_in)
        self._order_done_h.append(np.nan)
        self.started += 1
        self._open += 1
        self.wip.add(now, 1)
        self._enable_next(job)
        self._schedule_next_release()

    def _enable_next(self, job: Job) -> None:
        if job.pending or job.next >= len(job.tasks):
            return
        task = job.tasks[job.next]
        if task.after and job.outstanding > 0:
            return  # it waits for the job's running tasks
        job.next += 1
        job.pending = True
        self.kernel.schedule(task.wait_h, self._dispatch, task)

    def _dispatch(self, task: Task) -> None:
        job = task.job
        job.pending = False
        job.outstanding += 1
        task.resource.arrive(task)
        self._enable_next(job)

    def _task_done(self, task: Task) -> None:
        job = task.job
        job.outstanding -= 1
        if job.outstanding == 0 and not job.pending and job.next >= len(job.tasks):
            self._finish_job(job)
        else:
            self._enable_next(job)

    def _finish_job(self, job: Job) -> None:
        now = self.kernel.now()
        self.released += 1
        self._open -= 1
        self.wip.add(now, -1)
        self._release_h.append(now)
        self._release_lead_h.append(now - job.release_h)
        self._release_escaped.append(False)  # the log records no escapes
        self._order_done_h[job.index] = now
        if self._keep_finished:
            self.finished.append((job.case_id, job.release_h, now))


def _no_service() -> float:  # pragma: no cover - shop work comes with the task
    raise RuntimeError("a shop resource takes its work time from the task")
