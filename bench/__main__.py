"""Run the benchmarks: `python -m bench` (or `make bench`). Writes bench/results.json.

Every figure is a ratio against an anchor measured in the same run, or a count, so it
holds across machines.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

from bench.raw_simpy import run_raw_demo
from scenarios import load_scenario, reference_scenario
from twin.experiment import run_replication

REPEATS = 3


def _best(fn):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def twin_vs_simpy() -> dict[str, float]:
    sc = load_scenario(reference_scenario("demo_plant"))
    horizon = sc.horizon
    raw_s, raw = _best(lambda: run_raw_demo(horizon, seed=1))
    twin_s, rep = _best(lambda: run_replication(sc, 0, seed=1, engine="simpy"))
    sal_s, _ = _best(lambda: run_replication(sc, 0, seed=1, engine="salabim"))
    released_twin = int(rep.series["released"].sum())
    return {
        "raw_simpy_events_per_s": raw.events / raw_s,
        "twin_events_per_s": rep.events / twin_s,
        "twin_vs_simpy_event_rate_ratio": (rep.events / twin_s) / (raw.events / raw_s),
        "raw_simpy_units_per_s": raw.released / raw_s,
        "twin_units_per_s": released_twin / twin_s,
        "twin_vs_simpy_unit_rate_ratio": (released_twin / twin_s) / (raw.released / raw_s),
        "salabim_vs_simpy_time_ratio": sal_s / twin_s,
        "raw_simpy_events": raw.events,
        "twin_events": rep.events,
        "units_released_raw": raw.released,
        "units_released_twin": released_twin,
    }


def main() -> None:
    r = twin_vs_simpy()
    results = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
               "python": sys.version.split()[0], "twin_vs_simpy": r}
    out = Path(__file__).parent / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("demo plant, 60 days, best of", REPEATS)
    print(f"  raw SimPy        {r['raw_simpy_events_per_s']:>12,.0f} events/s "
          f"{r['raw_simpy_units_per_s']:>10,.0f} units/s")
    print(f"  twin (SimPy)     {r['twin_events_per_s']:>12,.0f} events/s "
          f"{r['twin_units_per_s']:>10,.0f} units/s")
    print(f"  twin_vs_simpy_event_rate_ratio  {r['twin_vs_simpy_event_rate_ratio']:.2f}")
    print(f"  twin_vs_simpy_unit_rate_ratio   {r['twin_vs_simpy_unit_rate_ratio']:.2f}")
    print(f"  salabim_vs_simpy_time_ratio     {r['salabim_vs_simpy_time_ratio']:.2f}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
