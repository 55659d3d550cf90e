"""The job shop replayed from an MES log: work orders released over time, each a sequence
of tasks (operation reports) that wait, queue for a resource and hold it for their work.

How a job's tasks are enabled, delayed and dispatched is the shared job executor's
(:mod:`shocktwin.twin.model.job`); a task queues FIFO at its resource. Resources are
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
from shocktwin.twin.model.job import Job, JobExecutor, Task
from shocktwin.twin.model.kinds import ReplayMode, StationKind
from shocktwin.twin.model.rng import exponential_sampler, stream
from shocktwin.twin.model.station import Station

if TYPE_CHECKING:
    from shocktwin.scenarios.model import Scenario

__all__ = ["Job", "Shop", "ShopResource", "Task"]


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

        self._executor = JobExecutor(kernel, self._finish_job)
        by_name: dict[str, ShopResource] = {}
        for spec in shop.resources:
            breakdown = rng(f"station:{spec.id}:breakdown") if spec.mtbf else None
            res = ShopResource(
                spec.id, spec.servers, kernel, warmup_h=scenario.warmup, kind=spec.kind,
                time_to_fail=exponential_sampler(breakdown, spec.mtbf)
                if breakdown is not None and spec.mtbf else None,
                time_to_repair=exponential_sampler(breakdown, spec.mttr)
                if breakdown is not None and spec.mttr else None)
            res.next = self._executor.task_done
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
        self._executor.release_next(self._jobs, self._release_job)

    def wip_count(self) -> int:
        return self._open

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
        self._executor.start(job)
        self._executor.release_next(self._jobs, self._release_job)

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
