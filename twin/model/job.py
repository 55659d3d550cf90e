"""Recorded work orders run over stations: the jobs of an MES log, their tasks, and the
executor that releases each job at its time, enables, delays and dispatches each task and
sees its job through.

A job is a sequence of tasks (operation reports). A task is enabled either ``after`` every
earlier task of its job has ended, or ``with`` the previous task (it overlapped it in the
record), at an offset from that task's dispatch. Once enabled it waits its extraneous
delay (what the record shows beyond resource contention: shifts, transport, material),
then queues at its station, which holds it for its recorded work.

The replayed shop and a plant that replays a log share this executor: the shop's resources
serve tasks only; a plant's stations bound to the log's resources serve tasks beside the
units of its modelled products (:func:`serve_tasks`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from shocktwin.twin.kernel import Kernel
from shocktwin.twin.model.feed import JobSpec
from shocktwin.twin.model.station import Station

__all__ = ["Job", "JobExecutor", "Task", "serve_tasks"]


class Job:
    """A work order: its tasks and where it stands in them."""

    __slots__ = ("case_id", "index", "next", "order", "outstanding", "pending", "release_h",
                 "tasks")

    def __init__(self, index: int, case_id: str, release_h: float, tasks: list[Task],
                 order: Any = None) -> None:
        self.index = index
        self.case_id = case_id
        self.release_h = release_h
        self.tasks = tasks
        self.order = order  # the plant's customer order it makes (None in a shop)
        self.next = 0  # index of the next task not yet enabled
        self.outstanding = 0  # tasks dispatched and not finished
        self.pending = False  # a task is enabled and waiting out its delay


class Task:
    """One operation report of a job: ``work_h`` at ``resource`` after ``wait_h`` (a ``Work``
    for its station), with the pieces the report rejected and inspected."""

    __slots__ = ("after", "defective", "inspected", "job", "order", "rejected", "resource",
                 "wait_h", "work_h")

    def __init__(self, job: Job, resource: Any, work_h: float, after: bool, wait_h: float,
                 rejected: int = 0, inspected: int = 0) -> None:
        self.job = job
        self.resource = resource
        self.work_h = work_h
        self.after = after
        self.wait_h = wait_h
        self.rejected = rejected
        self.inspected = inspected
        # Its job's customer order, where dispatching looks for a due date and a priority.
        self.order = job.order
        self.defective = False  # the record's quality is in ``rejected``; kept for ``Work``


class JobExecutor:
    """Runs each job's tasks in their recorded order and calls ``finished(job)`` when the
    last one ends; a station passes each task it is done with to :meth:`task_done`."""

    __slots__ = ("_finished", "_kernel")

    def __init__(self, kernel: Kernel, finished: Callable[[Job], None]) -> None:
        self._kernel = kernel
        self._finished = finished

    def release_next(self, jobs: Iterator[JobSpec], release: Callable[[JobSpec], None]
                     ) -> None:
        """Schedule ``release`` of the next of ``jobs`` at its recorded release time (at once
        if that has passed); nothing when ``jobs`` has run out."""
        spec = next(jobs, None)
        if spec is None:
            return
        self._kernel.schedule(max(spec.release_h - self._kernel.now(), 0.0), release, spec)

    def start(self, job: Job) -> None:
        """The job is released: enable its first task."""
        self._enable_next(job)

    def _enable_next(self, job: Job) -> None:
        if job.pending or job.next >= len(job.tasks):
            return
        task = job.tasks[job.next]
        if task.after and job.outstanding > 0:
            return  # it waits for the job's running tasks
        job.next += 1
        job.pending = True
        self._kernel.schedule(task.wait_h, self._dispatch, task)

    def _dispatch(self, task: Task) -> None:
        job = task.job
        job.pending = False
        job.outstanding += 1
        task.resource.arrive(task)
        self._enable_next(job)

    def task_done(self, task: Task) -> None:
        """``task``'s station is done with it: the job goes on, or it is finished."""
        job = task.job
        job.outstanding -= 1
        if job.outstanding == 0 and not job.pending and job.next >= len(job.tasks):
            self._finished(job)
        else:
            self._enable_next(job)


def serve_tasks(station: Station[Any], done: Callable[[Task], None]) -> None:
    """Let ``station`` serve recorded tasks besides its own work: a task takes its recorded
    work time (at the station's speed), is never skipped by a sampling inspection, and goes
    to ``done`` when finished instead of on along a routing.

    Call it after the station's per-step times are set and before its dispatching policy
    is, so that a policy which draws work times ahead draws a task's from the task.
    """
    own_work = station._work_h
    own_finish = station.finish
    own_arrive = station.arrive

    def work_h(item: Any) -> float:
        return item.work_h if item.__class__ is Task else own_work(item)  # type: ignore[no-any-return]

    def finish(item: Any) -> None:
        if item.__class__ is Task:
            done(item)
        else:
            own_finish(item)

    def arrive(item: Any, now: float | None = None) -> None:
        if item.__class__ is Task:
            Station.arrive(station, item, now)  # past any sampling of units
        else:
            own_arrive(item, now)

    station._work_h = work_h  # type: ignore[method-assign, assignment]
    station.finish = finish  # type: ignore[method-assign, assignment]
    station._own_time = station._own_finish = False  # the replacements above, not the inlined
    station.arrive = arrive  # type: ignore[method-assign, assignment]
