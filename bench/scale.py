"""Scale: a generated plant of 50 products, 200 stations and 500 suppliers in three tiers,
run for a year, against the demo plant; and the growth of wall time with the stations and
with the suppliers at equal load (goal: linear).

- The full plant runs one replication of 365 days between runs of the demo plant; its wall
  time per simulated day and per unit released are given as ratios to the demo plant's.
- Growth: plants of 25 to 400 stations (500 suppliers) and of 125 to 2,000 suppliers
  (50 stations), each 20 days; the slope of log(wall time) on log(size), with its 95 %
  interval from the regression, and the same slope for the kernel events (the work done),
  so a time exponent above the events' one is the model's cost, not the load's. The slope
  of the process's CPU time is given too: on a shared machine it is the steadier figure.

Run alone: ``python -m bench scale`` (with the demo plant's event rate against raw SimPy).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from bench.plant_generator import UTILISATION, plant_scenario

__all__ = ["FULL", "full_plant", "growth", "run"]

#: Products, stations, suppliers of the full plant, and its horizon in days.
FULL = (50, 200, 500)
FULL_DAYS = 365.0
#: The growth series: stations with the suppliers fixed, suppliers with the stations fixed.
STATION_SIZES = (25, 50, 100, 200, 400)
SUPPLIERS_FIXED = 500
SUPPLIER_SIZES = (125, 250, 500, 1000, 2000)
STATIONS_FIXED = 50
SERIES_DAYS = 20.0
DEMO_REPEATS = 3


def _scenario(products: int, stations: int, suppliers: int, days: float) -> Any:
    from shocktwin.scenarios import parse_scenario

    return parse_scenario(plant_scenario(products, stations, suppliers, horizon_d=days))


def _timed_run(sc: Any) -> dict[str, float]:
    from shocktwin.twin.experiment.replication import run_replication

    t0, c0 = time.perf_counter(), time.process_time()
    rep = run_replication(sc, 0, seed=1, engine="simpy")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"s": seconds, "cpu_s": cpu, "events": float(rep.events),
            "released": float(rep.series["released"].sum()),
            "utilisation": float(np.mean([row["utilisation"] for row in rep.stations]))}


def _demo_runs(n: int) -> list[dict[str, float]]:
    from shocktwin.scenarios import load_scenario, reference_scenario

    sc = load_scenario(reference_scenario("demo_plant"))
    return [_timed_run(sc) | {"days": sc.horizon / 24.0} for _ in range(n)]


def full_plant() -> dict[str, float]:
    """The 50 × 200 × 500 plant over a year against the demo plant, run before and after
    it (the median of those runs, so both see the same machine)."""
    products, stations, suppliers = FULL
    sc = _scenario(products, stations, suppliers, FULL_DAYS)
    demo = _demo_runs(DEMO_REPEATS)
    full = _timed_run(sc)
    demo += _demo_runs(DEMO_REPEATS)
    demo_s = statistics.median(d["s"] for d in demo)
    demo_cpu_s = statistics.median(d["cpu_s"] for d in demo)
    demo_days, demo_units = demo[0]["days"], demo[0]["released"]
    demo_events = demo[0]["events"]
    per_day, per_unit = full["s"] / FULL_DAYS, full["s"] / full["released"]
    demo_per_day, demo_per_unit = demo_s / demo_days, demo_s / demo_units
    return {
        "full_products": float(products), "full_stations": float(stations),
        "full_suppliers": float(suppliers), "full_horizon_d": FULL_DAYS,
        "full_s": full["s"], "full_cpu_s": full["cpu_s"], "full_events": full["events"],
        "full_units_released": full["released"],
        "full_station_utilisation_mean": full["utilisation"],
        "full_s_per_simulated_day": per_day, "full_us_per_unit": per_unit * 1e6,
        "demo_s": demo_s, "demo_s_per_simulated_day": demo_per_day,
        "demo_us_per_unit": demo_per_unit * 1e6,
        "full_vs_demo_time_per_simulated_day_ratio": per_day / demo_per_day,
        "full_vs_demo_time_per_unit_ratio": per_unit / demo_per_unit,
        "full_vs_demo_cpu_time_per_simulated_day_ratio": (full["cpu_s"] / FULL_DAYS)
        / (demo_cpu_s / demo_days),
        "full_vs_demo_cpu_time_per_unit_ratio": (full["cpu_s"] / full["released"])
        / (demo_cpu_s / demo_units),
        "full_vs_demo_event_rate_ratio": (full["events"] / full["s"])
        / (demo_events / demo_s),
        "demo_s_spread_ratio": max(d["s"] for d in demo) / min(d["s"] for d in demo),
    }


def _slope(sizes: list[float], values: list[float]) -> tuple[float, float, float]:
    """Slope of log(values) on log(sizes) and its 95 % interval (t, n − 2 degrees)."""
    from scipy import stats

    x, y = np.log(sizes), np.log(values)
    fit = stats.linregress(x, y)
    half = float(stats.t.ppf(0.975, len(x) - 2)) * float(fit.stderr)
    return float(fit.slope), float(fit.slope) - half, float(fit.slope) + half


def _series(name: str, sizes: tuple[int, ...], make: Any) -> dict[str, float]:
    """Each size run three times, smallest first, then largest first, then smallest first
    (a burst of other load hits different sizes each time); the fastest run of each
    counts, for wall and for CPU time alike."""
    scenarios = {n: make(n) for n in sizes}
    runs: dict[int, list[dict[str, float]]] = {n: [] for n in sizes}
    for order in (sizes, tuple(reversed(sizes)), sizes):
        for n in order:
            runs[n].append(_timed_run(scenarios[n]))
    seconds = [min(r["s"] for r in runs[n]) for n in sizes]
    cpu = [min(r["cpu_s"] for r in runs[n]) for n in sizes]
    events = [runs[n][0]["events"] for n in sizes]  # the same in every run of a size
    out: dict[str, float] = {}
    for n, s in zip(sizes, seconds, strict=True):
        out[f"{name}_{n}_s"] = s
    for label, values in (("time", seconds), ("cpu_time", cpu)):
        slope, low, high = _slope(list(sizes), values)
        out[f"exponent_{label}_vs_{name}"] = slope
        out[f"exponent_{label}_vs_{name}_ci95_low"] = low
        out[f"exponent_{label}_vs_{name}_ci95_high"] = high
    out[f"exponent_events_vs_{name}"] = _slope(list(sizes), events)[0]
    # The sizes double: the last doubling's time ratio is 2 when the cost is linear and
    # has overtaken any fixed part, above 2 when it grows faster.
    out[f"{name}_last_doubling_cpu_time_ratio"] = cpu[-1] / cpu[-2]
    utilisation = [runs[n][0]["utilisation"] for n in sizes]
    out[f"{name}_station_utilisation_min"] = min(utilisation)
    out[f"{name}_station_utilisation_max"] = max(utilisation)
    return out


def growth() -> dict[str, float]:
    """Growth exponents of wall time in stations (suppliers fixed) and in suppliers
    (stations fixed), at equal load per station and per supplier."""
    products = FULL[0]
    out: dict[str, float] = {"series_horizon_d": SERIES_DAYS,
                             "series_utilisation_offered": UTILISATION}
    out |= _series("stations", STATION_SIZES,
                   lambda n: _scenario(products, n, SUPPLIERS_FIXED, SERIES_DAYS))
    out |= _series("suppliers", SUPPLIER_SIZES,
                   lambda n: _scenario(products, STATIONS_FIXED, n, SERIES_DAYS))
    return out


def run() -> dict[str, float]:
    return {**full_plant(), **growth()}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
