"""Where replications run: in this process, in a pool of processes, or on a Dask cluster.

A replication is a pure function of (scenario, replication index, seed, engine), so the
executor changes only how fast results come, never what they are. Process workers are
forked from a server process that has already imported what a replication needs (the
``forkserver`` start method with that module preloaded), so a new worker is ready in
milliseconds instead of importing the twin again; where there is no fork server (Windows)
workers are spawned. ``run_jobs`` hands
each result to ``on_result`` as soon as it is finished (so callers can store it before the
next one arrives) and returns all of them in job order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

from shocktwin.errors import SimulationError

if TYPE_CHECKING:
    from shocktwin.scenarios.model import Scenario
    from shocktwin.twin.experiment.replication import ReplicationResult

__all__ = ["DASK_CONNECT_TIMEOUT_S", "LOCAL", "WORKER_PRELOAD", "Executor", "ExecutorSpec", "Job",
           "Runner", "run_jobs", "worker_context"]

#: What a worker needs before it runs a replication, imported once by the fork server.
WORKER_PRELOAD = ("shocktwin.twin.experiment.replication",)


def worker_context() -> BaseContext:
    """The start method of process workers: a fork server that preloads the twin, or, where
    there is none, spawn."""
    from multiprocessing import get_all_start_methods

    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    context = get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    return context


#: How long to wait for a Dask scheduler before giving up with a clear error.
DASK_CONNECT_TIMEOUT_S = 10


class Executor(StrEnum):
    LOCAL = "local"
    PROCESS = "process"
    DASK = "dask"


@dataclass(frozen=True)
class Job:
    """One replication to run."""

    scenario: Scenario
    replication: int
    seed: int
    engine: str


@dataclass(frozen=True)
class ExecutorSpec:
    """How to run: the executor, its number of workers, and a Dask scheduler address (a
    LocalCluster of ``workers`` processes is started when none is given)."""

    kind: Executor = Executor.LOCAL
    workers: int | None = None
    scheduler: str | None = None


#: Run in this process.
LOCAL = ExecutorSpec()


def _run(job: Job) -> ReplicationResult:
    from shocktwin.twin.experiment.replication import run_replication

    return run_replication(job.scenario, job.replication, seed=job.seed, engine=job.engine)


class Runner:
    """An open executor: a process pool or Dask client kept across batches of jobs (a search
    runs many small batches; starting workers for each would cost more than the runs)."""

    def __init__(self, spec: ExecutorSpec) -> None:
        self.spec = spec
        self.kind = Executor(spec.kind)
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def run(self, jobs: Sequence[Job],
            on_result: Callable[[int, ReplicationResult], None] | None = None,
            ) -> list[ReplicationResult]:
        """Run ``jobs``; ``on_result(index, result)`` is called as each finishes."""
        results: list[Any] = [None] * len(jobs)

        def done(i: int, res: ReplicationResult) -> None:
            results[i] = res
            if on_result is not None:
                on_result(i, res)

        if self.kind is Executor.LOCAL or (len(jobs) <= 1 and self.kind is Executor.PROCESS):
            for i, job in enumerate(jobs):
                done(i, _run(job))
        elif self.kind is Executor.PROCESS:
            self._run_pool(jobs, done)
        else:
            self._run_dask(jobs, done)
        return results

    def _run_pool(self, jobs: Sequence[Job],
                  done: Callable[[int, ReplicationResult], None]) -> None:
        try:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.spec.workers or os.cpu_count(),
                                                 mp_context=worker_context())
            pending: dict[Future[ReplicationResult], int] = {
                self._pool.submit(_run, job): i for i, job in enumerate(jobs)}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    done(pending.pop(future), future.result())
        except (OSError, BrokenExecutor) as e:
            self.close()
            raise SimulationError(f"process executor failed: {e}") from e

    def _run_dask(self, jobs: Sequence[Job],
                  done: Callable[[int, ReplicationResult], None]) -> None:
        from distributed import as_completed

        client = self._connect()
        futures = {client.submit(_run, job, pure=False): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            done(futures[future], future.result())

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            from distributed import Client, LocalCluster
        except ImportError as e:
            raise SimulationError("the dask executor needs dask[distributed]: "
                                  "pip install 'shocktwin[dask]'") from e
        spec = self.spec
        try:
            if spec.scheduler:
                self._client = Client(spec.scheduler, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
            else:
                self._cluster = LocalCluster(n_workers=spec.workers or os.cpu_count() or 1,
                                             threads_per_worker=1, processes=True,
                                             dashboard_address=None)
                self._client = Client(self._cluster, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as e:
            self.close()
            where = spec.scheduler or "a local cluster"
            raise SimulationError(f"cannot reach the Dask scheduler at {where} within "
                                  f"{DASK_CONNECT_TIMEOUT_S} s: {e}") from e
        return self._client


def run_jobs(jobs: Sequence[Job], spec: ExecutorSpec | Runner = LOCAL,
             on_result: Callable[[int, ReplicationResult], None] | None = None,
             ) -> list[ReplicationResult]:
    """Run ``jobs`` on ``spec`` (an open Runner, or a spec opened for this batch only)."""
    if isinstance(spec, Runner):
        return spec.run(jobs, on_result)
    with Runner(spec) as runner:
        return runner.run(jobs, on_result)
