"""A quarterly review's wall time: the bundled campaign suite on 1 and 2 worker processes
and on a Dask LocalCluster of 2, each into an empty history, with the runs it needed.
Goal: the review within 15 minutes on 2 cores. Run alone: ``python -m bench campaign``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from shocktwin.scenarios.suite import bundled_suite
from shocktwin.twin.experiment.executor import Executor, ExecutorSpec

__all__ = ["run"]

SUITE = "quarterly_prepared"
GOAL_S = 15 * 60.0


def _review(spec: ExecutorSpec) -> tuple[float, int]:
    from shocktwin.twin.resilience.campaign import run_campaign

    suite = bundled_suite(SUITE)
    assert suite is not None
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        outcome = run_campaign(suite, review="bench", history=folder / "reviews.duckdb",
                               out=folder / "review", executor=spec)
        return time.perf_counter() - t0, outcome.runs


def run() -> dict[str, Any]:
    out: dict[str, Any] = {"campaign_suite": SUITE}
    one, runs = _review(ExecutorSpec(Executor.PROCESS, 1))
    two, runs_two = _review(ExecutorSpec(Executor.PROCESS, 2))
    out.update(campaign_runs=float(runs), campaign_1_process_s=one,
               campaign_2_processes_s=two, campaign_speedup_1_to_2_processes=one / two,
               campaign_2_processes_within_goal=two <= GOAL_S,
               campaign_same_runs=float(runs == runs_two))
    try:
        dask, _ = _review(ExecutorSpec(Executor.DASK, 2))
        out.update(campaign_dask_2_workers_s=dask,
                   campaign_speedup_dask_2_vs_1_process=one / dask)
    except Exception as e:  # the bench reports what it could not measure
        out["campaign_dask_error"] = f"{type(e).__name__}: {e}"
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
