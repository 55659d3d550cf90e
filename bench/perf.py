"""Twin cost figures that hold across machines: memory growth with the horizon, the scaling
exponent of wall time with the number of parts, and batched against per-call ONNX
inference per row."""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["onnx_batched_vs_per_call", "rss_vs_horizon", "scaling_exponent"]

_REPO = Path(__file__).resolve().parents[1]


def _child_rss(days: float) -> dict[str, float]:
    from shocktwin.scenarios import load_scenario, reference_scenario
    from shocktwin.twin.experiment.replication import run_replication

    sc = load_scenario(reference_scenario("demo_plant"))
    sc = sc.model_copy(update={"horizon": days * 24.0})
    t0 = time.perf_counter()
    rep = run_replication(sc, 0, seed=1)
    return {"seconds": time.perf_counter() - t0, "events": float(rep.events),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def _child_heap(days: float) -> dict[str, float]:
    """The Python heap's peak during one replication (tracemalloc: every object and numpy
    array the run allocates, not the libraries imported before it), and what is still
    held when it ends, MB."""
    import gc
    import tracemalloc

    from shocktwin.scenarios import load_scenario, reference_scenario
    from shocktwin.twin.experiment.replication import run_replication

    sc = load_scenario(reference_scenario("demo_plant"))
    run_replication(sc.model_copy(update={"horizon": 48.0, "warmup": 0.0}), 0, seed=1)
    gc.collect()  # what the run imports lazily is imported, and the warm-up run freed
    sc = sc.model_copy(update={"horizon": days * 24.0})
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    rep = run_replication(sc, 0, seed=1)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"heap_peak_mb": (peak - base) / 2**20, "heap_kept_mb": (current - base) / 2**20,
            "released": float(rep.series["released"].sum())}


def _in_child(days: float, what: str = "rss") -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.perf", what, str(days)], check=True,
                         capture_output=True, text=True, cwd=_REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def rss_vs_horizon(days: float = 60.0) -> dict[str, float]:
    """Peak RSS of one replication of the demo plant at 1× and 10× its horizon (each in a
    fresh process). Goal: < 1.2× growth — KPIs stream; only per-unit release records
    grow with the horizon."""
    one, ten = _in_child(days), _in_child(10 * days)
    # The peak RSS is dominated by the libraries imported before the run; the run's own
    # heap shows what grows with the horizon (the per-unit records the KPIs need).
    heap_one, heap_ten = _in_child(days, "heap"), _in_child(10 * days, "heap")
    return {"peak_rss_mb_1x_horizon": one["peak_rss_mb"],
            "peak_rss_mb_10x_horizon": ten["peak_rss_mb"],
            "peak_rss_growth_10x_horizon": ten["peak_rss_mb"] / one["peak_rss_mb"],
            "run_heap_peak_mb_1x_horizon": heap_one["heap_peak_mb"],
            "run_heap_peak_mb_10x_horizon": heap_ten["heap_peak_mb"],
            "run_heap_peak_growth_10x_horizon":
                heap_ten["heap_peak_mb"] / heap_one["heap_peak_mb"],
            "run_heap_kept_mb_10x_horizon": heap_ten["heap_kept_mb"]}


def scaling_exponent() -> dict[str, float]:
    """Wall time against parts released from 10⁴ to 10⁶ on the demo plant; the slope of
    log(time) on log(parts). Goal 1.0 ± 0.1."""
    from shocktwin.scenarios import load_scenario, reference_scenario
    from shocktwin.twin.experiment.replication import run_replication

    sc = load_scenario(reference_scenario("demo_plant"))
    rate = 25.0  # units per hour
    parts, seconds = [], []
    for target in (1e4, 1e5, 1e6):
        horizon = target / rate
        variant = sc.model_copy(update={"horizon": horizon, "warmup": min(sc.warmup,
                                                                          horizon / 10)})
        t0 = time.perf_counter()
        rep = run_replication(variant, 0, seed=1)
        seconds.append(time.perf_counter() - t0)
        parts.append(float(rep.series["released"].sum()))
    slope = float(np.polyfit(np.log(parts), np.log(seconds), 1)[0])
    return {"scaling_parts_1e4_s": seconds[0], "scaling_parts_1e5_s": seconds[1],
            "scaling_parts_1e6_s": seconds[2], "scaling_exponent_time_vs_parts": slope}


def onnx_batched_vs_per_call(rows: int = 2000) -> dict[str, float]:
    """Per-row cost of the bundled ONNX model called once per row and in one batch."""
    from shocktwin.rules_engine.ai_inspection import load_inspection_model

    model = load_inspection_model()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, model.metadata.n_features)).astype(np.float64) * 100 + 100
    model.predict_proba(x[:10])
    t0 = time.perf_counter()
    model.predict_proba(x)
    batched = (time.perf_counter() - t0) / rows
    n_single = min(rows, 500)
    t0 = time.perf_counter()
    for i in range(n_single):
        model.predict_proba(x[i:i + 1])
    single = (time.perf_counter() - t0) / n_single
    return {"onnx_batched_us_per_row": batched * 1e6, "onnx_per_call_us_per_row": single * 1e6,
            "onnx_per_call_vs_batched_cost_ratio": single / batched if batched else math.nan}


if __name__ == "__main__":
    if sys.argv[1:2] == ["rss"]:
        print(json.dumps(_child_rss(float(sys.argv[2]))))
    elif sys.argv[1:2] == ["heap"]:
        print(json.dumps(_child_heap(float(sys.argv[2]))))
