"""Scale-out and search efficiency, measured in one run:

- replications per second on 1 and 2 worker processes and on a Dask LocalCluster of 2,
  and the speed-ups (goal: ≥ 1.7× from 1 to 2 processes on a 2-core machine);
- the runs an MTD search needs against a dense grid at the same precision, and whether
  both find the same MTD within the grid's step (goal: ≤ 25 % of the grid's runs);
- valve_quake's search with each replication's run up to the shock simulated once and
  every severity continuing from it, against every severity run from the start
  (``twin.experiment.prefix``): the wall-time speed-up, and that both find the same
  tolerable severities.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from shocktwin.scenarios import load_scenario, parse_scenario, reference_scenario
from shocktwin.twin.experiment.executor import Executor, ExecutorSpec, Job, Runner

__all__ = ["executors", "mtd_vs_grid", "run", "shared_prefix"]


def _rate(spec: ExecutorSpec, jobs: list[Job]) -> float:
    with Runner(spec) as runner:
        runner.run(jobs[:2])  # workers started and warm before the clock runs
        t0 = time.perf_counter()
        runner.run(jobs)
        return len(jobs) / (time.perf_counter() - t0)


def executors(replications: int = 16) -> dict[str, float]:
    sc = load_scenario(reference_scenario("demo_plant"))
    sc = sc.model_copy(update={"horizon": 20 * 24.0, "warmup": 48.0})
    jobs = [Job(sc, r, 1, "simpy") for r in range(replications)]
    one = _rate(ExecutorSpec(Executor.PROCESS, 1), jobs)
    two = _rate(ExecutorSpec(Executor.PROCESS, 2), jobs)
    local = _rate(ExecutorSpec(Executor.LOCAL), jobs)
    out = {"replications_per_s_local": local, "replications_per_s_1_process": one,
           "replications_per_s_2_processes": two, "speedup_1_to_2_processes": two / one}
    try:
        dask = _rate(ExecutorSpec(Executor.DASK, 2), jobs)
        out.update(replications_per_s_dask_2_workers=dask, speedup_dask_2_vs_1_process=dask / one)
    except Exception as e:  # the bench reports what it could not measure
        out["dask_error"] = str(e)  # type: ignore[assignment]
    return out


_MTD_PLANT: dict[str, Any] = {
    "version": 1, "name": "bench-mtd", "horizon": "16d", "warmup": "1d",
    "plant": {
        "suppliers": [{"id": "sup", "material": "part", "lot_size": 500,
                       "lead_time": {"dist": "lognormal", "median": "2d", "sigma": 0.3},
                       "defect_rate": 0.01}],
        "buffers": [{"id": "stock", "material": "part", "initial": 2500,
                     "reorder_point": 1500}],
        "stations": [{"id": "iqc", "kind": "inspection", "inspectors": 1,
                      "time_per_unit": "2min", "detection": 0.9},
                     {"id": "work", "servers": 2, "process_time": {"dist": "gamma",
                                                                   "mean": "5min",
                                                                   "cv": 0.5}},
                     {"id": "release", "kind": "release", "sla": "4h"}],
        "routing": ["iqc", "work", "release"],
        "demand": {"rate": "15/h", "due_in": "1d"}},
    "shocks": [{"id": "outage", "type": "supplier_outage", "target": "sup", "start": "4d",
                "duration": "1d"}],
    "hypothesis": {"probability": 0.75, "tolerances": [{"kpi": "otd", "min": 0.95}]},
    "mtd": {"shocks": [{"shock": "outage", "low": "1h", "high": "8d", "resolution": "4h"}],
            "replications": 12, "max_replications": 12},
    "experiment": {"seed": 3},
}


def mtd_vs_grid() -> dict[str, float]:
    """The MTD search against a dense grid with the search's resolution as its step."""
    from shocktwin.twin.resilience.mtd import find_mtd

    sc = parse_scenario(_MTD_PLANT)
    item = sc.mtd.shocks[0]  # type: ignore[union-attr]
    with Runner(ExecutorSpec(Executor.PROCESS, 2)) as runner:
        result = find_mtd(sc, item, executor=runner)
        step = 4.0
        grid = np.arange(1.0, 8 * 24.0 + 1e-9, step)
        jobs = [Job(sc.model_copy(update={"shocks": [sc.shocks[0].with_severity(s)]}), r,
                    3, "simpy") for s in grid for r in range(12)]
        outcomes = runner.run(jobs)
    holds = np.array([o.kpis["otd"] >= 0.95 for o in outcomes]).reshape(grid.size, 12)
    grid_mtd = float(grid[holds.mean(axis=1) >= 0.75].max())
    return {"mtd_search_runs": float(result.runs), "mtd_grid_runs": float(holds.size),
            "mtd_search_vs_grid_runs_ratio": result.runs / holds.size,
            "mtd_search_h": float(result.mtd or np.nan), "mtd_grid_h": grid_mtd,
            "mtd_grid_step_h": step,
            "mtd_agrees_within_step": float(abs((result.mtd or 0.0) - grid_mtd) <= step + 4.0)}


def shared_prefix(replications: int = 12) -> dict[str, float]:
    """valve_quake's MTD search (both its shocks, as ``shocktwin mtd valve_quake`` runs
    it, with ``replications`` per shock) on 2 processes, with and without sharing the run
    up to each shock's start, alternated shock by shock. The runs are the same in both;
    the speed-up is the search's wall time without sharing ÷ with."""
    from shocktwin.twin.resilience.mtd import find_mtd

    sc = load_scenario(reference_scenario("valve_quake"))
    assert sc.mtd is not None
    sc = sc.model_copy(update={"mtd": sc.mtd.model_copy(update={
        "replications": replications, "max_replications": replications,
        "precision": None})})
    seconds = {True: 0.0, False: 0.0}
    runs = {True: 0, False: 0}
    same = True
    with Runner(ExecutorSpec(Executor.PROCESS, 2)) as runner:
        runner.run([Job(sc, 0, 1, "simpy"), Job(sc, 1, 1, "simpy")])  # workers warm
        for item in sc.mtd.shocks:  # type: ignore[union-attr]
            found: dict[bool, Any] = {}
            for share in (True, False):
                t0 = time.perf_counter()
                found[share] = find_mtd(sc, item, executor=runner, share_prefix=share)
                seconds[share] += time.perf_counter() - t0
                runs[share] += found[share].runs
            same = same and found[True].thresholds == found[False].thresholds
    horizon = sc.horizon
    starts = [next(s for s in sc.shocks if s.id == i.shock).start
              for i in sc.mtd.shocks]  # type: ignore[union-attr]
    return {"shared_prefix_search_s": seconds[True], "full_runs_search_s": seconds[False],
            "shared_prefix_speedup": seconds[False] / seconds[True],
            "shared_prefix_search_runs": float(runs[True]),
            "shared_prefix_same_thresholds": float(same and runs[True] == runs[False]),
            "shared_prefix_shock_start_share_of_horizon": float(np.mean(starts) / horizon)}


def run() -> dict[str, float]:
    return {**executors(), **mtd_vs_grid(), **shared_prefix()}
