"""Run the benchmarks: `python -m bench` (or `make bench`). Writes bench/results.json.

`python -m bench SUITE...` re-measures only those suites (e.g. `python -m bench scale`) and
updates their sections of bench/results.json, leaving the others as the last run left them.

Every figure is a ratio against an anchor measured in the same run, or a count, so it
holds across machines.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.raw_simpy import run_raw_demo
from shocktwin.scenarios import load_scenario, reference_scenario
from shocktwin.twin.experiment.replication import run_replication

REPEATS = 3


def _best(fn):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def twin_vs_simpy(rounds: int = 7) -> dict[str, float]:
    """The demo plant in the twin against the same plant written in raw SimPy, run
    alternately ``rounds`` times: the event-rate ratio of each round, its median (the
    figure) and range. Alternating keeps a machine's drift out of the ratio; one short
    untimed run of each first (a day) keeps the imports and caches of a first run out of
    the first round, which alone measured about a third of the others."""
    sc = load_scenario(reference_scenario("demo_plant"))
    horizon = sc.horizon
    run_raw_demo(24.0, seed=1)
    run_replication(sc.model_copy(update={"horizon": 24.0, "warmup": 6.0}), 0, seed=1)
    ratios, raw_times, twin_times = [], [], []
    raw = rep = None
    for _ in range(rounds):
        t0 = time.perf_counter()
        raw = run_raw_demo(horizon, seed=1)
        raw_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rep = run_replication(sc, 0, seed=1, engine="simpy")
        twin_s = time.perf_counter() - t0
        raw_times.append(raw_s)
        twin_times.append(twin_s)
        ratios.append((rep.events / twin_s) / (raw.events / raw_s))
    assert raw is not None and rep is not None
    sal_s, _ = _best(lambda: run_replication(sc, 0, seed=1, engine="salabim"))
    raw_s, twin_s = float(np.median(raw_times)), float(np.median(twin_times))
    released_twin = int(rep.series["released"].sum())
    return {
        "raw_simpy_events_per_s": raw.events / raw_s,
        "twin_events_per_s": rep.events / twin_s,
        "twin_vs_simpy_event_rate_ratio": float(np.median(ratios)),
        "twin_vs_simpy_event_rate_ratio_min": float(min(ratios)),
        "twin_vs_simpy_event_rate_ratio_max": float(max(ratios)),
        "twin_vs_simpy_rounds": float(rounds),
        "raw_simpy_units_per_s": raw.released / raw_s,
        "twin_units_per_s": released_twin / twin_s,
        "twin_vs_simpy_unit_rate_ratio": (released_twin / twin_s) / (raw.released / raw_s),
        "salabim_vs_simpy_time_ratio": sal_s / min(twin_times),
        "raw_simpy_events": raw.events,
        "twin_events": rep.events,
        "units_released_raw": raw.released,
        "units_released_twin": released_twin,
    }


def _timed(name: str, fn, results: dict, timings: dict) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    try:
        results[name] = fn()
    except Exception as e:  # a figure that cannot be measured is reported, not fatal
        results[name] = {"error": f"{type(e).__name__}: {e}"}
    timings[name] = round(time.perf_counter() - t0, 1)
    print(f"[{name}: {timings[name]} s]", flush=True)


def _alone() -> dict[str, Callable[[], dict[str, Any]]]:
    """The suites that run on their own, by section name."""
    from bench import campaign, ingest, measured, peers, perf, scale, scaling, startup

    rows = int(os.environ.get("BENCH_ROWS", "10000000"))
    return {"startup": startup.run, "twin_vs_simpy": twin_vs_simpy, "peers": peers.run,
            "ingest": lambda: ingest.run(rows),
            "executors": scaling.executors, "mtd_vs_grid": scaling.mtd_vs_grid,
            "shared_prefix": scaling.shared_prefix, "campaign": campaign.run,
            "memory": perf.rss_vs_horizon, "scaling": perf.scaling_exponent,
            "onnx": perf.onnx_batched_vs_per_call, "scale": scale.run,
            "measured": measured.run}


#: Suites read next to another measured in the same run: the scale suite's plants beside
#: the demo plant's event rate against raw SimPy.
_WITH = {"scale": "twin_vs_simpy"}


def _print(results: dict[str, Any], sections: list[str]) -> None:
    print()
    for section in sections:
        values = results.get(section)
        if isinstance(values, dict):
            print(section)
            for key, value in values.items():
                text = f"{value:,.4g}" if isinstance(value, float) else str(value)
                print(f"  {key:48} {text:>14}")


def run_some(names: list[str]) -> None:
    """Re-measure the suites ``names`` and update their sections of results.json."""
    suites = _alone()
    unknown = [n for n in names if n not in suites]
    if unknown:
        sys.exit(f"unknown suite {', '.join(unknown)}; suites: {', '.join(suites)} "
                 "(replay runs only with all the others: it replays the ingested store)")
    wanted = [n for n in suites if n in names or n in {_WITH.get(m) for m in names}]
    out = Path(__file__).parent / "results.json"
    results: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    before = dict(results.get("twin_vs_simpy") or {})
    timings: dict[str, float] = dict(results.get("seconds") or {})
    for name in wanted:
        _timed(name, suites[name], results, timings)
    results["seconds"] = timings
    out.write_text(json.dumps(results, indent=2) + "\n")
    _print(results, wanted)
    key = "twin_vs_simpy_event_rate_ratio"
    if "twin_vs_simpy" in wanted and key in before:
        now = results["twin_vs_simpy"].get(key)
        print(f"{key}: {now:.3f} now, {before[key]:.3f} in results.json before this run")
    print(f"{', '.join(wanted)} written to {out}")


def main() -> None:
    from bench import campaign, ingest, measured, peers, perf, replay, scale, scaling, startup

    if sys.argv[1:]:
        run_some(sys.argv[1:])
        return

    rows = int(os.environ.get("BENCH_ROWS", "10000000"))
    started = time.perf_counter()
    results: dict[str, object] = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cores": os.cpu_count(), "python": sys.version.split()[0], "rows": rows}
    timings: dict[str, float] = {}
    _timed("startup", startup.run, results, timings)
    _timed("twin_vs_simpy", twin_vs_simpy, results, timings)
    _timed("peers", peers.run, results, timings)
    # One generated log serves both: ingested once (measured), then replayed from the store.
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        folder = Path(tmp)
        _timed("ingest", lambda: ingest._measure(rows, folder), results, timings)
        store = folder / "ingest.duckdb"
        _timed("replay", lambda: replay.run(rows, store=store if store.exists() else None),
               results, timings)
    _timed("executors", scaling.executors, results, timings)
    _timed("mtd_vs_grid", scaling.mtd_vs_grid, results, timings)
    _timed("shared_prefix", scaling.shared_prefix, results, timings)
    _timed("memory", perf.rss_vs_horizon, results, timings)
    _timed("scaling", perf.scaling_exponent, results, timings)
    _timed("onnx", perf.onnx_batched_vs_per_call, results, timings)
    _timed("scale", scale.run, results, timings)
    _timed("measured", measured.run, results, timings)
    _timed("campaign", campaign.run, results, timings)
    results["seconds"] = timings
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    out = Path(__file__).parent / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    _print(results, [k for k, v in results.items() if isinstance(v, dict) and k != "seconds"])
    print(f"total {results['total_seconds']} s; written to {out}")


if __name__ == "__main__":
    main()
