"""Where replications run: in this process, in a pool of processes, or on a Dask cluster.

A replication is a pure function of (scenario, replication index, seed, engine), so the
executor changes only how fast results come, never what they are. ``run_jobs`` hands
each result to ``on_result`` as soon as it is finished (so callers can store it before the
next one arrives) and returns all of them in job order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

from twin.errors import SimulationError

if TYPE_CHECKING:
    from scenarios.model import Scenario
    from twin.experiment import ReplicationResult

__all__ = ["DASK_CONNECT_TIMEOUT_S", "Executor", "ExecutorSpec", "Job", "run_jobs"]

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


def _run(job: Job) -> ReplicationResult:
    from twin.experiment import run_replication

    return run_replication(job.scenario, job.replication, seed=job.seed, engine=job.engine)


def run_jobs(jobs: Sequence[Job], spec: ExecutorSpec = ExecutorSpec(),
             on_result: Callable[[int, ReplicationResult], None] | None = None,
             ) -> list[ReplicationResult]:
    """Run ``jobs``; ``on_result(index, result)`` is called as each finishes."""
    kind = Executor(spec.kind)
    results: list[Any] = [None] * len(jobs)

    def done(i: int, res: ReplicationResult) -> None:
        results[i] = res
        if on_result is not None:
            on_result(i, res)

    if kind is Executor.LOCAL or (len(jobs) <= 1 and kind is Executor.PROCESS):
        for i, job in enumerate(jobs):
            done(i, _run(job))
    elif kind is Executor.PROCESS:
        _run_pool(jobs, spec.workers, done)
    else:
        _run_dask(jobs, spec, done)
    return results


def _run_pool(jobs: Sequence[Job], workers: int | None,
              done: Callable[[int, ReplicationResult], None]) -> None:
    try:
        with ProcessPoolExecutor(max_workers=workers or os.cpu_count(),
                                 mp_context=get_context("spawn")) as pool:
            pending: dict[Future[ReplicationResult], int] = {
                pool.submit(_run, job): i for i, job in enumerate(jobs)}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    done(pending.pop(future), future.result())
    except OSError as e:
        raise SimulationError(f"process executor failed: {e}") from e


def _run_dask(jobs: Sequence[Job], spec: ExecutorSpec,
              done: Callable[[int, ReplicationResult], None]) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as e:
        raise SimulationError("the dask executor needs dask[distributed]: "
                              "pip install 'shocktwin[dask]'") from e
    cluster = None
    try:
        if spec.scheduler:
            client = Client(spec.scheduler, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
        else:
            cluster = LocalCluster(n_workers=spec.workers or os.cpu_count() or 1,
                                   threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as e:
        if cluster is not None:
            cluster.close()
        where = spec.scheduler or "a local cluster"
        raise SimulationError(f"cannot reach the Dask scheduler at {where} within "
                              f"{DASK_CONNECT_TIMEOUT_S} s: {e}") from e
    try:
        futures = {client.submit(_run, job, pure=False): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            done(futures[future], future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
