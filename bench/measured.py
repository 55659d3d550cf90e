"""Measured characteristics: what they cost per event, and whether memory grows with them.

The generated plant of the scale benchmark (``plant_generator``: 3 products, 40 stations,
30 suppliers) is run as it is and with a measured characteristic on every process station
(normal, autocorrelated, drifting; defect truth from its limits) and on every material its
suppliers deliver (each lot's values drawn as a block). The ratio of the two event rates is
the figure (goal ≥ 0.7); the two runs are interleaved, best of three each, so a slower
moment of the machine hits both. The generated plant has no incoming inspection, so this is
the per-unit cost of measured units; reading a lot with gauges, charting it and estimating
its capability happen once per lot, not per event.

Memory: peak RSS (the high-water mark) of the measured plant at 1× and 10× its horizon,
each in a fresh process, and how far the run raised it above the mark after imports and
parsing. Values are drawn in blocks and not kept, so the run adds no memory with the
horizon beyond the per-unit release record every plant keeps (8 bytes a unit).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from typing import Any

from bench.plant_generator import plant_scenario

__all__ = ["measured_plant", "run"]

PRODUCTS, STATIONS, SUPPLIERS = 3, 40, 30
DAYS = 60.0
REPEATS = 3


def measured_plant(days: float = DAYS) -> dict[str, Any]:
    """The generated plant's scenario mapping with characteristics on every process station
    and every delivered material."""
    doc = plant_scenario(PRODUCTS, STATIONS, SUPPLIERS, horizon_d=days)
    plant = copy.deepcopy(doc["plant"])
    chars: list[dict[str, Any]] = []
    for st in plant["stations"]:
        if st.get("kind", "process") == "process":
            chars.append({"name": "width", "station": st["id"], "unit": "mm", "lsl": 9.97,
                          "usl": 10.03, "values": {"mean": 10.0, "sd": 0.0075,
                                                   "autocorrelation": 0.2,
                                                   "drift_per_day": 0.0001}})
    for material in sorted({s["material"] for s in plant["suppliers"]
                            if s.get("tier", 1) == 1}):
        chars.append({"name": "hardness", "material": material, "unit": "HRC", "lsl": 58.0,
                      "usl": 64.0, "values": {"mean": 61.0, "sd": 0.75},
                      "gauge": {"repeatability": 0.1, "reproducibility": 0.05}})
    plant["characteristics"] = chars
    return {**doc, "plant": plant}


def _rate(doc: dict[str, Any]) -> tuple[float, int]:
    from shocktwin.scenarios import parse_scenario
    from shocktwin.twin.experiment.replication import run_replication

    sc = parse_scenario(doc)
    t0 = time.perf_counter()
    rep = run_replication(sc, 0, seed=1, engine="simpy")
    seconds = time.perf_counter() - t0
    return rep.events / seconds, rep.events


def _rss_mb(days: float) -> tuple[float, float]:
    """(peak RSS, its growth during the run) of one replication in a fresh process, MB:
    the growth is measured from the peak after imports and parsing, so it is the run's."""
    code = ("import json, resource; from bench.measured import measured_plant; "
            "from shocktwin.scenarios import parse_scenario; "
            "from shocktwin.twin.experiment.replication import run_replication; "
            "rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
            f"sc = parse_scenario(measured_plant({days!r})); before = rss(); "
            "run_replication(sc, 0, seed=1); print(json.dumps([rss(), rss() - before]))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    peak, grown = json.loads(out.stdout.strip().splitlines()[-1])
    return float(peak), float(grown)


def run() -> dict[str, float]:
    plain = plant_scenario(PRODUCTS, STATIONS, SUPPLIERS, horizon_d=DAYS)
    measured = measured_plant()
    best_plain = best_measured = 0.0
    events_plain = events_measured = 0
    for _ in range(REPEATS):  # interleaved
        rate, events_plain = _rate(plain)
        best_plain = max(best_plain, rate)
        rate, events_measured = _rate(measured)
        best_measured = max(best_measured, rate)
    (one, grown_one), (ten, grown_ten) = _rss_mb(DAYS), _rss_mb(10 * DAYS)
    return {
        "plain_events_per_s": best_plain,
        "measured_events_per_s": best_measured,
        "measured_vs_plain_event_rate_ratio": best_measured / best_plain,
        "plain_events": float(events_plain),
        "measured_events": float(events_measured),
        "measured_peak_rss_mb_1x_horizon": one,
        "measured_peak_rss_mb_10x_horizon": ten,
        "measured_peak_rss_growth_10x_horizon": ten / one,
        "measured_run_rss_growth_mb_1x_horizon": grown_one,
        "measured_run_rss_growth_mb_10x_horizon": grown_ten,
    }
